#!/usr/bin/env bash
# run.sh: featmin's tests: the search end to end with simulated trial
# commands (exact answers, outputs, 125 and retries, timeouts, signals),
# the journal (resume after kill -9, a cut-off line, another search), and
# the trial scripts' mapping of outcomes to 0/1/125 against a test double
# of the xl command line (tests/featmin/fake-bin/xl: exit codes and console
# log lines only, no pretend Xen), and the selftest and pgbench workloads.
#
# usage: tests/featmin/run.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
featmin=$build/bin/featmin
featdump=$build/bin/featdump
featcmp=$build/bin/featcmp
lab_a=$top/tests/fixtures/raw/qemu-lab-a.txt
intel=$top/tests/fixtures/raw/qemu-haswell-notsx.txt
got=
# shellcheck source=../lib.sh
. "$here/../lib.sh"

# A trial command simulating a workload that needs $NEEDS: it fails when
# HETMIG_CPUID hides one of them.  $FLAKY=N answers 125 on every Nth call,
# $ALWAYS=rc answers rc, $SLEEP delays, $FAIL_FROM=N fails from trial N on.
write_sim() {
	cat >"$tmp/sim" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
n=0
if [ -n "${COUNTER:-}" ]; then
	[ -e "$COUNTER" ] && n=$(cat "$COUNTER")
	n=$((n + 1))
	echo "$n" >"$COUNTER"
fi
[ -z "${TRACE:-}" ] || printf '%s %s\n' "$HETMIG_TRIAL" "$HETMIG_CPUID" >>"$TRACE"
[ -z "${PIDFILE:-}" ] || echo $$ >"$PIDFILE"
[ -z "${SLEEP:-}" ] || sleep "$SLEEP"
[ -z "${ALWAYS:-}" ] || exit "$ALWAYS"
if [ -n "${FLAKY:-}" ] && [ $((n % FLAKY)) -eq 0 ]; then
	exit 125
fi
if [ -n "${FAIL_FROM:-}" ] && [ "$HETMIG_TRIAL" -ge "$FAIL_FROM" ]; then
	exit 1
fi
if [ -n "${FAIL_UNTIL:-}" ] && [ "$n" -le "$FAIL_UNTIL" ]; then
	exit 1
fi
for f in ${NEEDS:-}; do
	case ",$HETMIG_CPUID," in *",$f=0,"*) echo "HETMIG_METRIC tps=0"; exit 1 ;; esac
done
echo "noise on stdout"
if [ -n "${TPS_BY_TRIAL:-}" ]; then
	echo "HETMIG_METRIC tps=$((10 * HETMIG_TRIAL))"
else
	echo "HETMIG_METRIC tps=46.1"
fi
exit 0
EOF
	chmod +x "$tmp/sim"
}

# needed NEEDS [featmin options...]: the answer beyond the fixed baseline,
# space-separated, into $got.  No pipe hides a crash: a non-zero exit fails.
needed() {
	local needs=$1
	local rc=0
	shift
	NEEDS=$needs "$featmin" -p "$lab_a" -e rdtscp=0 -o names "$@" -- "$tmp/sim" \
		>"$tmp/needed" 2>"$tmp/needed.err" || rc=$?
	[ "$rc" -eq 0 ] || not_ok "featmin exit $rc for {$needs}: $(tail -n 1 "$tmp/needed.err")"
	got=$(sort "$tmp/needed" | comm -13 "$tmp/baseline" - | tr '\n' ' ' | sed 's/ $//')
}

test_answers() {
	local needs
	local want
	local rc=0
	NEEDS='' "$featmin" -p "$lab_a" -e rdtscp=0 -o names -- "$tmp/sim" \
		>"$tmp/baseline.raw" 2>"$tmp/err" || rc=$?
	expect "baseline run" 0 "$rc"
	sort "$tmp/baseline.raw" >"$tmp/baseline"
	expect_grep "baseline holds sse2" '^sse2$' "$tmp/baseline"
	if grep -q '^avx2$' "$tmp/baseline"; then
		not_ok "avx2 is in the fixed baseline"
	else
		ok
	fi
	while IFS='|' read -r needs want; do
		needed "$needs"
		expect "needs {$needs}" "$want" "$got"
	done <<'EOF'
|
avx2|avx avx2 xsave
popcnt fma|avx fma popcnt xsave
sse4-2 bmi2 movbe|bmi2 movbe sse3 sse4-1 sse4-2 ssse3
clflushopt de|clflushopt de
xgetbv1|xgetbv1 xsave
EOF
	# -k keeps a feature, -a drops the baseline.
	needed "" -k popcnt
	expect "-k popcnt" "popcnt" "$got"
	rc=0
	NEEDS=sse2 "$featmin" -a -p "$lab_a" -e rdtscp=0 -o names -- "$tmp/sim" \
		>"$tmp/out" 2>/dev/null || rc=$?
	expect "-a run" 0 "$rc"
	expect_grep "-a finds sse2 needed" '^sse2$' "$tmp/out"
	if grep -q '^cmov$' "$tmp/out"; then
		not_ok "-a: cmov reported though not needed"
	else
		ok
	fi
}

test_trial_count() {
	local n
	rm -f "$tmp/j"
	NEEDS=avx2 "$featmin" -p "$lab_a" -j "$tmp/j" -e rdtscp=0 -- "$tmp/sim" \
		>/dev/null 2>&1
	n=$(($(wc -l <"$tmp/j") - 1))
	if [ "$n" -le 10 ]; then
		ok
	else
		not_ok "one needed feature of 40: $n trials, want <= 10"
	fi
}

