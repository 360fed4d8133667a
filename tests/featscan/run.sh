#!/usr/bin/env bash
# run.sh: featscan's tests.  The fixtures are built here from the C
# sources in src/ with the installed gcc; what featscan says about them
# is checked against what binutils (objdump, readelf, nm) say, worked
# out independently of featscan's own ELF reading.
#
# usage: tests/featscan/run.sh BUILD_DIR
#   UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
featscan=$build/bin/featscan
# shellcheck source=../lib.sh
. "$here/../lib.sh"

fix=$tmp/fix
# Where the fake trap lines say a position-independent file was loaded.
bias=$((0x55d0c8f00000))
libbias=$((0x7f3a2b000000))

# The fixtures, each with the class its feature use must get.
build_fixtures() {
	local v3=$fix/hw/glibc-hwcaps/x86-64-v3
	mkdir -p "$fix/lib" "$v3"
	gcc -O2 -mbmi2 -o "$fix/blind" "$here/src/blind.c"
	gcc -O2 -mbmi2 -fPIC -shared -Wl,-soname,libblind.so.1 \
		-o "$fix/lib/libblind.so.1.0" "$here/src/libblind.c"
	ln -s libblind.so.1.0 "$fix/lib/libblind.so.1"
	gcc -O2 -o "$fix/useslib" "$here/src/useslib.c" \
		"$fix/lib/libblind.so.1.0"
	gcc -O2 -o "$fix/cpusupports" "$here/src/cpusupports.c"
	gcc -O2 -o "$fix/ifunc" "$here/src/ifunc.c"
	gcc -O3 -o "$fix/clones" "$here/src/clones.c"
	gcc -O3 -march=x86-64-v3 -mneeded -o "$fix/v3" "$here/src/v3.c"
	gcc -O3 -march=x86-64-v3 -o "$fix/v3-no-note" "$here/src/v3.c"
	gcc -O3 -march=x86-64-v3 -ffast-math -fPIC -shared \
		-o "$v3/libhw.so" "$here/src/hwcaps.c"
	cp "$v3/libhw.so" "$fix/hw/libhw.so"
	gcc -O2 -mbmi2 -static -o "$fix/static" "$here/src/blind.c"
	gcc -O2 -o "$fix/pkeys" "$here/src/pkeys.c"
	gcc -O3 -fPIC -shared -o "$fix/lib/libcpuid.so" "$here/src/cpuidlib.c"
	gcc -O3 -o "$fix/cpuidexe" "$here/src/cpuidlib.c" -x c - <<-'EOF'
	int has_avx2(void);
	void add_all(int *x, const int *y);
	int main(void)
	{
		int x[64] = { 0 }, y[64] = { 0 };

		if (has_avx2())
			add_all(x, y);
		return x[0];
	}
	EOF
}

# The awk programs below read their input to the end instead of leaving
# at the first match: a writer killed by SIGPIPE would fail the pipeline.

# first_insn FILE FUNC MNEMONIC: the address (hex, no 0x) of FUNC's first
# MNEMONIC, as objdump disassembles it.
first_insn() {
	objdump -d --no-show-raw-insn "$1" |
		awk -v f="<$2>:" -v m="$3" '
			$2 == f { inside = 1; next }
			/^$/ { inside = 0 }
			inside && $2 == m && !found { sub(":", "", $1); print $1; found = 1 }'
}

# sym_addr FILE NAME: NAME's address (hex) in FILE's symbol tables.
sym_addr() {
	{ nm -D --defined-only "$1" 2>/dev/null || true; nm "$1" 2>/dev/null || true; } |
		awk -v n="$2" '$3 == n && !found { print $1; found = 1 }'
}

# exec_load FILE: "OFFSET VADDR MEMSZ" (decimal) of FILE's executable
# PT_LOAD, from readelf.
exec_load() {
	local -a f
	read -r -a f < <(readelf -lW "$1" | awk '$1 == "LOAD" && / R E / && !found { print; found = 1 }')
	printf '%d %d %d\n' "${f[1]}" "${f[2]}" "${f[5]}"
}

