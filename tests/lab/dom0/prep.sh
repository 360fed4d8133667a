# shellcheck shell=bash
# prep.sh: what the migrate-prep scenarios share: a VM "myvm" running
# cpuwork on host A, its trial twin for featmin, and migrate-prep's
# lab transport (no ssh in the lab: /lab/remote and /lab/migrate-nc).

# shellcheck disable=SC2034 # read by the scenarios that source this file
PREP_ARGS=(--remote-cmd /lab/remote --migrate-cmd /lab/migrate-nc
	--shutdown-timeout 60)
# The twin analyse_first writes: migrate-prep rehearses each move on B
# with it before the VM leaves A.
REHEARSE_ARGS=(--trial-config /etc/xen/myvm-trial.cfg)

# analyse_first: featmin on myvm's trial twin, before myvm starts, as an
# admin would run it ahead of time; migrate-prep then finds the result
# as "the last analysis" in /var/lib/hetmig/myvm.  (Run while myvm is up,
# a second guest's kernel fails to unpack in this emulated dom0: "unable
# to XZ decompress kernel".)
analyse_first() {
	local dir=/var/lib/hetmig/myvm
	mkdir -p "$dir"
	guest_cfg myvm-trial cpuwork-check "host,rdtscp=0" 128
	featdump -s hvm-default -o json >/tmp/hvm.json
	featmin -p /tmp/hvm.json -j "$dir/journal" -e rdtscp=0 -o json -- \
		/hetmig/scripts/trial.sh -c /etc/xen/myvm-trial.cfg -n myvm-trial \
		-b 90 -w 90 >"$dir/needed.json" </dev/null
	check test $? -eq 0 -- "featmin found what cpuwork needs ($(featdump -f "$dir/needed.json" | wc -l) features)"
}

# start_myvm: the VM as a user started it, with every feature of host A.
start_myvm() {
	guest_cfg myvm cpuwork "host,rdtscp=0" 128
	guest_start myvm || exit 2
	wait_marker myvm '^cpuwork: tick 1' 120 || { say "myvm did not start"; exit 2; }
	check grep -qE 'cpuwork: start path (fma\+)?bmi2' /var/log/xen/guest-myvm.log -- \
		"on A, cpuwork takes its bmi2 path"
}

# myvm_logs_on_b: myvm's console logs on host B, under its name and,
# after a live migration, its incoming name; not the rehearsal twin's
# (guest-myvm-trial.log), whose few ticks ended long ago.  One of the two
# is missing (cat then exits 1, which pipefail would pass on).
myvm_logs_on_b="/var/log/xen/guest-myvm.log /var/log/xen/guest-myvm--incoming.log"

# ticks_on_b: the last cpuwork line of myvm's console on host B.
ticks_on_b() {
	on_b "cat $myvm_logs_on_b 2>/dev/null | grep -a 'cpuwork:' | tail -n 1"
}

# works_on_b: cpuwork on B keeps ticking and did not die.
works_on_b() {
	local t1
	local t2
	sleep 4
	t1=$(ticks_on_b | grep -o 'tick [0-9]*' | cut -d' ' -f2)
	sleep 4
	t2=$(ticks_on_b | grep -o 'tick [0-9]*' | cut -d' ' -f2)
	say "cpuwork on B: tick ${t1:-none}, then ${t2:-none}"
	[ -n "$t1" ] && [ -n "$t2" ] && [ "$t2" -gt "$t1" ] &&
		! on_b "cat $myvm_logs_on_b 2>/dev/null || true" | grep -q SIGILL
}

# b_log_has REGEX: myvm's console on B has a line matching REGEX.
b_log_has() {
	on_b "cat $myvm_logs_on_b 2>/dev/null || true" | grep -qE -- "$1"
}

# b_cfg_has REGEX: B's /etc/xen/myvm.cfg has a line matching REGEX.
b_cfg_has() {
	on_b "cat /etc/xen/myvm.cfg" | grep -qE -- "$1"
}

# on_a_only: myvm runs on A and not on B.
on_a_only() {
	xl list myvm >/dev/null 2>&1 && ! on_b "xl list myvm" >/dev/null 2>&1
}

# on_a_only_soon: the same, allowing the restart on A a minute to show.
on_a_only_soon() {
	local i
	for ((i = 0; i < 60; i++)); do
		on_a_only && return 0
		sleep 1
	done
	return 1
}
