#!/usr/bin/env bash
# trial.sh: one trial for featmin: boot a domain with the mask in
# HETMIG_CPUID, wait for the workload's verdict, destroy the domain.
#
# usage: trial.sh -c CFG [-n NAME] [-b BOOT_SECS] [-w WORK_SECS]
#                 [-p PASS_MARKER] [-f FAIL_MARKER]
#                 [-s SSH_TARGET -x REMOTE_COMMAND]
#                 [-H HOST [-T TRIAL_PATH]]
#
#   featmin -p pg.json -j pg.journal -e rdtscp=0 -- trial.sh -c pg.cfg
#
# The domain is created with `xl create CFG cpuid="$HETMIG_CPUID"`.  The
# verdict comes from one of:
#   the console (default): the workload prints PASS_MARKER (default
#     "HETMIG-VERDICT: PASS") or FAIL_MARKER ("HETMIG-VERDICT: FAIL") on the
#     guest's console, read from xenconsoled's log (see vm.sh);
#   ssh (-s): once ssh to SSH_TARGET answers, REMOTE_COMMAND runs there and
#     its exit status is the verdict.
# HETMIG_METRIC lines the workload prints (console or ssh) are passed on to
# featmin on stdout.  On a failing verdict, the guest kernel's trap lines
# ("traps: PROG[PID] trap invalid opcode ...") and the workload's own
# "HETMIG-FAULT:" lines seen on the console are said on stderr, so that
# the caller can name the instruction.
#
# With -H HOST the trial runs on another dom0 (host B, for migrate-prep's
# rehearsal or featmin --verify there): CFG is copied to a mktemp file on
# HOST, and trial.sh runs there (TRIAL_PATH, default the same path as
# this script) with the same options, through the remote command in
# HETMIG_REMOTE (default "ssh -o BatchMode=yes -o ConnectTimeout=10",
# called as `CMD -- HOST LINE`, as migrate-prep calls it).  Its verdict is
# this one's; whatever the way out, the domain and the copied config are
# removed on HOST too.
#
# Exit status, as featmin reads it:
#   0    the workload passed;
#   1    it failed: the fail marker, a non-zero remote exit, the guest died
#        after it had started talking, or no verdict within WORK_SECS;
#   125  could not tell: xl create failed, the console stayed silent for
#        BOOT_SECS (default 120), ssh did not answer within BOOT_SECS, ssh
#        itself failed (255), or trial.sh was misused (bad options, no
#        HETMIG_CPUID): an error of the rig is never read as a verdict.
# The domain is destroyed on every way out.
set -euo pipefail

PROG=trial.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/lib/common.sh"

SSH_OPTS=(-o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

dom=
tmp=
# Set while a trial runs on another host (-H): what to remove there.
rhost=
rname=
rcfg=
rpid=

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	# Destroy without asking first: an xl that crashes on the question
	# must not leave the domain behind.  Only a survivor is news.
	if [ -n "$dom" ] && ! xl destroy -- "$dom" >/dev/null 2>&1; then
		local left=0
		xl domid -- "$dom" >/dev/null 2>&1 || left=$?
		[ "$left" -eq 1 ] || warn "cannot destroy '$dom'"
	fi
	[ -z "$rpid" ] || kill -TERM "$rpid" 2>/dev/null || true
	[ -z "$rhost" ] || remote_cleanup
	[ -z "$tmp" ] || rm -rf "$tmp"
	exit "$rc"
}

# on_host ARGS...: the remote command (HETMIG_REMOTE) with ARGS after its
# `--`: `on_host HOST LINE` runs the shell command line LINE on HOST.
on_host() {
	local -a cmd
	read -r -a cmd <<<"${HETMIG_REMOTE:-ssh -o BatchMode=yes -o ConnectTimeout=10}"
	"${cmd[@]}" -- "$@"
}

# remote_cleanup: destroy the trial's domain on the other host and remove
# the copied config; the trial there normally did both already, so a
# failure here is only news when the domain is still listed.
# shellcheck disable=SC2317 # called by cleanup
remote_cleanup() {
	local line
	printf -v line 'xl destroy -- %q >/dev/null 2>&1; rm -f -- %q; ! xl domid -- %q >/dev/null 2>&1' \
		"$rname" "$rcfg" "$rname"
	on_host "$rhost" "$line" </dev/null >/dev/null 2>&1 ||
		warn "'$rname' may still exist on '$rhost': check with 'xl list' there"
}

