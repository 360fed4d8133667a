#!/bin/bash
# prep-cold: migrate-prep --apply cold stops the VM on A and starts it on
# B with the new line; the workload passes on B.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

analyse_first
start_myvm
migrate-prep "${PREP_ARGS[@]}" "${REHEARSE_ARGS[@]}" --apply cold --shared-storage \
	--check-marker 'cpuwork: tick [0-9]+' \
	myvm "$LAB_PEER" </dev/null >/tmp/report
rc=$?
cat /tmp/report
check test "$rc" -eq 0 -- "migrate-prep exits 0"
check grep -q 'verdict: done' /tmp/report -- "the report says done"
check grep -qE 'rehearsal on .*: passed' /tmp/report -- "the move was rehearsed on B first"
check grep -q 'workload check on .*: passed' /tmp/report -- "migrate-prep's workload check passed on B"
check sh -c '! xl list myvm >/dev/null 2>&1' -- "the VM is stopped on A"
check on_b "xl list myvm" -- "the VM runs on B"
check b_cfg_has '^cpuid = .*bmi2=0' -- \
	"B's config carries the new line"
check works_on_b -- "cpuwork keeps ticking on B"
finish
