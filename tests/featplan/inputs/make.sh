#!/usr/bin/env bash
# make.sh: regenerate featplan's test inputs from the lab's recorded
# policies (tests/fixtures/raw/qemu-lab-a.txt, qemu-lab-b.txt).
#
# usage: tests/featplan/inputs/make.sh BUILD_DIR
#
#   vm-lab-a.json      what a VM on lab host A sees with cpuid="host,rdtscp=0"
#                      (the lab's hosts cannot emulate RDTSCP): A's policy
#                      with rdtscp cleared in leaf 0x80000001 EDX (bit 27),
#                      as featdump -d would read it
#   needed-lab.json    featmin's answer for a workload that needs sse4-2
#                      and popcnt, searched on that VM's policy
#   needed-avx2.json   the same for a workload that needs avx2 and popcnt
#   scan-lab.json      a stand-in for featscan's answer: a policy of
#                      features alone (bmi1, found used blind in a program),
#                      with its evidence
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=$(cd "${1:?usage: make.sh BUILD_DIR}" && pwd)
raw=$top/tests/fixtures/raw
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The trial: fails when HETMIG_CPUID hides one of $NEEDS.
cat >"$tmp/sim" <<'SIM'
#!/usr/bin/env bash
for f in ${NEEDS:-}; do
	case ",$HETMIG_CPUID," in *",$f=0,"*) exit 1 ;; esac
done
exit 0
SIM
chmod +x "$tmp/sim"

"$build/bin/featdump" -f "$raw/qemu-lab-a.txt" -o json |
	jq '.source = {kind: "domain", name: "myvm"} |
	    .leaves |= map(if .[0] == 2147483649 then .[5] -= 134217728 else . end)' \
		>"$here/vm-lab-a.json"
# The bit was set, and is now clear: rdtscp is gone and nothing else.
diff <("$build/bin/featdump" -f "$raw/qemu-lab-a.txt" -o names | grep -vx rdtscp) \
	<("$build/bin/featdump" -f "$here/vm-lab-a.json" -o names)

NEEDS="sse4-2 popcnt" "$build/bin/featmin" -p "$here/vm-lab-a.json" \
	-e rdtscp=0 -o json -- "$tmp/sim" >"$here/needed-lab.json" 2>/dev/null
NEEDS="avx2 popcnt" "$build/bin/featmin" -p "$here/vm-lab-a.json" \
	-e rdtscp=0 -o json -- "$tmp/sim" >"$here/needed-avx2.json" 2>/dev/null

jq -n '{format: "hetmig-policy/1",
	source: {kind: "featscan", name: "/usr/lib/postgresql/15/bin/postgres"},
	features: ["bmi1"],
	evidence: {bmi1: {class: "blind", function: "pg_popcount", at: "0x4f2a10"}}}' \
	>"$here/scan-lab.json"
