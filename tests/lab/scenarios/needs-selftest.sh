#!/bin/bash
# needs-selftest: the whole featmin loop on real Xen.  featmin masks groups
# of features, trial.sh boots a PVH guest with each mask and reads
# selftest's verdict from its console; the answer must be what selftest
# needs (sse4-2 and bmi2, checked through CPUID) with their prerequisites,
# in fewer trials than one per feature, every guest destroyed.
# lab: hosts=1
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

# The guest runs selftest at boot.  /lab/guest.d holds the lab's boot
# programs; selftest sits in /hetmig/bin of the guest image.
run=../../hetmig/bin/selftest
want="bmi2 sse3 sse4-1 sse4-2 ssse3"

# No cpuid= line in the config: every trial gives its own.
guest_cfg st "$run" - 128

# What a PVH guest of this host sees: Xen's default HVM policy (the guest
# powers off too soon after selftest for featdump -d).
featdump -s hvm-default -o json >/tmp/policy.json ||
	{ say "cannot read the hvm-default policy"; exit 2; }

start=$SECONDS
featmin -p /tmp/policy.json -j /tmp/st.journal -e rdtscp=0 -t 300 -r 3 --verify \
	-- /hetmig/scripts/trial.sh -c /etc/xen/st.cfg -b 120 -w 60 \
	2>&1 >/tmp/st.json | tee /tmp/st.err | tagged featmin
rc=${PIPESTATUS[0]}
secs=$((SECONDS - start))
cands=$(sed -n 's/^featmin: \([0-9]*\) candidate features.*/\1/p' /tmp/st.err)
check test "$rc" -eq 0 -- "featmin exits 0 (exit $rc)"

got=$(beyond_fixed /tmp/st.json /tmp/st.err)
check test "$got" = "$want" -- "needed beyond the baseline: '$got' (want '$want')"
check grep -q '"verified":true' /tmp/st.json -- "the final mask passed a --verify trial"
trials=$(grep -c '"kind":"search"' /tmp/st.journal)
check test "$((2 * trials))" -lt "$((cands + 1))" -- \
	"$trials search trials, under half of one per candidate ($((cands + 1)))"
check sh -c "grep -q 'bmi2=0' /tmp/st.journal && grep -q 'rdtscp=0' /tmp/st.journal" -- \
	"the journal holds the masks tried"
check test "$(xl list | wc -l)" -eq 2 -- "no guest left running (xl list)"
say "featmin: $trials trials and $(grep -c '"verdict":"unknown"' /tmp/st.journal) retries in ${secs}s"
finish