# remote_trial HOST PATH CFG NAME OPTION...: run the trial on HOST with
# trial.sh at PATH there, the config CFG copied over, under NAME, with the
# other OPTIONs as they were given.
remote_trial() {
	local host=$1
	local path=$2
	local cfg=$3
	local name=$4
	local line
	local rc=0
	shift 4
	# The file name is made on HOST by mktemp and checked here before it
	# goes into a command line.
	# shellcheck disable=SC2016 # the line expands on HOST
	rcfg=$(on_host "$host" 'f=$(mktemp /tmp/hetmig-trial.XXXXXX) && cat >"$f" && echo "$f"' <"$cfg") || {
		say "cannot copy '$cfg' to '$host'"
		return 125
	}
	if ! [[ $rcfg =~ ^/tmp/hetmig-trial\.[A-Za-z0-9]+$ ]]; then
		say "'$host' answered '$rcfg' for a temporary file"
		rcfg=
		return 125
	fi
	rhost=$host
	rname=$name
	printf -v line '%q ' env "HETMIG_CPUID=$HETMIG_CPUID" "HETMIG_TRIAL=${HETMIG_TRIAL:-?}" \
		"$path" -c "$rcfg" -n "$name" "$@"
	say "trial ${HETMIG_TRIAL:-?}: '$name' on '$host'"
	# In the background, so that a signal reaches the trap at once (bash
	# runs traps between commands, and waits for a foreground one).
	on_host "$host" "$line" </dev/null &
	rpid=$!
	wait "$rpid" || rc=$?
	rpid=
	case $rc in
	0 | 1 | 125) ;;
	127) say "'$path' not found on '$host': install hetmig there (or give -T)"; rc=125 ;;
	255) say "cannot reach '$host' through '${HETMIG_REMOTE:-ssh}'"; rc=125 ;;
	*) say "the trial on '$host' ended with $rc: no verdict"; rc=125 ;;
	esac
	return "$rc"
}

# dom_gone NAME: true only when xl says twice, a second apart, that NAME
# does not exist: xl exits 1 too when it cannot set up its context at
# all ("cannot init xl context", a busy or restarting xenstored), and a
# trial read as "the guest went away" gets a wrong verdict.
dom_gone() {
	local rc
	local i
	for i in 1 2; do
		rc=0
		domain_state "$1" || rc=$?
		[ "$rc" -eq 1 ] || return 1
		[ "$i" -eq 2 ] || sleep 1
	done
	return 0
}

# new_output LOG OFFSET: what LOG gained past OFFSET.  Carriage returns
# stay: the patterns below do not mind them, and one tool less in the
# pipe is one crash less (busybox tr was seen dying here under emulation).
new_output() {
	[ -e "$1" ] || return 0
	tail -c +"$(($2 + 1))" "$1"
}

# metrics FILE: its HETMIG_METRIC lines, whatever the console put around.
metrics() {
	sed -n 's/.*\(HETMIG_METRIC [A-Za-z0-9_.-]*=[^[:space:]]*\).*/\1/p' "$1"
}

# judge NAME FILE PASS FAIL: 0 when FILE holds the pass marker, 1 the fail
# marker (the metrics go to stdout either way), 2 neither yet.
judge() {
	if grep -Fq -- "$3" "$2"; then
		metrics "$2"
		say "'$1' passed"
		return 0
	fi
	if grep -Fq -- "$4" "$2"; then
		metrics "$2"
		say "'$1' failed: $(grep -F -m 1 -- "$4" "$2" | sed 's/\r$//')"
		last_words "$2" "$4"
		fault_lines "$2"
		return 1
	fi
	return 2
}

# last_words FILE MARKER: the console lines just before the fail marker,
# where a workload says why (the pgbench workload prints its log's tail).
last_words() {
	local n line
	n=$(grep -Fn -m 1 -- "$2" "$1" | cut -d: -f1)
	[ -n "$n" ] && [ "$n" -gt 1 ] || return 0
	head -n "$((n - 1))" "$1" | tail -n 5 | sed 's/\r$//' |
		while IFS= read -r line; do
			say "  | $line"
		done
}

# fault_lines FILE: the guest kernel's trap lines and the workload's own
# fault reports in FILE, each said as "fault: LINE", for the caller to
# decode (featscan --trap reads them).
fault_lines() {
	local line
	grep -aE 'traps: .*trap invalid opcode|HETMIG-FAULT:' "$1" |
		sed -E -e 's/\r$//' -e 's/^\[ *[0-9]+\.[0-9]+\] //' |
		while IFS= read -r line; do
			say "fault: $line"
		done
}

# console_verdict NAME LOG OFFSET BOOT WORK PASS FAIL: watch the console.
console_verdict() {
	local name=$1
	local log=$2
	local offset=$3
	local boot=$4
	local work=$5
	local pass=$6
	local fail=$7
	local start=$SECONDS
	local out=$tmp/console
	local talked=
	local rc
	while :; do
		new_output "$log" "$offset" >"$out"
		[ -s "$out" ] && talked=1
		rc=0
		judge "$name" "$out" "$pass" "$fail" || rc=$?
		[ "$rc" -eq 2 ] || return "$rc"
		if dom_gone "$name"; then
			# Its last words may have come with its end.
			new_output "$log" "$offset" >"$out"
			rc=0
			judge "$name" "$out" "$pass" "$fail" || rc=$?
			[ "$rc" -eq 2 ] || return "$rc"
			if [ -s "$out" ]; then
				say "'$name' died before a verdict: $(tail -n 1 "$out" | sed 's/\r$//')"
				fault_lines "$out"
				return 1
			fi
			say "'$name' went away without a word on its console"
			return 125
		fi
		if [ -z "$talked" ] && [ $((SECONDS - start)) -ge "$boot" ]; then
			say "the console of '$name' stayed silent for ${boot}s ('$log')"
			return 125
		fi
		if [ $((SECONDS - start)) -ge $((boot + work)) ]; then
			say "no verdict from '$name' within $((boot + work))s"
			return 1
		fi
		sleep 1
	done
}

