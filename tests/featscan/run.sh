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

build_fixtures() {
	mkdir -p "$fix/lib"
	gcc -O2 -mbmi2 -o "$fix/blind" "$here/src/blind.c"
	gcc -O2 -mbmi2 -fPIC -shared -Wl,-soname,libblind.so.1 \
		-o "$fix/lib/libblind.so.1.0" "$here/src/libblind.c"
	ln -s libblind.so.1.0 "$fix/lib/libblind.so.1"
	gcc -O2 -o "$fix/useslib" "$here/src/useslib.c" \
		"$fix/lib/libblind.so.1.0"
}

# first_insn FILE FUNC MNEMONIC: the address (hex, no 0x) of FUNC's first
# MNEMONIC, as objdump disassembles it.
first_insn() {
	objdump -d --no-show-raw-insn "$1" |
		awk -v f="<$2>:" -v m="$3" '
			$2 == f { inside = 1; next }
			/^$/ { inside = 0 }
			inside && $2 == m { sub(":", "", $1); print $1; exit }'
}

# sym_addr FILE NAME: NAME's address (hex) in FILE's symbol tables.
sym_addr() {
	nm -D --defined-only "$1" 2>/dev/null | awk -v n="$2" '$3 == n { print $1; exit }' |
		grep . || nm "$1" | awk -v n="$2" '$3 == n { print $1; exit }'
}

# exec_load FILE: "OFFSET VADDR MEMSZ" (decimal) of FILE's executable
# PT_LOAD, from readelf.
exec_load() {
	local -a f
	read -r -a f < <(readelf -lW "$1" | awk '$1 == "LOAD" && / R E / { print; exit }')
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
	local rc=0
	shift 2
	(cd "$fix" && "$featscan" "$@") <"$here/console.txt" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$tmp/out" "$here/golden/$name"
	fi
	if [ "$rc" -ne "$want_rc" ]; then
		not_ok "golden $name: exit $rc, want $want_rc: $(head -c 300 "$tmp/err")"
	elif ! diff -u "$here/golden/$name" "$tmp/out" >&2; then
		not_ok "golden $name: output differs"
	else
		ok
	fi
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

main() {
	command -v gcc >/dev/null || { echo "featscan tests need gcc" >&2; exit 2; }
	build_fixtures
	t_at
	t_trap
	t_golden
	t_errors
	summary featscan
}

main "$@"
