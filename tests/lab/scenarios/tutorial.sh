#!/bin/bash
# tutorial: docs/tutorial.md does not rot.  Every command block it marks
# with "<!-- lab -->" runs here, in order, in one shell (as in a student's
# terminal, variables and the current directory carry over), and the first
# block that fails fails the scenario, named by its line in the tutorial.
# The lab stands in for what the unmarked steps build: /etc/xen/myvm.cfg
# is a small lab guest running cpuwork (it picks its path from CPUID and
# keeps running), /etc/xen/myvm-trial.cfg boots the same guest running
# cpuwork-check, which prints a trial verdict as pgbench does, /root/hetmig
# is the tree (/hetmig), and "ssh hostb" reaches host B through a
# stand-in (the lab has no ssh).  The twin is not the PostgreSQL image:
# with two nested hosts up, its server crashed in every trial (SIGSEGV,
# corrupt reads in initdb) while dom0's own tools crashed now and then,
# though the same image passes every trial on one host (needs-pgbench,
# which is where PostgreSQL's pgbench is shown in the lab).  Where the tutorial tells the student to wait for the
# VM to boot, the lab waits for cpuwork's first tick.  At the end the VM
# runs on B, its workload ticking.
# lab: hosts=2
# lab: timeout=2400
#
# Outside the lab, for tests/docs/run.sh: "tutorial.sh --extract FILE DIR"
# only writes the marked blocks of FILE into DIR (DIR/NNN.sh holds block
# NNN, DIR/NNN.line the line number of its opening fence), and
# "tutorial.sh --runner FILE OUT" writes the script the lab would run.
# Exit 2, with a message, when a mark is not right before a fence or a
# block never ends.

MARK='<!-- lab -->'

# extract FILE DIR: the marked blocks of FILE into DIR (see above).
extract() {
	local file=$1
	local dir=$2
	local line
	local no=0
	local n=0
	local state=text
	local mark=0
	local start=0
	local out=
	[ -r "$file" ] || { echo "tutorial.sh: cannot read '$file'" >&2; return 2; }
	mkdir -p "$dir" || return 2
	while IFS= read -r line || [ -n "$line" ]; do
		no=$((no + 1))
		case $state in
		text)
			if [ "$line" = "$MARK" ]; then
				state=marked
				mark=$no
			elif [[ $line == '```'* ]]; then
				state=other
				start=$no
			fi
			;;
		marked)
			if [[ $line != '```'* ]]; then
				echo "tutorial.sh: $file:$mark: '$MARK' is not right before a code fence" >&2
				return 2
			fi
			n=$((n + 1))
			printf -v out '%s/%03d' "$dir" "$n"
			: >"$out.sh"
			printf '%s\n' "$no" >"$out.line"
			state=block
			start=$no
			;;
		block)
			if [ "$line" = '```' ]; then
				if ! grep -q '[^[:space:]]' "$out.sh"; then
					echo "tutorial.sh: $file:$start: the marked block is empty" >&2
					return 2
				fi
				state=text
			else
				printf '%s\n' "$line" >>"$out.sh"
			fi
			;;
		other)
			[ "$line" != '```' ] || state=text
			;;
		esac
	done <"$file"
	case $state in
	marked)
		echo "tutorial.sh: $file:$mark: '$MARK' at the end of the file" >&2
		return 2
		;;
	block | other)
		echo "tutorial.sh: $file:$start: the code block never ends" >&2
		return 2
		;;
	esac
	return 0
}