# file_offset FILE VADDR: the file offset of VADDR in FILE's code.
file_offset() {
	local off vaddr memsz
	read -r off vaddr memsz < <(exec_load "$1")
	printf '%d\n' $(($2 - vaddr + off))
	: "$memsz"
}

# trap_for FILE FUNC BIAS COMM: the kernel's trap line for FILE's first
# pdep in FUNC, loaded at BIAS, to $tmp/line; sets want to featscan's
# expected line.
trap_for() {
	local file=$1
	local func=$2
	local load_bias=$3
	local comm=$4
	local at fn off vaddr memsz start end
	at=$((0x$(first_insn "$file" "$func" pdep)))
	fn=$((0x$(sym_addr "$file" "$func")))
	read -r off vaddr memsz < <(exec_load "$file")
	start=$(((vaddr & ~4095) + load_bias))
	end=$((((vaddr + memsz + 4095) & ~4095) + load_bias))
	want=$(printf 'bmi2 (pdep) in %s at +0x%x (%s' "$file" \
		$((at - vaddr + off)) "$func")
	if [ "$at" -ne "$fn" ]; then
		want+=$(printf '+0x%x' $((at - fn)))
	fi
	want+=")"
	printf '[  %d.000001] traps: %s[4242] trap invalid opcode ip:%x sp:7ffc2d9a1e58 error:0 in %s[%x+%x]\n' \
		"$RANDOM" "$comm" $((at + load_bias)) \
		"$(basename "$(readlink -f "$file")")" "$start" $((end - start)) \
		>"$tmp/line"
}

t_at() {
	local off
	off=$(file_offset "$fix/blind" $((0x$(first_insn "$fix/blind" main pdep))))
	trap_for "$fix/blind" main "$bias" blind
	expect_rc "--at blind:pdep" 0 "$featscan" --at "$fix/blind:$(printf '0x%x' "$off")"
	expect "--at blind:pdep line" "$want" "$(cat "$tmp/out")"
	expect_rc "--at -o json" 0 "$featscan" -o json --at "$fix/blind:+$off"
	expect "--at json" "pdep bmi2 main BMI2 feature" \
		"$(jq -r '"\(.mnemonic) \(.features | join(",")) \(.function) \(.isa_set) \(.kind)"' "$tmp/out")"
}

t_trap() {
	trap_for "$fix/blind" main "$bias" blind
	{
		printf '[    1.000000] Run /init as init process\n'
		cat "$tmp/line" "$tmp/line"
	} >"$tmp/console"
	expect_rc "--trap blind" 0 "$featscan" --trap "$fix/blind" <"$tmp/console"
	expect "--trap blind (said once)" "$want" "$(cat "$tmp/out")"

	trap_for "$fix/lib/libblind.so.1.0" lib_pdep "$libbias" useslib
	cp "$tmp/line" "$tmp/console"
	expect_rc "--trap in a shared library" 0 "$featscan" --trap \
		"$fix/useslib" "$fix/lib/libblind.so.1.0" <"$tmp/console"
	expect "--trap in a shared library" "$want" "$(cat "$tmp/out")"
	# Given through its soname's link, the library is still the file the
	# kernel names (the link's target); featscan names it as given.
	expect_rc "--trap through a symbolic link" 0 "$featscan" --trap \
		"$fix/lib/libblind.so.1" <"$tmp/console"
	expect "--trap through a symbolic link" "${want/libblind.so.1.0/libblind.so.1}" \
		"$(cat "$tmp/out")"
	expect_rc "--trap -o json" 0 "$featscan" -o json --trap \
		"$fix/lib/libblind.so.1.0" <"$tmp/console"
	expect "--trap -o json" "1 useslib 4242 lib_pdep bmi2" \
		"$(jq -r '"\(.named) \(.traps[0].comm) \(.traps[0].pid) \(.traps[0].instruction.function) \(.traps[0].instruction.features[0])"' "$tmp/out")"

	printf 'nothing to see\n' >"$tmp/console"
	expect_rc "--trap, no trap line" 1 "$featscan" --trap "$fix/blind" <"$tmp/console"
	expect "--trap, no trap line: no output" "" "$(cat "$tmp/out")"
}

