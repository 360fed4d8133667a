#!/usr/bin/env bash
# run.sh: featcmp's tests: golden outputs, every pair of fixture policies
# against an independent set difference (featdump names and comm) and its
# -x line against the real libxl parser (xlcheck.c, apart from hetmig's
# own check), the bits not compared, -e's reading of cpuid= values, and
# errors.
#
# usage: tests/featcmp/run.sh BUILD_DIR
#   UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
featcmp=$build/bin/featcmp
featdump=$build/bin/featdump
raw=$top/tests/fixtures/raw
# shellcheck source=../lib.sh
. "$here/../lib.sh"

# Never compared: OS state, the hypervisor bit and the topology bits htt
# and cmp-legacy (see featcmp(1)).
ignored='^(osxsave|ospke|hypervisor|htt|cmp-legacy)$'

build_xlcheck() {
	local -a flags
	read -r -a flags <<<"$(pkg-config --cflags --libs xenlight)"
	cc -std=gnu11 -Wall -Wextra -o "$tmp/xlcheck" "$here/xlcheck.c" "${flags[@]}"
}

# golden NAME RC ARGS...: featcmp ARGS (run in the fixture directory, so
# that paths in the output are short) exits RC and prints golden/NAME.
golden() {
	local name=$1
	local want_rc=$2
	shift 2
	expect_golden "$name" "$want_rc" "$here/golden/$name" in_fixtures "$@"
}

# in_fixtures ARGS...: featcmp ARGS in the fixture directory.
in_fixtures() {
	(cd "$raw" && "$featcmp" "$@")
}

# expect_usage NAME ARGS...: exit 2 with the usage on stderr, no data.
expect_usage() {
	local name=$1
	local rc=0
	shift
	"$featcmp" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 2 ] || ! grep -q '^usage: featcmp' "$tmp/err" || [ -s "$tmp/out" ]; then
		not_ok "$name: exit $rc, want 2 and the usage"
	else
		ok
	fi
}

goldens() {
	golden lab-a-vs-lab-b 1 qemu-lab-a.txt qemu-lab-b.txt
	golden lab-b-vs-lab-a 0 qemu-lab-b.txt qemu-lab-a.txt
	golden lab-a-vs-lab-b.json 1 -j qemu-lab-a.txt qemu-lab-b.txt
	golden icelake-vs-milan 1 libvirt-ice-lake-server.txt qemu-epyc-milan.txt
	golden skylake-vs-haswell 1 qemu-skylake-server-notsx-ibrs.txt qemu-haswell-notsx.txt
	golden pool.names 0 -i qemu-epyc-milan.txt qemu-epyc-rome.txt libvirt-epyc-7713-64-core.txt
	golden pool.json 0 -i -j qemu-lab-a.txt qemu-lab-b.txt
	golden milan-minus-rome 0 -d qemu-epyc-milan.txt qemu-epyc-rome.txt
	golden milan-minus-rome.names 0 -d -o names qemu-epyc-milan.txt qemu-epyc-rome.txt
	golden x-lab-a-lab-b 0 -x qemu-lab-a.txt qemu-lab-b.txt
	golden x-lab-a-lab-b.json 0 -x -j qemu-lab-a.txt qemu-lab-b.txt
	golden x-icelake-nehalem 0 -x libvirt-ice-lake-server.txt qemu-nehalem.txt
	golden d-lab-a-lab-b 0 -d qemu-lab-a.txt qemu-lab-b.txt
	golden d-lab-a-lab-b.json 0 -d -j qemu-lab-a.txt qemu-lab-b.txt
	golden e-lab-line 0 -e host,fma=0,avx2=0,bmi2=0 qemu-lab-a.txt
	golden e-avx-bmi2.json 0 -e -j host,avx=0,bmi2=0 qemu-lab-a.txt
}

# e_lines VALUE [POLICY...]: featcmp -e's human lines, sorted.
e_lines() {
	"$featcmp" -e "$@" | sort
}