# -f: a guest without some candidates is known to fail, so one of them is
# needed; the search starts there and skips the trial that would show it.
test_fails_on() {
	local with
	local without
	"$featdump" -f "$lab_a" -o names | grep -vx -e popcnt -e avx2 |
		jq -R . | jq -s '{format: "hetmig-policy/1", features: .}' \
		>"$tmp/host-b.json"
	needed popcnt -f "$tmp/host-b.json"
	expect "-f: needs {popcnt}" "popcnt" "$got"
	expect_grep "-f: what it is told" 'known to fail without 2 of them' \
		"$tmp/needed.err"
	rm -f "$tmp/j" "$tmp/j0"
	NEEDS=popcnt "$featmin" -p "$lab_a" -j "$tmp/j0" -e rdtscp=0 -- \
		"$tmp/sim" >/dev/null 2>&1
	NEEDS=popcnt "$featmin" -p "$lab_a" -f "$tmp/host-b.json" -j "$tmp/j" \
		-e rdtscp=0 -- "$tmp/sim" >/dev/null 2>&1
	without=$(grep -c '"kind":"search"' "$tmp/j0")
	with=$(grep -c '"kind":"search"' "$tmp/j")
	if [ "$with" -lt "$without" ]; then ok; else
		not_ok "-f: $with trials, not fewer than $without without it"
	fi
	expect "-f: the journal keeps the failure" "true false" "$(
		head -n 1 "$tmp/j" | jq '.fails != null') $(
		head -n 1 "$tmp/j0" | jq '.fails != null')"
	NEEDS=popcnt "$featmin" -j "$tmp/j" -- "$tmp/sim" >/dev/null 2>"$tmp/err"
	expect_grep "-f: resumed with -j alone" "0 trials run, $with from the journal" \
		"$tmp/err"
	expect_rc "-f: the journal of another search" 2 env NEEDS=popcnt \
		"$featmin" -p "$lab_a" -j "$tmp/j" -e rdtscp=0 -- "$tmp/sim"
	expect_grep "-f: another search: message" "or -f policy" "$tmp/err"
	# B lacks avx2 alone: avx2 is needed on -f's word, no trial failed.
	"$featdump" -f "$lab_a" -o names | grep -vx avx2 | jq -R . |
		jq -s '{format: "hetmig-policy/1", features: .}' >"$tmp/no-avx2.json"
	NEEDS=avx2 "$featmin" -p "$lab_a" -f "$tmp/no-avx2.json" -e rdtscp=0 \
		-- "$tmp/sim" >"$tmp/json" 2>/dev/null
	expect "-f: avx2 needed on its word" "true null" \
		"$(jq -r '.evidence.avx2 | "\(.fails_on) \(.fail)"' "$tmp/json")"
	expect_rc "-f: a policy with every candidate" 2 "$featmin" -p "$lab_a" \
		-f "$lab_a" -- "$tmp/sim"
	expect_grep "-f: every candidate: message" "has every candidate feature" \
		"$tmp/err"
}

test_outputs() {
	NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" -e rdtscp=0 -- "$tmp/sim" \
		>"$tmp/json" 2>"$tmp/err"
	NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" -e rdtscp=0 -o names -- "$tmp/sim" \
		>"$tmp/names" 2>/dev/null
	NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" -e rdtscp=0 -o xl -- "$tmp/sim" \
		>"$tmp/xl" 2>/dev/null
	# The first line says which features are kept fixed.
	expect "the fixed features named" \
		"featmin: 40 candidate features, 15 kept fixed (fpu pse tsc msr pae cx8 apic pge cmov mmx fxsr sse sse2 syscall lm)" \
		"$(head -n 1 "$tmp/err")"
	"$featmin" -p "$lab_a" -k avx -o names -- true >/dev/null 2>"$tmp/err-k"
	expect_grep "-k fixed, with its prerequisite" \
		'^featmin: 39 candidate features, 17 kept fixed \(.* xsave avx .*\)$' "$tmp/err-k"
	"$featmin" -a -p "$lab_a" -o names -- true >/dev/null 2>"$tmp/err-a"
	expect_grep "-a: nothing fixed" '^featmin: 56 candidate features, 0 kept fixed$' "$tmp/err-a"
	if "$featdump" -f "$tmp/json" -o names | cmp -s - "$tmp/names"; then
		ok
	else
		not_ok "featdump -f reads a different set from the json than -o names"
	fi
	expect "json format" "hetmig-policy/1" "$(jq -r .format "$tmp/json")"
	# The vendor and signature of -p's policy come along, so that featcmp
	# compares vendors for real instead of finding none ("????????????").
	expect "json identity of -p" "$("$featdump" -f "$lab_a" -o json | jq -c '[.vendor, .family, .model, .stepping]')" \
		"$(jq -c '[.vendor, .family, .model, .stepping]' "$tmp/json")"
	(cd "$tmp" && "$featcmp" json "$lab_a") >"$tmp/cmp" || true
	expect "featcmp: the same vendor" "$lab_a has every feature of json" \
		"$(head -n 1 "$tmp/cmp" | sed 's/ (.*//')"
	(cd "$tmp" && "$featcmp" json "$intel") >"$tmp/cmp" || true
	expect "featcmp: another vendor" "vendors differ: json has AuthenticAMD, $intel has GenuineIntel" \
		"$(head -n 1 "$tmp/cmp")"
	expect "evidence avx2 fail is a trial" number "$(jq -r '.evidence.avx2.fail | type' "$tmp/json")"
	expect "evidence avx2 pass before fail" true "$(jq '.evidence.avx2.pass < .evidence.avx2.fail' "$tmp/json")"
	expect "evidence avx via avx2" avx2 "$(jq -r .evidence.avx.via "$tmp/json")"
	expect "evidence sse2 fixed" true "$(jq -r .evidence.sse2.fixed "$tmp/json")"
	expect "json cpuid = -o xl" "$(cat "$tmp/xl")" "$(jq -r .cpuid "$tmp/json")"
	expect_grep "xl output" '^host,.*fma=0.*,rdtscp=0$' "$tmp/xl"
	if grep -Eq '(avx2|popcnt|xsave)=0' "$tmp/xl"; then
		not_ok "the final cpuid= hides a needed feature: $(cat "$tmp/xl")"
	else
		ok
	fi
	expect "metric recorded" 46.1 "$(jq -r '.trials[0].metrics.tps' "$tmp/json")"
	expect "failed trial's metric" 0 "$(jq -r '[.trials[] | select(.verdict == "fail")][0].metrics.tps' "$tmp/json")"
	expect_grep "cost of the mask" '^featmin: tps 46.1 unmasked \(trial 1\), 46.1 with the final mask \(trial [0-9]+\)$' "$tmp/err"
	expect_grep "progress line" '^featmin: trial 2 (passed|failed) in [0-9]+s: [0-9]+ candidates left, about [0-9]+ trials to go, elapsed [0-9]+s, eta [0-9]+s$' "$tmp/err"
	if grep -q 'noise' "$tmp/json"; then
		not_ok "the trial's stdout leaked into featmin's"
	else
		ok
	fi
}