# golden NAME RC ARGS...: featscan ARGS, stdin console.txt, in the fixture
# directory (short paths), exits RC and prints golden/NAME.
golden() {
	local name=$1
	local want_rc=$2
	shift 2
	expect_golden "$name" "$want_rc" "$here/golden/$name" in_fixtures "$@"
}

# in_fixtures ARGS...: featscan ARGS in the fixture directory, reading
# console.txt.
in_fixtures() {
	(cd "$fix" && "$featscan" "$@") <"$here/console.txt"
}

# Real 5.x and 6.x lines of programs whose files are not at hand: the
# program and the address are named.
t_golden() {
	golden trap-not-at-hand 1 --trap blind
	golden trap-not-at-hand.json 1 -o json --trap blind
}

t_errors() {
	printf 'not elf\n' >"$tmp/text"
	expect_error "--at without offset" "featscan: bad location '.*blind': expected FILE:OFFSET" \
		"$featscan" --at "$fix/blind"
	expect_error "--at bad offset" "featscan: bad location '.*:zz'" \
		"$featscan" --at "$fix/blind:zz"
	expect_error "--at negative offset" "featscan: bad location" \
		"$featscan" --at "$fix/blind:-1"
	expect_error "--at missing file" "featscan: cannot open '$tmp/none': No such file" \
		"$featscan" --at "$tmp/none:0"
	expect_error "--at not ELF" "featscan: '$tmp/text' is not an ELF file" \
		"$featscan" --at "$tmp/text:0"
	expect_error "--at outside code" "featscan: offset 0x0 of '.*blind' is not in its code" \
		"$featscan" --at "$fix/blind:0"
	expect_error "--at past the end" "is not in its code" \
		"$featscan" --at "$fix/blind:0xffffffffffffffff"
	expect_error "--trap missing file" "featscan: cannot open '$tmp/none'" \
		"$featscan" --trap "$fix/blind" "$tmp/none"
	expect_error "-o table with --at" "featscan: --at and --trap write lines or json" \
		"$featscan" -o table --at "$fix/blind:0"
	expect_error "unknown output" "featscan: unknown output 'xml'" \
		"$featscan" -o xml --at "$fix/blind:0"
	expect_rc "no operand" 2 "$featscan"
	expect_grep "no operand: usage" '^usage: featscan' "$tmp/err"
	expect_rc "--trap without files" 2 "$featscan" --trap
	expect_rc "--at and --trap" 2 "$featscan" --at "$fix/blind:0" --trap "$fix/blind"
}

# uses NAME FILE JQ-FILTER: the scan of FILE as JSON in $tmp/NAME.json,
# and its uses, one "class feature function signal by" line each,
# filtered by JQ-FILTER (a select(...)), sorted, in $tmp/NAME.uses.
# GCC's suffixes for specialised copies (.constprop.0, .isra.0) are cut.
uses() {
	local name=$1
	local file=$2
	local filter=${3:-.}
	"$featscan" -o json "$file" >"$tmp/$name.json"
	jq -r 'def plain: if type == "string" then gsub("\\.(constprop|isra|part)\\.[0-9]+"; "") else . end;
		.files[].uses[] | '"$filter"' |
		"\(.class) \(.feature // .isa_set) \(.function // .function_address | plain) \(.signal) \(.by | plain)"' \
		"$tmp/$name.json" | sort -u >"$tmp/$name.uses"
}

# only NAME WANT: the lines of $tmp/NAME.uses are exactly WANT's.
only() {
	expect "$1" "$2" "$(cat "$tmp/$1.uses")"
}

