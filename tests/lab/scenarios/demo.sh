#!/bin/bash
# demo: the story `make demo` tells, on two nested Xen hosts.  A VM runs
# a workload on host A that uses bmi2 (and fma where the kernel enables
# it) because A's CPU offers them; host B's CPU lacks them.  hetmig reads
# what the VM sees, what B has, finds what the workload needs, writes the
# cpuid= line, restarts the VM on A with it and live-migrates it to B,
# where the workload keeps running.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

banner() { printf '\n===== %s\n' "$*"; }

banner "1. what the workload needs: featmin, ahead of time, on a trial twin"
analyse_first
featdump -f /var/lib/hetmig/myvm/needed.json | tr '\n' ' '
echo
banner "2. the VM on host A, and what it sees (featdump -d myvm -o table)"
start_myvm
featdump -d myvm -o table | head -n 6
echo "..."
banner "3. what host B lacks (featcmp myvm's policy against B's)"
featdump -d myvm -o json >/tmp/vm.json
on_b "featdump -s hvm-default -o json" >/tmp/b.json
featcmp /tmp/vm.json /tmp/b.json
banner "4. a dry run: what migrate-prep would write (migrate-prep -n)"
migrate-prep "${PREP_ARGS[@]}" -n myvm "$LAB_PEER" </dev/null
banner "5. the whole flow: check, write, restart on A, live-migrate"
# Its talk, without the config diff step 4 showed already.
migrate-prep "${PREP_ARGS[@]}" "${REHEARSE_ARGS[@]}" --apply live --restart-on-source \
	--check-marker 'cpuwork: tick [0-9]+' \
	myvm "$LAB_PEER" </dev/null >/tmp/report 2>/tmp/talk
rc=$?
grep '^migrate-prep: ' /tmp/talk
banner "6. the report"
cat /tmp/report
check test "$rc" -eq 0 -- "migrate-prep moved the VM (exit 0)"
check grep -qE 'rehearsal on .*: passed' /tmp/report -- "the move was rehearsed on B first"
check on_b "xl list myvm" -- "the VM runs on host B"
check works_on_b -- "its workload keeps running on B"
banner "7. the workload on B"
ticks_on_b
finish
