#!/usr/bin/env bash
# vm.sh: start, watch and stop one Xen domain for a trial.
#
# usage:
#   vm.sh start [-c CPUID] [-n NAME] [-m MARKER | -s SSH_TARGET] [-w SECS] CFG
#       xl create CFG with cpuid="CPUID" (CPUID as it is when it is an xl
#       list, "[ ... ]") and name="NAME"; with -m or -s,
#       wait up to SECS (default 120) for MARKER on the domain's console or
#       for ssh to SSH_TARGET to answer.  Prints the domain name.  If
#       anything fails, or a signal comes, before the domain is up, the
#       domain is destroyed: only a domain that started and answered is
#       left running.
#   vm.sh wait NAME (-m MARKER | -s SSH_TARGET) [-o OFFSET] [-w SECS]
#       Wait for MARKER in the console log past byte OFFSET, or for ssh.
#   vm.sh stop NAME [-w SECS]
#       xl shutdown, wait up to SECS (default 60), then xl destroy.
#   vm.sh destroy NAME
#       xl destroy, if the domain exists.
#   vm.sh console-log NAME
#       Print the path of the domain's console log.
#   vm.sh name CFG
#       Print the name = of CFG.
#
# Every domain name (-n, a config's name =, NAME), ssh target, cpuid
# value and number is checked before use (scripts/lib/common.sh): a bad
# one is an error, exit 2.
#
# The console log is the one xenconsoled writes with --log=guest:
# $HETMIG_CONSOLE_DIR/guest-NAME.log (default /var/log/xen).  A marker is
# looked for only in what the log gained after the domain was created, so
# an earlier boot of the same name cannot answer.
#
# Exit status: 0 done; 1 the domain did not answer in time, or died; 2 usage
# or environment error; 3 xl create failed.
set -euo pipefail

PROG=vm.sh
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CONSOLE_DIR=${HETMIG_CONSOLE_DIR:-/var/log/xen}
SSH_OPTS=(-o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

# Set while start has a domain that must not outlive a failure.
started_dom=

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

cleanup() {
	local rc=$?
	if [ -n "$started_dom" ]; then
		warn "destroying '$started_dom'"
		xl destroy -- "$started_dom" >/dev/null 2>&1 || true
	fi
	exit "$rc"
}

on_signal() {
	exit 130
}

# cfg_name CFG: the name = of an xl config, as libxlutil reads it (xlcfg).
cfg_name() {
	"$(hetmig_bin xlcfg)" get -- "$1" name 2>/dev/null || true
}

console_log() {
	printf '%s/guest-%s.log\n' "$CONSOLE_DIR" "$1"
}

log_size() {
	local f
	f=$(console_log "$1")
	if [ -e "$f" ]; then
		wc -c <"$f" | tr -d ' '
	else
		echo 0
	fi
}

# dom_exists NAME: false only when xl answers that NAME does not exist.
dom_exists() {
	local rc=0
	domain_state "$1" || rc=$?
	[ "$rc" -ne 1 ]
}

# dom_known NAME: true only when xl answers with NAME's id.
dom_known() {
	domain_state "$1"
}

# wait_marker NAME MARKER OFFSET SECS: 0 when MARKER shows up, 1 on time
# out or when the domain goes away first.
wait_marker() {
	local name=$1
	local marker=$2
	local offset=$3
	local secs=$4
	local log
	local end=$((SECONDS + secs))
	log=$(console_log "$name")
	while [ "$SECONDS" -lt "$end" ]; do
		if [ -e "$log" ] && tail -c +"$((offset + 1))" "$log" | grep -Fq -- "$marker"; then
			return 0
		fi
		if ! dom_exists "$name"; then
			# One last look: the marker may be the last thing it printed.
			[ -e "$log" ] && tail -c +"$((offset + 1))" "$log" |
				grep -Fq -- "$marker" && return 0
			warn "domain '$name' went away before '$marker'"
			return 1
		fi
		sleep 1
	done
	warn "no '$marker' on the console of '$name' within ${secs}s"
	return 1
}

# wait_ssh NAME TARGET SECS: 0 once `ssh TARGET true` works.
wait_ssh() {
	local name=$1
	local target=$2
	local secs=$3
	local end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		if ssh "${SSH_OPTS[@]}" -- "$target" true </dev/null >/dev/null 2>&1; then
			return 0
		fi
		if ! dom_exists "$name"; then
			warn "domain '$name' went away before ssh answered"
			return 1
		fi
		sleep 2
	done
	warn "ssh to '$target' did not answer within ${secs}s"
	return 1
}

# cmd_name CFG: print the name = of CFG, checked as a domain name.
cmd_name() {
	local name
	[ -r "$1" ] || die "cannot read '$1'"
	name=$(cfg_name "$1")
	[ -n "$name" ] || die "no name = in '$1': give -n NAME"
	validate domain_name "domain name in '$1'" "$name"
	printf '%s\n' "$name"
}

cmd_start() {
	local cpuid=
	local name=
	local marker=
	local target=
	local secs=120
	local cfg
	local offset
	local opt
	local -a items=()
	OPTIND=1
	while getopts c:n:m:s:w: opt; do
		case $opt in
		c) cpuid=$OPTARG; validate cpuid_value "cpuid value" "$cpuid" ;;
		n) name=$OPTARG; validate domain_name "domain name" "$name" ;;
		m) marker=$OPTARG ;;
		s) target=$OPTARG; validate ssh_target "ssh target" "$target" ;;
		w) secs=$OPTARG; validate uint "-w seconds" "$secs" ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -eq 1 ] || usage
	cfg=$1
	# xl create takes an argument with '=' for a line of config.
	validate config_path "config path" "$cfg"
	[ -r "$cfg" ] || die "cannot read '$cfg'"
	[ -z "$marker" ] || [ -z "$target" ] || die "-m and -s exclude each other"
	[ -n "$name" ] || name=$(cmd_name "$cfg")
	need_xen
	if dom_known "$name"; then
		die "a domain '$name' exists already"
	fi
	# A value in xl's legacy list form ("[ ... ]") goes in as it is.  Both
	# forms passed is_cpuid_value: no quote or newline can end the string
	# and start another config line.
	case $cpuid in
	'') ;;
	'['*) items+=("cpuid=$cpuid") ;;
	*) items+=("cpuid=\"$cpuid\"") ;;
	esac
	[ -z "$name" ] || items+=("name=\"$name\"")
	offset=$(log_size "$name")
	trap 'cleanup' EXIT
	trap 'on_signal' INT TERM HUP
	started_dom=$name
	if ! xl create -- "$cfg" "${items[@]}" >&2; then
		warn "xl create '$cfg' failed"
		# xl may leave a half-built domain behind: cleanup destroys it.
		exit 3
	fi
	if [ -n "$marker" ]; then
		wait_marker "$name" "$marker" "$offset" "$secs" || exit 1
	elif [ -n "$target" ]; then
		wait_ssh "$name" "$target" "$secs" || exit 1
	fi
	started_dom=
	printf '%s\n' "$name"
}