t_classes() {
	uses blind "$fix/blind"
	only blind "blind bmi2 main none null"
	uses cpusupports "$fix/cpusupports" 'select(.feature == "bmi2")'
	only cpusupports "guarded bmi2 deposit_both reached with_bmi2
guarded bmi2 with_bmi2 cpu-check main"
	uses ifunc "$fix/ifunc" 'select(.feature == "bmi2")'
	only ifunc "guarded bmi2 deposit_bmi2 ifunc deposit"
	# Every use of the clone: AVX and AVX2, by the resolver GCC made.
	uses clones "$fix/clones" 'select(.function | startswith("scale"))'
	expect clones "guarded avx scale.avx2 ifunc scale
guarded avx2 scale.avx2 ifunc scale" "$(cut -d' ' -f1-5 "$tmp/clones.uses")"
	uses clones-blind "$fix/clones" 'select(.class != "guarded")'
	only clones-blind ""

	uses v3 "$fix/v3"
	expect "v3: the note" "x86-64-v3" "$(jq -r '.files[0].isa_needed' "$tmp/v3.json")"
	expect "v3: all required" "required isa-needed x86-64-v3" \
		"$(awk '{ print $1, $4, $5 }' "$tmp/v3.uses" | sort -u)"
	expect "v3: the policy" "avx avx2 bmi2 fma" \
		"$(jq -r '[.features[] | select(test("^(avx|avx2|bmi2|fma)$"))] | sort | join(" ")' "$tmp/v3.json")"
	expect "v3: evidence" "required" "$(jq -r '.evidence.avx2.class' "$tmp/v3.json")"
	expect "v3: xsave comes with avx" "avx" "$(jq -r '.evidence.xsave.via' "$tmp/v3.json")"
	uses v3-no-note "$fix/v3-no-note"
	expect "v3 without -mneeded: blind" "blind none" \
		"$(awk '{ print $1, $4 }' "$tmp/v3-no-note.uses" | sort -u)"

	uses hwcaps "$fix/hw/glibc-hwcaps/x86-64-v3/libhw.so"
	expect "hwcaps: guarded" "guarded glibc-hwcaps x86-64-v3" \
		"$(awk '{ print $1, $4, $5 }' "$tmp/hwcaps.uses" | sort -u)"
	uses hwcaps-elsewhere "$fix/hw/libhw.so"
	expect "the same library elsewhere: blind" "blind" \
		"$(awk '{ print $1 }' "$tmp/hwcaps-elsewhere.uses" | sort -u)"

	uses pkeys "$fix/pkeys" 'select(.feature == "pku")'
	only pkeys "guarded pku deny_all os-gated pkey_alloc"
	# CPUID somewhere in a library guards the library (a weak signal);
	# in a program, only what that function calls.
	uses cpuidlib "$fix/lib/libcpuid.so" 'select(.feature == "avx2")'
	only cpuidlib "guarded avx2 add_all cpuid-in-object has_avx2"
	uses cpuidexe "$fix/cpuidexe" 'select(.feature == "avx2")'
	only cpuidexe "blind avx2 add_all none null"

	# A static binary: glibc's own code is all guarded; main is not.
	uses static "$fix/static" 'select(.class != "guarded")'
	only static "blind bmi2 main none null"
	expect "static: kind" "static-executable" "$(jq -r '.files[0].kind' "$tmp/static.json")"
	expect_grep "static: glibc's string functions by ifunc" \
		'"signal": "ifunc"' "$tmp/static.json"
}

# The C library: its AVX2 and AVX-512 code is all behind its IFUNCs.
t_libc() {
	local libc
	libc=$(gcc -print-file-name=libc.so.6)
	libc=$(readlink -f "$libc")
	[ -e "$libc" ] || libc=/lib/x86_64-linux-gnu/libc.so.6
	uses libc "$libc" 'select(.feature != null and (.feature | test("^avx2$|^avx512")))'
	expect "libc.so.6: glibc" "true" "$(jq -r '.files[0].glibc' "$tmp/libc.json")"
	if [ "$(grep -c ' avx2 ' "$tmp/libc.uses")" -lt 10 ]; then
		not_ok "libc.so.6: fewer than 10 functions use avx2"
	else
		ok
	fi
	expect "libc.so.6: AVX2 and AVX-512 all guarded" "guarded" \
		"$(awk '{ print $1 }' "$tmp/libc.uses" | sort -u)"
	# AVX2 by the IFUNC signals themselves, not the glibc rule.
	expect "libc.so.6: AVX2 by ifunc" "ifunc" \
		"$(awk '$2 == "avx2" { print ($4 == "reached" ? "ifunc" : $4) }' "$tmp/libc.uses" | sort -u)"
}

