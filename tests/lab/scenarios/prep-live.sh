#!/bin/bash
# prep-live: migrate-prep --apply live --restart-on-source moves the VM
# to B; its workload keeps working there.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

analyse_first
start_myvm
migrate-prep "${PREP_ARGS[@]}" "${REHEARSE_ARGS[@]}" --apply live --restart-on-source \
	--check-marker 'cpuwork: tick [0-9]+' \
	myvm "$LAB_PEER" </dev/null >/tmp/report
rc=$?
cat /tmp/report
check test "$rc" -eq 0 -- "migrate-prep exits 0"
check grep -q 'verdict: done' /tmp/report -- "the report says done"
check grep -qE 'rehearsal on .*: passed' /tmp/report -- "the move was rehearsed on B first"
check grep -q 'workload check on .*: passed' /tmp/report -- "migrate-prep's workload check passed on B"
check grep -qE 'cpuid= line.*(fma=0|bmi2=0)' /tmp/report -- "the line masks what B lacks"
check grep -q '^cpuid = "host,' /etc/xen/myvm.cfg -- "A's config has the new line"
check test -e /etc/xen/myvm.cfg.orig -- "A's old config is kept"
check sh -c '! xl list myvm >/dev/null 2>&1' -- "the VM left A"
check on_b "xl list myvm" -- "the VM runs on B"
check works_on_b -- "cpuwork keeps ticking on B"
# B's console log starts at the migration, so it holds tick lines only.
check b_log_has 'tick [0-9]+ path plain' -- \
	"on B, cpuwork runs its plain path (chosen at the restart on A)"
finish
