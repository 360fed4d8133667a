#!/usr/bin/env bash
# migrate-prep.sh: prepare one Xen VM to run on a host whose CPU differs,
# and on request move it there.
#
# usage: migrate-prep.sh [options] VM HOSTB
#
# On host A's dom0: read the features the VM sees, get host B's policy,
# decide which features the VM needs, check that B has them, write the VM's
# config for B with a cpuid= line that is safe on both hosts, and, with
# --apply, move the VM (cold: stop, copy, start on B; live: xl migrate).
# See migrate-prep(8).  Exit: 0 ready or done, 1 not possible (B lacks a
# needed feature), 2 error.
#
# Everything this script is given (VM and host names, ssh targets, paths,
# numbers) is checked before use with the validators of lib/common.sh: it
# runs as root and hands them to xl, ssh and shell command lines on B.
set -Eeuo pipefail

PROG=migrate-prep
self=$(readlink -f "${BASH_SOURCE[0]}")
topdir=$(dirname "$self")
if [ -e "$topdir/scripts/lib/common.sh" ]; then
	libdir=$topdir/scripts
else
	libdir=$topdir
fi
# shellcheck source=scripts/lib/common.sh
. "$libdir/lib/common.sh"

# Options, with their defaults.
cfg=""
dest_policy=""
analyse=auto
workload=pgbench
level=common
apply=""
restart_on_source=0
shared_storage=0
force=0
dry_run=0
json=0
out_cfg=""
shutdown_timeout=120
remote_cmd=${HETMIG_REMOTE:-ssh -o BatchMode=yes -o ConnectTimeout=10}
migrate_cmd=""
check_marker=""
check_cmd=""
check_timeout=300
trial_args=()
trial_cfg=""
trial_ssh=""
rehearse=auto
programs=()
scan_paths=()
scan_ssh=""
needed_file=""
workload_dir=/usr/lib/hetmig/workloads
line_form=""

# State of the run, for the report and for the exit path.
vm=""
hostb=""
state_dir=""
work=""
where="A"		# A, B, none, or unknown: where the VM runs now
actions=()
workload_check="not asked for (--check-marker, --check-cmd)"
rehearsal=""		# passed, failed, not rehearsed (the report's word)
rehearsal_why=""	# the rest of the report's rehearsal line
rehearsal_secs=""
faults=()		# what a failed rehearsal trapped on, as said
needed_source=""
line=""
missing=()
lock=""
reported=0

usage() {
	cat >&2 <<'EOF'
usage: migrate-prep.sh [options] VM HOSTB
  -c FILE               the VM's xl config (default /etc/xen/VM.cfg)
  --dest-policy FILE    host B's policy from a file instead of over ssh
  --analyse             run featmin now to find what the VM needs
  --no-analyse          take every feature the VM sees as needed
  --workload NAME       workload for --analyse (default pgbench)
  --trial-config FILE   the VM's twin for --analyse trials, with its own
                        disks (required when the VM's config names disks)
  --trial-ssh TARGET    judge each trial by running the workload over ssh
                        in the twin (default: its console verdict)
  --trial-arg ARG       pass ARG to the trial script (repeatable)
  --workload-dir DIR    where the workloads are in the twin, for
                        --trial-ssh (default /usr/lib/hetmig/workloads)
  --rehearse            boot the twin on B with B's line and run the
                        workload there before anything moves (the default
                        when a twin is given: --trial-config, --trial-ssh,
                        --trial-arg, --analyse)
  --no-rehearse         do not; --apply then moves the VM unrehearsed
  --programs FILE       a copy of a guest program, to name the instruction
                        a failed rehearsal trapped on (repeatable)
  --scan PATH           scan copies of the guest's programs with featscan:
                        what they use blind and B lacks is not possible
                        (repeatable: files, directories)
  --scan-ssh TARGET     run featscan in the guest over what its processes
                        map (featscan installed there)
  --level common|needed the cpuid= level for B (default common)
  -o FILE               where to write B's config (default in the state dir)
  --apply cold|live     move the VM after preparing it
  --restart-on-source   live: restart the VM on A first when it must be
  --shared-storage      cold: the disks are already visible on B
  --force               cold: destroy the VM when a clean shutdown fails
  --shutdown-timeout S  seconds to wait for a clean shutdown (default 120)
  --remote-cmd CMD      how to run a command on B (default ssh, BatchMode)
  --migrate-cmd CMD     passed to 'xl migrate -s'
  --check-marker REGEX  after the move, wait for a line of the VM's
                        console on B matching REGEX (the workload check)
  --check-cmd CMD       after the move, run CMD here; exit 0 = it works
  --check-timeout S     how long the workload check may take (default 300)
  -n, --dry-run         change nothing on either host
  --json                the report in JSON
  -h, --help            this help
EOF
	exit "${1:-2}"
}

# --- helpers ---------------------------------------------------------------

# bin NAME: the hetmig binary NAME (lib/common.sh's hetmig_bin).
bin() {
	hetmig_bin "$1"
}

# remote ARGS...: run a command on host B.  The remote command (ssh, or
# what --remote-cmd names) is called as `CMD -- HOSTB LINE`, as ssh is: the
# `--` ends its options, so no host name can be taken for one, and LINE is
# one shell command line in which each argument is quoted for that shell.
remote() {
	local -a cmd
	local line
	read -r -a cmd <<<"$remote_cmd"
	printf -v line '%q ' "$@"
	"${cmd[@]}" -- "$hostb" "$line" </dev/null
}

# remote_sh SCRIPT: run a shell script (one string) on host B, with this
# script's standard input as its own (callers redirect it).
remote_sh() {
	local -a cmd
	read -r -a cmd <<<"$remote_cmd"
	"${cmd[@]}" -- "$hostb" "$1"
}

act() {
	actions+=("$*")
	say "$*"
}

# domain_running HOST NAME: 0 when NAME runs on A (HOST=A) or B, 1 when
# it does not, 2 when that cannot be told (domain_state's answers).  B is
# asked up to three times, a second apart, since ssh to it can fail for a
# moment (exit 255); no answer is never taken for "not running".
domain_running() {
	local try
	local rc
	rc=0
	if [ "$1" = A ]; then
		domain_state "$2" || rc=$?
		return "$rc"
	fi
	for try in 1 2 3; do
		rc=0
		remote xl domid -- "$2" >/dev/null 2>&1 || rc=$?
		case $rc in 0 | 1) return "$rc" ;; esac
		[ "$try" -eq 3 ] || sleep 1
	done
	return 2
}

