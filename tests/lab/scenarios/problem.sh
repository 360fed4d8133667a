#!/bin/bash
# problem: without hetmig, a VM started on A, whose workload chose its
# fma+bmi2 path from A's CPUID, is live-migrated to B, which lacks them;
# Xen 4.17 lets it arrive and the workload dies there.  The problem this
# project solves, shown for real.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

start_myvm
xl migrate -s /lab/migrate-nc myvm "$LAB_PEER"
check test $? -eq 0 -- "Xen 4.17 accepted the VM on B without a word (xl migrate exit 0)"
sleep 8
on_b "cat /var/log/xen/guest-myvm*.log" >/tmp/b.log
tail -n 5 /tmp/b.log
check grep -q 'killed by SIGILL' /tmp/b.log -- "on B, the workload died with SIGILL"
finish
