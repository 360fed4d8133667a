#!/usr/bin/env bash
# run.sh: make bench: how many trials featmin's search takes on simulated
# workloads, beside one reboot per feature and the information bound; and
# how fast featscan reads this machine's programs and libraries.
#
# usage: tests/bench/run.sh BUILD_DIR [SETS]
#
# Builds tests/bench/bench-search.c against BUILD_DIR's libhetmig.a (with
# the flags of the build that made it) and runs it on every policy in
# tests/fixtures/raw: SETS (default 100) random needed sets for each k.
# Exits non-zero when the search gave a wrong answer.
#
# Then featscan scans /usr/lib/x86_64-linux-gnu and /usr/bin (#19): the
# files, MB of code, seconds (wall and CPU) and MB of code per second per
# core (per CPU second: other work on the machine lengthens the wall time,
# not the CPU time) for -j1 and -j2, and the peak RSS beside that of the
# largest file alone, which is what memory should follow.  The page cache
# is warmed first by the JSON run that gives the totals.
#   HETMIG_BENCH_SCAN=0 leaves featscan out.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
PROG=bench
# shellcheck source=scripts/lib/common.sh
. "$top/scripts/lib/common.sh"

tmp=

cleanup() {
	[ -z "$tmp" ] || rm -rf "$tmp"
}

build_bench() {
	local build=$1
	local -a sanflags=()
	case $build in
	*-san) sanflags=("-fsanitize=address,undefined" -fno-omit-frame-pointer) ;;
	esac
	"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic \
		"${sanflags[@]}" -I"$top/src/lib" -I"$build/gen" \
		-o "$tmp/bench-search" "$here/bench-search.c" \
		"$build/libhetmig.a" -ljansson -lm
}

# timed OUT CMD...: run CMD with its stdout to OUT; sets wall, cpu (user
# plus system seconds) and rss (peak, in MB) from GNU time.
timed() {
	local out=$1
	local user sys kb
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$out"
	read -r wall user sys kb <"$tmp/time"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	rss=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
}

bench_featscan() {
	local featscan=$1/bin/featscan
	local -a dirs=(/usr/lib/x86_64-linux-gnu /usr/bin)
	local wall cpu rss files mb json_rss largest largest_mb j rate
	[ -x "$featscan" ] || die "no '$featscan': run make first"
	need_cmd jq jq
	[ -x /usr/bin/time ] || die "no /usr/bin/time: apt-get install time"
	say "featscan over ${dirs[*]} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	timed "$tmp/scan.json" "$featscan" -j 2 -o json "${dirs[@]}"
	json_rss=$rss
	files=$(jq '.totals.files' "$tmp/scan.json")
	mb=$(jq '.totals.code_bytes / 1e6 * 10 | round / 10' "$tmp/scan.json")
	printf 'featscan: %s files, %s MB of code (%s files not ELF, %s object files skipped)\n' \
		"$files" "$mb" "$(jq '.totals.not_elf' "$tmp/scan.json")" \
		"$(jq '.totals.not_linked' "$tmp/scan.json")"
	for j in 1 2; do
		timed "$tmp/names" "$featscan" -j "$j" -o names "${dirs[@]}"
		rate=$(awk -v m="$mb" -v c="$cpu" 'BEGIN { printf "%.1f", m / c }')
		printf 'featscan -j%d: %6.1f s wall, %6.1f s CPU, %5.1f MB/s per core, peak RSS %s MB\n' \
			"$j" "$wall" "$cpu" "$rate" "$rss"
		if [ "$j" -eq 1 ]; then
			awk -v r="$rate" 'BEGIN { exit !(r >= 40) }' &&
				printf 'featscan: target 40 MB/s per core: met\n' ||
				printf 'featscan: target 40 MB/s per core: MISSED\n'
		fi
	done
	largest=$(jq -r '.files | max_by(.code_bytes) | .path' "$tmp/scan.json")
	largest_mb=$(jq '.files | max_by(.code_bytes) | .code_bytes / 1e6 * 10 | round / 10' "$tmp/scan.json")
	timed "$tmp/names" "$featscan" -o names "$largest"
	printf 'featscan: peak RSS %s MB for the largest file alone (%s, %s MB of code); -o json of all, which keeps every use to the end: %s MB (-j2)\n' \
		"$rss" "$largest" "$largest_mb" "$json_rss"
}

main() {
	local build
	local sets=${2:-100}
	local -a policies
	[ $# -ge 1 ] || die "usage: run.sh BUILD_DIR [SETS]"
	build=$(cd "$1" && pwd)
	[ -e "$build/libhetmig.a" ] || die "no '$build/libhetmig.a': run make first"
	need_cmd "${CC:-cc}" gcc
	tmp=$(mktemp -d)
	trap 'cleanup' EXIT
	build_bench "$build"
	policies=("$top"/tests/fixtures/raw/*.txt)
	say "$sets random needed sets per k, ${#policies[@]} policies;" \
		"n = maskable features of a default PVH/HVM guest, baseline kept"
	"$tmp/bench-search" -s "$sets" "${policies[@]}"
	if [ "${HETMIG_BENCH_SCAN:-1}" != 0 ]; then
		bench_featscan "$build"
	fi
}

main "$@"