# wait_running HOST NAME SECONDS
wait_running() {
	local i
	for ((i = 0; i < $3; i++)); do
		domain_running "$1" "$2" && return 0
		sleep 1
	done
	return 1
}

# shut_down NAME: NAME is on A but its guest has shut down (state 's' in
# xl list): on_poweroff = "preserve", or no xl left to apply the config's
# action.  Its OS has stopped, so destroying it loses nothing.
shut_down() {
	local state
	state=$(xl list -- "$1" 2>/dev/null | awk 'NR == 2 { print $5 }')
	[[ $state == *s* ]]
}

# wait_gone NAME SECONDS: ask NAME to shut down on A, and wait until it
# has left; the request is made again every 20 s, in case one was lost.
wait_gone() {
	local i
	local rc
	for ((i = 0; i < $2; i++)); do
		[ $((i % 20)) -ne 0 ] || xl shutdown -- "$1" >/dev/null 2>&1 || true
		rc=0
		domain_running A "$1" || rc=$?
		[ "$rc" -ne 1 ] || return 0
		if [ "$rc" -eq 0 ] && shut_down "$1"; then
			say "'$1' has shut down but is still listed: destroying what is left of it"
			xl destroy -- "$1" >/dev/null 2>&1 || true
		fi
		sleep 1
	done
	return 1
}

# wait_suspendable NAME SECONDS: wait until NAME's kernel has said that it
# can be suspended (control/feature-suspend in xenstore), as a live
# migration needs: right after a restart the guest is still booting, and
# "did not respond to suspend request" is what xl migrate says then.  A
# guest without PV drivers never says so: 1 after SECONDS.
wait_suspendable() {
	local i
	local id
	local v
	command -v xenstore-read >/dev/null 2>&1 || return 0
	for ((i = 0; i < $2; i++)); do
		id=$(xl domid -- "$1" 2>/dev/null) || id=
		if [ -n "$id" ]; then
			v=$(xenstore-read "/local/domain/$id/control/feature-suspend" 2>/dev/null) || v=
			[ "$v" != 1 ] || return 0
		fi
		sleep 1
	done
	return 1
}

names_of() {
	"$(bin featdump)" -f "$1" -o names
}

# --- steps -----------------------------------------------------------------

