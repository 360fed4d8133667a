#!/usr/bin/env bash
# bench.sh: the lab's figures: time to dom0 ready, a guest's boot to
# verdict (median of 5), one trial on A beside the rehearsal on B, the
# live migration of a 128 MiB guest (scenario
# bench); then featmin on PostgreSQL's pgbench (scenario needs-pgbench):
# trials, wall time, time per trial, the needed set, and the TPS with the
# final mask beside unmasked.
#
# usage: tests/lab/bench.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run SCENARIO [LAB-ARGS...]: into $log; its last lines on failure.
run() {
	V=1 "$here/lab.sh" run "$@" >"$log" 2>&1 || {
		tail -n 40 "$log" >&2
		exit 1
	}
}

run bench --timeout 1200
printf 'lab benchmark (QEMU TCG, nested Xen 4.17, 2 hosts):\n'
sed -n 's/^lab: host A dom0 ready after \([0-9]*\)s/  dom0 ready (host A, from QEMU start): \1 s/p' "$log"
sed -n 's/^A| BENCH \(.*\) seconds: \(.*\)/  \1: \2 s/p' "$log" | tr -d '\r'
run needs-pgbench
printf 'featmin on PostgreSQL 15 pgbench (QEMU TCG, nested Xen 4.17):\n'
sed -n 's/^A| BENCH-PG /  /p' "$log" | tr -d '\r'
