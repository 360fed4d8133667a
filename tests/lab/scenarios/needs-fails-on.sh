#!/bin/bash
# needs-fails-on: featmin -f on real Xen.  selftest's guest fails on host B,
# whose CPU lacks bmi2 (and avx2 and fma); given B's policy, featmin looks
# among what B lacks first and does not ask what it was told.  The answer
# must be needs-selftest's, in fewer trials than the same search without
# -f takes on the same answers (replayed against a script, no VM).
# lab: hosts=2
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

run=../../hetmig/bin/selftest
want="bmi2 sse3 sse4-1 sse4-2 ssse3"

guest_cfg st "$run" - 128

# First the failure itself: the guest, nothing hidden, on B's CPU.
/lab/remote "$LAB_PEER" "cat >/etc/xen/st.cfg" </etc/xen/st.cfg
on_b "HETMIG_CPUID=$LAB_BASE_CPUID /hetmig/scripts/trial.sh -c /etc/xen/st.cfg -b 120 -w 60" \
	>/tmp/b-trial.log 2>&1
rc=$?
check test "$rc" -eq 1 -- "selftest fails on host B with nothing hidden (trial.sh exit $rc)"
on_b "featdump -s hvm-default -o json" >/tmp/b.json
check test -s /tmp/b.json -- "host B's policy read over the lab link"
featdump -s hvm-default -o json >/tmp/policy.json ||
	{ say "cannot read the hvm-default policy"; exit 2; }

start=$SECONDS
featmin -p /tmp/policy.json -f /tmp/b.json -j /tmp/fo.journal -e rdtscp=0 -t 300 \
	-r 3 --verify -- /hetmig/scripts/trial.sh -c /etc/xen/st.cfg -b 120 -w 60 \
	2>&1 >/tmp/fo.json | tee /tmp/fo.err | tagged featmin
rc=${PIPESTATUS[0]}
secs=$((SECONDS - start))
check test "$rc" -eq 0 -- "featmin -f exits 0 (exit $rc)"
check grep -q 'known to fail without' /tmp/fo.err -- "featmin says what it was told"

got=$(beyond_fixed /tmp/fo.json /tmp/fo.err)
check test "$got" = "$want" -- "needed beyond the baseline: '$got' (want '$want')"
check grep -q '"verified":true' /tmp/fo.json -- "the final mask passed a --verify trial"
check grep -q '"fails":' /tmp/fo.journal -- "the journal keeps what -f said"

# The same search without -f, on the same answers: a script that fails
# when the mask hides one of $want.
cat >/tmp/replay <<SH
#!/bin/sh
for f in $want; do
	case ",\$HETMIG_CPUID," in *",\$f=0,"*) exit 1 ;; esac
done
exit 0
SH
chmod +x /tmp/replay
featmin -p /tmp/policy.json -e rdtscp=0 -j /tmp/replay.journal -- /tmp/replay \
	>/dev/null 2>&1
trials=$(grep -c '"kind":"search"' /tmp/fo.journal)
plain=$(grep -c '"kind":"search"' /tmp/replay.journal)
check test "$trials" -lt "$plain" -- \
	"$trials search trials with -f, fewer than the $plain the search takes without it"
check test "$(xl list | wc -l)" -eq 2 -- "no guest left running on A (xl list)"
check test "$(on_b "xl list" | wc -l)" -eq 2 -- "no guest left running on B (xl list)"
say "featmin -f: $trials trials and $(grep -c '"verdict":"unknown"' /tmp/fo.journal) retries in ${secs}s"
finish