test_env() {
	rm -f "$tmp/trace"
	TRACE=$tmp/trace NEEDS=avx2 "$featmin" -p "$lab_a" -e rdtscp=0 -- "$tmp/sim" \
		>/dev/null 2>&1
	expect "trial numbers count up" "$(seq 1 "$(wc -l <"$tmp/trace")" | tr '\n' ' ')" \
		"$(cut -d' ' -f1 "$tmp/trace" | tr '\n' ' ')"
	expect "first trial hides nothing" "host,rdtscp=0" "$(head -n 1 "$tmp/trace" | cut -d' ' -f2)"
	expect_grep "dependents hidden together" 'xsave=0.*xsaveopt=0|avx=0.*avx2=0' "$tmp/trace"
}

test_unmasked_fails() {
	# Asked 1 + 3 times (-r's default), then given up.
	expect_rc "fails unmasked" 1 env NEEDS=rdtscp "$featmin" -p "$lab_a" \
		-e rdtscp=0 -- "$tmp/sim"
	expect_grep "fails unmasked: message" 'the workload fails even unmasked \(trial 4, asked 4 times\)' "$tmp/err"
	if [ -s "$tmp/out" ]; then not_ok "fails unmasked: printed data"; else ok; fi
	expect_rc "fails unmasked, -r 0" 1 env NEEDS=rdtscp "$featmin" -r 0 -p "$lab_a" \
		-e rdtscp=0 -- "$tmp/sim"
	expect_grep "fails unmasked, -r 0: asked once" 'the workload fails even unmasked \(trial 1, asked 1 time\)' "$tmp/err"
	# A baseline that fails once (a guest that crashed) is asked again.
	expect_rc "baseline fails once" 0 env FAIL_UNTIL=1 COUNTER="$tmp/n.until" \
		"$featmin" -p "$lab_a" -e rdtscp=0 -o names -- "$tmp/sim"
	expect_grep "baseline fails once: the search went on" '^sse2$' "$tmp/out"
}

test_verify() {
	local n
	rm -f "$tmp/j"
	expect_rc "--verify passes" 0 env NEEDS=avx2 "$featmin" -p "$lab_a" -j "$tmp/j" \
		--verify -- "$tmp/sim"
	expect "verified" true "$(jq .verified "$tmp/out")"
	expect "one verify record" 1 "$(grep -c '"kind":"verify"' "$tmp/j")"
	n=$(grep -c '"kind":"search"' "$tmp/j")
	expect_rc "--verify fails" 1 env NEEDS=avx2 FAIL_FROM=$((n + 1)) "$featmin" \
		-p "$lab_a" --verify -- "$tmp/sim"
	expect_grep "--verify fails: message" "verification failed: trial $((n + 1))" "$tmp/err"
	# Nothing needed: the search's last trial hides everything, and so does
	# the verify trial; the cost line averages both (tps = 10 x trial).
	rm -f "$tmp/j"
	expect_rc "--verify, nothing needed" 0 env TPS_BY_TRIAL=1 "$featmin" -p "$lab_a" \
		-j "$tmp/j" -e rdtscp=0 --verify -- "$tmp/sim"
	n=$(grep -c '"kind":"search"' "$tmp/j")
	expect_grep "cost line: the mean over the final mask's trials" \
		"^featmin: tps 10 unmasked \\(trial 1\\), $((10 * n + 5)) with the final mask \\(mean of trials $n, $((n + 1))\\)\$" "$tmp/err"
}

test_unknown() {
	local clean
	local rc=0
	needed "avx2 popcnt"
	clean=$got
	rm -f "$tmp/j" "$tmp/count"
	COUNTER=$tmp/count FLAKY=3 NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" \
		-j "$tmp/j" -e rdtscp=0 -r 1 -o names -- "$tmp/sim" >"$tmp/out" \
		2>"$tmp/err" || rc=$?
	expect "125 every 3rd: exit" 0 "$rc"
	expect "125 every 3rd: same answer" "$clean" \
		"$(sort "$tmp/out" | comm -13 "$tmp/baseline" - | tr '\n' ' ' | sed 's/ $//')"
	if [ "$(grep -c '"verdict":"unknown"' "$tmp/j")" -gt 0 ]; then ok; else
		not_ok "125s are not in the journal"
	fi
	expect_grep "125 is reported" 'trial [0-9]+ could not tell \(exit 125\)' "$tmp/err"
	rm -f "$tmp/j"
	expect_rc "always 125" 3 env ALWAYS=125 "$featmin" -p "$lab_a" -j "$tmp/j" -r 2 \
		-- "$tmp/sim"
	expect_grep "always 125: message" 'trial 3 could not tell \(exit 125\) 3 times: stopping; the journal keeps' "$tmp/err"
	expect "always 125: three records" 4 "$(wc -l <"$tmp/j")"
	expect_rc "exit 126 is a failure" 1 env ALWAYS=126 "$featmin" -p "$lab_a" -- "$tmp/sim"
	expect_rc "exit 130 is no verdict" 3 env ALWAYS=130 "$featmin" -p "$lab_a" -r 0 -- "$tmp/sim"
}

