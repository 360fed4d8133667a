# shellcheck shell=bash
# lib.sh: what every tests/*/run.sh shares: a temporary directory, a
# counting pass/fail, and the common assertions.  Source it after setting
# nothing; it sets tmp (removed on exit), passed and failed.
#
#   ok / not_ok MESSAGE           count a pass / a failure (said on stderr)
#   expect NAME WANT GOT          string equality
#   expect_rc NAME WANT CMD...    CMD's exit status (output in $tmp/out, $tmp/err)
#   expect_grep NAME REGEX FILE   FILE has a line matching REGEX
#   expect_error NAME REGEX CMD...
#                                 CMD exits 2 with exactly one stderr line
#                                 matching REGEX and nothing on stdout
#   summary NAME                  "NAME: N passed, M failed"; status 0 or 1
#   expect_golden NAME WANT GOLDEN CMD...
#                                 CMD exits WANT and prints the file GOLDEN
#                                 exactly (UPDATE_GOLDEN=1 rewrites it)
#   setup_fake                    a fresh state for the xl test double of
#                                 tests/featmin/fake-bin, and $tmp/t1.cfg

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }

not_ok() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*" >&2
}

expect() {
	if [ "$2" = "$3" ]; then
		ok
	else
		not_ok "$1: want '$2', got '$3'"
	fi
}

expect_rc() {
	local name=$1
	local want=$2
	local rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok
	else
		not_ok "$name: exit $rc, want $want; stderr: $(tail -n 3 "$tmp/err")"
	fi
}

expect_grep() {
	if grep -Eq -- "$2" "$3"; then
		ok
	else
		not_ok "$1: no '$2' in: $(head -c 600 "$3")"
	fi
}

expect_error() {
	local name=$1
	local pattern=$2
	local rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 2 ]; then
		not_ok "$name: exit $rc, want 2; stderr: $(head -c 300 "$tmp/err")"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		not_ok "$name: want one error line, got: $(head -c 400 "$tmp/err")"
	elif ! grep -Eq -- "$pattern" "$tmp/err"; then
		not_ok "$name: error '$(cat "$tmp/err")' does not match '$pattern'"
	elif [ -s "$tmp/out" ]; then
		not_ok "$name: printed data on an error"
	else
		ok
	fi
}

summary() {
	printf '%s: %d passed, %d failed\n' "$1" "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

setup_fake() {
	mkdir -p "$tmp/xlstate" "$tmp/console"
	rm -f "$tmp/xlstate"/* "$tmp/console"/*
	export FAKE_XL_DIR=$tmp/xlstate HETMIG_CONSOLE_DIR=$tmp/console
	printf 'name = "t1"\ntype = "pvh"\nkernel = "/boot/vmlinuz"\n' >"$tmp/t1.cfg"
}

expect_golden() {
	local name=$1
	local want=$2
	local golden=$3
	local rc=0
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ -z "${UPDATE_GOLDEN:-}" ] || cp "$tmp/out" "$golden"
	if [ "$rc" -ne "$want" ]; then
		not_ok "golden $name: exit $rc, want $want: $(head -c 300 "$tmp/err")"
	elif ! diff -u "$golden" "$tmp/out" >&2; then
		not_ok "golden $name: output differs"
	else
		ok
	fi
}
