#!/usr/bin/env bash
# run.sh: featplan's tests: golden plans (JSON and text) for the lab's
# two hosts (compatible, incompatible, both levels, a scan, carried items,
# a legacy current line), the current line's items carried or not, the
# live check, hostile cpuid= values, agreement with featcmp (the line is
# featcmp -x's, the missing features featcmp -d's) over pairs of recorded
# policies, and errors.
#
# usage: tests/featplan/run.sh BUILD_DIR
#   UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
featplan=$build/bin/featplan
featcmp=$build/bin/featcmp
raw=$top/tests/fixtures/raw
# shellcheck source=../lib.sh
. "$here/../lib.sh"

# The inputs, under short names in one directory, so that the paths in
# the plans are short: the lab's hosts as recorded, the VM on A (it sees
# A's features but rdtscp, hidden by its line), featmin's answers for a
# workload that needs sse4-2 and popcnt and for one that needs avx2 and
# popcnt, and a stand-in for featscan's answer (see inputs/make.sh).
w=$tmp/w
mkdir -p "$w"
cp "$raw/qemu-lab-a.txt" "$w/lab-a.txt"
cp "$raw/qemu-lab-b.txt" "$w/lab-b.txt"
cp "$here"/inputs/*.json "$w"/
lab=(-v vm-lab-a.json -a lab-a.txt -b lab-b.txt)

# Leaf 1 EAX with family 6 (bits 11:8, no feature's) and leaf 0x80000001
# EDX with rdtscp (bit 27) hidden, as a legacy list.
legacy='[ "0x1:eax=xxxxxxxxxxxxxxxxxxxx0110xxxxxxxx", "0x80000001:edx=xxxx0xxxxxxxxxxxxxxxxxxxxxxxxxxx" ]'

# plan ARGS...: featplan ARGS in the inputs' directory.
plan() {
	(cd "$w" && "$featplan" "$@")
}

# golden NAME RC ARGS...: featplan ARGS exits RC and prints golden/NAME.
golden() {
	local name=$1
	local want_rc=$2
	shift 2
	expect_golden "$name" "$want_rc" "$here/golden/$name" plan "$@"
	# featplan's warnings go in the plan, never on stderr.
	expect "golden $name: nothing on stderr" "" "$(head -c 300 "$tmp/err")"
}

goldens() {
	golden lab.json 0 -j "${lab[@]}" -n needed-lab.json -c host,rdtscp=0
	golden lab 0 "${lab[@]}" -n needed-lab.json -c host,rdtscp=0
	golden lab-avx2.json 1 -o json "${lab[@]}" -n needed-avx2.json -c host,rdtscp=0
	golden lab-avx2 1 "${lab[@]}" -n needed-avx2.json -c host,rdtscp=0
	golden lab-vm 1 "${lab[@]}"
	golden lab-needed 0 "${lab[@]}" -l needed -n needed-lab.json -c host,rdtscp=0
	golden lab-scan.json 0 -j "${lab[@]}" -n needed-lab.json -s scan-lab.json \
		-c host,rdtscp=0,family=6,avx2=1,avx512f=0,bmi1=0
	golden lab-scan 0 "${lab[@]}" -n needed-lab.json -s scan-lab.json \
		-c host,rdtscp=0,family=6,avx2=1,avx512f=0,bmi1=0
	golden lab-legacy.json 0 -j "${lab[@]}" -n needed-lab.json -c "$legacy"
	expect "-o human is the default" "$(plan "${lab[@]}" -n needed-lab.json)" \
		"$(plan -o human "${lab[@]}" -n needed-lab.json)"
}

# field [-r] FILTER ARGS...: jq FILTER of the JSON plan of ARGS, compact
# (or, with -r, raw strings).
field() {
	local -a out=(-c)
	local filter
	local rc=0
	if [ "$1" = -r ]; then
		out=(-r)
		shift
	fi
	filter=$1
	shift
	plan -j "$@" >"$tmp/plan.json" || rc=$?
	[ "$rc" -le 1 ] || return "$rc"
	jq "${out[@]}" "$filter" "$tmp/plan.json"
}

# The VM's current line: what the new line already hides is not written
# twice, what it would drop is carried at its end (a field, a feature it
# does not hide), a setting that would undo it is dropped with a warning,
# and a legacy line's other bits put the whole line in the legacy form.
carried() {
	local bare
	bare=$(field .cpuid.value "${lab[@]}" -n needed-lab.json)
	expect "no current line: nothing carried" '[]' \
		"$(field .cpuid.carried "${lab[@]}" -n needed-lab.json)"
	expect "carried: what the line lacks, at its end" \
		"[$bare,[\"family=6\"]]" \
		"$(field '[(.cpuid.value | sub(",family=6$"; "")), .cpuid.carried]' \
			"${lab[@]}" -n needed-lab.json -c host,rdtscp=0,family=6)"
	expect "carried: rdtscp=0 is written once" 1 \
		"$(field '.cpuid.value | [scan("rdtscp=0")] | length' \
			"${lab[@]}" -n needed-lab.json -c host,rdtscp=0,family=6)"
	expect "carried: items already hidden are not duplicated" "[$bare,[]]" \
		"$(field '[.cpuid.value, .cpuid.carried]' "${lab[@]}" -n needed-lab.json \
			-c host,avx2=0,fma=0,bmi2=0,rdtscp=0)"
	expect "carried: a feature the line keeps visible, hidden as before" \
		'[["bmi1=0"],{"name":"bmi1","why":"from the current line"}]' \
		"$(field '[.cpuid.carried, (.hidden[] | select(.name == "bmi1") | {name, why})]' \
			"${lab[@]}" -n needed-lab.json -c host,bmi1=0)"
	expect "carried: a setting that shows a hidden feature is dropped" \
		"[[],[\"'avx2=1' of the current line is dropped: the line hides 'avx2'\"]]" \
		"$(field '[.cpuid.carried, .warnings]' "${lab[@]}" -n needed-lab.json -c host,avx2=1)"
	expect "carried: a legacy line's family, in the legacy form" \
		'["legacy",["0x00000001:eax=xxxxxxxxxxxxxxxxxxxx0110xxxxxxxx"]]' \
		"$(field '[.cpuid.form, .cpuid.carried]' "${lab[@]}" -n needed-lab.json -c "$legacy")"
	expect "carried: a legacy line of features alone stays in the libxl form" \
		"[\"libxl\",$bare,[]]" \
		"$(field '[.cpuid.form, .cpuid.value, .cpuid.carried]' "${lab[@]}" \
			-n needed-lab.json -c '[ "0x7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx" ]')"
	# The line is libxl's: the hetmig check and the real parser agree.
	expect "carried: the line reads back as it was planned" \
		"$(field '[.hidden[].name] | sort' "${lab[@]}" -n needed-lab.json -c "$legacy")" \
		"$("$featcmp" -e -j "$(field -r .cpuid.value "${lab[@]}" -n needed-lab.json -c "$legacy")" \
			"$w/lab-a.txt" "$w/lab-b.txt" | jq -c '[.hidden[].name] | sort')"
}

# The live check: a VM that sees what B lacks must be restarted with the
# line before a live migration; one that sees the pool level need not.
live() {
	"$featcmp" -i -j "$w/lab-a.txt" "$w/lab-b.txt" >"$w/pool.json"
	expect "live: the VM sees what B lacks" '{"restart_needed":true,"features":["fma","avx2","bmi2"]}' \
		"$(field .live "${lab[@]}" -n needed-lab.json)"
	expect "live: the VM sees the pool level" '{"restart_needed":false,"features":[]}' \
		"$(field .live -v pool.json -a lab-a.txt -b lab-b.txt -n needed-lab.json)"
	expect "live: computed when not compatible too" true \
		"$(field .live.restart_needed "${lab[@]}" -n needed-avx2.json)"
}

# The warnings: CPUs of two makers, a needed set found on another CPU's
# policy, a dump whose CPUs differ.  (A needed feature the line hides is
# in the lab-scan golden.)
warnings() {
	cp "$raw/qemu-haswell-notsx.txt" "$w/intel.txt"
	cp "$raw/hybrid-multi.txt" "$w/hybrid.txt"
	jq '.vendor = "GenuineIntel"' "$w/needed-lab.json" >"$w/needed-intel.json"
	expect "warning: vendors differ" \
		'"vendors differ: the VM'"'"'s policy is AuthenticAMD, host B'"'"'s GenuineIntel"' \
		"$(field '.warnings[0]' -v vm-lab-a.json -a lab-a.txt -b intel.txt -n needed-lab.json)"
	expect "warning: the needed set's vendor" \
		'["the needed set was found on a GenuineIntel CPU, the VM'"'"'s policy is AuthenticAMD"]' \
		"$(field '.warnings' "${lab[@]}" -n needed-intel.json)"
	expect "warning: cpus differ" 1 \
		"$(field '[.warnings[] | select(startswith("hybrid.txt: cpus differ: cpu 2 differs"))] | length' \
			-v vm-lab-a.json -a lab-a.txt -b hybrid.txt -n needed-lab.json)"
	expect "no warning for the lab" '[]' "$(field .warnings "${lab[@]}" -n needed-lab.json)"
}

# Values that must never reach a config: refused with one line, exit 2.
hostile() {
	local v
	# shellcheck disable=SC2016 # $(id) must reach featplan as it is
	local -a values=(
		'host,avx=0"'
		"host,avx=0\\"
		$'host,avx=0\nfamily=6'
		$'host,avx=0\r'
		'host,avx=0;reboot'
		'host,avx=$(id)'
		'host,,avx=0'
		'[ "0x1:eax=xxxxxxxxxxxxxxxxxxxx0110xxxxxxx\" ]'
		$'[ "0x1:eax=xxxxxxxxxxxxxxxxxxxx0110xxxxxxxx",\n"0x7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx" ]'
		'[ "0x1:eax=xxxxxxxxxxxxxxxxxxxx0110xxxxxxxx" ] "x"'
	)
	for v in "${values[@]}"; do
		expect_error "hostile -c $(printf '%q' "$v")" "^featplan: cpuid value '[^']*': unexpected" \
			plan "${lab[@]}" -n needed-lab.json -c "$v"
	done
	expect_error "-c: an item libxl refuses" "^featplan: cpuid item 'nosuch=0' refused by libxl" \
		plan "${lab[@]}" -c host,nosuch=0
	expect_error "-c: no host word" "^featplan: cpuid value 'avx=0': the first word must be 'host'$" \
		plan "${lab[@]}" -c avx=0
	expect_error "-c: a leading space" "^featplan: cpuid value ' host,avx=0': the first word must be 'host'$" \
		plan "${lab[@]}" -c ' host,avx=0'
}

# For pairs of recorded policies (A, B), with the VM seeing A: the plan
# agrees with featcmp.  Its missing features are featcmp -d A B's (with
# their enforcement), and with the pool level as the needed set its line
# is featcmp -x A B KEEP's, at both levels.
agree() {
	local a
	local b
	local -a hosts=(qemu-lab-a qemu-lab-b qemu-epyc-milan qemu-epyc-rome
		libvirt-ice-lake-server qemu-nehalem qemu-skylake-server-notsx-ibrs
		libvirt-hygon-c86-7185-32-core)
	for a in "${hosts[@]}"; do
		for b in "${hosts[@]}"; do
			"$featcmp" -i -j "$raw/$a.txt" "$raw/$b.txt" >"$tmp/keep.json" 2>/dev/null
			expect "agree: missing $a $b" \
				"$("$featcmp" -d -j "$raw/$a.txt" "$raw/$b.txt" |
					jq -c 'map([.name, .enforcement, .class, .with])')" \
				"$(field '.missing | map([.name, .enforcement, .class, .with])' \
					-v "$raw/$a.txt" -a "$raw/$a.txt" -b "$raw/$b.txt")"
			expect "agree: line $a $b" \
				"$("$featcmp" -x "$raw/$a.txt" "$raw/$b.txt" "$tmp/keep.json")" \
				"$(field -r .cpuid.value -v "$raw/$a.txt" -a "$raw/$a.txt" \
					-b "$raw/$b.txt" -n "$tmp/keep.json")"
		done
	done
	# featmin's answers, at the level needed, and what B lacks of them.
	expect "agree: the needed level is featcmp -x A B NEEDED" \
		"$(cd "$w" && "$featcmp" -x lab-a.txt lab-b.txt needed-lab.json)" \
		"$(field -r .cpuid.value "${lab[@]}" -l needed -n needed-lab.json)"
	expect "agree: missing of a needed set, with featcmp -d" \
		"$(cd "$w" && "$featcmp" -d -j needed-avx2.json lab-b.txt | jq -c 'map(del(.needed_by))')" \
		"$(field '.missing | map(del(.needed_by, .from))' "${lab[@]}" -n needed-avx2.json)"
	expect "agree: missing of a needed set, with featcmp" \
		"$(cd "$w" && { "$featcmp" -o names needed-avx2.json lab-b.txt || true; })" \
		"$(field -r '.missing[].name' "${lab[@]}" -n needed-avx2.json)"
}

errors() {
	local usage='^usage: featplan '
	expect_error "usage: no -v" "$usage" plan -a lab-a.txt -b lab-b.txt
	expect_error "usage: no -b" "$usage" plan -v vm-lab-a.json -a lab-a.txt
	expect_error "usage: an operand" "$usage" plan "${lab[@]}" extra
	expect_error "unknown option" "^featplan: unknown option '-Q'$" plan "${lab[@]}" -Q
	expect_error "an option without its value" "^featplan: option '-c' needs a value$" \
		plan "${lab[@]}" -c
	expect_error "unknown level" "^featplan: unknown level 'pool': expected common or needed$" \
		plan "${lab[@]}" -l pool
	expect_error "unknown output" "^featplan: unknown output 'yaml': expected human or json$" \
		plan "${lab[@]}" -o yaml
	expect_error "no such file" "^featplan: cannot open 'nonexistent': " \
		plan -v vm-lab-a.json -a lab-a.txt -b nonexistent
	expect_error "bad policy" "^featplan: .*bad-hex.txt" \
		plan "${lab[@]}" -n "$top/tests/fixtures/bad/bad-hex.txt"
	if plan "${lab[@]}" -n needed-lab.json >/dev/full 2>/dev/null; then
		not_ok "a write error on stdout went unnoticed"
	else
		ok
	fi
}

# -C CFG: the current line read from the config by libxlutil gives the
# plan -c gives with the same value, in both forms; a config without
# cpuid= carries nothing; -C and -c together, or a config libxlutil
# refuses, are one error line.
from_config() {
	local v
	for v in 'host,rdtscp=0,family=6' "$legacy"; do
		printf 'name = "vm"\ncpuid = %s\n' "$( [ "${v:0:1}" = '[' ] && printf '%s' "$v" || printf '"%s"' "$v")" \
			>"$w/vm.cfg"
		plan -j "${lab[@]}" -n needed-lab.json -c "$v" >"$tmp/by-c" 2>&1
		plan -j "${lab[@]}" -n needed-lab.json -C vm.cfg >"$tmp/by-cfg" 2>&1
		expect "-C reads $v as -c does" "$(jq -c .cpuid "$tmp/by-c")" "$(jq -c .cpuid "$tmp/by-cfg")"
	done
	printf 'name = "vm"\n' >"$w/none.cfg"
	plan -j "${lab[@]}" -n needed-lab.json -C none.cfg >"$tmp/by-cfg" 2>&1
	expect "-C, no cpuid=: nothing carried" '[]' "$(jq -c .cpuid.carried "$tmp/by-cfg")"
	expect_error "-C and -c together" "^usage: featplan" plan "${lab[@]}" -c host -C vm.cfg
	printf 'name = "vm\n' >"$w/bad.cfg"
	expect_error "-C, a config libxlutil refuses" "^featplan: 'bad.cfg' does not parse with libxlutil" \
		plan "${lab[@]}" -C bad.cfg
}

main() {
	goldens
	carried
	live
	warnings
	hostile
	agree
	errors
	from_config
	summary featplan
}

main "$@"