# kill -9 in the middle, then resume: no finished trial runs again.
test_resume() {
	local pid
	local i
	local clean
	local before
	rm -f "$tmp/j" "$tmp/jc"
	NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" -j "$tmp/jc" -e rdtscp=0 -- \
		"$tmp/sim" >"$tmp/clean.json" 2>/dev/null
	clean=$(grep -c '"kind":"search"' "$tmp/jc")
	SLEEP=0.2 NEEDS="avx2 popcnt" "$featmin" -p "$lab_a" -j "$tmp/j" -e rdtscp=0 \
		-- "$tmp/sim" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$tmp/j" ] && [ "$(wc -l <"$tmp/j")" -ge 6 ] && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	sleep 0.5
	before=$(grep -c '"kind":"search"' "$tmp/j")
	if [ "$before" -ge 5 ] && [ "$before" -lt "$clean" ]; then ok; else
		not_ok "kill -9: $before of $clean trials on record"
	fi
	# As if the kill had cut a record in half.
	printf '{"trial":99,"kind":"sea' >>"$tmp/j"
	NEEDS="avx2 popcnt" "$featmin" -j "$tmp/j" -e rdtscp=0 -- "$tmp/sim" \
		>"$tmp/resumed.json" 2>"$tmp/err"
	expect_grep "resume message" "resuming from '$tmp/j': $before trials on record" "$tmp/err"
	expect "resumed: same answer" "$(jq -c .features "$tmp/clean.json")" \
		"$(jq -c .features "$tmp/resumed.json")"
	expect "resumed: as many trials as a clean run" "$clean" \
		"$(grep -c '"kind":"search"' "$tmp/j")"
	expect "resumed: no mask twice" 0 \
		"$(grep '"kind":"search"' "$tmp/j" | jq -r .hide | sort | uniq -d | wc -l)"
	expect_grep "resumed: trials from the journal" "$((clean - before)) trials run, $before from the journal" "$tmp/err"
	# Once more, with -j alone: everything comes from the journal.
	NEEDS="avx2 popcnt" "$featmin" -j "$tmp/j" -- "$tmp/sim" \
		>/dev/null 2>"$tmp/err"
	expect_grep "finished journal: nothing runs" "0 trials run, $clean from the journal" "$tmp/err"
	expect_rc "another search" 2 env NEEDS=avx2 "$featmin" -j "$tmp/j" -e rdtscp=0,avx=0 \
		-- "$tmp/sim"
	expect_grep "another search: message" "journal '$tmp/j' belongs to another search" "$tmp/err"
	# The journal is written as whoever runs featmin: a symbolic link in
	# its place does not redirect it, and a device or FIFO is no journal.
	ln -sf "$tmp/j" "$tmp/j-link"
	cp "$tmp/j" "$tmp/j-copy"
	expect_error "a journal that is a symbolic link" \
		"^featmin: journal '$tmp/j-link' is a symbolic link: give the path of the file itself\$" \
		"$featmin" -j "$tmp/j-link" -- "$tmp/sim"
	if cmp -s "$tmp/j" "$tmp/j-copy"; then ok; else not_ok "a journal link: its target changed"; fi
	rm -f "$tmp/victim"
	ln -sf "$tmp/victim" "$tmp/j-dangling"
	expect_error "a journal that is a dangling link" "^featmin: journal '$tmp/j-dangling' is a symbolic link" \
		"$featmin" -p "$lab_a" -j "$tmp/j-dangling" -- "$tmp/sim"
	if [ -e "$tmp/victim" ]; then not_ok "a dangling journal link: its target was made"; else ok; fi
	mkfifo "$tmp/j-fifo"
	expect_error "a journal that is a FIFO" "^featmin: journal '$tmp/j-fifo' is not a regular file\$" \
		"$featmin" -p "$lab_a" -j "$tmp/j-fifo" -- "$tmp/sim"
	expect_error "a journal that is a device" "^featmin: journal '/dev/null' is not a regular file\$" \
		"$featmin" -p "$lab_a" -j /dev/null -- "$tmp/sim"
	printf 'not json\n' >"$tmp/bad-j"
	expect_rc "not a journal" 2 "$featmin" -p "$lab_a" -j "$tmp/bad-j" -- "$tmp/sim"
	expect_grep "not a journal: message" "bad-j:1: not a featmin journal" "$tmp/err"
}

test_timeout_and_signals() {
	local pid
	local child
	local start=$SECONDS
	local rc=0
	expect_rc "timeout" 3 env SLEEP=30 "$featmin" -p "$lab_a" -t 1 -r 0 -- "$tmp/sim"
	expect_grep "timeout: message" 'trial 1 timed out after 1 s' "$tmp/err"
	if [ $((SECONDS - start)) -lt 15 ]; then ok; else not_ok "timeout took $((SECONDS - start))s"; fi
	rm -f "$tmp/j" "$tmp/pid"
	PIDFILE=$tmp/pid SLEEP=30 "$featmin" -p "$lab_a" -j "$tmp/j" -- "$tmp/sim" \
		>/dev/null 2>"$tmp/err" &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		[ -s "$tmp/pid" ] && break
		sleep 0.1
	done
	child=$(cat "$tmp/pid")
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	expect "SIGTERM: exit 143" 143 "$rc"
	sleep 0.3
	if kill -0 "$child" 2>/dev/null; then
		not_ok "SIGTERM: the trial command was left running"
		kill "$child" 2>/dev/null || true
	else
		ok
	fi
	expect "SIGTERM: the trial in flight is not recorded" 1 "$(wc -l <"$tmp/j")"
	expect_grep "SIGTERM: message" 'stopped by signal 15; run again with the same journal to resume' "$tmp/err"
}