parse_args() {
	local -a pos=()
	local rc
	while [ $# -gt 0 ]; do
		case $1 in
		-c) cfg=${2:?}; shift ;;
		--dest-policy) dest_policy=${2:?}; shift ;;
		--analyse | --analyze) analyse=yes ;;
		--no-analyse | --no-analyze) analyse=no ;;
		--workload) workload=${2:?}; shift ;;
		--trial-arg) trial_args+=("${2:?}"); shift ;;
		--trial-config) trial_cfg=${2:?}; shift ;;
		--trial-ssh) trial_ssh=${2:?}; shift ;;
		--workload-dir) workload_dir=${2:?}; shift ;;
		--rehearse) rehearse=yes ;;
		--no-rehearse) rehearse=no ;;
		--programs) programs+=("${2:?}"); shift ;;
		--scan) scan_paths+=("${2:?}"); shift ;;
		--scan-ssh) scan_ssh=${2:?}; shift ;;
		--level) level=${2:?}; shift ;;
		-o) out_cfg=${2:?}; shift ;;
		--apply) apply=${2:?}; shift ;;
		--restart-on-source) restart_on_source=1 ;;
		--shared-storage) shared_storage=1 ;;
		--force) force=1 ;;
		--shutdown-timeout) shutdown_timeout=${2:?}; shift ;;
		--remote-cmd) remote_cmd=${2:?}; shift ;;
		--migrate-cmd) migrate_cmd=${2:?}; shift ;;
		--check-marker) check_marker=${2:?}; shift ;;
		--check-cmd) check_cmd=${2:?}; shift ;;
		--check-timeout) check_timeout=${2:?}; shift ;;
		-n | --dry-run) dry_run=1 ;;
		--json) json=1 ;;
		-h | --help) usage 0 ;;
		--) shift; pos+=("$@"); break ;;
		-*) printf '%s: unknown option %s\n' "$PROG" "$1" >&2; usage ;;
		*) pos+=("$1") ;;
		esac
		shift
	done
	[ "${#pos[@]}" -eq 2 ] || usage
	vm=${pos[0]}
	hostb=${pos[1]}
	validate domain_name "VM name" "$vm"
	# xl migrate hands HOSTB to a shell (`exec ssh HOSTB xl
	# migrate-receive`), and it names files in the state directory.
	validate ssh_target "host" "$hostb"
	[ -z "$trial_ssh" ] || validate ssh_target "--trial-ssh target" "$trial_ssh"
	[ -z "$scan_ssh" ] || validate ssh_target "--scan-ssh target" "$scan_ssh"
	[ "${#scan_paths[@]}" -eq 0 ] || [ -z "$scan_ssh" ] ||
		die "--scan and --scan-ssh exclude each other"
	validate remote_path "--workload-dir" "$workload_dir"
	case $level in common | needed) ;; *) die "unknown level '$level': expected common or needed" ;; esac
	case $apply in "" | cold | live) ;; *) die "unknown --apply '$apply': expected cold or live" ;; esac
	validate uint "--shutdown-timeout" "$shutdown_timeout"
	validate uint "--check-timeout" "$check_timeout"
	# grep -E exits 2 on a bad expression (and 1 on no match: fine here).
	rc=0
	[ -z "$check_marker" ] || grep -Eq -- "$check_marker" </dev/null 2>/dev/null || rc=$?
	[ "$rc" -ne 2 ] || die "bad --check-marker '$check_marker': not an extended regex"
	[ -n "$cfg" ] || cfg=/etc/xen/$vm.cfg
	# xl create takes an argument with '=' for a line of config.
	validate config_path "config path" "$cfg"
	[ -r "$cfg" ] || die "cannot read config '$cfg'"
	[ -z "$trial_cfg" ] || validate config_path "trial config path" "$trial_cfg"
	if [ -n "$dest_policy" ] && [ ! -r "$dest_policy" ]; then
		die "cannot read '$dest_policy'"
	fi
	if [ -n "$trial_cfg" ] && [ ! -r "$trial_cfg" ]; then
		die "cannot read trial config '$trial_cfg'"
	fi
	[[ $workload =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad workload name '$workload'"
}

setup() {
	need_cmd xl xen-utils-4.17
	need_cmd jq jq
	bin featdump >/dev/null
	bin featplan >/dev/null
	bin xlcfg >/dev/null
	state_dir=${HETMIG_STATE_DIR:-/var/lib/hetmig}/$vm
	# A dry run writes nothing, not even its lock or B's policy.
	if [ "$dry_run" -eq 0 ]; then
		mkdir -p "$state_dir"
		# One run per VM at a time: set -C makes the redirection fail if
		# the lock exists.
		if ! (set -C; printf '%s\n' "$$" >"$state_dir/lock") 2>/dev/null; then
			die "another migrate-prep runs for '$vm' (lock '$state_dir/lock')"
		fi
		lock=$state_dir/lock
	fi
	work=$(mktemp -d)
}

# on_error COMMAND: set -e stops the script on a command that failed
# unexpectedly; whatever that command's status, it is an error (2), never
# the "not possible" (1) of a failed check.  Inside a subshell only the
# status is set: the shell that waits for it says what failed.
on_error() {
	local rc=$?
	[ "$BASH_SUBSHELL" -eq 0 ] || exit 2
	die "'$1' failed (exit $rc)"
}

cleanup() {
	local rc=$?
	trap - ERR
	# A failure between stopping the VM on A and starting it on B must not
	# leave it running nowhere, nor on both: if B runs it after all (a
	# create whose answer was lost), it stays there; else it starts again
	# on A.
	local on_b=0
	if [ "$where" = none ] && [ -n "$vm" ]; then
		domain_running B "$vm" || on_b=$?
		case $on_b in
		0)
			where=B
			say "'$vm' runs on $hostb after all: it stays there"
			;;
		2)
			where=unknown
			say "cannot tell whether '$vm' runs on $hostb: look there; if it does not, start it here with 'xl create $cfg'"
			;;
		esac
	fi
	if [ "$where" = none ] && [ -n "$vm" ]; then
		say "the VM runs on neither host: restarting it on this host"
		if xl create -- "$cfg" >&2 && wait_running A "$vm" 60; then
			where=A
			say "'$vm' runs on this host again; nothing was moved"
		else
			say "could not restart '$vm' here: start it with 'xl create $cfg'"
		fi
	fi
	# Every way out says where the VM is.
	if [ "$reported" -eq 0 ] && [ -n "$work" ] && [ "$rc" -ne 0 ]; then
		report "error (exit $rc): see the message above" >&2 || true
	fi
	[ -n "$work" ] && rm -rf "$work"
	[ -n "$lock" ] && rm -f "$lock"
	exit "$rc"
}

guest_type() {
	local t
	local builder
	t=$("$(bin xlcfg)" get -- "$cfg" type 2>/dev/null || true)
	t=${t//\"/}
	if [ -z "$t" ]; then
		builder=$("$(bin xlcfg)" get -- "$cfg" builder 2>/dev/null || true)
		case ${builder//\"/} in hvm) t=hvm ;; *) t=pv ;; esac
	fi
	case $t in pv | pvh | hvm) printf '%s\n' "$t" ;; *) die "unknown guest type '$t' in '$cfg'" ;; esac
}

