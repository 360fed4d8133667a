#!/bin/bash
# prep-fail: migrate-prep's other ways out, on two real hosts: a dry run
# changes nothing on either host; a VM that needs what B lacks is refused
# with the missing features named (exit 1); a live move of a VM that sees
# more than B has is refused without --restart-on-source (exit 1); a cold
# move that fails after the VM stopped on A (B refuses to create it)
# leaves the VM running on A again, and the report says so (exit 2); one
# whose answer from B is lost leaves it on B.  In every case the VM runs
# on exactly one host.
# lab: hosts=2
# lab: timeout=1200
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

# state: what a run could have written, on both hosts.
state() {
	sha256sum /etc/xen/myvm.cfg
	find /var/lib/hetmig /etc/xen -newer /tmp/stamp 2>/dev/null | sort
	on_b "ls /etc/xen; ls -R /var/lib/hetmig 2>/dev/null" | sort
}

start_myvm

# What the VM needs, as an analysis would have said it: the part of what
# it sees that B also has.
mkdir -p /var/lib/hetmig/myvm
featdump -d myvm -o json >/tmp/vm.json
on_b "featdump -s hvm-default -o json" >/tmp/b.json
featcmp -i /tmp/vm.json /tmp/b.json -j >/var/lib/hetmig/myvm/needed.json
check test -s /var/lib/hetmig/myvm/needed.json -- "a needed set B has"

# A dry run changes nothing on either host.
touch /tmp/stamp
sleep 1
state >/tmp/before
migrate-prep "${PREP_ARGS[@]}" -n --apply cold myvm "$LAB_PEER" </dev/null >/tmp/report
rc=$?
cat /tmp/report
state >/tmp/after
check test "$rc" -eq 0 -- "dry run: exit 0"
check grep -q 'verdict: ready' /tmp/report -- "dry run: the report says ready"
check cmp -s /tmp/before /tmp/after -- "dry run: nothing changed on A or B"
check on_a_only -- "dry run: the VM still runs on A only"

# Everything the VM sees, as the needed set: B lacks fma, bmi2, avx2.
migrate-prep "${PREP_ARGS[@]}" --no-analyse myvm "$LAB_PEER" </dev/null >/tmp/report
rc=$?
cat /tmp/report
check test "$rc" -eq 1 -- "needs what B lacks: exit 1"
check grep -qE 'missing on .*bmi2' /tmp/report -- "the report names bmi2 as missing"
check grep -qE 'missing on .*fma' /tmp/report -- "the report names fma as missing"
check on_a_only -- "refused: the VM still runs on A only"

# Live: the running domain sees bmi2, which B lacks; without
# --restart-on-source migrate-prep refuses and says why.
migrate-prep "${PREP_ARGS[@]}" --no-rehearse --apply live myvm "$LAB_PEER" </dev/null >/tmp/report 2>/tmp/err
rc=$?
cat /tmp/report /tmp/err
check test "$rc" -eq 1 -- "live without --restart-on-source: exit 1"
check grep -q 'restart-on-source' /tmp/err -- "live: says how to go on"
check on_a_only -- "live refused: the VM still runs on A only"

# cold_through NAME ON-CREATE: a cold move whose transport to B runs
# ON-CREATE (shell code) in place of B's `xl create`, and passes every
# other command on; the report and talk land in /tmp/report, /tmp/err.
cold_through() {
	# shellcheck disable=SC2016 # the script's text: it expands when it runs
	printf '#!/bin/bash\ncase $3 in *"xl create"*) %s ;; esac\nexec /lab/remote "$@"\n' \
		"$2" >"/tmp/$1"
	chmod +x "/tmp/$1"
	migrate-prep "${PREP_ARGS[@]}" --no-rehearse --remote-cmd "/tmp/$1" --apply cold \
		--shared-storage myvm "$LAB_PEER" </dev/null >/tmp/report 2>/tmp/err
	rc=$?
	cat /tmp/report /tmp/err
}

# Cold, with a host B that refuses to create the domain: the VM has
# stopped on A by then, and must run there again.
cold_through refusing-remote 'echo "xl create refused (test)" >&2; exit 3'
check test "$rc" -eq 2 -- "cold, B refuses: exit 2"
check grep -q 'xl create failed on' /tmp/err -- "cold: says what failed"
check grep -q 'runs on this host again' /tmp/err -- "cold: says the VM was restarted on A"
check grep -q 'the VM runs on .*(this host)' /tmp/err -- "cold: the report says where the VM runs"
check on_a_only_soon -- "cold, B refused: the VM runs on A"

# The VM restarted on A boots before the next move, as a running VM
# would have long done: a shutdown asked for during its boot is lost.
# Its console log goes on in the same file: wait for a second start.
booted=0
for ((i = 0; i < 120; i++)); do
	if [ "$(grep -c 'cpuwork: start path' /var/log/xen/guest-myvm.log)" -ge 2 ]; then
		booted=1
		break
	fi
	sleep 1
done
[ "$booted" -eq 1 ] || { say "myvm did not come back on A"; exit 2; }

# Cold, with a B that creates the domain but whose answer is lost (the
# transport fails after the command ran): the VM must not start on A
# again, since it runs on B.
cold_through lossy-remote '/lab/remote "$@" >/dev/null 2>&1; exit 255'
check test "$rc" -eq 2 -- "cold, answer lost: exit 2"
check grep -q 'runs on .* after all: it stays there' /tmp/err -- \
	"cold, answer lost: migrate-prep finds the VM on B"
check grep -q "the VM runs on $LAB_PEER\$" /tmp/err -- "cold, answer lost: the report says B"
check sh -c '! xl list myvm >/dev/null 2>&1' -- "cold, answer lost: the VM is not on A"
check on_b "xl list myvm" -- "cold, answer lost: the VM runs on B"
finish