# wait_gone PID SECS: true once PID is gone, false if it still runs after
# SECS seconds.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# kill -9 of featmin ends its trial too (the kernel's SIGTERM, as the
# trial was set up to get), and the resumed run finds nothing left.
test_kill9_trial() {
	local pid
	local child
	local i
	local rc=0
	rm -f "$tmp/j" "$tmp/pid"
	PIDFILE=$tmp/pid SLEEP=30 NEEDS=avx2 "$featmin" -p "$lab_a" -j "$tmp/j" \
		-e rdtscp=0 -- "$tmp/sim" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		[ -s "$tmp/pid" ] && break
		sleep 0.1
	done
	child=$(cat "$tmp/pid")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	if wait_gone "$child" 5; then ok; else
		not_ok "kill -9: the trial ($child) still runs 5s after featmin died"
		kill "$child" 2>/dev/null || true
	fi
	NEEDS=avx2 "$featmin" -j "$tmp/j" -o names -- "$tmp/sim" >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "kill -9: the resumed run completes" 0 "$rc"
	expect_grep "kill -9: the resumed run's answer" '^avx2$' "$tmp/out"

	# The same through trial.sh: its domain goes with it.
	setup_fake
	rm -f "$tmp/j"
	PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=silent "$featmin" -p "$lab_a" \
		-j "$tmp/j" -e rdtscp=0 -- "$top/scripts/trial.sh" -c "$tmp/t1.cfg" -b 60 \
		>/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$tmp/xlstate/dom-t1" ] && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		[ -e "$tmp/xlstate/dom-t1" ] || break
		sleep 0.1
	done
	if [ -e "$tmp/xlstate/dom-t1" ]; then
		not_ok "kill -9: trial.sh's domain is still there 10s after featmin died"
	else
		ok
	fi
	rc=0
	PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=needs FAKE_XL_NEEDS=avx2 "$featmin" \
		-j "$tmp/j" -o names -- "$top/scripts/trial.sh" -c "$tmp/t1.cfg" -b 5 \
		>"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "kill -9 of featmin + trial.sh: the resumed run completes" 0 "$rc"
	expect_grep "kill -9 of featmin + trial.sh: its answer" '^avx2$' "$tmp/out"
}

test_usage() {
	expect_rc "no command" 2 "$featmin" -p "$lab_a"
	expect_grep "usage on stderr" '^usage: featmin' "$tmp/err"
	expect_rc "bad option" 2 "$featmin" --bogus -- true
	expect_rc "bad output" 2 "$featmin" -p "$lab_a" -o xml -- true
	expect_grep "bad output: message" "^featmin: unknown output 'xml': expected json, names or xl$" "$tmp/err"
	expect_rc "bad retries" 2 "$featmin" -p "$lab_a" -r x -- true
	expect_rc "unknown -k feature" 2 "$featmin" -p "$lab_a" -k avx9 -- true
	expect_grep "unknown -k feature: message" "unknown feature 'avx9'" "$tmp/err"
	expect_error "a newline in a -k name: one line" "^featmin: unknown feature 'avx\\\\nfoo'$" \
		"$featmin" -p "$lab_a" -k "avx"$'\n'"foo" -- true
	expect_rc "bad -e item" 2 "$featmin" -p "$lab_a" -e rdtscp -- true
	expect_rc "-e item libxl refuses" 2 "$featmin" -p "$lab_a" -e bogus=0 -- true
	expect_grep "-e item libxl refuses: message" "cpuid item 'bogus=0' refused by libxl" "$tmp/err"
	# libxl reads a value's first characters and drops the rest: every
	# item must be whole, or it would reach HETMIG_CPUID and the journal.
	local item
	while IFS= read -r item; do
		expect_error "-e '$item' refused" "^featmin: cpuid item '.*': bad value: expected" \
			"$featmin" -p "$lab_a" -e "$item" -- true
	done <<'EOF'
avx=0"x
avx=0$(id)
avx=0x
avx=2
avx= 0
avx=0 
avx=00
avx=xyz
family=16
EOF
	expect_error "-e with a newline refused" "^featmin: cpuid item 'avx=0\\\\nfoo': bad value" \
		"$featmin" -p "$lab_a" -e "avx=0"$'\n'"foo" -- true
	expect_rc "-e whole items" 0 "$featmin" -p "$lab_a" -e family=15,avx=k -e model=0xa \
		-o xl -- true
	expect_grep "-e whole items: in the line" ',family=15,avx=k,model=0xa$' "$tmp/out"
	# A journal's items are the user's too.
	rm -f "$tmp/j-extra"
	"$featmin" -p "$lab_a" -j "$tmp/j-extra" -e rdtscp=0 -- true >/dev/null 2>&1
	sed -i '1s/"rdtscp=0"/"rdtscp=0\\"x"/' "$tmp/j-extra"
	expect_error "a journal's -e items are checked" "^featmin: cpuid item 'rdtscp=0\"x': bad value" \
		"$featmin" -j "$tmp/j-extra" -- true
	# A trial command that cannot run is a usage error, before any trial
	# (with a journal: nothing recorded, not even its header).
	: >"$tmp/not-executable"
	chmod 644 "$tmp/not-executable"
	local cmd
	local why
	while IFS='|' read -r cmd why; do
		rm -f "$tmp/j-cmd"
		expect_error "trial command '$cmd'" "^featmin: cannot run '$cmd': $why\$" \
			"$featmin" -p "$lab_a" -j "$tmp/j-cmd" -- "$cmd"
		if [ -e "$tmp/j-cmd" ]; then not_ok "trial command '$cmd': a journal was made"; else ok; fi
	done <<EOF
$tmp/does-not-exist|No such file or directory
$tmp/not-executable|Permission denied
$tmp|Is a directory
hetmig-test-no-such-command|not found in PATH
EOF
	# One that passes that check but cannot be run (its interpreter is
	# missing) is an error too, not a trial that failed.
	printf '#!%s/no-such-interpreter\n' "$tmp" >"$tmp/bad-interpreter"
	chmod 755 "$tmp/bad-interpreter"
	rm -f "$tmp/j-cmd"
	expect_rc "trial command whose exec fails" 2 \
		"$featmin" -p "$lab_a" -j "$tmp/j-cmd" -- "$tmp/bad-interpreter"
	expect "trial command whose exec fails: message" \
		"featmin: cannot run '$tmp/bad-interpreter': No such file or directory" \
		"$(tail -n 1 "$tmp/err")"
	expect "trial command whose exec fails: no trial recorded" 1 "$(wc -l <"$tmp/j-cmd")"
	expect_rc "no policy" 2 "$featmin" -- true
	expect_grep "no policy: message" "^featmin: no policy: give -p FILE" "$tmp/err"
	# Without -p, the domain the trial's config (its last -c) names.
	expect_error "no policy, -c missing" "^featmin: cannot open '$tmp/none.cfg'" \
		"$featmin" -- true -c "$tmp/none.cfg"
	printf 'memory = 128\n' >"$tmp/noname.cfg"
	expect_error "no policy, config without name" \
		"^featmin: '$tmp/noname.cfg' names no domain \(no name=\)$" \
		"$featmin" -- true -c "$tmp/noname.cfg"
	printf 'name = "x\nmemory = 128\n' >"$tmp/broken.cfg"
	expect_error "no policy, config libxlutil refuses" \
		"^featmin: '$tmp/broken.cfg' does not parse with libxlutil: line 1: config parsing error" \
		"$featmin" -- true -c "$tmp/broken.cfg"
	printf 'name = "hetmig-test-no-such-domain"\n' >"$tmp/named.cfg"
	printf 'name = "hetmig-test-other"\n' >"$tmp/other.cfg"
	# The last -c counts, in either spelling.  No Xen here, or no such
	# domain on a dom0: an error either way, after naming the domain.
	expect_rc "no policy, named domain" 2 "$featmin" -j "$tmp/named.journal" \
		-- sh -c 'exit 0' trial -c "$tmp/other.cfg" -c"$tmp/named.cfg"
	expect_grep "no policy, named domain: which" \
		"^featmin: the policy of domain 'hetmig-test-no-such-domain', named in '$tmp/named.cfg' \(the trial's -c\)$" \
		"$tmp/err"
	expect_grep "no policy, named domain: why" \
		"^featmin: (cannot open '/dev/xen/privcmd'|unknown domain 'hetmig-test-no-such-domain')" \
		"$tmp/err"
	expect "no policy, named domain: no trial recorded" 0 \
		"$(wc -l <"$tmp/named.journal")"
	expect_rc "bad policy" 2 "$featmin" -p "$tmp/nonexistent" -- true
	expect_grep "bad policy: message" "cannot open '$tmp/nonexistent'" "$tmp/err"
	# A journal path that is not UTF-8 is the output's source.name, with
	# U+FFFD for its bad bytes: not "out of memory" after the whole run.
	rm -f "$tmp/j"$'\xff'
	expect_rc "a journal path that is not UTF-8" 0 "$featmin" -p "$lab_a" \
		-j "$tmp/j"$'\xff' -- true
	expect "a journal path that is not UTF-8: source.name" "$tmp/j"$'\xef\xbf\xbd' \
		"$(jq -r .source.name "$tmp/out" 2>&1)"
	expect_error "a policy that is a directory" "^featmin: cannot open '$tmp': Is a directory\$" \
		"$featmin" -p "$tmp" -- true
}

