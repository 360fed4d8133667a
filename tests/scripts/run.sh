#!/usr/bin/env bash
# run.sh: vm.sh's and trial.sh's checks at the edge, against the xl and
# ssh test doubles of tests/featmin/fake-bin (their exit codes only; no
# Xen is imitated): every domain name, ssh target, cpuid value, number
# and config path is refused before use with one line, nothing it
# carries runs, and no domain is created.  And, with the real xl on a
# machine without Xen, that vm.sh says so instead of taking every domain
# for gone.
#
# usage: tests/scripts/run.sh BUILD_DIR
# shellcheck disable=SC2016 # hostile values carry $(...) on purpose
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

fake=$top/tests/featmin/fake-bin
vmsh=$top/scripts/vm.sh
trialsh=$top/scripts/trial.sh
pwned=$tmp/pwned

# fx CMD...: CMD with the test doubles first on PATH.
fx() {
	env PATH="$fake:$PATH" "$@"
}

# nothing_ran NAME: no domain was created and no hostile text ran.
nothing_ran() {
	if grep -q '^create' "$tmp/xlstate/calls" 2>/dev/null; then
		not_ok "$1: xl create was called: $(grep '^create' "$tmp/xlstate/calls")"
		rm -f "$tmp/xlstate"/*
	elif [ -e "$pwned" ]; then
		not_ok "$1: a command it carried ran"
		rm -f "$pwned"
	else
		ok
	fi
}

test_vm_sh_refusals() {
	local bad
	setup_fake
	for bad in $'t1"\nbootloader="/bin/sh' 't1$(touch '"$pwned"')' '-t1' '../t1' ''; do
		expect_error "vm.sh -n $(printf %q "$bad")" "^vm.sh: bad domain name " \
			fx "$vmsh" start -n "$bad" "$tmp/t1.cfg"
		nothing_ran "vm.sh -n $(printf %q "$bad")"
	done
	for bad in $'host,avx=0"\nbootloader="/bin/sh' 'host,avx=0"x' 'host,avx=0$(id)' \
		'avx=0' 'host,avx' '[ "1:ecx=x" ]' $'[ "1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0" ]\nx=1'; do
		expect_error "vm.sh -c $(printf %q "$bad")" "^vm.sh: bad cpuid value " \
			fx "$vmsh" start -c "$bad" "$tmp/t1.cfg"
		nothing_ran "vm.sh -c $(printf %q "$bad")"
	done
	printf 'name = "t1$(touch %s)"\n' "$pwned" >"$tmp/evil.cfg"
	expect_error "vm.sh: a config's hostile name" "^vm.sh: bad domain name in '$tmp/evil.cfg' " \
		fx "$vmsh" start "$tmp/evil.cfg"
	nothing_ran "vm.sh: a config's hostile name"
	cp "$tmp/t1.cfg" "$tmp/a=b.cfg"
	expect_error "vm.sh: config path with '='" "^vm.sh: bad config path " \
		fx "$vmsh" start "$tmp/a=b.cfg"
	nothing_ran "vm.sh: config path with '='"
	for bad in "a[\$(touch $pwned)]" '1+1' '-1' ''; do
		expect_error "vm.sh start -w '$bad'" "^vm.sh: bad -w seconds " \
			fx "$vmsh" start -m X -w "$bad" "$tmp/t1.cfg"
		nothing_ran "vm.sh start -w '$bad'"
		expect_error "vm.sh wait -o '$bad'" "^vm.sh: bad -o offset " \
			fx "$vmsh" wait t1 -m X -o "$bad"
		nothing_ran "vm.sh wait -o '$bad'"
		expect_error "vm.sh stop -w '$bad'" "^vm.sh: bad -w seconds " \
			fx "$vmsh" stop t1 -w "$bad"
		nothing_ran "vm.sh stop -w '$bad'"
	done
	for bad in "-oProxyCommand=touch $pwned" 'root@-oX' 'a b' 'h;id'; do
		expect_error "vm.sh -s '$bad'" "^vm.sh: bad ssh target " \
			fx "$vmsh" start -s "$bad" "$tmp/t1.cfg"
		nothing_ran "vm.sh -s '$bad'"
	done
	expect_error "vm.sh console-log ../" "^vm.sh: bad domain name '../../etc/shadow'" \
		"$vmsh" console-log ../../etc/shadow
	expect_error "vm.sh destroy -f" "^vm.sh: bad domain name '-f'" fx "$vmsh" destroy -f
}

# Every ssh call puts `--` before the target, and every xl call before
# the domain or the config.
test_double_dash() {
	setup_fake
	expect_rc "vm.sh start -s" 0 fx env FAKE_XL_MODE=silent FAKE_SSH_MODE=pass \
		"$vmsh" start -s root@guest -w 5 "$tmp/t1.cfg"
	expect_grep "vm.sh: ssh gets -- before the target" '^ssh .* -- root@guest true$' \
		"$tmp/xlstate/calls"
	expect_grep "vm.sh: xl create gets -- before the config" "^create -- $tmp/t1.cfg " \
		"$tmp/xlstate/calls"
	fx "$vmsh" destroy t1
	expect_grep "vm.sh: xl destroy gets --" '^destroy -- t1$' "$tmp/xlstate/calls"
	setup_fake
	expect_rc "trial.sh -s" 0 fx env FAKE_XL_MODE=silent FAKE_SSH_MODE=pass \
		HETMIG_CPUID=host,rdtscp=0 "$trialsh" -c "$tmp/t1.cfg" -b 5 -s root@guest -x /w/pgbench
	expect_grep "trial.sh: the workload's ssh gets -- before the target" \
		'^ssh .* -- root@guest /w/pgbench$' "$tmp/xlstate/calls"
}

# trial.sh maps its own misuse to 125 (could not tell), with the line that
# says why, and creates nothing.
test_trial_sh_refusals() {
	local bad
	setup_fake
	for bad in $'host,avx=0"\nbootloader="/bin/sh' 'host,avx=0$(id)'; do
		expect_rc "trial.sh HETMIG_CPUID $(printf %q "$bad")" 125 fx env HETMIG_CPUID="$bad" \
			"$trialsh" -c "$tmp/t1.cfg" -b 5
		expect_grep "trial.sh HETMIG_CPUID: why" "^trial.sh: bad HETMIG_CPUID " "$tmp/err"
		nothing_ran "trial.sh HETMIG_CPUID $(printf %q "$bad")"
	done
	expect_rc "trial.sh -s option" 125 fx env HETMIG_CPUID=host \
		"$trialsh" -c "$tmp/t1.cfg" -s "-oProxyCommand=touch $pwned" -x true
	expect_grep "trial.sh -s option: why" "^trial.sh: bad ssh target " "$tmp/err"
	nothing_ran "trial.sh -s option"
	expect_rc "trial.sh -n" 125 fx env HETMIG_CPUID=host \
		"$trialsh" -c "$tmp/t1.cfg" -n 't1"x'
	nothing_ran "trial.sh -n"
	printf 'name = "t1$(touch %s)"\n' "$pwned" >"$tmp/evil.cfg"
	expect_rc "trial.sh: a config's hostile name" 125 fx env HETMIG_CPUID=host \
		"$trialsh" -c "$tmp/evil.cfg"
	expect_grep "trial.sh: a config's hostile name: why" "^vm.sh: bad domain name in " "$tmp/err"
	nothing_ran "trial.sh: a config's hostile name"
	expect_rc "trial.sh -w arithmetic" 125 fx env HETMIG_CPUID=host \
		"$trialsh" -c "$tmp/t1.cfg" -w "a[\$(touch $pwned)]"
	nothing_ran "trial.sh -w arithmetic"
}

# With the real xl on a machine that runs no Xen (CI, this test machine),
# xl exits 1 for every question, as it does for "no such domain".
test_no_xen() {
	command -v xl >/dev/null 2>&1 || { not_ok "no xl: install xen-utils-4.17"; return; }
	if xl info >/dev/null 2>&1; then
		ok # a dom0: nothing to test here
		return
	fi
	expect_error "vm.sh stop without Xen" "^vm.sh: xl cannot reach Xen" "$vmsh" stop t1 -w 1
	expect_error "vm.sh destroy without Xen" "^vm.sh: xl cannot reach Xen" "$vmsh" destroy t1
	expect_error "vm.sh start without Xen" "^vm.sh: xl cannot reach Xen" \
		"$vmsh" start "$tmp/t1.cfg"
}

# trial.sh -H: the trial runs on "another host" that is this machine
# (tests/scripts/remote-here), against the xl double there.
rtrial() {
	fx env HETMIG_REMOTE="$here/remote-here" REMOTE_HERE_LOG="$tmp/remote.log" \
		HETMIG_CPUID=host,rdtscp=0 HETMIG_TRIAL=r "$@"
}

# no_copies NAME: no config copied to the "other host" is left in /tmp.
no_copies() {
	local left
	left=$(grep -o '/tmp/hetmig-trial\.[A-Za-z0-9]*' "$tmp/remote.log" | sort -u |
		while read -r f; do [ ! -e "$f" ] || echo "$f"; done)
	expect "$1: copied configs removed" "" "$left"
}

test_remote_trial() {
	local pid
	local rc=0
	local i
	setup_fake
	: >"$tmp/remote.log"
	expect_rc "trial.sh -H, pass" 0 rtrial env FAKE_XL_MODE=pass \
		"$trialsh" -c "$tmp/t1.cfg" -b 5 -H hostb
	expect "trial.sh -H, pass: metrics come back" "HETMIG_METRIC tps=46.1" "$(cat "$tmp/out")"
	expect_grep "trial.sh -H: the remote command gets -- and the host" \
		'^hostb env HETMIG_CPUID=host\\,rdtscp=0 HETMIG_TRIAL=r .*/trial\.sh -c /tmp/hetmig-trial\.' \
		"$tmp/remote.log"
	expect_grep "trial.sh -H: the domain was created there" "^create -- /tmp/hetmig-trial" \
		"$tmp/xlstate/calls"
	no_copies "trial.sh -H, pass"
	expect_rc "trial.sh -H, fail" 1 rtrial env FAKE_XL_MODE=fail \
		"$trialsh" -c "$tmp/t1.cfg" -b 5 -H hostb
	expect_grep "trial.sh -H, fail: why" "failed: HETMIG-VERDICT: FAIL missing: avx2" "$tmp/err"
	no_copies "trial.sh -H, fail"
	expect_rc "trial.sh -H, unreachable" 125 rtrial env REMOTE_HERE_MODE=unreachable \
		"$trialsh" -c "$tmp/t1.cfg" -b 5 -H hostb
	expect_grep "trial.sh -H, unreachable: why" "cannot copy '.*' to 'hostb'" "$tmp/err"
	expect_rc "trial.sh -H, no trial.sh there" 125 rtrial env FAKE_XL_MODE=pass \
		"$trialsh" -c "$tmp/t1.cfg" -b 5 -H hostb -T /nonexistent/trial.sh
	expect_grep "trial.sh -H, no trial.sh there: why" "'/nonexistent/trial.sh' not found on 'hostb'" "$tmp/err"
	no_copies "trial.sh -H, no trial.sh there"
	expect_rc "trial.sh -H, hostile host" 125 rtrial "$trialsh" -c "$tmp/t1.cfg" -H '-oProxyCommand=x'
	expect_grep "trial.sh -H, hostile host: why" "^trial.sh: bad host " "$tmp/err"
	# Stopped while the remote trial waits: the domain goes there too.
	setup_fake
	env PATH="$fake:$PATH" HETMIG_REMOTE="$here/remote-here" REMOTE_HERE_LOG="$tmp/remote.log" \
		HETMIG_CPUID=host FAKE_XL_MODE=silent \
		"$trialsh" -c "$tmp/t1.cfg" -b 60 -H hostb >/dev/null 2>"$tmp/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		compgen -G "$tmp/xlstate/dom-*" >/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	expect "trial.sh -H, SIGTERM: 125" 125 "$rc"
	sleep 0.5
	if compgen -G "$tmp/xlstate/dom-*" >/dev/null; then
		not_ok "trial.sh -H, SIGTERM: the domain was left on the other host"
	else
		ok
	fi
	no_copies "trial.sh -H, SIGTERM"
}

