#!/bin/bash
# policy: featdump reads a domain's policy, a system policy and the CPU
# from inside a guest, and each agrees with Xen's own xen-cpuid; featmin
# without -p reads the policy of the domain its trial's config names.
# lab: hosts=1
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

guest_cfg pol featdump-l "host,rdtscp=0,avx2=0"
guest_start pol || exit 2
wait_marker pol '^END-RAW' 90 || { say "the guest printed no policy"; exit 2; }
domid=$(xl domid pol)

# dom0's view of the domain, two ways: libxenguest through featdump, and
# xen-cpuid's text read back by featdump -f.
featdump -d pol -o raw | nonzero_leaves >/tmp/d.raw
xen-cpuid -p "$domid" >/tmp/xc.txt
featdump -f /tmp/xc.txt -o raw | nonzero_leaves >/tmp/xc.raw
check same /tmp/d.raw /tmp/xc.raw -- "featdump -d agrees leaf by leaf with xen-cpuid -p $domid"
check test "$(wc -l </tmp/d.raw)" -gt 10 -- "the domain policy has leaves ($(wc -l </tmp/d.raw))"
featdump -d pol >/tmp/d.names
check grep -qx avx /tmp/d.names -- "the domain sees avx"
check sh -c '! grep -qx avx2 /tmp/d.names' -- "the domain does not see avx2 (masked)"
check sh -c '! grep -qx rdtscp /tmp/d.names' -- "the domain does not see rdtscp (masked)"
featdump -d "$domid" >/tmp/d2.names
check same /tmp/d.names /tmp/d2.names -- "featdump -d by id and by name agree"

# The guest's own view (featdump -l through the CPUID instruction) has
# the same features as dom0's view of the domain.
guest_log pol | tr -d '\r' | sed -n '/^BEGIN-RAW/,/^END-RAW/p' | sed '1d;$d' >/tmp/g.raw
# osxsave and ospke are OS state (CR4 bits the guest kernel set), not
# policy: Xen fast-forwards them into what the guest reads.
featdump -f /tmp/g.raw | grep -vx -e osxsave -e ospke >/tmp/g.names
grep -vx -e osxsave -e ospke /tmp/d.names >/tmp/d0.names
diff /tmp/d0.names /tmp/g.names
check same /tmp/d0.names /tmp/g.names -- "featdump -l in the guest agrees with featdump -d in dom0"

# The host policy: featdump -s host against xen-cpuid -p's "Host" policy.
featdump -s host -o raw | nonzero_leaves >/tmp/h.raw
xen-cpuid -p >/tmp/xcall.txt
# Which of the policies xen-cpuid prints is the host one (counting from 0).
idx=$(grep 'policy:' /tmp/xcall.txt | grep -n -i '^ *host' | head -n 1 | cut -d: -f1)
check test -n "$idx" -- "xen-cpuid -p lists a host policy"
featdump -c $((${idx:-1} - 1)) -f /tmp/xcall.txt -o raw | nonzero_leaves >/tmp/xh.raw
check same /tmp/h.raw /tmp/xh.raw -- "featdump -s host agrees leaf by leaf with xen-cpuid -p"

# featmin without -p: the policy of the domain the trial's config names
# (its -c), the same policy as featdump -d gives it through -p.  The trial
# here only answers "works": what is checked is the policy featmin read,
# which its journal's head records.
printf '#!/bin/sh\nexit 0\n' >/tmp/works.sh
chmod +x /tmp/works.sh
featdump -d pol -o json >/tmp/pol.json
featmin -p /tmp/pol.json -j /tmp/p.journal -o names \
	-- /tmp/works.sh -c /etc/xen/pol.cfg >/dev/null 2>/tmp/p.err
featmin -j /tmp/d.journal -o names \
	-- /tmp/works.sh -c /etc/xen/pol.cfg >/dev/null 2>/tmp/d.err
rc=$?
check test "$rc" -eq 0 -- "featmin without -p exits 0 (exit $rc)"
check grep -q "^featmin: the policy of domain 'pol', named in '/etc/xen/pol.cfg'" /tmp/d.err -- \
	"featmin without -p says it reads domain 'pol'"
grep -o '"policy":"[0-9a-f:]*"' /tmp/p.journal >/tmp/p.head
grep -o '"policy":"[0-9a-f:]*"' /tmp/d.journal >/tmp/d.head
check test -s /tmp/d.head -- "featmin's journal records the policy it read"
check same /tmp/p.head /tmp/d.head -- "featmin without -p read the policy featdump -d gives"
guest_destroy pol
featmin -o names -- /tmp/works.sh -c /etc/xen/pol.cfg >/dev/null 2>/tmp/gone.err
rc=$?
check test "$rc" -eq 2 -- "featmin without -p, its domain gone: exit 2 (exit $rc)"
check grep -q "^featmin: unknown domain 'pol'$" /tmp/gone.err -- \
	"featmin without -p, its domain gone: says so"
finish
