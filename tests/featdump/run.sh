#!/usr/bin/env bash
# run.sh: featdump's tests: golden outputs, the cross-check against an
# independent decoder (the Debian cpuid tool), round trips, bad input and
# the no-Xen path.
#
# usage: tests/featdump/run.sh BUILD_DIR
#   UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
featdump=$build/bin/featdump
fixtures=$top/tests/fixtures
# shellcheck source=../lib.sh
. "$here/../lib.sh"

raw_fixtures() {
	local f
	for f in "$fixtures"/raw/*.txt; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done
}

test_golden() {
	local f
	local base
	local fmt
	local golden
	while read -r f; do
		base=$(basename "$f" .txt)
		for fmt in names table; do
			golden=$here/golden/$base.$fmt
			"$featdump" -f "$f" -o "$fmt" >"$tmp/got" 2>/dev/null ||
				{ not_ok "golden $base.$fmt: featdump failed"; continue; }
			if [ -n "${UPDATE_GOLDEN:-}" ]; then
				mkdir -p "$here/golden"
				cp "$tmp/got" "$golden"
			fi
			if [ ! -e "$golden" ]; then
				not_ok "golden $base.$fmt: no golden file (UPDATE_GOLDEN=1)"
			elif diff -u "$golden" "$tmp/got" >&2; then
				ok
			else
				not_ok "golden $base.$fmt differs"
			fi
		done
	done < <(raw_fixtures)
}

# decode_cpuid FILE: "section<TAB>description<TAB>true|false" for the first
# CPU of FILE as the cpuid tool decodes it.
decode_cpuid() {
	cpuid -f "$1" 2>/dev/null | awk '
		/^CPU [1-9]/ { done = 1 }
		done { next }
		/^   [^ ].*\([^)]*\)/ {
			match($0, /\([^)]*\)/)
			sec = substr($0, RSTART + 1, RLENGTH - 2)
			next
		}
		/= (true|false)$/ {
			d = $0; sub(/^ +/, "", d)
			v = d; sub(/.*= /, "", v)
			sub(/ += (true|false)$/, "", d)
			k = sec "\t" d
			if (!(k in seen)) { seen[k] = 1; print k "\t" v }
		}'
}

# compare_decoders DECODED NAMES: join cpuid's verdicts (DECODED) with
# featdump's names through cpuid-names.txt; print "agree N" and one
# "differ NAME featdump=X cpuid=Y" line per disagreement.
compare_decoders() {
	awk -F'\t' '
		FILENAME == ARGV[1] { dec[$1 "\t" $2] = $3; next }
		FILENAME == ARGV[2] { have[$0] = 1; next }
		/^#/ { next }
		{
			k = $1 "\t" $2
			if (!(k in dec)) next
			got = ($3 in have) ? "true" : "false"
			if (got == dec[k]) agree++
			else printf "differ %s featdump=%s cpuid=%s\n", $3, got, dec[k]
		}
		END { printf "agree %d\n", agree }' "$1" "$2" "$here/cpuid-names.txt"
}

test_cross_check() {
	local f
	local base
	local agreed_total=0
	local nfix=0
	local agreed
	while read -r f; do
		base=$(basename "$f" .txt)
		decode_cpuid "$f" >"$tmp/cpuid.dec"
		"$featdump" -f "$f" -o names >"$tmp/names" 2>/dev/null ||
			{ not_ok "cross-check $base: featdump failed"; continue; }
		compare_decoders "$tmp/cpuid.dec" "$tmp/names" >"$tmp/cmp"
		if grep '^differ' "$tmp/cmp" >&2; then
			not_ok "cross-check $base: the decoders disagree"
		fi
		agreed=$(awk '$1 == "agree" { print $2 }' "$tmp/cmp")
		# A decoder that names nothing would agree vacuously.
		if [ "$agreed" -lt 30 ]; then
			not_ok "cross-check $base: only $agreed features compared"
		else
			ok
		fi
		agreed_total=$((agreed_total + agreed))
		nfix=$((nfix + 1))
	done < <(raw_fixtures)
	printf 'cross-check: %d fixtures, %d feature verdicts agreed with cpuid -f\n' \
		"$nfix" "$agreed_total"
}

# A path that is not UTF-8: the JSON names it with U+FFFD for its bad
# bytes (jansson takes UTF-8 only), rather than leave the name out.
test_non_utf8_path() {
	cp "$fixtures/raw/qemu-lab-a.txt" "$tmp/"$'\xff'".txt"
	expect_rc "a path that is not UTF-8" 0 "$featdump" -f "$tmp/"$'\xff'".txt" -o json
	expect "a path that is not UTF-8: source.name" "$tmp/"$'\xef\xbf\xbd'".txt" \
		"$(jq -r .source.name "$tmp/out" 2>&1)"
}

test_round_trips() {
	local f
	local base
	while read -r f; do
		base=$(basename "$f" .txt)
		# raw -> json -> raw is identical.
		if "$featdump" -f "$f" -o json 2>/dev/null |
			"$featdump" -f - -o raw >"$tmp/rt" 2>/dev/null &&
			"$featdump" -f "$f" -o raw >"$tmp/raw" 2>/dev/null &&
			cmp -s "$tmp/rt" "$tmp/raw"; then
			ok
		else
			not_ok "round trip raw->json->raw: $base"
		fi
		# raw output is itself a raw dump that reads back the same.
		if "$featdump" -f "$tmp/raw" -o raw 2>/dev/null | cmp -s - "$tmp/raw"; then
			ok
		else
			not_ok "round trip raw->raw: $base"
		fi
		# featureset -> names -> featureset is identical.
		"$featdump" -f "$f" -o featureset >"$tmp/fs"
		"$featdump" -f "$tmp/fs" -o names |
			jq -R . | jq -s '{format: "hetmig-policy/1", features: .}' >"$tmp/n.json"
		if "$featdump" -f "$tmp/n.json" -o featureset | cmp -s - "$tmp/fs"; then
			ok
		else
			not_ok "round trip featureset->names->featureset: $base"
		fi
		# XAPI's dash-hex form reads like the colon form.
		tr ':' '-' <"$tmp/fs" >"$tmp/fs-dash"
		if "$featdump" -f "$tmp/fs-dash" -o featureset | cmp -s - "$tmp/fs"; then
			ok
		else
			not_ok "dash-hex featureset: $base"
		fi
	done < <(raw_fixtures)
}

# xen-cpuid -p output: a recorded sample, made from a fixture in the layout
# Xen 4.17's xen-cpuid prints, must give the fixture's features.
test_xen_cpuid_format() {
	local f=$fixtures/raw/qemu-lab-a.txt
	{
		printf 'Xen reports there are maximum 120 leaves and 2 MSRs\n'
		printf 'Raw policy: 2 leaves, 1 MSRs\n CPUID:\n'
		printf '  %-8s %-8s -> %-8s %-8s %-8s %-8s\n' leaf subleaf eax ebx ecx edx
		"$featdump" -f "$f" -o raw | awk 'NR > 1 {
			gsub(/[a-z]+=0x|0x/, "")
			sub(/:$/, "", $2)
			sl = ($1 == "00000007" || $1 == "0000000d") ? sprintf("%08x", $2) : "ffffffff"
			printf "  %s:%s -> %s:%s:%s:%s\n", $1, sl, $3, $4, $5, $6 }'
		printf ' MSRs:\n  %-8s -> %s\n  0000010a -> 0000000000000000\n' index value
	} >"$tmp/xc.txt"
	if "$featdump" -f "$tmp/xc.txt" | cmp -s - <("$featdump" -f "$f"); then
		ok
	else
		not_ok "xen-cpuid -p format: features differ from the raw fixture"
	fi
}

test_bad_input() {
	local f
	: >"$tmp/empty"
	expect_error "empty file" "empty input" "$featdump" -f "$tmp/empty"
	printf 'CPU:\n   0x00000000 0x00: eax=0x0000000d ebx=0x6874\n' >"$tmp/trunc"
	expect_error "truncated line" ":2: expected" "$featdump" -f "$tmp/trunc"
	printf 'CPU:\n   0x00000000 0x00: eax=0x0000zz0d ebx=0 ecx=0 edx=0\n' >"$tmp/badhex"
	expect_error "bad hex" ":2: expected" "$featdump" -f "$tmp/badhex"
	printf 'CPU:\n   0x00000000: eax=0x0000000d ebx=0x0 ecx=0x0 edx=0x0\n' >"$tmp/nosub"
	expect_error "leaf without subleaf" ":2: expected" "$featdump" -f "$tmp/nosub"
	printf 'CPU:\n' >"$tmp/header"
	expect_error "header only" "no leaves" "$featdump" -f "$tmp/header"
	printf 'hello world\n' >"$tmp/unknown"
	expect_error "unknown format" "unknown format" "$featdump" -f "$tmp/unknown"
	head -c 4096 /dev/urandom >"$tmp/garbage"
	expect_error "binary garbage" "unknown format|expected" "$featdump" -f "$tmp/garbage"
	printf '{"format":"hetmig-policy/1","features":["avx9"]}' >"$tmp/badfeat.json"
	expect_error "unknown feature in json" "unknown feature 'avx9'" \
		"$featdump" -f "$tmp/badfeat.json"
	printf '{"format":"hetmig-policy/1","leaves":[[1,2,3]]}' >"$tmp/badleaf.json"
	expect_error "short leaf in json" "expected \\[leaf" "$featdump" -f "$tmp/badleaf.json"
	printf '{"format":' >"$tmp/cut.json"
	expect_error "cut json" "bad json" "$featdump" -f "$tmp/cut.json"
	expect_error "missing file" "cannot open '$tmp/nonexistent'" \
		"$featdump" -f "$tmp/nonexistent"
	# A read error names its cause, not EIO.
	expect_error "a directory" "^featdump: cannot open '$tmp': Is a directory\$" \
		"$featdump" -f "$tmp"
	expect_error "a directory on stdin" "^featdump: cannot open '-': Is a directory\$" \
		"$featdump" -f - <"$tmp"
	# A newline in the subject is escaped: an error is one line.
	printf 'hello world\n' >"$tmp/two"$'\n'"lines"
	expect_error "a newline in the file name" "^featdump: $tmp/two\\\\nlines: unknown format" \
		"$featdump" -f "$tmp/two"$'\n'"lines"
	expect_error "cpu out of range" "no cpu 5" \
		"$featdump" -c 5 -f "$fixtures/raw/qemu-lab-a.txt"
	# 100 MB of noise: refused up front, memory stays bounded.
	head -c 100000000 /dev/zero | tr '\0' 'x' >"$tmp/noise"
	expect_error "100 MB of noise" "larger than" "$featdump" -f "$tmp/noise"
	rm -f "$tmp/noise"
	# Noise under the size limit: long lines are refused at once.
	awk 'BEGIN { for (i = 0; i < 400000; i++)
		print "CPU: 0x00000000 0x00: garbage garbage garbage" }' >"$tmp/noise2"
	expect_error "20 MB of bad lines" "expected" "$featdump" -f "$tmp/noise2"
	rm -f "$tmp/noise2"
	for f in "$fixtures"/bad/*; do
		case $f in *README* | *'*') continue ;; esac
		expect_error "fixture bad/$(basename "$f")" "." "$featdump" -f "$f"
	done
}

# 10,000 CPUs: a correct result for the last one, within bounded memory.
test_many_cpus() {
	awk 'NR == FNR { if (FNR > 1) body = body $0 "\n"; next }
		END { for (i = 0; i < 10000; i++) printf "CPU %d:\n%s", i, body }' \
		"$fixtures/raw/qemu-lab-a.txt" /dev/null >"$tmp/many"
	if "$featdump" -c 9999 -f "$tmp/many" | cmp -s - <("$featdump" -f "$fixtures/raw/qemu-lab-a.txt"); then
		ok
	else
		not_ok "10,000-cpu dump: cpu 9999 differs from the fixture"
	fi
	rm -f "$tmp/many"
}

test_hybrid() {
	local f=$fixtures/raw/hybrid-multi.txt
	[ -e "$f" ] || f=$tmp/hybrid
	if [ "$f" = "$tmp/hybrid" ]; then
		# Two CPUs of the lab-a fixture, the second without avx2.
		{ echo 'CPU 0:'; tail -n +2 "$fixtures/raw/qemu-lab-a.txt"
		  echo 'CPU 1:'; tail -n +2 "$fixtures/raw/qemu-lab-b.txt"; } >"$f"
	fi
	"$featdump" -f "$f" >/dev/null 2>"$tmp/err" || true
	if grep -q 'cpus differ: cpu [0-9]* differs from cpu 0 in leaf 0x' "$tmp/err"; then
		ok
	else
		not_ok "hybrid dump: no warning naming the differing leaves: $(cat "$tmp/err")"
	fi
}

test_no_xen() {
	[ -e /dev/xen/privcmd ] && return 0
	expect_error "-d without xen" "cannot open '/dev/xen/privcmd': not a Xen dom0" \
		"$featdump" -d guest
	expect_error "-s without xen" "cannot open '/dev/xen/privcmd': not a Xen dom0" \
		"$featdump" -s host
	expect_error "-s unknown" "unknown system policy 'bogus'" "$featdump" -s bogus
}

test_usage() {
	local rc=0
	"$featdump" >/dev/null 2>&1 || rc=$?
	if [ "$rc" -eq 2 ]; then ok; else not_ok "no arguments: exit $rc, want 2"; fi
	rc=0
	"$featdump" -l -f x >/dev/null 2>&1 || rc=$?
	if [ "$rc" -eq 2 ]; then ok; else not_ok "two sources: exit $rc, want 2"; fi
	expect_error "bad output" "unknown output 'xml'" "$featdump" -o xml -l
	expect_error "bad cpu" "bad cpu number 'x'" "$featdump" -c x -l
}

test_local() {
	# -l reads this CPU: its features agree with cpuid's own raw dump here.
	cpuid -1r >"$tmp/here" 2>/dev/null || return 0
	if "$featdump" -l | cmp -s - <("$featdump" -f "$tmp/here"); then
		ok
	else
		not_ok "-l disagrees with 'cpuid -1r' on this machine"
	fi
}

main() {
	test_golden
	test_cross_check
	test_round_trips
	test_non_utf8_path
	test_xen_cpuid_format
	test_bad_input
	test_many_cpus
	test_hybrid
	test_no_xen
	test_usage
	test_local
	summary featdump
}

main "$@"