# On a failing verdict trial.sh says the guest's trap lines.
test_fault_lines() {
	setup_fake
	printf '#!/bin/sh
exit 0
' >"$tmp/noop"
	expect_rc "fault lines: fail" 1 fx env FAKE_XL_MODE=silent HETMIG_CPUID=host \
		bash -c 'printf "%s\n" "[   12.345678] traps: blind[61] trap invalid opcode ip:401d35 sp:7ffc1e0 error:0 in blind[401000+93000]" \
			"HETMIG-FAULT: SIGILL at 0x401d35 in /hetmig/bin/blind" "HETMIG-VERDICT: FAIL" \
			>"$HETMIG_CONSOLE_DIR/guest-t1.log.new"; (sleep 1; cat "$HETMIG_CONSOLE_DIR/guest-t1.log.new" >>"$HETMIG_CONSOLE_DIR/guest-t1.log") & exec "$0" -c "$1" -b 5' \
		"$trialsh" "$tmp/t1.cfg"
	expect_grep "fault lines: the kernel's, without its time stamp" \
		'^trial.sh: fault: traps: blind\[61\] trap invalid opcode ip:401d35 .* in blind\[401000\+93000\]$' "$tmp/err"
	expect_grep "fault lines: the workload's own" \
		'^trial.sh: fault: HETMIG-FAULT: SIGILL at 0x401d35 in /hetmig/bin/blind$' "$tmp/err"
}

main() {
	test_vm_sh_refusals
	test_remote_trial
	test_fault_lines
	test_double_dash
	test_trial_sh_refusals
	test_no_xen
	summary scripts
}

main "$@"