# PostgreSQL chooses its CRC32C (SSE4.2) after asking CPUID.
t_postgres() {
	local pg=/usr/lib/postgresql/15/bin/postgres
	if [ ! -x "$pg" ]; then
		printf 'featscan: %s not installed: postgres test skipped\n' "$pg" >&2
		return 0
	fi
	uses postgres "$pg" 'select(.feature == "sse4-2")'
	expect_grep "postgres: crc32c" '^guarded sse4-2 pg_comp_crc32c_sse42 cpu-check ' "$tmp/postgres.uses"
	expect "postgres: sse4-2 all guarded" "guarded" \
		"$(awk '{ print $1 }' "$tmp/postgres.uses" | sort -u)"
}

# The JSON is a policy featcmp and featdump read.
t_policy() {
	local raw=$here/../fixtures/raw
	"$featscan" -o json "$fix/blind" >"$tmp/blind.json"
	expect "policy format" "hetmig-policy/1 featscan" \
		"$(jq -r '"\(.format) \(.source.kind)"' "$tmp/blind.json")"
	expect "policy features" '["bmi2"]' "$(jq -c .features "$tmp/blind.json")"
	expect_rc "featcmp: nehalem lacks bmi2" 1 "$build/bin/featcmp" \
		"$tmp/blind.json" "$raw/qemu-nehalem.txt"
	expect_grep "featcmp names bmi2" '^bmi2 ' "$tmp/out"
	expect_rc "featcmp: milan has it" 0 "$build/bin/featcmp" \
		"$tmp/blind.json" "$raw/qemu-epyc-milan.txt"
	"$featscan" -o json "$fix/cpusupports" >"$tmp/cpusupports.json"
	expect_rc "featcmp: guarded needs nothing" 0 "$build/bin/featcmp" \
		"$tmp/cpusupports.json" "$raw/qemu-nehalem.txt"
	expect_rc "featdump -f reads it" 0 "$build/bin/featdump" -f "$tmp/blind.json"
	expect "featdump -f: the names" "bmi2" "$(cat "$tmp/out")"
}

t_outputs() {
	expect_rc "names" 0 "$featscan" "$fix/blind"
	expect "names" "bmi2" "$(cat "$tmp/out")"
	expect_rc "--blind names, all guarded" 0 "$featscan" --blind "$fix/cpusupports"
	expect "--blind names, all guarded" "" "$(cat "$tmp/out")"
	expect_rc "--blind table" 0 "$featscan" --blind -o table "$fix/cpusupports"
	expect "--blind table: the header only" 1 "$(wc -l <"$tmp/out")"
	expect_rc "--blind json" 0 "$featscan" --blind -o json "$fix/cpusupports" "$fix/blind"
	expect "--blind json" "true 0 1" \
		"$(jq -r '"\(.blind_only) \(.files[0].uses | length) \(.files[1].uses | length)"' "$tmp/out")"
}

