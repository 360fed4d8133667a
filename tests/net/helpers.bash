# shellcheck shell=bash
# shellcheck disable=SC2154 # status, output and lines: set by bats' run
# Helpers for the net.sh tests.  Each test builds network namespaces of its
# own and removes them in teardown; nothing here touches the namespace the
# tests are started in, and every address used lives inside the test's
# namespaces only.
#
#   upstream  eth0 198.51.100.2/24, and 203.0.113.1/24 on lo: "the
#      |      outside", one hop further; no route to the NAT LAN at all
#   dom0      up0 198.51.100.1/24, default via upstream: net.sh runs here
#      |      and makes xenbr0 (NAT mode: with 192.168.1.101/24); vif1.0 is
#      |      the Xen guest's vif, put on the bridge (or routed) by the test
#      |      as Xen's vif-bridge (or vif-route) would
#   guest     eth0 192.168.1.102/24, default via 192.168.1.101
#
# Upstream cannot answer the NAT LAN, so only dom0's MASQUERADE rule
# carries the guest's traffic there.  guests_setup adds the guests of other
# hypervisors: a QEMU-style guest behind the tap tapq0 and an LXC-style one
# behind the veth lxc0.

NET_SH="$BATS_TEST_DIRNAME/../../scripts/net.sh"
# Every namespace of this run starts so, for the sweep in teardown_file.
NS_PREFIX="hmnet-${BATS_ROOT_PID:-$$}-"
# A bound on each net.sh run, so that no test can hang on one.
NET_TIMEOUT=${NET_TIMEOUT:-30}

# net_setup: the three namespaces, a config and a state directory; sets
# D0, GU, UP (the namespaces' names), CONF and HETMIG_STATE_DIR.
net_setup() {
	net_setup_bare
	# A dom0 whose iptables has been used has its filter and nat tables.
	# With iptables-nft a table appears at its first rule and stays,
	# empty, when the rule goes, which no iptables command can undo; the
	# test "down: where iptables was never used" shows that case.
	prime_tables iptables
}

# net_setup_bare: net_setup, but dom0's iptables untouched.
net_setup_bare() {
	local ns
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	command -v ip >/dev/null || skip "needs iproute2"
	command -v iptables >/dev/null || skip "needs iptables"
	D0="$NS_PREFIX$BATS_TEST_NUMBER-$$-dom0"
	GU="$NS_PREFIX$BATS_TEST_NUMBER-$$-guest"
	UP="$NS_PREFIX$BATS_TEST_NUMBER-$$-up"
	export D0 GU UP
	ip netns add "$D0" || skip "cannot create network namespaces here"
	ip netns add "$GU"
	ip netns add "$UP"
	for ns in "$D0" "$GU" "$UP"; do
		# No IPv6: its link-local addresses change state (DAD) while a
		# test compares dumps of dom0.
		ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 &&
			echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
		ip -n "$ns" link set lo up
	done
	ip -n "$D0" link add up0 type veth peer name eth0 netns "$UP"
	ip -n "$D0" addr add 198.51.100.1/24 dev up0
	ip -n "$D0" link set up0 up
	ip -n "$UP" addr add 198.51.100.2/24 dev eth0
	ip -n "$UP" addr add 203.0.113.1/24 dev lo
	ip -n "$UP" link set eth0 up
	ip -n "$D0" route add default via 198.51.100.2

	ip -n "$D0" link add vif1.0 type veth peer name eth0 netns "$GU"
	ip -n "$D0" link set vif1.0 up
	ip -n "$GU" addr add 192.168.1.102/24 dev eth0
	ip -n "$GU" link set eth0 up
	ip -n "$GU" route add default via 192.168.1.101

	CONF="$BATS_TEST_TMPDIR/net.conf"
	# shellcheck disable=SC2119 # the default lines, none replaced
	write_conf
	export CONF
	export HETMIG_STATE_DIR="$BATS_TEST_TMPDIR/state"
}

