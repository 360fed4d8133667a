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

# On a machine without Xen (this one: xl answers every question with exit
# 1, as it answers "no such domain"), migrate-prep stops before it reads
# or writes anything, dry run or not, and does not take the VM for gone.
test_no_xen() {
	local rc=0
	command -v xl >/dev/null 2>&1 || { not_ok "no xl: install xen-utils-4.17"; return; }
	mp -n -c "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "no Xen, dry run: exit" 2 "$rc"
	expect_grep "no Xen: named" "^migrate-prep: xl cannot reach Xen \('xl info' fails\): run this in a Xen dom0$" "$tmp/err"
	expect_grep "no Xen: the report says where the VM is not" 'verdict: error' "$tmp/err"
	untouched "no Xen, dry run"
	rc=0
	mp -c "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "no Xen: exit" 2 "$rc"
	if [ -e "$tmp/state/vm/lock" ]; then not_ok "no Xen: the lock was left behind"; else ok; fi
	expect "no Xen: config untouched" 0 "$(cmp -s "$tmp/vm.cfg" "$tmp/vm.cfg.copy"; echo $?)"
}

# Names that reach xl, ssh, a shell on B or a path under the state
# directory are refused before anything runs: one line, exit 2, nothing
# written, and nothing they carry is executed ($tmp/pwned stays absent).
test_hostile_names() {
	local c=$tmp/vm.cfg
	local p=$tmp/pwned
	local bad
	local good
	rm -rf "$tmp/state/vm"
	# shellcheck disable=SC2016 # the backquotes are the hostile part
	for bad in "\$(touch $p)" "h;touch $p" '-oProxyCommand=touch x' \
		'../../etc' 'a b' 'h`id`' 'root@-h' 'Root@h' $'h\nx' ''; do
		expect_error "host '$bad'" "^migrate-prep: bad host " \
			mp -c "$c" --dest-policy "$fixture" -- vm "$bad"
	done
	for bad in '-x' '.hidden' '../vm' 'v"m' $'v\nm'; do
		expect_error "VM '$bad'" "^migrate-prep: bad VM name " \
			mp -c "$c" --dest-policy "$fixture" -- "$bad" hostb
	done
	expect_error "trial ssh option" "^migrate-prep: bad --trial-ssh target '-oProxyCommand=touch $p'" \
		mp -c "$c" --analyse --trial-ssh "-oProxyCommand=touch $p" vm hostb
	expect_error "workload dir" "^migrate-prep: bad --workload-dir 'x;id'" \
		mp -c "$c" --workload-dir 'x;id' vm hostb
	expect_error "workload dir, relative" "^migrate-prep: bad --workload-dir '../w'" \
		mp -c "$c" --workload-dir '../w' vm hostb
	cp "$c" "$tmp/a=b.cfg"
	expect_error "config path with '='" "^migrate-prep: bad config path " \
		mp -c "$tmp/a=b.cfg" vm hostb
	expect_error "timeout, arithmetic" "^migrate-prep: bad --shutdown-timeout 'a\\[" \
		mp -c "$c" --shutdown-timeout "a[\$(touch $p)]" vm hostb
	if [ -e "$p" ] || [ -e x ]; then not_ok "a hostile name ran a command"; else ok; fi
	untouched "hostile names"
	for good in hostb hostb.example.org root@hostb 192.0.2.7 2001:db8::7 root@2001:db8::7; do
		expect_rc "host '$good' passes validation" 2 \
			mp -n -c "$c" --dest-policy "$fixture" -- vm "$good"
		expect_grep "host '$good': stops only at Xen" "xl cannot reach Xen" "$tmp/err"
	done
}

# The JSON report is JSON whatever the values hold: built by jq.
test_json_report() {
	local o=$tmp/out\"dir\\x/b.cfg
	local rc=0
	mp --json -c "$tmp/vm.cfg" -o "$o" --dest-policy "$fixture" vm hostb \
		>"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "json: exit" 2 "$rc"
	tail -n 1 "$tmp/err" >"$tmp/report.json"
	if jq -e . "$tmp/report.json" >/dev/null 2>&1; then ok; else
		not_ok "json: the report does not parse: $(cat "$tmp/report.json")"
	fi
	expect "json: the path comes back whole" "$o" "$(jq -r .config "$tmp/report.json" 2>/dev/null)"
	expect "json: verdict" "error (exit 2): see the message above" \
		"$(jq -r .verdict "$tmp/report.json" 2>/dev/null)"
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
		"^migrate-prep: a trial would boot '.*' again, on the disks 'vm' uses: give --trial-config" "$tmp/err"
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

# A move is rehearsed on B first, or the user says not to: --apply with no
# twin to boot is refused before anything is read or written.
test_rehearsal_refusals() {
	local c=$tmp/disk.cfg
	rm -rf "$tmp/state/vm"
	expect_error "apply, no twin" \
		"^migrate-prep: --apply moves 'vm' only after a rehearsal on 'hostb': give its twin \(--trial-config, or --rehearse when its config names no disks\), or --no-rehearse" \
		mp -c "$tmp/vm.cfg" --apply cold --dest-policy "$fixture" vm hostb
	untouched "apply, no twin"
	expect_rc "apply, --no-rehearse: goes on (to Xen)" 2 \
		mp -c "$tmp/vm.cfg" --apply cold --no-rehearse --dest-policy "$fixture" vm hostb
	expect_grep "apply, --no-rehearse: stops only at Xen" "xl cannot reach Xen" "$tmp/err"
	expect_rc "apply, --trial-config: goes on (to Xen)" 2 \
		mp -c "$tmp/vm.cfg" --apply live --trial-config "$tmp/vm.cfg" --dest-policy "$fixture" vm hostb
	expect_grep "apply, --trial-config: stops only at Xen" "xl cannot reach Xen" "$tmp/err"
	cp "$tmp/vm.cfg" "$c"
	printf 'disk = [ "file:%s/vm.img,xvda,w" ]\n' "$tmp" >>"$c"
	expect_error "rehearse, disks, no twin" \
		"^migrate-prep: a trial would boot '$c' again, on the disks 'vm' uses: give --trial-config" \
		mp -c "$c" --rehearse --dest-policy "$fixture" vm hostb
	expect_rc "dry run: no rehearsal, no refusal" 2 \
		mp -n -c "$tmp/vm.cfg" --apply cold --dest-policy "$fixture" vm hostb
	expect_grep "dry run: stops only at Xen" "xl cannot reach Xen" "$tmp/err"
	rm -rf "$tmp/state/vm"
}

main() {
	setup
	test_usage
	test_bad_input
	test_no_xen
	test_hostile_names
	test_json_report
	test_rehearsal_refusals
	test_lock
	test_analyse_refusals
	summary migrate-prep
}

main "$@"
