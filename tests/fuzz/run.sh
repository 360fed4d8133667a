#!/usr/bin/env bash
# run.sh: build every libFuzzer target (tests/fuzz/fuzz-*.c) with clang,
# address and undefined-behaviour sanitizers, and run each for a while.
#
# usage: tests/fuzz/run.sh [BUILD_DIR]
#   FUZZ_SECONDS: the time each target runs (default 60 for the policy
#   parser, a third of it for the others).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
out=$build/fuzz
seconds=${FUZZ_SECONDS:-60}
pkgs=(xentoollog xencontrol xenguest xenstore xenlight xlutil jansson libelf)
passed=0
failed=0

# The parsers, not the Xen bridge: the fuzzers run without Xen.
lib_sources() {
	local f
	for f in "$top"/src/lib/*.c; do
		case $f in */xen.c) continue ;; esac
		printf '%s\n' "$f"
	done
	printf '%s\n' "$build/gen/feat-gen.c"
}

# elf_seeds DIR: small ELF files built here (a program, a library, a
# static one without libc), under libFuzzer's default input size.
elf_seeds() {
	local dir=$1/elf-seeds
	mkdir -p "$dir"
	printf 'int main(void) { return 0; }\n' |
		gcc -Os -s -x c -o "$dir/prog" - 2>/dev/null || true
	printf 'int f(int x) { return __builtin_popcount(x); }\n' |
		gcc -Os -s -mpopcnt -fPIC -shared -x c -o "$dir/lib.so" - 2>/dev/null || true
	printf 'void _start(void) { for (;;) __asm__("pdep %%eax, %%ebx, %%ecx"); }\n' |
		gcc -Os -nostdlib -static -x c -o "$dir/static" - 2>/dev/null || true
	find "$dir" -type f -size -64k
}

# trap_seeds DIR: the featscan suite's console lines, one file each.
trap_seeds() {
	local dir=$1/trap-seeds
	mkdir -p "$dir"
	split -l 1 "$top/tests/featscan/console.txt" "$dir/line-"
	find "$dir" -type f
}

build_target() {
	local src=$1
	local bin=$2
	local -a srcs
	local -a pkgflags
	mapfile -t srcs < <(lib_sources)
	read -r -a pkgflags <<<"$(pkg-config --cflags --libs "${pkgs[@]}")"
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$top/src/lib" -I"$build/gen" -o "$bin" "$src" "${srcs[@]}" \
		"${pkgflags[@]}" -lZydis
}

main() {
	local src
	local name
	local t
	local corpus
	local -a seeds
	[ -e "$build/gen/feat-gen.c" ] || make -C "$top" BUILD="$build" all >/dev/null
	mkdir -p "$out"
	for src in "$here"/fuzz-*.c; do
		name=$(basename "$src" .c)
		build_target "$src" "$out/$name"
		t=$seconds
		[ "$name" = fuzz-policy ] || t=$((seconds / 3 > 5 ? seconds / 3 : 5))
		corpus=$out/$name.corpus
		mkdir -p "$corpus"
		if [ -d "$here/seeds/$name" ]; then
			cp -n "$here/seeds/$name"/* "$corpus"/ 2>/dev/null || true
		fi
		# Each parser starts from the inputs its tests use.
		case $name in
		fuzz-policy) seeds=("$top"/tests/fixtures/raw/*.txt) ;;
		fuzz-xlconf) seeds=("$top"/tests/xlcfg/configs/*.cfg) ;;
		fuzz-elfscan) mapfile -t seeds < <(elf_seeds "$out") ;;
		fuzz-trap) mapfile -t seeds < <(trap_seeds "$out") ;;
		*) seeds=() ;;
		esac
		if [ "${#seeds[@]}" -gt 0 ]; then
			cp -n "${seeds[@]}" "$corpus"/ 2>/dev/null || true
		fi
		printf 'fuzz: %s for %ss\n' "$name" "$t" >&2
		if "$out/$name" -max_total_time="$t" -rss_limit_mb=2048 \
			-max_len=65536 -print_final_stats=0 "$corpus" \
			>"$out/$name.log" 2>&1; then
			tail -n 1 "$out/$name.log"
			passed=$((passed + 1))
		else
			tail -n 30 "$out/$name.log" >&2
			printf 'FAIL: %s found a crash (see %s)\n' "$name" "$out/$name.log" >&2
			failed=$((failed + 1))
		fi
	done
	printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

main "$@"
