# shellcheck shell=bash
# Helpers for the net.sh tests.  Each test builds three network namespaces
# of its own and removes them in teardown; nothing here touches the
# namespace the tests are started in, and every address used lives inside
# the test's namespaces only.
#
#   upstream  eth0 198.51.100.2/24; no route to the LAN at all
#      |
#   dom0      up0 198.51.100.1/24, default via upstream: net.sh runs here
#      |      and makes xenbr0 with 192.168.1.101/24; vif1.0 is the guest's
#      |      vif, put on the bridge by the test as Xen's vif-bridge would
#   guest     eth0 192.168.1.102/24, default via 192.168.1.101
#
# Upstream cannot answer the LAN, so only dom0's MASQUERADE rule carries
# the guest's traffic there.

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
	for ns in "${D0:-}" "${GU:-}" "${UP:-}"; do
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
		ip -n "$D0" rule show
		# Both backends: whichever one net.sh drives, a rule it leaves
		# shows.
		for save in iptables-nft-save iptables-legacy-save; do
			command -v "$save" >/dev/null || continue
			printf '== %s\n' "$save"
			ip netns exec "$D0" "$save" 2>&1 || true
		done
		# Writing ip_forward sets every interface's forwarding too.
		# shellcheck disable=SC2016 # expanded by sh inside dom0
		ip netns exec "$D0" sh -c 'for f in /proc/sys/net/ipv4/ip_forward \
			/proc/sys/net/ipv4/conf/*/forwarding; do echo "$f=$(cat "$f")"; done'
	} >"$raw"
	# Left out: iptables-save's comments and counters; bridge timers; the
	# qdisc (the kernel gives a device one the first time it goes up and
	# keeps it); carrier and operational state, which the kernel updates
	# up to a second after a port comes or goes.  The UP flag, which is
	# what net.sh sets, stays in.
	sed -E -e '/^#/d' -e 's/ \[[0-9]+:[0-9]+\]$//' \
		-e 's/ [a-z_]+_timer +[0-9.]+//g' -e 's/ qdisc [a-z_]+//' \
		-e 's/ state [A-Z]+\b//' -e 's/NO-CARRIER,//' -e 's/,LOWER_UP//' \
		-e 's/,M-DOWN//' "$raw" >"$1"
	rm -f "$raw"
}

# same_as FILE: dom0 is as snapshot FILE saw it.
same_as() {
	snapshot "$BATS_TEST_TMPDIR/now"
	diff -u "$1" "$BATS_TEST_TMPDIR/now"
}

# ping_ok NS ADDR: NS reaches ADDR (three tries: a reply to any will do).
ping_ok() {
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