read_policies() {
	local gtype=$1
	local sys=hvm-default
	[ "$gtype" = pv ] && sys=pv-default
	xl list -- "$vm" >/dev/null 2>&1 || die "domain '$vm' is not running on this host"
	"$(bin featdump)" -d "$vm" -o json >"$work/vm.json"
	"$(bin featdump)" -s "$sys" -o json >"$work/a.json"
	if [ -n "$dest_policy" ]; then
		"$(bin featdump)" -f "$dest_policy" -o json >"$work/b.json"
	else
		local rc=0
		remote featdump -s "$sys" -o json >"$work/b.json" 2>"$work/b.err" || rc=$?
		case $rc in
		0) ;;
		127) die "hetmig is not installed on '$hostb' (featdump not found there)" ;;
		255) die "cannot reach '$hostb': $(head -n 1 "$work/b.err")" ;;
		*) die "cannot read the policy of '$hostb': $(head -n 1 "$work/b.err")" ;;
		esac
	fi
	[ "$dry_run" -eq 1 ] || cp "$work/b.json" "$state_dir/$hostb.json"
}

# The needed set: the last analysis, a new one, or everything the VM sees.
find_needed() {
	local last=$state_dir/needed.json
	case $analyse in
	yes)
		run_analysis
		cp "$last" "$work/needed.json"
		needed_file=$work/needed.json
		needed_source="featmin analysis run now ($workload)"
		;;
	auto)
		if [ -s "$last" ]; then
			cp "$last" "$work/needed.json"
			needed_file=$work/needed.json
			needed_source="last featmin analysis ($last)"
		else
			needed_source="every feature the VM sees (no analysis yet; --analyse runs one)"
		fi
		;;
	no)
		needed_source="every feature the VM sees (--no-analyse)"
		;;
	esac
}

# run_analysis: featmin over trial.sh.  Each trial boots the VM's twin
# (--trial-config), or the VM's own config under another name when it
# names no disks (a twin sharing the running VM's disks would corrupt
# them), so the VM itself keeps running.  The verdict is the twin's
# console (its workload runs at boot and prints it) or, with --trial-ssh,
# the workload run over ssh.  The items of the VM's current cpuid= line
# that are not features of its policy (rdtscp=0 where the host cannot
# emulate it, say) go on every trial's line with -e.
# trial_command: set trial_args for --analyse and the rehearsal, or
# refuse, before anything is read or written.
trial_command() {
	local disks
	[ -x "$libdir/trial.sh" ] || die "trial script '$libdir/trial.sh' not found"
	local -a args=("${trial_args[@]}")
	if [ "${#args[@]}" -eq 0 ]; then
		if [ -n "$trial_cfg" ]; then
			args=(-c "$trial_cfg")
		else
			disks=$("$(bin xlcfg)" get -- "$cfg" disk 2>/dev/null || true)
			[ -z "$disks" ] || [ "$disks" = "[]" ] ||
				die "a trial would boot '$cfg' again, on the disks '$vm' uses: give --trial-config, a copy of the config with its own disks"
			args=(-c "$cfg" -n "$vm-hetmig-trial")
		fi
		[ -z "$trial_ssh" ] ||
			args+=(-s "$trial_ssh" -x "$workload_dir/$workload")
	fi
	trial_args=("${args[@]}")
}

run_analysis() {
	local trial=$libdir/trial.sh
	local current
	local -a extra=()
	current=$("$(bin xlcfg)" get -- "$cfg" cpuid 2>/dev/null || true)
	[ -z "$current" ] || extra=(-e "$current")
	act "analysing what '$vm' needs with featmin and the '$workload' workload"
	HETMIG_WORKLOAD=$workload "$(bin featmin)" -p "$work/vm.json" \
		-j "$state_dir/journal" "${extra[@]}" -o json -- \
		"$trial" "${trial_args[@]}" >"$work/needed.new" </dev/null ||
		die "the analysis failed; its journal is in '$state_dir/journal'"
	mv "$work/needed.new" "$state_dir/needed.json"
}

# rehearsal_plan: whether the rehearsal runs, decided before anything is
# read or written.  It runs by default when the options give a twin to
# boot and a verdict to read (--trial-config, --trial-ssh, --trial-arg,
# --analyse), or with --rehearse; a move without it is the user's explicit
# choice (--no-rehearse), never a silent default.
rehearsal_plan() {
	if [ "$rehearse" = auto ]; then
		rehearse=no
		[ -z "$trial_cfg$trial_ssh" ] && [ "${#trial_args[@]}" -eq 0 ] &&
			[ "$analyse" != yes ] || rehearse=yes
		if [ "$rehearse" = no ]; then
			rehearsal_why="no twin to boot on $hostb (--trial-config, --rehearse)"
			[ -z "$apply" ] || [ "$dry_run" -eq 1 ] ||
				die "--apply moves '$vm' only after a rehearsal on '$hostb': give its twin (--trial-config, or --rehearse when its config names no disks), or --no-rehearse to move it unrehearsed"
		fi
	elif [ "$rehearse" = no ]; then
		rehearsal_why="skipped (--no-rehearse)"
	fi
	if [ "$rehearse" = yes ] && [ "$dry_run" -eq 1 ]; then
		rehearse=no
		rehearsal_why="skipped (dry run: nothing runs on $hostb)"
	fi
	[ "$rehearse" = no ] && rehearsal="not rehearsed" && return 0
	[ "${#trial_args[@]}" -gt 0 ] || trial_command
}