# prime_tables IPTABLES: make dom0's filter and nat tables exist, with the
# policies they have anyway.
prime_tables() {
	ip netns exec "$D0" "$1" -w -t filter -P FORWARD ACCEPT
	ip netns exec "$D0" "$1" -w -t nat -P POSTROUTING ACCEPT
}

net_teardown() {
	local ns
	[ -z "${RELAY_PID:-}" ] || kill "$RELAY_PID" 2>/dev/null || true
	for ns in "${D0:-}" "${GU:-}" "${UP:-}" "${QG:-}" "${LX:-}"; do
		[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
	done
}

# net_sweep: remove any namespace of this run that a killed test left.
net_sweep() {
	local ns
	while read -r ns _; do
		case $ns in
		"$NS_PREFIX"*) ip netns del "$ns" 2>/dev/null || true ;;
		esac
	done < <(ip netns list 2>/dev/null)
}

# write_conf [KEY=value...]: the test config; a line given here replaces
# that key's default line (which is left blank, so that line numbers stay)
# and comes last, on line 8.
# shellcheck disable=SC2120 # net.bats passes the lines
write_conf() {
	local kv
	local key
	local lines
	lines=(BRIDGE=xenbr0 LAN=192.168.1.0/24 DOM0_ADDR=192.168.1.101
		UPLINK=auto GUEST_DNS=198.51.100.53 GUEST_ADDR=192.168.1.102)
	for kv in "$@"; do
		key=${kv%%=*}
		lines=("${lines[@]/#"$key="*/}")
		lines+=("$kv")
	done
	printf '%s\n' "# net.sh test config" "${lines[@]}" >"$CONF"
}

# net ARGS...: net.sh in dom0, with its config.
net() {
	timeout -k 5 "$NET_TIMEOUT" ip netns exec "$D0" \
		"$BASH" "$NET_SH" -c "$CONF" "$@" </dev/null
}

# net_path DIR ARGS...: net.sh in dom0 with PATH=DIR.
net_path() {
	local dir
	dir=$1
	shift
	timeout -k 5 "$NET_TIMEOUT" ip netns exec "$D0" env PATH="$dir" \
		"$BASH" "$NET_SH" -c "$CONF" "$@" </dev/null
}

# as_nobody ARGS...: net.sh in dom0 as uid and gid 65534, no capabilities.
as_nobody() {
	timeout -k 5 "$NET_TIMEOUT" ip netns exec "$D0" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$BASH" "$NET_SH" -c "$CONF" "$@" </dev/null
}

