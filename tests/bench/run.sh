#!/usr/bin/env bash
# run.sh: make bench: how many trials featmin's search takes on simulated
# workloads, beside one reboot per feature and the information bound.
#
# usage: tests/bench/run.sh BUILD_DIR [SETS]
#
# Builds tests/bench/bench-search.c against BUILD_DIR's libhetmig.a (with
# the flags of the build that made it) and runs it on every policy in
# tests/fixtures/raw: SETS (default 100) random needed sets for each k.
# Exits non-zero when the search gave a wrong answer.
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
}

main "$@"