# run_rehearsal: boot the twin on B with exactly the cpuid= line B will
# get, run the workload there as the trials do (trial.sh -H, through the
# remote command), and read the verdict: passed, failed (the line is not
# safe on B's silicon: a program uses what B lacks without asking CPUID,
# say), or not rehearsed when B could not tell.  trial.sh destroys the
# twin on B on every way out.  Nothing of the VM's is touched.
run_rehearsal() {
	local rc=0
	local start=$SECONDS
	[ "$rehearse" = yes ] || return 0
	act "rehearsing on $hostb: its twin with the line for $hostb"
	HETMIG_REMOTE=$remote_cmd HETMIG_CPUID=$line HETMIG_TRIAL=rehearsal \
		HETMIG_WORKLOAD=$workload "$libdir/trial.sh" -H "$hostb" \
		"${trial_args[@]}" </dev/null >"$work/rehearsal.out" 2>"$work/rehearsal.err" || rc=$?
	rehearsal_secs=$((SECONDS - start))
	# The trial's talk, whichever stream the remote command brought it
	# back on (ssh keeps them apart; a plain transport may not).
	cat "$work/rehearsal.err" "$work/rehearsal.out" >"$work/rehearsal.log"
	sed 's/^/  | /' "$work/rehearsal.log" >&2
	case $rc in
	0)
		rehearsal=passed
		rehearsal_why="the workload ran on $hostb with the line (${rehearsal_secs}s)"
		;;
	1)
		rehearsal=failed
		rehearsal_why="after ${rehearsal_secs}s: $(sed -n \
			-e "s/^trial.sh: '.*' failed: //p" \
			-e "s/^trial.sh: '.*' \(died before a verdict: .*\)/\1/p" \
			"$work/rehearsal.log" | head -n 1)"
		name_faults
		;;
	*)
		rehearsal="not rehearsed"
		rehearsal_why="$hostb could not run the twin: $(grep -v '^trial.sh: trial ' \
			"$work/rehearsal.log" | tail -n 1 | sed 's/^trial.sh: //')"
		[ -z "$apply" ] ||
			die "the rehearsal on '$hostb' could not tell ($rehearsal_why): '$vm' stays here; --no-rehearse moves it unrehearsed"
		warn "not rehearsed: $rehearsal_why"
		;;
	esac
}

# name_faults: what the failed rehearsal trapped on.  featscan decodes
# the guest's trap lines against the copies of its programs (--programs):
# "bmi2 (pdep) in FILE at +0x1553"; without them, or without featscan,
# the program and the address, as the guest said them.
name_faults() {
	local scan
	grep '^trial.sh: fault: ' "$work/rehearsal.log" | sed 's/^trial.sh: fault: //' \
		>"$work/faults" || true
	[ -s "$work/faults" ] || return 0
	if scan=$(bin featscan 2>/dev/null) &&
		"$scan" --trap "${programs[@]}" <"$work/faults" >"$work/faults.named" 2>/dev/null; then
		mapfile -t faults <"$work/faults.named"
	else
		mapfile -t faults <"$work/faults"
	fi
}


# The cpuid= line for B, rendered against both hosts' policies: it hides
# what either host has beyond the chosen level, so the domain sees the
# same features whether it is created on A (a live move restarts it there
# first) or on B (a cold move), and the config is safe on both.
make_plan() {
	local rc=0
	local -a args=(-j -l "$level" -v "$work/vm.json" -a "$work/a.json"
		-b "$work/b.json" -C "$cfg")
	[ -z "$needed_file" ] || args+=(-n "$needed_file")
	[ ! -s "$work/scan.json" ] || args+=(-s "$work/scan.json")
	"$(bin featplan)" "${args[@]}" >"$work/plan.json" 2>"$work/plan.err" || rc=$?
	case $rc in
	0 | 1) ;;
	*) die "featplan failed: $(head -n 1 "$work/plan.err")" ;;
	esac
	line=$(jq -r '.cpuid.value // ""' "$work/plan.json")
	line_form=$(jq -r '.cpuid.form // ""' "$work/plan.json")
	mapfile -t missing < <(jq -r '.missing[].name' "$work/plan.json")
	return "$rc"
}

# scan_programs: with --scan, featscan over the given copies of the
# guest's programs; with --scan-ssh, featscan inside the guest over what
# its processes map (/proc/PID/maps: the workload's own files, not the
# whole disk).  featplan then takes what they use blind or require as
# needed: one that B lacks makes the move not possible, before any
# rehearsal boots.
scan_programs() {
	local rc=0
	if [ "${#scan_paths[@]}" -gt 0 ]; then
		act "scanning ${#scan_paths[@]} path(s) with featscan"
		"$(bin featscan)" -o json -- "${scan_paths[@]}" >"$work/scan.json" 2>"$work/scan.err" || rc=$?
	elif [ -n "$scan_ssh" ]; then
		act "scanning what the programs of '$scan_ssh' map, with featscan there"
		ssh -o BatchMode=yes -o ConnectTimeout=10 -- "$scan_ssh" \
			'cat /proc/[0-9]*/maps 2>/dev/null | featscan -o json -' \
			</dev/null >"$work/scan.json" 2>"$work/scan.err" || rc=$?
	else
		return 0
	fi
	[ "$rc" -eq 0 ] || die "featscan failed: $(head -n 1 "$work/scan.err")"
}

