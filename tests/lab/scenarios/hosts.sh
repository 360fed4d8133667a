#!/bin/bash
# hosts: host B's CPU lacks features host A has; featdump on each host's
# default HVM policy shows which.
# lab: hosts=2
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

featdump -s hvm-default >/tmp/a.names
on_b "featdump -s hvm-default -o json" >/tmp/b.json
featdump -f /tmp/b.json >/tmp/b.names
check test "$(wc -l </tmp/b.names)" -gt 30 -- "host B's policy read over the lab link ($(wc -l </tmp/b.names) features)"
grep -vxF -f /tmp/b.names /tmp/a.names >/tmp/only-a
say "features A has and B lacks: $(tr '\n' ' ' </tmp/only-a)"
for f in avx2 bmi2 fma; do
	check grep -qx "$f" /tmp/only-a -- "A has $f, B does not"
done
check sh -c '! grep -vxF -f /tmp/a.names /tmp/b.names' -- "B has nothing A lacks"
featdump -s hvm-default -o json >/tmp/a.json
featcmp /tmp/b.json /tmp/a.json >/dev/null
check test $? -eq 0 -- "featcmp: B's policy is a subset of A's"
featcmp /tmp/a.json /tmp/b.json >/tmp/cmp
check test $? -eq 1 -- "featcmp: A's policy is not a subset of B's (exit 1)"
check grep -q '^bmi2' /tmp/cmp -- "featcmp names bmi2 as missing on B"
finish
