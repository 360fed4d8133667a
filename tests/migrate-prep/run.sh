#!/usr/bin/env bash
# run.sh: migrate-prep's tests that need no Xen: usage and bad input (one
# error line, exit 2, nothing written), and what a dom0 without the domain
# gets (the real xl answers that it is not running).  The whole flow,
# cold and live, is proven on nested Xen by the lab scenarios prep-cold,
# prep-live and prep-fail.
#
# usage: tests/migrate-prep/run.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

prep=$top/migrate-prep.sh
fixture=$top/tests/fixtures/raw/qemu-lab-b.txt

# mp ARGS...: migrate-prep with its state under $tmp/state and the test's
# binaries first on PATH.
mp() {
	HETMIG_STATE_DIR=$tmp/state PATH=$build/bin:$PATH "$prep" "$@"
}

# untouched: the config is as it was and no state was written.
untouched() {
	if ! cmp -s "$tmp/vm.cfg" "$tmp/vm.cfg.copy"; then
		not_ok "$1: the config changed"
	elif [ -n "$(find "$tmp/state" -mindepth 1 2>/dev/null)" ]; then
		not_ok "$1: state written: $(find "$tmp/state" -mindepth 1 | head -n 3)"
	else
		ok
	fi
}

setup() {
	cat >"$tmp/vm.cfg" <<'CFG'
# a PVH guest
name = "vm"
type = "pvh"
kernel = "/boot/vmlinuz"
memory = 512
cpuid = "host,rdtscp=0"
CFG
	cp "$tmp/vm.cfg" "$tmp/vm.cfg.copy"
	mkdir -p "$tmp/state"
}

test_usage() {
	local rc=0
	mp >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "no arguments: exit" 2 "$rc"
	expect_grep "no arguments: usage" '^usage: migrate-prep' "$tmp/err"
	rc=0
	mp --help >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "--help: exit" 0 "$rc"
	expect_grep "--help: the options" '--apply cold\|live' "$tmp/err"
	expect_grep "--help: the workload check" '--check-marker' "$tmp/err"
	rc=0
	mp --frobnicate vm hostb >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "unknown option: exit" 2 "$rc"
	expect_grep "unknown option: named" "unknown option --frobnicate" "$tmp/err"
	rc=0
	mp onlyone >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "one operand: exit" 2 "$rc"
}

test_bad_input() {
	local c=$tmp/vm.cfg
	expect_error "bad level" "^migrate-prep: unknown level 'max': expected common or needed$" \
		mp -c "$c" --level max vm hostb
	expect_error "bad apply" "^migrate-prep: unknown --apply 'warm'" \
		mp -c "$c" --apply warm vm hostb
	expect_error "bad shutdown timeout" "^migrate-prep: bad --shutdown-timeout '1m'" \
		mp -c "$c" --shutdown-timeout 1m vm hostb
	expect_error "bad check timeout" "^migrate-prep: bad --check-timeout 'x'" \
		mp -c "$c" --check-timeout x vm hostb
	expect_error "bad marker" "^migrate-prep: bad --check-marker '\(': not an extended regex" \
		mp -c "$c" --check-marker '(' vm hostb
	expect_error "bad VM name" "^migrate-prep: bad VM name 'a;b'" \
		mp -c "$c" 'a;b' hostb
	expect_error "missing config" "^migrate-prep: cannot read config '$tmp/none.cfg'" \
		mp -c "$tmp/none.cfg" vm hostb
	expect_error "missing dest policy" "^migrate-prep: cannot read '$tmp/none.json'" \
		mp -c "$c" --dest-policy "$tmp/none.json" vm hostb
	untouched "bad input"
}

# On a machine where the domain is not running (this one: not a dom0),
# migrate-prep stops before it reads or writes anything, dry run or not.
test_no_domain() {
	local rc=0
	command -v xl >/dev/null 2>&1 || { not_ok "no xl: install xen-utils-4.17"; return; }
	mp -n -c "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "no domain, dry run: exit" 2 "$rc"
	expect_grep "no domain: named" "^migrate-prep: domain 'vm' is not running on this host$" "$tmp/err"
	expect_grep "no domain: the report says where the VM is not" 'verdict: error' "$tmp/err"
	untouched "no domain, dry run"
	rc=0
	mp -c "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "no domain: exit" 2 "$rc"
	if [ -e "$tmp/state/vm/lock" ]; then not_ok "no domain: the lock was left behind"; else ok; fi
	expect "no domain: config untouched" 0 "$(cmp -s "$tmp/vm.cfg" "$tmp/vm.cfg.copy"; echo $?)"
}

# A second run for the same VM while one holds the lock is refused.
test_lock() {
	mkdir -p "$tmp/state/vm"
	echo 1 >"$tmp/state/vm/lock"
	expect_error "locked" "^migrate-prep: another migrate-prep runs for 'vm'" \
		mp -c "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb
	expect "locked: the other run's lock stays" 1 "$(cat "$tmp/state/vm/lock")"
	rm -rf "$tmp/state/vm"
}

# --analyse never boots a second copy of a VM on the disks it runs on.
test_analyse_refusals() {
	local c=$tmp/disk.cfg
	cp "$tmp/vm.cfg" "$c"
	printf 'disk = [ "file:%s/vm.img,xvda,w" ]\n' "$tmp" >>"$c"
	cp "$c" "$c.copy"
	expect_rc "analyse, disks, no twin: exit" 2 \
		mp -c "$c" --analyse --dest-policy "$fixture" vm hostb
	expect_grep "analyse, disks, no twin: says why" \
		"^migrate-prep: --analyse would boot '.*' again, on the disks 'vm' uses: give --trial-config" "$tmp/err"
	expect "analyse, disks: config untouched" 0 "$(cmp -s "$c" "$c.copy"; echo $?)"
	if [ -e "$tmp/state/vm/lock" ]; then not_ok "analyse refused: the lock was left behind"; else ok; fi
	expect_rc "analyse, dry run: exit" 2 \
		mp -n -c "$tmp/vm.cfg" --analyse --dest-policy "$fixture" vm hostb
	expect_grep "analyse, dry run: says why" "^migrate-prep: --analyse reboots the VM: not with --dry-run" "$tmp/err"
	expect_error "missing trial config" "^migrate-prep: cannot read trial config '$tmp/none.cfg'" \
		mp -c "$c" --analyse --trial-config "$tmp/none.cfg" vm hostb
	expect_error "bad workload" "^migrate-prep: bad workload name '../x'" \
		mp -c "$c" --analyse --workload ../x vm hostb
}

main() {
	setup
	test_usage
	test_bad_input
	test_no_domain
	test_lock
	test_analyse_refusals
	summary migrate-prep
}

main "$@"