# scan_uses blind|guarded: the uses the scan found of the features B
# lacks, one a line: blind or required ones (they make the move not
# possible) as "FEATURE (MNEMONICS) in FILE: FUNCTION"; guarded ones
# (reported only: a check in the program chooses its path) as
# "FEATURE in N function(s) of FILE...", one line a feature.
scan_uses() {
	local -a have
	[ -s "$work/scan.json" ] || return 0
	mapfile -t have < <(names_of "$work/b.json")
	jq -r --arg want "$1" --argjson have "$(json_list "${have[@]}")" '
		[.files[]? | .path as $p | .uses[]? |
		 select(.feature as $f | $have | index($f) | not) |
		 select(($want == "guarded") == (.class == "guarded")) |
		 . + {path: $p}] |
		if $want == "guarded" then
			group_by(.feature)[] |
			"\(.[0].feature) in \(length) function(s) of \([.[].path] | unique | join(", "))"
		else
			.[] | "\(.feature) (\(.mnemonics | join(","))) in \(.path): \(.function // "?")"
		end
	' "$work/scan.json"
}

write_config() {
	local target=${out_cfg:-$state_dir/$vm.$hostb.cfg}
	cp "$cfg" "$work/new.cfg"
	"$(bin xlcfg)" set -- "$work/new.cfg" cpuid "$line" >/dev/null
	diff -u -L "$cfg" -L "$target" "$cfg" "$work/new.cfg" >&2 || true
	if [ "$dry_run" -eq 1 ]; then
		act "dry run: would write '$target'"
		return 0
	fi
	if [ -e "$target" ] || [ -L "$target" ]; then
		"$(bin xlcfg)" set -- "$target" cpuid "$line" >/dev/null
	else
		write_new "$work/new.cfg" "$target"
	fi
	act "wrote '$target'"
	out_cfg=$target
}

# write_new SRC TARGET: put a copy of SRC at TARGET, which does not exist:
# through a temporary file that mktemp creates (O_EXCL) in TARGET's
# directory, so that no file planted under a predictable name can
# redirect the write; synced, then renamed.
write_new() {
	local t
	t=$(mktemp -- "$(dirname -- "$2")/.$(basename -- "$2").XXXXXX") ||
		die "cannot create a temporary file next to '$2'"
	if ! cp -- "$1" "$t" || ! sync -- "$t" || ! mv -T -- "$t" "$2"; then
		rm -f -- "$t"
		die "cannot write '$2'"
	fi
}

# disk_paths: the local files and block devices the config's disks name.
disk_paths() {
	"$(bin xlcfg)" get -- "$cfg" disk 2>/dev/null | tr -d "[]'\"" | tr ',' '\n' |
		sed -n -e 's/^ *target=//p' -e 's/^ *\(file\|phy\|tap\|aio\):\(\/.*\)/\2/p' \
			-e 's/^ *\(\/[^ ]*\) *$/\1/p' | sort -u
}

# copy_file PATH: copy a local file to the same path on B.  Resumable: a
# partial copy (PATH.part on B) left by an interrupted run is completed,
# not restarted; the checksum in copy_disks decides whether it is right.
copy_file() {
	local path=$1
	local qpath
	local have
	printf -v qpath '%q' "$path"
	remote mkdir -p -- "$(dirname -- "$path")" ||
		die "cannot make the directory of '$path' on '$hostb'"
	have=$(remote_sh "stat -c %s -- $qpath.part 2>/dev/null || echo 0" </dev/null) ||
		die "cannot reach '$hostb' to copy '$path'"
	is_uint "$have" || have=0
	tail -c +"$((have + 1))" -- "$path" | remote_sh "cat >> $qpath.part" ||
		die "copying '$path' to '$hostb' failed"
	remote mv -- "$path.part" "$path" || die "cannot rename '$path.part' on '$hostb'"
}

# copy_disks: every local file or block device the config names goes to
# the same path on B, checked by SHA-256 on both sides.
copy_disks() {
	local path
	local qpath
	local sum_a
	local sum_b
	while read -r path; do
		[ -n "$path" ] || continue
		printf -v qpath '%q' "$path"
		act "copying '$path' to $hostb"
		if [ -b "$path" ]; then
			remote test -b "$path" ||
				die "block device '$path' does not exist on '$hostb': create it first"
			dd if="$path" bs=4M status=none | remote_sh "dd of=$qpath bs=4M status=none" ||
				die "copying '$path' to '$hostb' failed"
		else
			copy_file "$path"
		fi
		sum_a=$(sha256sum <"$path" | cut -d' ' -f1) || die "cannot read '$path'"
		sum_b=$(remote sha256sum -- "$path" | cut -d' ' -f1) ||
			die "cannot checksum '$path' on '$hostb'"
		[ "$sum_a" = "$sum_b" ] || die "checksum of '$path' differs on '$hostb'"
	done < <(disk_paths)
}

apply_cold() {
	act "shutting '$vm' down on this host"
	if ! wait_gone "$vm" "$shutdown_timeout"; then
		[ "$force" -eq 1 ] || die "'$vm' did not shut down within ${shutdown_timeout}s (--force destroys it); it still runs here"
		act "destroying '$vm' (--force)"
		xl destroy -- "$vm"
	fi
	where=none
	[ "$shared_storage" -eq 1 ] || copy_disks
	act "copying the config to $hostb:/etc/xen/$vm.cfg"
	remote_sh "t=\$(mktemp /etc/xen/.$vm.cfg.XXXXXX) && cat > \"\$t\" && sync \"\$t\" && mv -T \"\$t\" /etc/xen/$vm.cfg" <"$out_cfg" ||
		die "cannot write /etc/xen/$vm.cfg on '$hostb'"
	act "starting '$vm' on $hostb"
	remote xl create -- "/etc/xen/$vm.cfg" >&2 || die "xl create failed on '$hostb'"
	wait_running B "$vm" 60 || die "'$vm' did not start on '$hostb'"
	where=B
	act "'$vm' runs on $hostb"
}

