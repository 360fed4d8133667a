#!/bin/bash
# mask: a program that checks for avx2 the way real software does runs
# with the host's policy and refuses to run when avx2 is masked.
# lab: hosts=1
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

guest_cfg full avx2check "host,rdtscp=0"
guest_start full || exit 2
wait_marker full '^AVX2CHECK-EXIT' 90 || { say "no verdict from the unmasked guest"; exit 2; }
check grep -q '^AVX2CHECK-EXIT 0' /var/log/xen/guest-full.log -- "unmasked: the avx2 program runs"
guest_destroy full

guest_cfg masked avx2check "host,rdtscp=0,avx2=0"
guest_start masked || exit 2
wait_marker masked '^AVX2CHECK-EXIT' 90 || { say "no verdict from the masked guest"; exit 2; }
check grep -q '^AVX2CHECK-EXIT 1' /var/log/xen/guest-masked.log -- "avx2=0: the avx2 program refuses to run"
check grep -q 'lower than required' /var/log/xen/guest-masked.log -- "avx2=0: it says why"
guest_destroy masked
finish
