#!/bin/bash
# needs-pgbench: featmin on the reference workload: a PVH guest with
# PostgreSQL 15 runs scripts/workloads/pgbench at boot under every mask
# featmin tries; the answer, the trials and the TPS of each mask are
# reported.  PostgreSQL picks its CRC32C and popcount code through CPUID,
# with plain C behind, so the needed set may well be the baseline alone:
# the figures to read are the trial count and what the final mask costs.
# lab: hosts=1
# lab: bench-only
# lab: image=pg
# lab: timeout=3600
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

# The PostgreSQL guest image (see tests/lab/README.md): busybox, bash,
# PostgreSQL 15 with its libraries and a postgres user, and hetmig's
# scripts/ tree under /hetmig/scripts; its init runs /lab/guest.d/RUN.
image=/lab/guest-pg.cpio.gz
run=../../hetmig/scripts/workloads/pgbench
[ -e "$image" ] || { say "no PostgreSQL guest image '$image'"; exit 2; }

guest_cfg pg "$run" - 512 "$image"

featdump -s hvm-default -o json >/tmp/policy.json ||
	{ say "cannot read the hvm-default policy"; exit 2; }

start=$SECONDS
featmin -p /tmp/policy.json -j /tmp/pg.journal -e rdtscp=0 -t 600 -r 3 --verify \
	-- /hetmig/scripts/trial.sh -c /etc/xen/pg.cfg -b 180 -w 300 \
	2>&1 >/tmp/pg.json | tee /tmp/pg.err | tagged featmin
rc=${PIPESTATUS[0]}
secs=$((SECONDS - start))
cands=$(sed -n 's/^featmin: \([0-9]*\) candidate features.*/\1/p' /tmp/pg.err)
check test "$rc" -eq 0 -- "featmin exits 0 (exit $rc)"
check grep -q '"verified":true' /tmp/pg.json -- "the final mask passed a --verify trial"
featdump -f /tmp/pg.json >/tmp/pg.names 2>/dev/null
say "needed: $(tr '\n' ' ' </tmp/pg.names)"
# Trials that answered: one that could not tell is no evidence.
trials=$(grep '"kind":"search"' /tmp/pg.journal | grep -vc '"verdict":"unknown"')
check test "$((2 * trials))" -lt "$((cands + 1))" -- \
	"$trials search trials, under half of one per candidate ($((cands + 1)))"
# Every passing trial carries pgbench's TPS.
check sh -c "! grep '\"verdict\":\"pass\"' /tmp/pg.journal | grep -qv '\"tps\":'" -- \
	"every passing trial recorded its TPS"
check test "$(xl list | wc -l)" -eq 2 -- "no guest left running (xl list)"
# One line per trial: number, features hidden, verdict, seconds, TPS.
say "trial hidden verdict seconds tps"
sed -n 's/.*"trial":\([0-9]*\).*"hide":"\([^"]*\)".*"verdict":"\([a-z]*\)".*"seconds":\([0-9.]*\).*"metrics":{\(.*\)},"time".*/\1 \2 \3 \4 \5/p' \
	/tmp/pg.journal | while read -r n hide verdict s m; do
	say "$n $(printf '%s\n' "$hide" | featdump -f - 2>/dev/null | wc -l) $verdict ${s%.*} ${m:-none}"
done
grep '^featmin: tps' /tmp/pg.err | sed 's/^/scenario: /'
say "featmin: $trials trials in ${secs}s"
# The figures make bench-lab prints (tests/lab/bench.sh).
verify=$(grep -c '"kind":"verify"' /tmp/pg.journal)
all=$((trials + verify))
echo "BENCH-PG featmin on pgbench: $cands candidates, $trials search" \
	"trials + $verify verify, ${secs} s, $((secs / (all > 0 ? all : 1)))" \
	"s per trial"
got=$(beyond_fixed /tmp/pg.json /tmp/pg.err)
echo "BENCH-PG needed beyond the x86-64 baseline: ${got:-nothing}"
sed -n 's/^featmin: \(tps .*\)/BENCH-PG \1/p' /tmp/pg.err
finish