apply_live() {
	if jq -e '.live.restart_needed' "$work/plan.json" >/dev/null; then
		if [ "$restart_on_source" -eq 0 ]; then
			say "'$vm' runs with features '$hostb' lacks; its policy travels with it in a live migration, and Xen 4.17 on '$hostb' does not refuse it: it cuts the features down to what '$hostb' has, under a guest that already chose its code paths"
			say "restart it on this host with the new line first: --restart-on-source does that"
			exit 1
		fi
		act "setting the new cpuid= line in '$cfg' (old config kept)"
		"$(bin xlcfg)" set -- "$cfg" cpuid "$line" >/dev/null
		act "restarting '$vm' on this host with the new line"
		wait_gone "$vm" "$shutdown_timeout" || {
			[ "$force" -eq 1 ] || die "'$vm' did not shut down within ${shutdown_timeout}s (--force destroys it)"
			xl destroy -- "$vm"
		}
		where=none
		xl create -- "$cfg" >&2 || die "xl create failed for '$cfg'"
		wait_running A "$vm" 60 || die "'$vm' did not start again"
		where=A
		wait_suspendable "$vm" 120 ||
			warn "'$vm' has not said it can be suspended (no PV drivers?); migrating all the same"
		# The restarted domain's policy is a new fact: asked of featplan
		# again, since a line libxl took and Xen clamped may still show
		# the guest something B lacks.
		"$(bin featdump)" -d "$vm" -o json >"$work/vm.json"
		"$(bin featplan)" -j -v "$work/vm.json" -a "$work/a.json" -b "$work/b.json" \
			>"$work/replan.json" 2>/dev/null || true
		jq -e '.live.restart_needed == false' "$work/replan.json" >/dev/null 2>&1 ||
			die "'$vm' still sees features '$hostb' lacks after the restart"
	fi
	act "live-migrating '$vm' to $hostb"
	local -a mig=(xl migrate)
	local try
	local on
	[ -z "$migrate_cmd" ] || mig+=(-s "$migrate_cmd")
	# A migration that failed with the VM still running here, and only
	# here, is tried again: a guest busy or still booting may miss the
	# suspend request.  Anything else stops with where the VM is.
	for try in 1 2 3; do
		"${mig[@]}" -- "$vm" "$hostb" >&2 && break
		on=0
		domain_running A "$vm" || on=$?
		[ "$on" -eq 0 ] || die "xl migrate failed; '$vm' is not running here: check '$hostb'"
		on=0
		domain_running B "$vm" || on=$?
		[ "$on" -eq 1 ] || die "xl migrate failed; '$vm' runs here, and '$hostb' may run it too: check there"
		[ "$try" -lt 3 ] || die "xl migrate failed $try times; '$vm' still runs on this host"
		say "xl migrate failed; '$vm' still runs on this host: trying again in 10 s"
		sleep 10
	done
	wait_running B "$vm" 30 || die "'$vm' is not listed on '$hostb' after the migration"
	where=B
	act "'$vm' runs on $hostb"
}

# check_workload: after the move, the workload check the options ask for:
# a console line on B (xenconsoled's guest log, under the VM's name or,
# after a live migration, its incoming name), or a command run here.
# It fails with exit 1: the VM stays on B, where it now runs.
check_workload() {
	local i
	local q
	[ -n "$check_marker$check_cmd" ] || return 0
	if [ -n "$check_marker" ]; then
		act "waiting for the workload's marker on $hostb's console of '$vm'"
		printf -v q '%q' "$check_marker"
		for ((i = 0; i < check_timeout; i += 2)); do
			if remote_sh "cat /var/log/xen/guest-$vm.log /var/log/xen/guest-$vm--incoming.log 2>/dev/null | grep -Eq -- $q" </dev/null; then
				workload_check="passed: console marker '$check_marker' seen on $hostb"
				break
			fi
			sleep 2
		done
		if [ "$i" -ge "$check_timeout" ]; then
			workload_check="FAILED: no console line matching '$check_marker' on $hostb within ${check_timeout}s"
			report "moved, but the workload check failed"
			exit 1
		fi
	fi
	if [ -n "$check_cmd" ]; then
		act "running the workload check: $check_cmd"
		if timeout "$check_timeout" bash -c "$check_cmd" </dev/null >&2; then
			workload_check="passed: '$check_cmd'"
		else
			workload_check="FAILED: '$check_cmd' exited non-zero"
			report "moved, but the workload check failed"
			exit 1
		fi
	fi
}

# json_list ITEM...: a JSON array of strings, built by jq.
json_list() {
	jq -cn '$ARGS.positional' --args -- "$@"
}