# bin_without CMD: print a directory for PATH that has every command of
# /usr/bin and /usr/sbin except CMD.
bin_without() {
	local dir
	dir="$BATS_TEST_TMPDIR/bin-without-$1"
	mkdir -p "$dir"
	ln -sf /usr/bin/* "$dir"/
	ln -sf /usr/sbin/* "$dir"/
	rm -f "$dir/$1"
	printf '%s\n' "$dir"
}

# snapshot FILE: dom0's links, addresses, routes, iptables rules of both
# backends and forwarding settings, without what changes by itself.
snapshot() {
	local raw
	local save
	raw="$BATS_TEST_TMPDIR/raw"
	{
		ip -n "$D0" -d link show
		ip -n "$D0" -d addr show
		ip -n "$D0" -d route show table all
		ip -n "$D0" -d rule show
		# Both backends: whichever one net.sh drives, a rule it leaves
		# shows.
		for save in iptables-nft-save iptables-legacy-save; do
			command -v "$save" >/dev/null || continue
			printf '== %s\n' "$save"
			ip netns exec "$D0" "$save" 2>&1 || true
		done
		# Writing ip_forward sets every interface's forwarding too;
		# route mode sets proxy_arp.
		# shellcheck disable=SC2016 # expanded by sh inside dom0
		ip netns exec "$D0" sh -c 'for f in /proc/sys/net/ipv4/ip_forward \
			/proc/sys/net/ipv4/conf/*/forwarding \
			/proc/sys/net/ipv4/conf/*/proxy_arp; do echo "$f=$(cat "$f")"; done'
	} >"$raw"
	# Left out: iptables-save's comments and counters; bridge timers; the
	# qdisc (the kernel gives a device one the first time it goes up and
	# keeps it); carrier and operational state, which the kernel updates
	# up to a second after a port comes or goes (on links, and a route's
	# linkdown); the offload limits (gso_, gro_, tso_max_...), which a
	# bridge takes from the ports it ever had and keeps.  The UP flag,
	# which is what net.sh sets, stays in.
	sed -E -e '/^#/d' -e 's/ \[[0-9]+:[0-9]+\]$//' \
		-e 's/ [a-z_]+_timer +[0-9.]+//g' -e 's/ qdisc [a-z_]+//' \
		-e 's/ state [A-Z]+\b//' -e 's/NO-CARRIER,//' -e 's/,LOWER_UP//' \
		-e 's/,M-DOWN//' -e 's/ linkdown\b//' \
		-e 's/ (gso|gro|tso)(_ipv4)?_max_(size|segs) [0-9]+//g' "$raw" >"$1"
	rm -f "$raw"
}

# same_as FILE: dom0 is as snapshot FILE saw it.
same_as() {
	snapshot "$BATS_TEST_TMPDIR/now"
	diff -u "$1" "$BATS_TEST_TMPDIR/now"
}

# ping_ok NS ADDR: NS reaches ADDR (one echo request, waited for up to 2 s,
# which covers an ARP or a proxy ARP answer; then three more tries).
ping_ok() {
	ip netns exec "$1" ping -n -q -c 1 -W 2 "$2" </dev/null >/dev/null ||
		ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 1 "$2" </dev/null >/dev/null
}

# ping_fails NS ADDR: NS gets no reply from ADDR within a second.
ping_fails() {
	! ip netns exec "$1" ping -n -q -c 1 -W 1 "$2" </dev/null >/dev/null 2>&1
}

# attach_vif / detach_vif: what Xen's vif-bridge does for the guest's vif.
attach_vif() {
	ip -n "$D0" link set vif1.0 master xenbr0
}

detach_vif() {
	ip -n "$D0" link set vif1.0 nomaster
}

# backend_of CMD: nf_tables or legacy, as CMD -V says.
backend_of() {
	local v
	v=$(ip netns exec "$D0" "$1" -V)
	if [[ $v =~ \(([a-z_]+)\) ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	else
		printf 'legacy\n'
	fi
}

# rules_in SAVE PATTERN: how many lines of SAVE's dump of dom0 match.
rules_in() {
	ip netns exec "$D0" "$1" 2>/dev/null | grep -c -e "$2" || true
}

# --- interrupting net.sh at every step ---------------------------------------
#
# intr_setup: a directory of stand-ins for ip, iptables and brctl (set
# INTR_BIN to it); put first on PATH, they run the real commands, counting
# every one that changes something (ip's add, del, set, ... and -batch,
# iptables' -A, -D, -I, ..., brctl's addbr, addif, ...).  At the change
# number INTR_AT they interrupt the net.sh that runs them, as INTR_HOW says:
#   kill-before  SIGKILL net.sh, and the change is not made
#   kill-after   make the change, then SIGKILL net.sh
#   term         SIGTERM net.sh, then make the change: its trap runs once
#                the command is done, as when a user stops net.sh while a
#                command runs
# and leave the file $INTR_DIR/fired.  Nothing fires when INTR_AT is past
# the last change: the loops of the tests end there.
intr_setup() {
	INTR_DIR="$BATS_TEST_TMPDIR/intr"
	INTR_BIN="$INTR_DIR/bin"
	mkdir -p "$INTR_BIN"
	cat >"$INTR_BIN/stand-in" <<'WRAP'
#!/usr/bin/env bash
set -u
name=${0##*/}
real=
IFS=: read -ra dirs <<<"$INTR_REAL_PATH"
for d in "${dirs[@]}"; do
	if [ -x "$d/$name" ]; then
		real=$d/$name
		break
	fi
