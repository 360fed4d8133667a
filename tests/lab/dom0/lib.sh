# shellcheck shell=bash
# lib.sh: what a lab scenario gets, inside host A's dom0.  A scenario is
# tests/lab/scenarios/NAME.sh; it sources this file, runs, and exits
#   0 pass, 1 fail, 2 the lab could not do what it needed.
#
#   guest_cfg NAME RUN [CPUID] [MEMORY] [IMAGE]
#                            write /etc/xen/NAME.cfg: a PVH guest of the lab
#                            kernel that runs /lab/guest.d/RUN at boot;
#                            CPUID "-": no cpuid= line (featmin's trials
#                            give their own)
#   tagged TAG                      copy stdin line by line, "[TAG] " first
#   beyond_fixed ANSWER ERR         the features of featmin's ANSWER (its
#                                   JSON) beyond those its stderr ERR says
#                                   it kept fixed, sorted, on one line
#   guest_start NAME [XL-ARGS...]   xl create, and stream its console
#   wait_marker NAME REGEX SECONDS  wait for a console line (0 found, 1 not)
#   guest_log NAME                  the console so far
#   guest_destroy NAME              destroy if it runs (always safe)
#   on_b COMMAND-LINE               run on host B (two-host scenarios)
#   load_net_modules                the modules /lab/net-modules lists, in
#                                   order (the net scenarios); exit 2 when
#                                   the bridge, netback or NAT ones are not
#                                   loaded
#   check COND-CMD... -- MESSAGE    count an assertion
#   finish                          exit 0 if every check passed, else 1
# Every guest a scenario starts is destroyed when it exits.
set -uo pipefail
export PATH=/hetmig/bin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin

LAB_CHECKS=0
LAB_FAILED=0
LAB_GUESTS=()
LAB_TAILS=()
LAB_PEER=$(sed -n 's/.*hetmig\.peer=\([^ ]*\).*/\1/p' /proc/cmdline)
# What every PVH guest needs under this emulation (see LAB-NOTES): the
# emulated SVM lacks NRIP save, and Xen cannot emulate RDTSCP without it.
LAB_BASE_CPUID="host,rdtscp=0"

say() { echo "scenario: $*"; }

guest_cfg() {
	local name=$1
	local run=$2
	local cpuid=${3:-$LAB_BASE_CPUID}
	local mem=${4:-256}
	local image=${5:-/lab/guest.cpio.gz}
	local line="cpuid = \"$cpuid\""
	[ "$cpuid" != - ] || line="# no cpuid= line: each trial gives its own"
	cat >"/etc/xen/$name.cfg" <<CFG
# lab guest: runs /lab/guest.d/$run
name = "$name"
type = "pvh"
kernel = "/lab/vmlinuz"
ramdisk = "$image"
extra = "console=hvc0 quiet hetmig.run=$run"
memory = $mem
vcpus = 1
$line
on_poweroff = "destroy"
on_crash = "destroy"
CFG
}

# beyond_fixed ANSWER ERR: featmin's first line names what it keeps fixed.
# The '-' line, which no feature is, keeps the pattern file from being
# empty: busybox grep -v -f with an empty one prints nothing (featmin -a).
beyond_fixed() {
	sed -n 's/^featmin: .* kept fixed (\(.*\))$/\1/p' "$2" | tr ' ' '\n' >"$2.fixed"
	echo '-' >>"$2.fixed"
	featdump -f "$1" 2>/dev/null | grep -vxF -f "$2.fixed" |
		sort | tr '\n' ' ' | sed 's/ $//'
}

# tagged TAG: stdin to stdout as it comes, each line after "[TAG] ", so
# that a long command's progress shows on the console at once (busybox sed
# has no -u, and buffers into a pipe).
tagged() {
	local line
	while IFS= read -r line; do
		printf '[%s] %s\n' "$1" "$line"
	done
}

guest_start() {
	local name=$1
	shift
	LAB_GUESTS+=("$name")
	: >"/var/log/xen/guest-$name.log"
	if ! xl create "/etc/xen/$name.cfg" "$@"; then
		say "xl create $name failed"
		return 1
	fi
	tail -F -n +1 "/var/log/xen/guest-$name.log" 2>/dev/null |
		while IFS= read -r line; do printf '[%s] %s\n' "$name" "$line"; done &
	LAB_TAILS+=("$!")
}

guest_log() {
	cat "/var/log/xen/guest-$1.log" 2>/dev/null
}

wait_marker() {
	local name=$1
	local re=$2
	local i
	for ((i = 0; i < $3; i++)); do
		grep -Eq -- "$re" "/var/log/xen/guest-$name.log" 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

guest_destroy() {
	xl list "$1" >/dev/null 2>&1 && xl destroy "$1"
	return 0
}

load_net_modules() {
	local m
	while read -r m; do
		insmod "/lib/modules/net/$m" || say "insmod $m failed"
	done </lab/net-modules
	for m in bridge xen_netback nf_tables nf_nat nf_conntrack; do
		[ -d "/sys/module/$m" ] || { say "module $m is not loaded"; exit 2; }
	done
}

on_b() {
	/lab/remote "$LAB_PEER" "$*" </dev/null
}

check() {
	local -a cmd=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmd+=("$1")
		shift
	done
	shift
	LAB_CHECKS=$((LAB_CHECKS + 1))
	if "${cmd[@]}"; then
		say "ok: $*"
	else
		LAB_FAILED=$((LAB_FAILED + 1))
		say "FAIL: $*"
	fi
}

finish() {
	say "$((LAB_CHECKS - LAB_FAILED)) passed, $LAB_FAILED failed"
	[ "$LAB_CHECKS" -gt 0 ] && [ "$LAB_FAILED" -eq 0 ] && exit 0
	exit 1
}

lab_cleanup() {
	local g
	local t
	for g in "${LAB_GUESTS[@]}"; do guest_destroy "$g"; done
	for t in "${LAB_TAILS[@]}"; do kill "$t" 2>/dev/null; done
	if [ -n "$LAB_PEER" ]; then on_b lab-stop >/dev/null 2>&1; fi
	return 0
}
trap 'lab_cleanup' EXIT

# same A B: both files exist, are not empty, and are identical.
same() {
	[ -s "$1" ] && [ -s "$2" ] && cmp -s "$1" "$2"
}

# nonzero_leaves: a raw dump without its all-zero leaves, which xen-cpuid
# leaves out of what it prints.
nonzero_leaves() {
	grep -v 'eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000'
}