# --- the trial scripts, against the xl test double -----------------------

# trial_case NAME WANT_RC MODE [trial.sh options...]
trial_case() {
	local name=$1
	local want=$2
	local mode=$3
	shift 3
	expect_rc "trial.sh $name" "$want" env PATH="$here/fake-bin:$PATH" \
		FAKE_XL_MODE="$mode" HETMIG_CPUID="host,rdtscp=0,avx2=0" HETMIG_TRIAL=1 \
		"$top/scripts/trial.sh" -c "$tmp/t1.cfg" "$@"
	if compgen -G "$tmp/xlstate/dom-*" >/dev/null; then
		not_ok "trial.sh $name: a domain was left behind"
		rm -f "$tmp/xlstate"/dom-*
	else
		ok
	fi
}

test_trial_sh() {
	setup_fake
	trial_case "pass" 0 pass -b 5
	expect "pass: metric on stdout" "HETMIG_METRIC tps=46.1" "$(cat "$tmp/out")"
	expect_grep "pass: cpuid= given to xl create" \
		'^create .*t1.cfg cpuid="host,rdtscp=0,avx2=0" name="t1"$' "$tmp/xlstate/calls"
	expect_grep "pass: destroyed" '^t1$' "$tmp/xlstate/destroyed"
	trial_case "fail marker" 1 fail -b 5
	expect_grep "fail: reason" "failed: HETMIG-VERDICT: FAIL missing: avx2" "$tmp/err"
	expect_grep "fail: the console lines before it" '^trial.sh:   | booting$' "$tmp/err"
	trial_case "xl create fails" 125 create-fails -b 5
	trial_case "console silent" 125 silent -b 2
	expect_grep "silent: reason" "stayed silent for 2s" "$tmp/err"
	trial_case "guest died" 1 crash -b 5
	trial_case "no verdict in time" 1 hang -b 2 -w 2
	FAKE_XL_DOMID=crash trial_case "xl domid crashing" 1 hang -b 2 -w 2
	expect_grep "xl domid crashing: the domain is not taken for dead" \
		"no verdict from 't1' within 4s" "$tmp/err"
	FAKE_XL_DOMID=crash trial_case "xl domid crashing, pass" 0 pass -b 2
	# A marker from an earlier boot of the same name is not an answer.
	printf 'HETMIG-VERDICT: PASS\n' >"$tmp/console/guest-t1.log"
	trial_case "old marker ignored" 125 silent -b 2
	FAKE_SSH_MODE=unreachable trial_case "ssh unreachable (mode)" 125 pass -b 3 \
		-s root@guest -x /w/pgbench
	FAKE_SSH_MODE=pass trial_case "ssh pass" 0 silent -b 3 -s root@guest -x /w/pgbench
	expect_grep "ssh pass: metric" '^HETMIG_METRIC tps=51.5$' "$tmp/out"
	FAKE_SSH_MODE=fail trial_case "ssh workload fails" 1 silent -b 3 -s root@guest -x /w/pgbench
	FAKE_SSH_MODE=broken trial_case "ssh dies" 125 silent -b 3 -s root@guest -x /w/pgbench
	trial_case "bad option" 125 pass -Z
	expect_rc "no HETMIG_CPUID" 125 env -u HETMIG_CPUID PATH="$here/fake-bin:$PATH" \
		"$top/scripts/trial.sh" -c "$tmp/t1.cfg"
	expect_grep "no HETMIG_CPUID: message" "HETMIG_CPUID is not set" "$tmp/err"
}