cmd_wait() {
	local name
	local marker=
	local target=
	local secs=120
	local offset=0
	local opt
	[ $# -ge 1 ] || usage
	name=$1
	validate domain_name "domain name" "$name"
	shift
	OPTIND=1
	while getopts m:s:o:w: opt; do
		case $opt in
		m) marker=$OPTARG ;;
		s) target=$OPTARG; validate ssh_target "ssh target" "$target" ;;
		o) offset=$OPTARG; validate uint "-o offset" "$offset" ;;
		w) secs=$OPTARG; validate uint "-w seconds" "$secs" ;;
		*) usage ;;
		esac
	done
	need_xen
	if [ -n "$marker" ]; then
		wait_marker "$name" "$marker" "$offset" "$secs"
	elif [ -n "$target" ]; then
		wait_ssh "$name" "$target" "$secs"
	else
		usage
	fi
}

cmd_stop() {
	local name
	local secs=60
	local opt
	local end
	[ $# -ge 1 ] || usage
	name=$1
	validate domain_name "domain name" "$name"
	shift
	OPTIND=1
	while getopts w: opt; do
		case $opt in
		w) secs=$OPTARG; validate uint "-w seconds" "$secs" ;;
		*) usage ;;
		esac
	done
	need_xen
	dom_exists "$name" || return 0
	xl shutdown -- "$name" >/dev/null 2>&1 || true
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ] && dom_exists "$name"; do
		sleep 1
	done
	cmd_destroy "$name"
}

cmd_destroy() {
	[ $# -eq 1 ] || usage
	validate domain_name "domain name" "$1"
	need_xen
	if ! xl destroy -- "$1" >/dev/null 2>&1 && dom_exists "$1"; then
		die "cannot destroy '$1'"
	fi
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	start) cmd_start "$@" ;;
	wait) cmd_wait "$@" ;;
	stop) cmd_stop "$@" ;;
	destroy) cmd_destroy "$@" ;;
	name)
		[ $# -eq 1 ] || usage
		cmd_name "$1"
		;;
	console-log)
		[ $# -eq 1 ] || usage
		validate domain_name "domain name" "$1"
		console_log "$1"
		;;
	*) usage ;;
	esac
}

main "$@"