# -e reads a value as xl applies it: the legacy list form the same as the
# libxl form, a later item over an earlier one, libxl's own names (clfsh
# for clflush, whose Xen name libxl takes for the line size field).  Its
# answers follow Xen's rules: avx2 is enforced only with avx hidden too.
enforce_values() {
	local a=$raw/qemu-lab-a.txt
	local b=$raw/qemu-lab-b.txt
	local line
	local -a pairs=(
		"qemu-lab-a.txt qemu-lab-b.txt"
		"libvirt-ice-lake-server.txt qemu-nehalem.txt"
		"qemu-epyc-milan.txt qemu-epyc-rome.txt"
		"libvirt-ice-lake-server.txt qemu-epyc-milan.txt"
	)
	local pair
	# 0x00000007,0 ebx: bit 8 (bmi2) and bit 5 (avx2), bit 31 first.
	expect "-e: legacy form as libxl form" "$(e_lines host,avx2=0,bmi2=0 "$a")" \
		"$(e_lines '[ "0x00000007,0:ebx=xxxxxxxxxxxxxxxxxxxxxxx0xx0xxxxx" ]' "$a")"
	expect "-e: a later item wins" "" "$(e_lines host,avx2=0,avx2=1)"
	expect "-e: clfsh hides clflush" "clflush              cpuid-only" \
		"$(e_lines host,clfsh=0)"
	expect "-e: clflush is libxl's line size field" "" "$(e_lines host,clflush=0)"
	expect "-e: avx2 alone" "avx2                 cpuid-only (enforced if avx is hidden too)" \
		"$("$featcmp" -e host,avx2=0 "$b" "$a" | head -n 1)"
	expect "-e: avx2 with avx" "avx2                 enforced" \
		"$("$featcmp" -e host,avx=0,avx2=0 "$a" | grep '^avx2 ')"
	expect "-e: a feature no policy has is left out" "" \
		"$("$featcmp" -e host,avx512f=0 "$a")"
	# A value libxl would read by its lowest bit is refused (xlcpuid.c
	# wants a feature's value whole: 0, 1, x, k, s); x/k/s show again, and
	# a later legacy item replaces an earlier one's register.
	expect_error "-e: avx=2 is refused" "^featcmp: cpuid item 'avx=2': bad value" \
		"$featcmp" -e host,avx=2 "$a"
	expect "-e: x shows again" "" "$(e_lines host,avx2=0,avx2=x "$a")"
	expect "-e: a later legacy register replaces" "bmi2                 cpuid-only" \
		"$(e_lines '[ "0x7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx", "0x7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxx" ]' "$a")"
	# What -x hides is what -e reads back from its line.
	for pair in "${pairs[@]}"; do
		read -r a b <<<"$pair"
		line=$("$featcmp" -x "$raw/$a" "$raw/$b")
		expect "-e reads -x's line back ($a, $b)" \
			"$("$featcmp" -x -j "$raw/$a" "$raw/$b" | jq -r '.hidden[]')" \
			"$("$featcmp" -e -j "$line" "$raw/$a" | jq -r '.hidden[].name')"
	done
}

# Every ordered pair of fixtures: the missing features are the set
# difference of featdump's names (minus the bits not compared), the exit
# status says whether it is empty, -d agrees, and the -x line passes the
# real libxl parser and hides exactly what it should.
pairs() {
	local a
	local b
	local na
	local nb
	local rc
	local line
	local -a fixtures
	mapfile -t fixtures < <(cd "$raw" && ls -- *.txt)
	for a in "${fixtures[@]}"; do
		"$featdump" -f "$raw/$a" -o names 2>/dev/null | sort >"$tmp/$a.names"
	done
	for a in "${fixtures[@]}"; do
		for b in "${fixtures[@]}"; do
			na=$tmp/$a.names
			nb=$tmp/$b.names
			comm -23 "$na" "$nb" | grep -Ev "$ignored" >"$tmp/want" || true
			rc=0
			"$featcmp" -o names "$raw/$a" "$raw/$b" 2>/dev/null | sort >"$tmp/got" || rc=$?
			if ! cmp -s "$tmp/want" "$tmp/got"; then
				not_ok "pair $a $b: missing features differ from comm: $(diff "$tmp/want" "$tmp/got" | tr '\n' ' ')"
				continue
			fi
			if [ -s "$tmp/want" ] && [ "$rc" -ne 1 ] || [ ! -s "$tmp/want" ] && [ "$rc" -ne 0 ]; then
				not_ok "pair $a $b: exit $rc with $(wc -l <"$tmp/want") missing"
				continue
			fi
			"$featcmp" -d -o names "$raw/$a" "$raw/$b" 2>/dev/null | sort >"$tmp/got"
			if ! cmp -s "$tmp/want" "$tmp/got"; then
				not_ok "pair $a $b: -d differs from comm"
				continue
			fi
			if ! line=$("$featcmp" -x "$raw/$a" "$raw/$b" 2>"$tmp/err"); then
				not_ok "pair $a $b: -x failed: $(cat "$tmp/err")"
				continue
			fi
			if ! "$tmp/xlcheck" "$line" 2>"$tmp/err"; then
				not_ok "pair $a $b: libxl refuses '$line': $(cat "$tmp/err")"
				continue
			fi
			# Hidden: A's features that B lacks, and more only when
			# they depend on one of those; never one A lacks.
			tr ',' '\n' <<<"${line#host}" | sed -n 's/=0$//p' |
				sed 's/^clfsh$/clflush/' | sort >"$tmp/hidden"
			if [ -n "$(comm -23 "$tmp/want" "$tmp/hidden")" ]; then
				not_ok "pair $a $b: -x leaves visible: $(comm -23 "$tmp/want" "$tmp/hidden" | tr '\n' ' ')"
			elif [ -n "$(comm -23 "$tmp/hidden" "$na")" ]; then
				not_ok "pair $a $b: -x hides what A lacks: $(comm -23 "$tmp/hidden" "$na" | tr '\n' ' ')"
			elif ! "$featcmp" -d "$raw/$a" "$raw/$b" 2>/dev/null | sed -n 's/.* needed by //p' |
				tr ',' '\n' | tr -d ' ' | sort -u >"$tmp/dependents" ||
				[ -n "$(comm -12 "$tmp/hidden" "$nb" | comm -23 - "$tmp/dependents")" ]; then
				not_ok "pair $a $b: -x hides a feature B has that needs nothing missing: $(comm -12 "$tmp/hidden" "$nb" | comm -23 - "$tmp/dependents" | tr '\n' ' ')"
			else
				ok
			fi
		done
	done
}