test_trial_sh_signal() {
	local pid
	local rc=0
	local i
	setup_fake
	PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=silent HETMIG_CPUID=host \
		"$top/scripts/trial.sh" -c "$tmp/t1.cfg" -b 60 >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		compgen -G "$tmp/xlstate/dom-*" >/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	expect "trial.sh SIGTERM: 125" 125 "$rc"
	if compgen -G "$tmp/xlstate/dom-*" >/dev/null; then
		not_ok "trial.sh SIGTERM: the domain was left behind"
	else
		ok
	fi
}

test_vm_sh() {
	setup_fake
	expect_rc "vm.sh start, marker seen" 0 env PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=pass \
		"$top/scripts/vm.sh" start -c host -m 'HETMIG-VERDICT: PASS' -w 5 "$tmp/t1.cfg"
	expect "vm.sh start prints the name" t1 "$(cat "$tmp/out")"
	if [ -e "$tmp/xlstate/dom-t1" ]; then ok; else not_ok "vm.sh start: the domain is gone"; fi
	expect_rc "vm.sh stop" 0 env PATH="$here/fake-bin:$PATH" "$top/scripts/vm.sh" stop t1 -w 1
	if [ -e "$tmp/xlstate/dom-t1" ]; then not_ok "vm.sh stop left t1"; else ok; fi
	expect_rc "vm.sh start, no marker" 1 env PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=silent \
		"$top/scripts/vm.sh" start -m 'READY' -w 2 "$tmp/t1.cfg"
	if [ -e "$tmp/xlstate/dom-t1" ]; then not_ok "vm.sh: a failed start left t1"; else ok; fi
	expect_rc "vm.sh create fails" 3 env PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=create-fails \
		"$top/scripts/vm.sh" start "$tmp/t1.cfg"
	expect_rc "vm.sh legacy list form" 0 env PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=silent \
		"$top/scripts/vm.sh" start -c '[ "1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0" ]' "$tmp/t1.cfg"
	expect_grep "vm.sh legacy list form: as it is" \
		'^create .*t1.cfg cpuid=\[ "1:ecx=x+0" \] name="t1"$' "$tmp/xlstate/calls"
	env PATH="$here/fake-bin:$PATH" "$top/scripts/vm.sh" destroy t1
	expect_rc "vm.sh usage" 2 "$top/scripts/vm.sh" bogus
}

# featmin driving trial.sh driving the xl test double.
test_chain() {
	local rc=0
	setup_fake
	PATH="$here/fake-bin:$PATH" FAKE_XL_MODE=needs FAKE_XL_NEEDS="avx2 popcnt" \
		"$featmin" -p "$lab_a" -e rdtscp=0 -o names -- \
		"$top/scripts/trial.sh" -c "$tmp/t1.cfg" -b 5 >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect "featmin + trial.sh: exit" 0 "$rc"
	expect "featmin + trial.sh: answer" "avx avx2 popcnt xsave" \
		"$(sort "$tmp/out" | comm -13 "$tmp/baseline" - | tr '\n' ' ' | sed 's/ $//')"
	expect "featmin + trial.sh: every domain destroyed" \
		"$(grep -c '^create' "$tmp/xlstate/calls")" "$(wc -l <"$tmp/xlstate/destroyed")"
	if grep '^create' "$tmp/xlstate/calls" | grep -vq 'cpuid="host,\(.*,\)\{0,1\}rdtscp=0[,"]'; then
		not_ok "featmin + trial.sh: a create without rdtscp=0"
	else
		ok
	fi
}

# --- workloads -----------------------------------------------------------

test_selftest() {
	local f
	local s
	local d
	local agreed=0
	"${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -o "$tmp/selftest" \
		"$top/scripts/workloads/selftest.c" || { not_ok "selftest does not build"; return; }
	expect_rc "selftest -l" 0 "$tmp/selftest" -l
	expect_rc "selftest unknown feature" 2 "$tmp/selftest" avx9
	"$featdump" -l >"$tmp/here" 2>/dev/null || { ok; return; }
	# Its CPUID checks agree with featdump's decoder on this machine.
	for f in $("$tmp/selftest" -l); do
		s=0
		"$tmp/selftest" "$f" >"$tmp/out" && s=1
		d=0
		grep -qx -- "$f" "$tmp/here" && d=1
		if [ "$s" = "$d" ]; then
			agreed=$((agreed + 1))
		else
			not_ok "selftest $f says $s, featdump -l says $d"
		fi
		if [ "$s" = 1 ]; then
			expect_grep "selftest $f: verdict" '^HETMIG-VERDICT: PASS$' "$tmp/out"
		else
			expect_grep "selftest $f: verdict" "^HETMIG-VERDICT: FAIL missing: $f\$" "$tmp/out"
		fi
	done
	if [ "$agreed" -ge 20 ]; then ok; else not_ok "selftest: only $agreed features compared"; fi
}