# Directories, links, lists on standard input, and jobs.
t_walk() {
	local d=$tmp/walk
	mkdir -p "$d/sub" "$d/empty"
	cp "$fix/blind" "$d/sub/prog"
	ln -s sub/prog "$d/link-to-prog"
	ln -s .. "$d/sub/loop"
	ln -s nowhere "$d/dangling"
	printf 'text\n' >"$d/notes.txt"
	gcc -c -o "$d/object.o" "$here/src/useslib.c"
	expect_rc "walk" 0 "$featscan" -o json "$d"
	expect "walk: each file once, non-ELF counted" "1 2 0 bmi2" \
		"$(jq -r '"\(.totals.files) \(.totals.not_elf + .totals.not_linked) \(.skipped | length) \(.features | join(","))"' "$tmp/out")"
	expect "walk: the first path found" "$d/link-to-prog" "$(jq -r '.files[0].path' "$tmp/out")"
	expect_rc "walk -j 2" 0 "$featscan" -j 2 -o json "$fix"
	mv "$tmp/out" "$tmp/j2"
	expect_rc "walk -j 1" 0 "$featscan" -j 1 -o json "$fix"
	if cmp -s "$tmp/out" "$tmp/j2"; then ok; else not_ok "-j 2 and -j 1 differ"; fi

	{
		printf '%s\n' "$fix/blind"
		printf '55d0c8f0e000-55d0c8f0f000 r-xp 00001000 08:01 131 %s\n' "$fix/cpusupports"
		printf '7ffd6c1b0000-7ffd6c1d1000 rw-p 00000000 00:00 0 [stack]\n'
		printf '55d0c8f0e000-55d0c8f0f000 r-xp 00001000 08:01 132 %s (deleted)\n' "$fix/ifunc"
		printf '%s\n' "$tmp/gone"
	} >"$tmp/list"
	expect_rc "list on stdin" 0 "$featscan" -o json - <"$tmp/list"
	expect "list: files" "$fix/blind $fix/cpusupports $fix/ifunc" \
		"$(jq -r '[.files[].path] | join(" ")' "$tmp/out")"
	expect "list: the missing one" "$tmp/gone: No such file or directory" \
		"$(jq -r '.skipped[] | "\(.path): \(.reason)"' "$tmp/out")"
}

# golden_scan NAME ARGS...: featscan ARGS in the fixture directory prints
# golden/NAME (exit 0).
golden_scan() {
	local name=$1
	shift
	(cd "$fix" && "$featscan" "$@") >"$tmp/out" 2>"$tmp/err" </dev/null || true
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$tmp/out" "$here/golden/$name"
	fi
	if diff -u "$here/golden/$name" "$tmp/out" >&2; then ok; else not_ok "golden $name differs"; fi
}

t_scan_errors() {
	expect_error "missing operand" "featscan: cannot open '$tmp/none': No such file" \
		"$featscan" "$fix/blind" "$tmp/none"
	expect_error "-j 0" "featscan: bad number of jobs '0'" "$featscan" -j 0 "$fix/blind"
	expect_error "-j x" "featscan: bad number of jobs 'x'" "$featscan" -j x "$fix/blind"
	expect_rc "unknown option" 2 "$featscan" --no-such "$fix/blind"
	expect_grep "unknown option: usage" '^usage: featscan' "$tmp/err"
	printf 'not elf\n' >"$tmp/text"
	expect_rc "a named non-ELF file" 0 "$featscan" "$tmp/text"
	expect_grep "a named non-ELF file: warned" "warning: '$tmp/text' is not an ELF file: skipped" "$tmp/err"
}

# The feature Intel's SDM (and AMD's APM) gives each mnemonic, for the
# mnemonics objdump prints that belong to one extension only; VEX and
# EVEX forms of one mnemonic are told apart by their operands below.
sdm_features() {
	cat <<-'EOF'
	pdep bmi2
	pext bmi2
	bzhi bmi2
	sarx bmi2
	shlx bmi2
	shrx bmi2
	rorx bmi2
	mulx bmi2
	andn bmi1
	blsr bmi1
	blsi bmi1
	blsmsk bmi1
	lzcnt abm
	popcnt popcnt
	crc32 sse4-2
	pcmpistri sse4-2
	pcmpestri sse4-2
	pcmpgtq sse4-2
	pshufb ssse3
	palignr ssse3
	ptest sse4-1
	pminud sse4-1
	pblendvb sse4-1
	pextrd sse4-1
	pinsrd sse4-1
	movbe movbe
	xtest rtm
	xbegin rtm
	xend rtm
	xabort rtm
	rdpkru pku
	wrpkru pku
	xsavec xsavec
	xgetbv xsave
	vzeroupper avx
	aesenc aesni
	aesdec aesni
	pclmulqdq pclmulqdq
	sha256rnds2 sha
	rdrand rdrand
	rdseed rdseed
	adcx adx
	adox adx
	vpbroadcastb avx2
	vpbroadcastd avx2
	vpermq avx2
	vinserti128 avx2
	vextracti128 avx2
	vfmadd231ps fma
	vfmadd132pd fma
	vcvtph2ps f16c
	kmovd avx512bw
	kmovq avx512bw
	kmovw avx512f
	vpternlogd avx512f
	EOF
}