# clear_syscall: a cpuid -r dump on stdin with leaf 0x80000001 EDX bit 11
# (SYSCALL) cleared, as a dump taken from 32-bit code on Intel shows it.
clear_syscall() {
	local line
	local edx
	while IFS= read -r line; do
		if [[ $line =~ ^(\ +0x80000001\ 0x00:.*edx=)(0x[0-9a-f]+)$ ]]; then
			edx=$((BASH_REMATCH[2] & ~0x800))
			printf '%s0x%08x\n' "${BASH_REMATCH[1]}" "$edx"
		else
			printf '%s\n' "$line"
		fi
	done
}

# The bits not compared, on purpose.
not_compared() {
	local src=$raw/qemu-skylake-server-notsx-ibrs.txt
	local line
	# An Intel dump from 32-bit code: SYSCALL (0x80000001 edx bit 11) is 0.
	clear_syscall <"$src" >"$tmp/nosyscall.txt"
	if "$featdump" -f "$tmp/nosyscall.txt" -o names | grep -qx syscall; then
		not_ok "not compared: the test dump still has syscall"
	elif ! "$featcmp" "$src" "$tmp/nosyscall.txt" >/dev/null; then
		not_ok "not compared: an Intel dump without syscall counted as lacking it"
	elif ! line=$("$featcmp" -x "$tmp/nosyscall.txt" "$src") || [ "$line" != host ]; then
		not_ok "not compared: -x between the two is '$line', want 'host'"
	elif line=$("$featcmp" -x "$src" "$tmp/nosyscall.txt") && [[ $line == *syscall* ]]; then
		not_ok "not compared: -x hides syscall: '$line'"
	else
		ok
	fi
	# The same on an AMD dump is a real difference.
	src=$raw/qemu-epyc-milan.txt
	clear_syscall <"$src" >"$tmp/amd-nosyscall.txt"
	"$featcmp" -o names "$src" "$tmp/amd-nosyscall.txt" >"$tmp/out" || true
	if grep -qx syscall "$tmp/out"; then
		ok
	else
		not_ok "not compared: an AMD dump without syscall is not reported"
	fi
	# osxsave, ospke, hypervisor: host-this has them, qemu models may not.
	"$featcmp" -o names "$raw/host-this.txt" "$raw/qemu-qemu64.txt" >"$tmp/out" || true
	if ! grep -Eqx 'osxsave|hypervisor' "$tmp/host-this.txt.names"; then
		not_ok "not compared: host-this has no osxsave or hypervisor bit to ignore"
	elif [ ! -s "$tmp/out" ] || grep -Eq "$ignored" "$tmp/out"; then
		not_ok "not compared: an os-state or hypervisor bit reported"
	else
		ok
	fi
}