done
[ -n "$real" ] || { echo "$name: not found on $INTR_REAL_PATH" >&2; exit 127; }
change=0
case $name in
ip) [[ " $* " =~ \ (add|del|delete|set|replace|change|flush|-batch)\  ]] && change=1 ;;
iptables) [[ " $* " =~ \ -[ADINXPFR]\  ]] && change=1 ;;
brctl) [[ " $* " =~ \ (addbr|delbr|addif|delif|setfd|stp)\  ]] && change=1 ;;
esac
[ "$change" -eq 1 ] || exec "$real" "$@"
n=0
[ ! -e "$INTR_DIR/count" ] || read -r n <"$INTR_DIR/count"
n=$((n + 1))
printf '%s\n' "$n" >"$INTR_DIR/count"
[ "$n" -eq "$INTR_AT" ] || exec "$real" "$@"
printf '%s %s: %s %s\n' "$INTR_HOW" "$n" "$name" "$*" >"$INTR_DIR/fired"
# net.sh is the topmost of the processes above us that run bash with its
# path as first argument (the others are its command substitutions; above
# it is timeout, whose arguments name it too).
runs_net_sh() {
	local args
	mapfile -d '' -t args <"/proc/$1/cmdline"
	[ "${args[1]:-}" = "$INTR_NET_SH" ]
}
pid=$PPID
while :; do
	stat=$(<"/proc/$pid/stat")
	stat=${stat##*) }
	read -r _ ppid _ <<<"$stat"
	runs_net_sh "$ppid" || break
	pid=$ppid
done
runs_net_sh "$pid" || { echo "stand-in: no net.sh above pid $$" >&2; exit 99; }
case $INTR_HOW in
kill-before)
	kill -KILL "$pid"
	exit 1
	;;
kill-after)
	rc=0
	"$real" "$@" || rc=$?
	kill -KILL "$pid"
	exit "$rc"
	;;
term)
	kill -TERM "$pid"
	exec "$real" "$@"
	;;
esac
WRAP
	chmod +x "$INTR_BIN/stand-in"
	ln -sf stand-in "$INTR_BIN/ip"
	ln -sf stand-in "$INTR_BIN/iptables"
	ln -sf stand-in "$INTR_BIN/brctl"
	export INTR_DIR INTR_BIN
	export INTR_REAL_PATH=$PATH
	export INTR_NET_SH=$NET_SH
}

# net_intr HOW AT ARGS...: net.sh ARGS in dom0 with the stand-ins, to be
# interrupted as HOW at the change number AT.
net_intr() {
	local how
	local at
	how=$1
	at=$2
	shift 2
	rm -f "$INTR_DIR/count" "$INTR_DIR/fired"
	export INTR_HOW=$how INTR_AT=$at
	net_path "$INTR_BIN:$PATH" "$@"
}

# intr_fired: true if the last net_intr interrupted net.sh.
intr_fired() {
	[ -e "$INTR_DIR/fired" ]
}

