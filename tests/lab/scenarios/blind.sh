#!/bin/bash
# blind: the hazard a masked trial cannot see, and the rehearsal that
# catches it.  The VM runs blind, a program built with -mbmi2 that never
# asks CPUID.  featmin, masking features on host A, calls bmi2 not needed:
# A's silicon still runs pdep with bmi2 hidden.  Host B's CPU lacks bmi2.
# migrate-prep's rehearsal boots the VM's twin on B with the line B would
# get: blind dies there with SIGILL, migrate-prep exits 1 naming the
# feature and the instruction, the VM keeps running on A with its config
# untouched, and no twin is left on B.  Then featscan over a copy of the
# program finds the blind pdep without booting anything: migrate-prep
# --scan refuses before any rehearsal.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

dir=/var/lib/hetmig/myvm
mkdir -p "$dir"

# nothing_left_on_b: no domain of myvm's and no copied config on B.
# shellcheck disable=SC2317 # called through check
nothing_left_on_b() {
	! on_b "xl list" | grep -q myvm && ! on_b "ls /tmp" | grep -q hetmig-trial
}

# 1. featmin on the twin, as an admin would run it ahead of time.
guest_cfg myvm-trial blind-check - 128
featdump -s hvm-default -o json >/tmp/hvm.json
start=$SECONDS
featmin -p /tmp/hvm.json -j "$dir/journal" -e rdtscp=0 -o json -- \
	/hetmig/scripts/trial.sh -c /etc/xen/myvm-trial.cfg -b 90 -w 90 \
	2>&1 >"$dir/needed.json" </dev/null | tee /tmp/featmin.err | tagged featmin
rc=${PIPESTATUS[0]}
say "featmin: $(grep -c '"kind":"search"' "$dir/journal") trials in $((SECONDS - start))s"
check test "$rc" -eq 0 -- "featmin found an answer (exit $rc)"
check sh -c "! featdump -f $dir/needed.json | grep -qx bmi2" -- \
	"featmin calls bmi2 not needed: a masked trial on A cannot see a blind pdep"

# 2. The VM itself, on A, with every feature of A.
guest_cfg myvm blind "$LAB_BASE_CPUID" 128
guest_start myvm || exit 2
wait_marker myvm '^blind: tick 1' 120 || { say "myvm did not start"; exit 2; }
cp /etc/xen/myvm.cfg /tmp/myvm.cfg.before

# 3. migrate-prep: the line for B is right by featmin's answer, and the
# rehearsal on B proves it wrong before anything moves.
start=$SECONDS
migrate-prep "${PREP_ARGS[@]}" --trial-config /etc/xen/myvm-trial.cfg \
	--programs /lab/programs/blind --apply cold --shared-storage \
	myvm "$LAB_PEER" </dev/null >/tmp/report 2>/tmp/err
rc=$?
cat /tmp/err /tmp/report
say "the rehearsal's verdict came after $((SECONDS - start))s"
check test "$rc" -eq 1 -- "migrate-prep exits 1: not possible (exit $rc)"
check grep -q 'verdict: not possible: the workload failed on .* in the rehearsal' /tmp/report -- \
	"the report says the rehearsal failed"
check grep -qE 'rehearsal on .*: failed' /tmp/report -- "the report gives the rehearsal's verdict"
check grep -qE 'fault: .*blind' /tmp/report -- "the report names the program that trapped"
if command -v featscan >/dev/null 2>&1; then
	check grep -qE 'fault: bmi2 \(pdep\) in /lab/programs/blind' /tmp/report -- \
		"the report names the feature and the instruction"
fi
check xl list myvm -- "the VM still runs on A"
check cmp -s /etc/xen/myvm.cfg /tmp/myvm.cfg.before -- "its config is untouched"
check nothing_left_on_b -- "no twin and no copied config are left on B"
check test ! -e "$dir/myvm.$LAB_PEER.cfg" -- "no config for B was written"

# 4. featscan over a copy of the program sees the blind pdep without
# booting anything: migrate-prep --scan refuses before any rehearsal.
start=$SECONDS
migrate-prep "${PREP_ARGS[@]}" --trial-config /etc/xen/myvm-trial.cfg \
	--scan /lab/programs/blind --apply cold --shared-storage \
	myvm "$LAB_PEER" </dev/null >/tmp/report 2>/tmp/err
rc=$?
cat /tmp/err /tmp/report
check test "$rc" -eq 1 -- "--scan: not possible (exit $rc) in $((SECONDS - start))s"
check grep -q 'missing on .*bmi2' /tmp/report -- "--scan: bmi2 is missing on B"
check grep -qE 'used without asking CPUID: bmi2 \(pdep\) in /lab/programs/blind: scatter' /tmp/report -- \
	"--scan: the report names the file and the function"
check sh -c '! grep -q rehearsing /tmp/err' -- "--scan: no rehearsal was booted"
check xl list myvm -- "--scan: the VM still runs on A"
finish
