#!/usr/bin/env bash
# run.sh: every test of `make check`, suite by suite, and one summary line.
#
# usage: tests/run.sh BUILD_DIR
#   HETMIG_SKIP_LAB=1 leaves out the nested-Xen lab scenarios (a quicker
#   loop while developing; make check and CI run them).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
passed=0
failed=0
failed_names=()

# suite NAME CMD...: run one suite; its own output goes to the terminal.
suite() {
	local name=$1
	local start
	local rc=0
	shift
	start=$SECONDS
	printf '\n=== %s\n' "$name"
	# No suite may hang the whole run: each gets a generous bound.
	timeout -k 10 "${HETMIG_SUITE_TIMEOUT:-900}" "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf '=== %s: ok (%ds)\n' "$name" $((SECONDS - start))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		printf '=== %s: FAILED, exit %d (%ds)\n' "$name" "$rc" $((SECONDS - start))
	fi
}

units() {
	local t
	local rc=0
	for t in "$build"/tests/test-*; do
		[ -x "$t" ] || continue
		"$t" || rc=1
	done
	return "$rc"
}

man_lint() {
	local rc=0
	local m
	for m in "$top"/man/*.[178]; do
		[ -e "$m" ] || continue
		# -Wwarning: style notes pass, warnings and errors fail.
		mandoc -Tlint -Wwarning "$m" || rc=1
	done
	return "$rc"
}

shell_lint() {
	local -a files
	mapfile -t files < <(cd "$top" && git ls-files -- '*.sh' '*.bash' \
		'scripts/workloads/*' '.ci/run' 2>/dev/null |
		while read -r f; do
			head -n 1 "$f" | grep -q 'bash' && printf '%s\n' "$f"
		done)
	[ "${#files[@]}" -gt 0 ] || return 0
	(cd "$top" && shellcheck -x "${files[@]}")
}

main() {
	local t
	export -f units man_lint shell_lint
	export build top
	suite "unit tests" bash -c units
	for t in "$here"/*/run.sh; do
		case $t in */lab/* | */fuzz/* | */bench/* | */deb/*) continue ;; esac
		suite "$(basename "$(dirname "$t")")" "$t" "$build"
	done
	for t in "$here"/*/; do
		compgen -G "$t*.bats" >/dev/null || continue
		suite "bats $(basename "$t")" bats "$t"
	done
	suite "man pages (mandoc -Tlint)" bash -c man_lint
	suite "shellcheck" bash -c shell_lint
	suite "fuzz" "$here/fuzz/run.sh" "$build"
	if [ -z "${HETMIG_SKIP_LAB:-}" ] && [ -x "$here/lab/lab.sh" ]; then
		export HETMIG_BUILD=$build
		suite "lab: policy" "$here/lab/lab.sh" run policy
		suite "lab: mask" "$here/lab/lab.sh" run mask
	fi
	printf '\n'
	[ "$failed" -eq 0 ] || printf 'failed suites: %s\n' "${failed_names[*]}"
	printf 'suites: %d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

main "$@"