# ssh_verdict NAME TARGET BOOT WORK COMMAND: run the workload over ssh.
ssh_verdict() {
	local name=$1
	local target=$2
	local boot=$3
	local work=$4
	local command=$5
	local rc=0
	"$here/vm.sh" wait "$name" -s "$target" -w "$boot" || return 125
	timeout -k 10 "$work" ssh "${SSH_OPTS[@]}" -- "$target" "$command" \
		</dev/null || rc=$?
	case $rc in
	0) say "'$name' passed" ;;
	124 | 137) say "no verdict from '$name' within ${work}s"; rc=1 ;;
	255) say "ssh to '$target' failed"; rc=125 ;;
	*) say "'$name' failed: '$command' exited $rc"; rc=1 ;;
	esac
	return "$rc"
}

trial() {
	local cfg=
	local name=
	local boot=120
	local work=600
	local pass='HETMIG-VERDICT: PASS'
	local fail='HETMIG-VERDICT: FAIL'
	local target=
	local command=
	local log
	local offset=0
	local opt
	local host=
	local tpath=$here/trial.sh
	local -a pass_on=()
	while getopts b:c:f:H:n:p:s:T:w:x: opt; do
		case $opt in
		b) boot=$OPTARG; validate uint "-b seconds" "$boot" ;;
		c) cfg=$OPTARG ;;
		f) fail=$OPTARG ;;
		n) name=$OPTARG; validate domain_name "domain name" "$name" ;;
		p) pass=$OPTARG ;;
		s) target=$OPTARG; validate ssh_target "ssh target" "$target" ;;
		H) host=$OPTARG; validate ssh_target "host" "$host" ;;
		T) tpath=$OPTARG; validate remote_path "-T trial path" "$tpath" ;;
		w) work=$OPTARG; validate uint "-w seconds" "$work" ;;
		x) command=$OPTARG ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	if [ $# -ne 0 ] || [ -z "$cfg" ]; then
		usage
	fi
	[ -z "$target" ] || [ -n "$command" ] || die "-s needs -x COMMAND"
	[ -n "${HETMIG_CPUID:-}" ] || die "HETMIG_CPUID is not set: run me from featmin"
	validate cpuid_value "HETMIG_CPUID" "$HETMIG_CPUID"
	validate config_path "config path" "$cfg"
	[ -r "$cfg" ] || die "cannot read '$cfg'"
	[ -n "$name" ] || name=$("$here/vm.sh" name "$cfg")
	if [ -n "$host" ]; then
		validate remote_path "-T trial path" "$tpath"
		pass_on=(-b "$boot" -w "$work" -p "$pass" -f "$fail")
		[ -z "$target" ] || pass_on+=(-s "$target" -x "$command")
		trap 'cleanup' EXIT
		trap 'exit 125' INT TERM HUP
		remote_trial "$host" "$tpath" "$cfg" "$name" "${pass_on[@]}"
		return
	fi
	need_xen
	[ -z "$target" ] || need_cmd ssh openssh-client
	tmp=$(mktemp -d)
	trap 'cleanup' EXIT
	trap 'exit 125' INT TERM HUP
	log=$("$here/vm.sh" console-log "$name")
	[ -e "$log" ] && offset=$(wc -c <"$log" | tr -d ' ')
	say "trial ${HETMIG_TRIAL:-?}: '$name' with cpuid=\"$HETMIG_CPUID\""
	# Set before the domain exists, so no way out can miss it.
	dom=$name
	if ! "$here/vm.sh" start -c "$HETMIG_CPUID" -n "$name" "$cfg" >/dev/null; then
		say "'$name' did not start"
		return 125
	fi
	if [ -n "$target" ]; then
		ssh_verdict "$name" "$target" "$boot" "$work" "$command"
	else
		console_verdict "$name" "$log" "$offset" "$boot" "$work" "$pass" "$fail"
	fi
}

main() {
	local rc
	local child
	# trial runs in a subshell of its own, so that its EXIT trap (which
	# destroys the domain) has run before the status is mapped.  errexit is
	# set inside it again: bash ignores it in a subshell tested with || or
	# &&.  A signal to this shell is passed on to the subshell, which ends
	# the trial the same way.
	set +e
	(
		set -e
		trial "$@"
	) &
	child=$!
	trap 'kill -TERM "$child" 2>/dev/null' INT TERM HUP
	wait "$child"
	rc=$?
	while kill -0 "$child" 2>/dev/null; do
		wait "$child"
		rc=$?
	done
	set -e
	case $rc in
	0 | 1 | 125) ;;
	*)
		say "exit $rc is no verdict: reporting 125 (could not tell)"
		rc=125
		;;
	esac
	exit "$rc"
}

main "$@"