# -x with several bases hides what any of them has beyond KEEP: the lab's
# B has no fma, avx2, bmi2, so with B alone as base nothing is hidden for
# the pool level of A and B, and with A and B those three are.
several_bases() {
	local a=$raw/qemu-lab-a.txt
	local b=$raw/qemu-lab-b.txt
	"$featcmp" -i "$a" "$b" -j >"$tmp/keep.json"
	expect "-x, base B only" host "$("$featcmp" -x "$b" "$tmp/keep.json")"
	expect "-x, bases A and B" host,fma=0,avx2=0,bmi2=0 \
		"$("$featcmp" -x "$a" "$b" "$tmp/keep.json")"
	expect "-x, bases B and A: the same line" host,fma=0,avx2=0,bmi2=0 \
		"$("$featcmp" -x "$b" "$a" "$tmp/keep.json")"
	expect_usage "usage: -x with one operand" -x "$a"
}

errors() {
	expect_error "no such file" "^featcmp: cannot open 'nonexistent': " "$featcmp" nonexistent "$raw/qemu-lab-a.txt"
	expect_error "a directory" "^featcmp: cannot open '$tmp': Is a directory\$" \
		"$featcmp" "$tmp" "$raw/qemu-lab-a.txt"
	expect_error "bad input" "^featcmp: " "$featcmp" "$top/tests/fixtures/bad/bad-hex.txt" "$raw/qemu-lab-a.txt"
	expect_usage "usage: one operand" "$raw/qemu-lab-a.txt"
	expect_usage "usage: two modes" -d -x "$raw/qemu-lab-a.txt" "$raw/qemu-lab-b.txt"
	expect_usage "unknown option" -Q "$raw/qemu-lab-a.txt" "$raw/qemu-lab-b.txt"
	expect_error "unknown output" "^featcmp: unknown output 'yaml'" "$featcmp" -o yaml "$raw/qemu-lab-a.txt" "$raw/qemu-lab-b.txt"
	expect_error "-e: an item libxl refuses" "^featcmp: cpuid item 'nosuch=0' refused by libxl" "$featcmp" -e host,nosuch=0
	expect_error "-e: no host word" "^featcmp: cpuid value 'avx=0': the first word must be 'host'" "$featcmp" -e avx=0
	expect_error "-e: a broken list" "^featcmp: cpuid value " "$featcmp" -e '[ "0x00000007,0:ebx=x'
	# libxl takes 'avx=0"' for avx=0: the grammar refuses it first.
	expect_error "-e: a quote" "^featcmp: cpuid value 'host,avx=0\"': unexpected '\"' at character 11$" \
		"$featcmp" -e 'host,avx=0"'
	expect_error "-e: a backslash" "^featcmp: cpuid value 'host,avx=0\\\\': unexpected" \
		"$featcmp" -e "host,avx=0\\"
	expect_error "-e: a newline, shown on one line" "^featcmp: cpuid value 'host,avx=0\\\\x0afoo=1'" \
		"$featcmp" -e $'host,avx=0\nfoo=1'
	expect_error "-e: an empty item" "^featcmp: cpuid value 'host,,avx=0': unexpected ','" \
		"$featcmp" -e 'host,,avx=0'
	expect_error "-e: names" "^featcmp: output 'names' is not for -e" "$featcmp" -e -o names host
	expect_usage "usage: -e without a value" -e
	# The intersection reads back as a policy that both inputs contain.
	"$featcmp" -i -j "$raw/qemu-epyc-milan.txt" "$raw/qemu-epyc-rome.txt" >"$tmp/pool.json"
	if "$featcmp" "$tmp/pool.json" "$raw/qemu-epyc-rome.txt" >/dev/null &&
		"$featcmp" "$tmp/pool.json" "$raw/qemu-epyc-milan.txt" >/dev/null; then
		ok
	else
		not_ok "the pool level is not a subset of each member"
	fi
	# A path that is not UTF-8 goes into the JSON with U+FFFD for its bad
	# bytes (jansson takes UTF-8 only), not as "out of memory".
	local rc=0
	cp "$raw/qemu-lab-a.txt" "$tmp/"$'\xff'".txt"
	"$featcmp" -j "$tmp/"$'\xff'".txt" "$raw/qemu-lab-b.txt" >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "a path that is not UTF-8: exit" 1 "$rc"
	expect "a path that is not UTF-8: in the JSON" "$tmp/"$'\xef\xbf\xbd'".txt" \
		"$(jq -r .need.path "$tmp/out" 2>&1)"
	if "$featcmp" >/dev/null 2>&1; then
		not_ok "no arguments: exit 0"
	else
		ok
	fi
	if "$featcmp" "$raw/qemu-lab-a.txt" "$raw/qemu-lab-b.txt" >/dev/full 2>/dev/null; then
		not_ok "a write error on stdout went unnoticed"
	else
		ok
	fi
}

main() {
	build_xlcheck
	goldens
	pairs
	not_compared
	several_bases
	enforce_values
	errors
	summary featcmp
}

main "$@"