# pgbench's verdict logic against stub PostgreSQL binaries, then for real
# when PostgreSQL is installed and we are root.
test_pgbench() {
	local stub=$tmp/pgstub
	local mode
	# The workload runs PostgreSQL as postgres when root: let it reach in.
	chmod 711 "$tmp"
	mkdir -p "$stub"
	for b in initdb pg_ctl postgres; do
		printf '#!/bin/sh\nexit 0\n' >"$stub/$b"
	done
	cat >"$stub/pgbench" <<'EOF'
#!/bin/sh
case " $* " in *" -i "*) exit 0 ;; esac
case $PGSTUB in
ok) echo "tps = 12.5 (without initial connection time)" ;;
notps) echo "something else" ;;
fail) echo "pgbench: error: could not connect" >&2; exit 1 ;;
esac
EOF
	chmod +x "$stub"/*
	for mode in ok notps fail; do
		local want=1
		[ "$mode" = ok ] && want=0
		expect_rc "pgbench workload, $mode" "$want" env PGSTUB=$mode \
			"$top/scripts/workloads/pgbench" -B "$stub" -T 1 -D "$tmp/pgdata-$mode"
		if [ -e "$tmp/pgdata-$mode" ]; then not_ok "pgbench $mode: data left"; else ok; fi
	done
	PGSTUB=ok "$top/scripts/workloads/pgbench" -B "$stub" -T 1 -D "$tmp/pgd" >"$tmp/out" 2>/dev/null
	expect "pgbench: tps metric and verdict" "HETMIG_METRIC tps=12.5 PASS" \
		"$(sed -n 's/^HETMIG-VERDICT: //p; /tps=/p' "$tmp/out" | tr '\n' ' ' | sed 's/ $//')"
	PGSTUB=fail "$top/scripts/workloads/pgbench" -B "$stub" -T 1 >"$tmp/out" 2>/dev/null || true
	expect "pgbench: failing run" "HETMIG-VERDICT: FAIL pgbench run" "$(cat "$tmp/out")"
	if [ "$(id -u)" -eq 0 ] && getent passwd postgres >/dev/null &&
		compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
		expect_rc "pgbench workload, real PostgreSQL" 0 "$top/scripts/workloads/pgbench" -T 2
		expect_grep "real pgbench: tps" '^HETMIG_METRIC tps=[0-9]+\.[0-9]+$' "$tmp/out"
	fi
}

# -e takes a VM's whole current line too: its leading "host" is dropped,
# the rest are the items (migrate-prep passes the line as xlcfg reads it).
test_extra_value() {
	local a
	local b
	rm -f "$tmp/t-items" "$tmp/t-value"
	expect_rc "-e rdtscp=0" 0 env NEEDS='' TRACE="$tmp/t-items" \
		"$featmin" -p "$lab_a" -e rdtscp=0 -o names -- "$tmp/sim"
	expect_rc "-e host,rdtscp=0" 0 env NEEDS='' TRACE="$tmp/t-value" \
		"$featmin" -p "$lab_a" -e host,rdtscp=0 -o names -- "$tmp/sim"
	touch "$tmp/t-items" "$tmp/t-value"
	a=$(cut -d' ' -f2 "$tmp/t-items")
	b=$(cut -d' ' -f2 "$tmp/t-value")
	expect "-e host,rdtscp=0: the same trials as -e rdtscp=0" "$a" "$b"
	expect_grep "-e host,rdtscp=0: rdtscp hidden in every trial" '^[0-9]+ host,.*rdtscp=0' "$tmp/t-value"
	expect_rc "-e host alone: no item" 0 env NEEDS='' "$featmin" -p "$lab_a" -e host -o names -- "$tmp/sim"
	expect_error "-e: host later in the list is an item" "^featmin: bad cpuid item 'host'" \
		"$featmin" -p "$lab_a" -e rdtscp=0,host -- "$tmp/sim"
}

# --scan: what featscan found used blind is kept exposed, never searched:
# a masked trial cannot show it unneeded (the mask does not stop the
# instruction).  The scan is featscan's policy JSON, made here by hand.
test_scan() {
	local rc=0
	jq -n '{format: "hetmig-policy/1", source: {kind: "featscan"},
		features: ["bmi2", "avx2"]}' >"$tmp/scan.json"
	rm -f "$tmp/scan.journal"
	NEEDS='' "$featmin" -p "$lab_a" -e rdtscp=0 -j "$tmp/scan.journal" \
		--scan "$tmp/scan.json" -o json -- "$tmp/sim" >"$tmp/scan.out" 2>"$tmp/err" || rc=$?
	expect "scan: exit" 0 "$rc"
	expect_grep "scan: bmi2 kept fixed, said first" '^featmin: .* kept fixed \(.* bmi2.*\)$' "$tmp/err"
	expect "scan: bmi2 in the answer, as the scan's" '{"fixed":true,"scan":true}' \
		"$(jq -c '.evidence.bmi2' "$tmp/scan.out")"
	expect "scan: avx2 too, and avx (its prerequisite) fixed" 'true true' \
		"$(jq -r '[.evidence.avx2.scan, .evidence.avx.fixed] | map(tostring) | join(" ")' "$tmp/scan.out")"
	expect "scan: the journal says which" 1 \
		"$(head -n 1 "$tmp/scan.journal" | jq 'has("scan") | if . then 1 else 0 end')"
	if grep -q 'bmi2=0' "$tmp/scan.journal"; then
		not_ok "scan: a trial hid bmi2"
	else
		ok
	fi
	rc=0
	NEEDS='' "$featmin" -j "$tmp/scan.journal" -o json -- "$tmp/sim" \
		>"$tmp/scan.out2" 2>"$tmp/err" || rc=$?
	expect "scan, resumed from the journal alone: exit" 0 "$rc"
	expect "scan, resumed: bmi2 still the scan's" '{"fixed":true,"scan":true}' \
		"$(jq -c '.evidence.bmi2' "$tmp/scan.out2")"
	expect_error "scan: a missing file" "^featmin: cannot open '$tmp/none.json'" \
		"$featmin" -p "$lab_a" --scan "$tmp/none.json" -- "$tmp/sim"
}

main() {
	[ -x "$featmin" ] || { echo "no $featmin: run make" >&2; exit 2; }
	write_sim
	test_answers
	test_trial_count
	test_outputs
	test_env
	test_unmasked_fails
	test_verify
	test_unknown
	test_resume
	test_timeout_and_signals
	test_kill9_trial
	test_usage
	test_fails_on
	test_scan
	test_extra_value
	test_trial_sh
	test_trial_sh_signal
	test_vm_sh
	test_chain
	test_selftest
	test_pgbench
	summary featmin
}

main "$@"