report() {
	local verdict=$1
	reported=1
	local -a needed=()
	local -a masked=()
	local -a enforced=()
	local -a cpuid_only=()
	local -a blind=()
	local -a guarded=()
	local plan=null
	# Everything decided comes from the plan (featplan), read with jq.
	if [ -s "$work/plan.json" ]; then
		plan=$(jq -c . "$work/plan.json")
		mapfile -t needed < <(jq -r '.needed[].name' "$work/plan.json")
		mapfile -t masked < <(jq -r '.hidden[].name' "$work/plan.json")
		mapfile -t enforced < <(jq -r '.hidden[] | select(.enforcement == "enforced") | .name' "$work/plan.json")
		mapfile -t cpuid_only < <(jq -r '.hidden[] | select(.enforcement != "enforced") | .name' "$work/plan.json")
		mapfile -t blind < <(scan_uses blind)
		mapfile -t guarded < <(scan_uses guarded)
	fi
	if [ "$json" -eq 1 ]; then
		jq -cn --arg vm "$vm" --arg source "$(hostname)" --arg dest "$hostb" \
			--arg verdict "$verdict" --arg needed_from "$needed_source" \
			--argjson needed "$(json_list "${needed[@]}")" \
			--argjson missing "$(json_list "${missing[@]}")" \
			--argjson masked "$(json_list "${masked[@]}")" \
			--argjson enforced "$(json_list "${enforced[@]}")" \
			--argjson cpuid_only "$(json_list "${cpuid_only[@]}")" \
			--arg cpuid "$line" --arg form "$line_form" --arg config "$out_cfg" \
			--arg runs_on "$where" --arg check "$workload_check" \
			--arg rehearsal "$rehearsal" --arg rehearsal_why "$rehearsal_why" \
			--argjson faults "$(json_list "${faults[@]}")" \
			--argjson actions "$(json_list "${actions[@]}")" \
			--argjson blind "$(json_list "${blind[@]}")" \
			--argjson guarded "$(json_list "${guarded[@]}")" \
			--argjson plan "$plan" \
			'{vm: $vm, source: $source, destination: $dest, verdict: $verdict,
			  needed_from: $needed_from, needed: $needed, missing: $missing,
			  masked: $masked,
			  enforcement: {enforced: $enforced, cpuid_only: $cpuid_only},
			  cpuid: $cpuid, cpuid_form: $form,
			  config: $config, runs_on: $runs_on, workload_check: $check,
			  rehearsal: {status: $rehearsal, detail: $rehearsal_why,
			    faults: $faults},
			  scan: {blind: $blind, guarded: $guarded},
			  actions: $actions, plan: $plan}'
		return
	fi
	printf 'hetmig report: %s from %s to %s\n' "$vm" "$(hostname)" "$hostb"
	printf '  needed (%s): %d features\n' "$needed_source" "${#needed[@]}"
	if [ "${#missing[@]}" -gt 0 ]; then
		printf '  missing on %s: %s\n' "$hostb" "${missing[*]}"
	fi
	local u
	for u in "${blind[@]}"; do
		printf '    used without asking CPUID: %s\n' "$u"
	done
	for u in "${guarded[@]}"; do
		printf '    used behind a CPU check (reported only): %s\n' "$u"
	done
	[ -z "$line" ] || printf '  cpuid= line (%s level): %s\n' "$level" "$line"
	[ -z "$line" ] || printf '  masked for %s: %s\n' "$hostb" "${masked[*]:-(none)}"
	[ -z "$line" ] || printf '    enforced (they fault when hidden): %s\n' "${enforced[*]:-(none)}"
	[ -z "$line" ] || printf '    CPUID only (a program that does not ask still runs them): %s\n' "${cpuid_only[*]:-(none)}"
	[ -z "$out_cfg" ] || printf '  config for %s: %s\n' "$hostb" "$out_cfg"
	[ -z "$rehearsal" ] || printf '  rehearsal on %s: %s, %s\n' "$hostb" "$rehearsal" "$rehearsal_why"
	local f
	for f in "${faults[@]}"; do
		printf '    fault: %s\n' "$f"
	done
	[ -z "$apply" ] || [ "$dry_run" -eq 1 ] ||
		printf '  workload check on %s: %s\n' "$hostb" "$workload_check"
	case $where in
	A) printf '  the VM runs on %s (this host)\n' "$(hostname)" ;;
	B) printf '  the VM runs on %s\n' "$hostb" ;;
	unknown) printf '  the VM runs on neither host, or on %s out of reach\n' "$hostb" ;;
	esac
	printf '  verdict: %s\n' "$verdict"
}

main() {
	local gtype
	parse_args "$@"
	# What the options ask for is refused, if it must be, before anything
	# is written (the state directory, the lock).
	if [ "$analyse" = yes ]; then
		[ "$dry_run" -eq 0 ] || die "--analyse reboots the VM: not with --dry-run"
		trial_command
	fi
	rehearsal_plan
	setup
	trap 'cleanup' EXIT
	trap 'on_error "$BASH_COMMAND"' ERR
	trap 'exit 130' INT TERM
	gtype=$(guest_type)
	need_xen
	read_policies "$gtype"
	find_needed
	scan_programs
	if ! make_plan; then
		report "not possible: $hostb lacks features the VM needs"
		exit 1
	fi
	run_rehearsal
	if [ "$rehearsal" = failed ]; then
		report "not possible: the workload failed on $hostb in the rehearsal"
		exit 1
	fi
	write_config
	if [ "$dry_run" -eq 1 ] || [ -z "$apply" ]; then
		report "ready"
		exit 0
	fi
	case $apply in
	cold) apply_cold ;;
	live) apply_live ;;
	esac
	check_workload
	report "done"
}

main "$@"