# interrupt_every_step BEFORE UNDO ARGS...: interrupt 'net.sh ARGS' at
# each of its changes in turn, each way of intr_setup, and check after each
# that the interrupted run said nothing false and that 'net.sh UNDO' (down,
# or detach IFACE), also after a later complete run of ARGS, leaves dom0 as
# snapshot BEFORE saw it.  Prints one line per interruption, for the log.
interrupt_every_step() {
	local before
	local undo
	local how
	local at
	local rc
	before=$1
	undo=$2
	shift 2
	intr_setup
	for how in term kill-before kill-after; do
		at=1
		while :; do
			rc=0
			net_intr "$how" "$at" "$@" >"$BATS_TEST_TMPDIR/intr.out" 2>&1 || rc=$?
			intr_fired || break
			printf '%s -> exit %s\n' "$(cat "$INTR_DIR/fired")" "$rc"
			intr_check "$how" "$rc" "$before" "$undo" "$@"
			at=$((at + 1))
		done
		# Every change was reached: the last run went through.
		[ "$rc" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/intr.out"; return 1; }
		[ "$at" -gt 1 ]
		# shellcheck disable=SC2086 # UNDO's words
		run -0 net $undo
		same_as "$before"
	done
}

# intr_check HOW RC BEFORE UNDO ARGS...: after an interrupted run, its exit
# status and last words, then UNDO, and ARGS + UNDO, each back to BEFORE.
intr_check() {
	local how
	local rc
	local before
	local undo
	local lock
	how=$1
	rc=$2
	before=$3
	undo=$4
	shift 4
	lock="$HETMIG_STATE_DIR/net/lock"
	case $how in
	term)
		# The trap undid this run's changes, and says so only if true;
		# nothing is left for UNDO.
		[ "$rc" -eq 130 ] || { cat "$BATS_TEST_TMPDIR/intr.out"; return 1; }
		[ ! -e "$lock" ]
		if ! same_as "$before"; then
			cat "$BATS_TEST_TMPDIR/intr.out"
			return 1
		fi
		grep -q "failed: what it had added is removed" "$BATS_TEST_TMPDIR/intr.out"
		return 0
		;;
	kill-*)
		[ "$rc" -eq 137 ]
		# A killed net.sh leaves its lock; the error says whose it was.
		[ -e "$lock" ]
		# shellcheck disable=SC2086 # UNDO's words
		run -2 net $undo
		[[ $output == "net.sh: '$lock' was left by net.sh "*", which is no longer running: remove it, then run net.sh again" ]]
		rm -f -- "$lock"
		;;
	esac
	# shellcheck disable=SC2086 # UNDO's words
	run -0 net $undo
	same_as "$before"
	run -0 net "$@"
	# shellcheck disable=SC2086
	run -0 net $undo
	same_as "$before"
}

# --- a failure at each line of net.sh's ip -batch ----------------------------

# bfail_setup: a directory (BFAIL_BIN) whose ip stands for the real one, but
# runs 'ip -batch FILE' with the line number BFAIL_AT of FILE replaced by
# one that fails, so that the lines before it are made and the rest not.
bfail_setup() {
	BFAIL_BIN="$BATS_TEST_TMPDIR/bfail"
	mkdir -p "$BFAIL_BIN"
	cat >"$BFAIL_BIN/ip" <<WRAP
#!/usr/bin/env bash
if [ "\$1" = -batch ]; then
	sed "\${BFAIL_AT}s/.*/link set dev hm-nosuch0 up/" "\$2" >"\$2.bfail"
	if [ "\$(wc -l <"\$2")" -ge "\$BFAIL_AT" ]; then
		: >"$BFAIL_BIN/fired"
	fi
	exec $(command -v ip) -batch "\$2.bfail"
fi
exec $(command -v ip) "\$@"
WRAP
	chmod +x "$BFAIL_BIN/ip"
	export BFAIL_BIN
}

# fail_every_batch_line BEFORE UNDO ARGS...: make each line of the ip
# -batch of 'net.sh ARGS' fail in turn; each time net.sh must exit 2, name
# the line, say that it removed what it had added, and leave dom0 as
# snapshot BEFORE saw it; at last ARGS goes through, and 'net.sh UNDO'
# (down, or detach IFACE) must bring back BEFORE.  Prints each try.
fail_every_batch_line() {
	local before
	local undo
	local at
	before=$1
	undo=$2
	shift 2
	bfail_setup
	at=1
	while :; do
		rm -f "$BFAIL_BIN/fired"
		export BFAIL_AT=$at
		run net_path "$BFAIL_BIN:$PATH" "$@"
		[ -e "$BFAIL_BIN/fired" ] || break
		printf 'batch line %s fails -> exit %s\n' "$at" "$status"
		[ "$status" -eq 2 ] || { printf '%s\n' "$output"; return 1; }
		[[ $output == *"net.sh: cannot apply 'ip "* ]]
		[ "${lines[-1]}" = "net.sh: warning: '$1' failed: what it had added is removed" ]
		same_as "$before"
		at=$((at + 1))
	done
	# Past the last line the run went through: undo it.
	[ "$status" -eq 0 ]
	[ "$at" -gt 1 ]
	# shellcheck disable=SC2086 # UNDO's words
	run -0 net $undo
	same_as "$before"
}

