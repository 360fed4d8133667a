#!/bin/bash
# bench: the lab's figures for `make bench-lab`: a guest's boot to
# verdict, five times, one trial on A beside the rehearsal of the same
# twin on B, and the live migration of a 128 MiB guest.
# lab: hosts=2
# lab: bench-only
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

times=()
for i in 1 2 3 4 5; do
	guest_cfg "b$i" avx2check "host,rdtscp=0" 128
	start=$(date +%s)
	guest_start "b$i" >/dev/null || exit 2
	wait_marker "b$i" '^AVX2CHECK-EXIT' 120 || exit 2
	times+=($(($(date +%s) - start)))
	guest_destroy "b$i"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "BENCH guest boot-to-verdict seconds: $sorted(median $median)"
# The rehearsal's cost: one trial of cpuwork on A, then the same twin
# with the same line on B through trial.sh -H, as migrate-prep rehearses.
line="host,rdtscp=0,fma=0,avx2=0,bmi2=0"
guest_cfg tw cpuwork-check - 128
start=$(date +%s)
HETMIG_CPUID=$line /hetmig/scripts/trial.sh -c /etc/xen/tw.cfg -b 90 -w 90 \
	>/dev/null 2>&1 </dev/null || exit 2
echo "BENCH one trial on A (boot to verdict, destroyed) seconds: $(($(date +%s) - start))"
start=$(date +%s)
HETMIG_REMOTE=/lab/remote HETMIG_CPUID=$line /hetmig/scripts/trial.sh -H "$LAB_PEER" \
	-c /etc/xen/tw.cfg -b 90 -w 90 >/dev/null 2>&1 </dev/null || exit 2
echo "BENCH the rehearsal on B (trial.sh -H, start to verdict) seconds: $(($(date +%s) - start))"
guest_cfg mig counter "host,rdtscp=0" 128
guest_start mig >/dev/null || exit 2
wait_marker mig '^counter 3[^0-9]' 120 || exit 2
start=$(date +%s)
xl migrate -s /lab/migrate-nc mig "$LAB_PEER" >/dev/null 2>&1 || exit 2
echo "BENCH live migration of a 128 MiB guest seconds: $(($(date +%s) - start))"
on_b "xl destroy mig" >/dev/null
check test "${#times[@]}" -eq 5 -- "five boots measured"
finish