# make_runner DIR SRC OUT: one bash script that runs the blocks of DIR in
# order, in one shell, with errexit and pipefail, and on the first failure
# prints "TUTORIAL-FAILED: block N (SRC:LINE: first command): exit S".  A
# block that starts myvm is followed by a wait for it to boot.
make_runner() {
	local dir=$1
	local src=$2
	local out=$3
	local f
	local n=0
	local first
	{
		cat <<'EOF'
set -eo pipefail
tutorial_block=
trap 'rc=$?; if [ "$rc" -ne 0 ]; then printf "TUTORIAL-FAILED: %s: exit %s\n" "$tutorial_block" "$rc"; fi' EXIT

# lab_log_size NAME: the size of NAME's console log now.
lab_log_size() {
	if [ -e "/var/log/xen/guest-$1.log" ]; then
		wc -c <"/var/log/xen/guest-$1.log"
	else
		echo 0
	fi
}

# lab_wait_boot NAME OFFSET: what a student does after "xl create": wait
# until the VM has booted (here: cpuwork's first tick past OFFSET).
lab_wait_boot() {
	local i
	for ((i = 0; i < 120; i++)); do
		if tail -c +"$(($2 + 1))" "/var/log/xen/guest-$1.log" 2>/dev/null |
			grep 'cpuwork: tick 1' >/dev/null; then
			return 0
		fi
		sleep 1
	done
	echo "lab: '$1' did not boot within 120 s"
	return 1
}
EOF
		# shellcheck disable=SC2016 # expanded in the runner, not here
		for f in "$dir"/*.sh; do
			n=$((n + 1))
			first=$(grep -v -m 1 -e '^[[:space:]]*$' -e '^[[:space:]]*#' "$f")
			printf 'tutorial_block=%q\n' "block $n ($src:$(cat "${f%.sh}.line"): $first)"
			printf 'printf "\\n===== tutorial: %%s\\n" "$tutorial_block"\n'
			if grep -q 'xl create /etc/xen/myvm.cfg' "$f"; then
				printf 'lab_offset=$(lab_log_size myvm)\n'
				cat "$f"
				printf 'lab_wait_boot myvm "$lab_offset"\n'
			else
				cat "$f"
			fi
		done
		printf 'printf "\\nTUTORIAL-DONE: %d blocks\\n"\n' "$n"
	} >"$out"
}

case ${1:-} in
--extract)
	[ $# -eq 3 ] || { echo "usage: tutorial.sh --extract FILE DIR" >&2; exit 2; }
	extract "$2" "$3"
	exit
	;;
--runner)
	[ $# -eq 3 ] || { echo "usage: tutorial.sh --runner FILE OUT" >&2; exit 2; }
	tmpdir=$(mktemp -d) || exit 2
	trap 'rm -rf "$tmpdir"' EXIT
	extract "$2" "$tmpdir" || exit 2
	make_runner "$tmpdir" "$2" "$3"
	exit
	;;
esac

# shellcheck source=../dom0/lib.sh
. /lab/lib.sh
# shellcheck source=../dom0/prep.sh
. /lab/prep.sh

# write_ssh DIR: DIR/ssh, which stands in for ssh to host B.
write_ssh() {
	cat >"$1/ssh" <<'EOF'
#!/bin/bash
# ssh [OPTIONS] HOST COMMAND...: COMMAND runs on host B through /lab/remote
# (the host "hostb" is B); "xl migrate-receive", which xl migrate runs
# through ssh, is connected to B's migrate-receive as /lab/migrate-nc does.
while [ $# -gt 0 ]; do
	case $1 in
	-[BbcDEeFIiJLlmOopQRSWw]) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
host=${1:?ssh: no host}
shift
host=${host#*@}
[ "$host" != hostb ] || host=$LAB_PEER
case " $* " in
*" migrate-receive"*) exec nc "$host" 7001 ;;
esac
exec /lab/remote "$host" "$*"
EOF
	chmod +x "$1/ssh"
}

main() {
	local doc=/lab/tutorial.md
	local work=/tmp/tutorial
	local nblocks
	local rc
	local failed
	[ -r "$doc" ] || { say "no '$doc' in dom0: lab.sh puts docs/tutorial.md there"; exit 2; }
	[ -n "$LAB_PEER" ] || { say "no host B"; exit 2; }
	rm -rf "$work"
	mkdir -p "$work/bin"
	extract "$doc" "$work/blocks" || exit 2
	nblocks=$(find "$work/blocks" -name '*.sh' | wc -l)
	[ "$nblocks" -gt 0 ] || { say "no marked block in '$doc'"; exit 2; }
	say "$nblocks marked blocks in docs/tutorial.md"

	# What the unmarked steps would have built.
	guest_cfg myvm cpuwork "$LAB_BASE_CPUID" 128
	guest_cfg myvm-trial cpuwork-check "$LAB_BASE_CPUID" 128
	LAB_GUESTS+=(myvm myvm-trial)
	ln -sfn /hetmig /root/hetmig
	write_ssh "$work/bin"
	export LAB_PEER
	export PATH="$work/bin:$PATH"
	make_runner "$work/blocks" docs/tutorial.md "$work/run.sh"

	# The guests' consoles, as they come, prefixed like guest_start's.
	local g
	for g in myvm myvm-trial; do
		: >>"/var/log/xen/guest-$g.log"
		tail -F -n +1 "/var/log/xen/guest-$g.log" 2>/dev/null |
			while IFS= read -r line; do printf '[%s] %s\n' "$g" "$line"; done &
		LAB_TAILS+=("$!")
	done

	cd /root || exit 2
	bash "$work/run.sh" </dev/null 2>&1 | tee "$work/run.log"
	rc=${PIPESTATUS[0]}
	failed=$(sed -n 's/^TUTORIAL-FAILED: //p' "$work/run.log")
	if [ "$rc" -eq 0 ]; then
		check true -- "all $nblocks marked blocks of docs/tutorial.md ran"
	else
		check false -- "docs/tutorial.md: ${failed:-the blocks ended with exit $rc}"
		# What the guests said last, for whoever reads the serial log.
		for g in /var/log/xen/guest-*.log; do
			[ -e "$g" ] || continue
			say "the end of $g:"
			grep -av '^\[ *[0-9.]*\]' "$g" | tail -n 25 | sed 's/^/  /'
		done
		finish
	fi
	check test -s /var/lib/hetmig/myvm/myvm.hostb.cfg -- "migrate-prep wrote myvm's config for B"
	check sh -c '! xl list myvm >/dev/null 2>&1' -- "myvm left host A"
	check on_b "xl list myvm" -- "myvm runs on host B, as the tutorial ends"
	check works_on_b -- "its workload keeps running on B"
	finish
}

main "$@"