# --- the guests of other hypervisors ------------------------------------------

# guests_setup: two more guests, with namespaces QG and LX.  The QEMU-style
# guest: dom0's tap tapq0 (made with ip tuntap, as QEMU's -netdev tap or
# libvirt makes it), held by taprelay as QEMU holds it, which carries its
# frames to a tap eth0 inside QG: QG's stack stands for the guest's kernel
# and its emulated NIC.  The LXC-style guest: the veth lxc0, whose other
# end is eth0 in LX, as lxc's veth network type makes it.  Neither is on a
# bridge: that is 'net.sh attach'.
guests_setup() {
	local ns
	local relay
	local n
	relay="$BATS_FILE_TMPDIR/taprelay"
	if ! [ -x "$relay" ]; then
		command -v cc >/dev/null || skip "needs a C compiler for taprelay"
		cc -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
			-Wmissing-prototypes -Wformat=2 -O2 -o "$relay" "$BATS_TEST_DIRNAME/taprelay.c"
	fi
	[ -e /dev/net/tun ] || skip "needs /dev/net/tun"
	QG="$NS_PREFIX$BATS_TEST_NUMBER-$$-qemu"
	LX="$NS_PREFIX$BATS_TEST_NUMBER-$$-lxc"
	export QG LX
	for ns in "$QG" "$LX"; do
		ip netns add "$ns"
		ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 &&
			echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
		ip -n "$ns" link set lo up
	done
	ip -n "$D0" tuntap add dev tapq0 mode tap
	ip netns exec "$D0" "$relay" tapq0 "/run/netns/$QG" eth0 >"$BATS_TEST_TMPDIR/relay.out" &
	RELAY_PID=$!
	for ((n = 0; n < 50; n++)); do
		[ -s "$BATS_TEST_TMPDIR/relay.out" ] && break
		sleep 0.1
	done
	[ "$(cat "$BATS_TEST_TMPDIR/relay.out")" = ready ]
	ip -n "$D0" link add lxc0 type veth peer name eth0 netns "$LX"
	ip -n "$QG" link set eth0 up
	ip -n "$LX" link set eth0 up
}

# guest_ip NS CIDR [GATEWAY]: NS's eth0 has CIDR only, and its default
# route goes via GATEWAY.
guest_ip() {
	ip -n "$1" addr flush dev eth0
	ip -n "$1" addr add "$2" dev eth0
	[ -z "${3:-}" ] || ip -n "$1" route replace default via "$3"
}

# all_reach "NS..." "ADDR...": each namespace pings each address (its own
# too, which costs nothing); prints what it tries.
all_reach() {
	local ns
	local a
	for ns in $1; do
		for a in $2; do
			printf 'ping from %s to %s\n' "${ns##*-}" "$a"
			ping_ok "$ns" "$a"
		done
	done
}

# vif_route_add GUEST_IP / vif_route_del GUEST_IP: what Xen's vif-route
# does for vif1.0 (xl: vif = ['ip=GUEST_IP,script=vif-route,gatewaydev=up0']):
# dom0's address on the vif as a /32, proxy ARP on it, and the host route.
vif_route_add() {
	ip -n "$D0" addr add 198.51.100.1/32 dev vif1.0
	ip netns exec "$D0" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/vif1.0/proxy_arp'
	ip -n "$D0" link set vif1.0 up
	ip -n "$D0" route add "$1" dev vif1.0 src 198.51.100.1 metric 2
}

vif_route_del() {
	ip -n "$D0" route del "$1" dev vif1.0 src 198.51.100.1 metric 2
	ip -n "$D0" addr del 198.51.100.1/32 dev vif1.0
	ip netns exec "$D0" sh -c 'echo 0 >/proc/sys/net/ipv4/conf/vif1.0/proxy_arp'
}