# objdump_sample FILE: "OFFSET MNEMONIC FEATURE" for at most 3 of each
# listed mnemonic of FILE, the offset from objdump's address and
# readelf's section table.  VEX-only mnemonics with EVEX operands (zmm,
# registers 16 to 31, masks) are left out.
objdump_sample() {
	local file=$1
	readelf -SW "$file" | sed 's/^ *\[ *[0-9]*\]//' |
		awk '$3 ~ /^[0-9a-f]+$/ && $2 == "PROGBITS" { print "S", $1, $3, $4 }' >"$tmp/sections"
	objdump -d -M intel --no-show-raw-insn "$file" |
		awk -v table="$tmp/sdm" -v secs="$tmp/sections" '
			BEGIN {
				while ((getline l < table) > 0) { split(l, f, " "); want[f[1]] = f[2] }
				while ((getline l < secs) > 0) { split(l, f, " "); addr[f[2]] = f[3]; off[f[2]] = f[4] }
			}
			/^Disassembly of section / { sec = $4; sub(":", "", sec); next }
			!/^ *[0-9a-f]+:\t/ { next }
			{
				split($0, p, "\t"); a = p[1]; sub(/^ */, "", a); sub(":", "", a)
				n = split(p[2], w, " "); m = w[1]
				if (!(m in want) || seen[m] >= 3) next
				if (w[1] ~ /^(vfmadd|vcvtph2ps|vpbroadcast|vpermq|vinserti128|vextracti128)/ &&
				    p[2] ~ /zmm|\{|mm(1[6-9]|2[0-9]|3[01])/) next
				if (!(sec in addr)) next
				seen[m]++
				print a, addr[sec], off[sec], m, want[m]
			}' |
		while read -r a base off m feat; do
			printf '%d %s %s\n' $((0x$a - 0x$base + 0x$off)) "$m" "$feat"
		done
}

# Independently of featscan's reading: objdump's mnemonics, the SDM's
# features.
t_objdump() {
	local f off mn feat got n=0
	local -a files=("$fix/blind" "$fix/v3-no-note" "$fix/static")
	sdm_features >"$tmp/sdm"
	for f in /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libcrypto.so.3 \
		/usr/lib/postgresql/15/bin/postgres; do
		[ -e "$f" ] && files+=("$f")
	done
	for f in "${files[@]}"; do
		while read -r off mn feat; do
			n=$((n + 1))
			got=$("$featscan" -o json --at "$f:$off" |
				jq -r '"\(.mnemonic) \(.features | index("'"$feat"'") != null)"')
			expect "objdump: $f+$off $mn ($feat)" "$mn true" "$got"
		done < <(objdump_sample "$f")
	done
	if [ "$n" -lt 60 ]; then
		not_ok "objdump: only $n instructions compared"
	else
		ok
	fi
}

main() {
	command -v gcc >/dev/null || { echo "featscan tests need gcc" >&2; exit 2; }
	build_fixtures
	t_at
	t_trap
	t_golden
	t_errors
	t_classes
	t_libc
	t_postgres
	t_policy
	t_outputs
	t_walk
	golden_scan scan-blind.table -o table blind
	t_objdump
	t_scan_errors
	summary featscan
}

main "$@"
