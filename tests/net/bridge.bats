#!/usr/bin/env bats
# net.sh MODE=bridge in network namespaces: see helpers.bash for the
# picture.  Here dom0's uplink up0 joins xenbr0 and dom0's addresses and
# routes move to the bridge; the guests sit on upstream's LAN
# (198.51.100.0/24) with addresses of their own, and upstream, the LAN's
# router, reaches them directly.

bats_require_minimum_version 1.5.0

load helpers

if command -v ps >/dev/null || command -v pkill >/dev/null; then
	BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90}
fi

setup() {
	net_setup
	# The uplink has more than one address and route, in more than one
	# table, as a dom0 may: all of it must move and come back.
	ip -n "$D0" addr add 198.51.100.7/24 dev up0
	ip -n "$D0" route add 10.9.0.0/16 via 198.51.100.2 proto static metric 50
	ip -n "$D0" route add default via 198.51.100.2 table 100
	ip -n "$D0" rule add from 198.51.100.7 table 100 priority 100
	bridge_conf
	guest_ip "$GU" 198.51.100.102/24 198.51.100.2
}

# bridge_conf [KEY=value...]: the config of bridge mode, with those lines.
bridge_conf() {
	write_conf MODE=bridge LAN=198.51.100.0/24 DOM0_ADDR=198.51.100.1 UPLINK=up0 \
		GUEST_ADDR=198.51.100.102 "$@"
}

teardown() {
	net_teardown
}

teardown_file() {
	net_sweep
}

@test "bridge: up moves dom0's addresses and routes to the bridge, down gives them back byte-identical" {
	local dumps
	dumps="$BATS_TEST_TMPDIR/dumps"
	snapshot "$BATS_TEST_TMPDIR/before"
	# What the issue asks to see come back, as ip prints it.
	ip -n "$D0" -d addr show dev up0 >"$dumps.addr.before"
	ip -n "$D0" -d route show table all >"$dumps.route.before"
	run -0 net up
	[[ $output == *"net.sh: put uplink 'up0' on 'xenbr0'"* ]]
	[[ $output == *"net.sh: moved '198.51.100.1/24' from 'up0' to 'xenbr0'"* ]]
	[[ $output == *"net.sh: moved route 'default via 198.51.100.2 dev up0' to 'xenbr0'"* ]]
	[ "$(ip -n "$D0" -4 -o addr show dev up0 | wc -l)" -eq 0 ]
	ip -n "$D0" -4 -o addr show dev xenbr0 | grep -q ' 198.51.100.1/24 scope global xenbr0'
	ip -n "$D0" -4 -o addr show dev xenbr0 | grep -q ' 198.51.100.7/24 scope global secondary xenbr0'
	[ "$(ip -n "$D0" -4 route show default)" = "default via 198.51.100.2 dev xenbr0 " ]
	[ "$(ip -n "$D0" -4 route show table 100)" = "default via 198.51.100.2 dev xenbr0 " ]
	ip -n "$D0" -4 route show | grep -qx '10.9.0.0/16 via 198.51.100.2 dev xenbr0 proto static metric 50 '
	# The bridge has the uplink's Ethernet address: the LAN's ARP caches
	# for dom0 stay right.
	[ "$(ip -n "$D0" -o link show dev xenbr0 | grep -o 'link/ether [^ ]*')" = \
		"$(ip -n "$D0" -o link show dev up0 | grep -o 'link/ether [^ ]*')" ]
	# Spanning tree is off unless STP=on.
	ip -n "$D0" -d link show dev xenbr0 | grep -q ' stp_state 0 '
	ping_ok "$D0" 198.51.100.2
	ping_ok "$D0" 203.0.113.1
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
	ip -n "$D0" -d addr show dev up0 | diff -u "$dumps.addr.before" -
	ip -n "$D0" -d route show table all | diff -u "$dumps.route.before" -
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bridge: a second up changes nothing" {
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/first"
	cp "$HETMIG_STATE_DIR/net/net.state" "$BATS_TEST_TMPDIR/first.state"
	run -0 net up
	[ "$output" = "net.sh: nothing to do: 'up0' and its addresses on 'xenbr0' already in place" ]
	same_as "$BATS_TEST_TMPDIR/first"
	diff -u "$BATS_TEST_TMPDIR/first.state" "$HETMIG_STATE_DIR/net/net.state"
	run -0 net status
	[[ $output == *"ok       uplink      up0 on xenbr0 (added by net.sh up)"* ]]
	[[ $output == *"ok       address     198.51.100.1/24 on xenbr0 (moved from up0)"* ]]
	[[ $output == *"ok       route       default via 198.51.100.2 dev xenbr0 (moved from up0)"* ]]
	[[ $output == *"info     mode        bridge"* ]]
	[[ $output != *missing* ]]
	run -0 net check
	[ "$output" = "net.sh: ok: 'xenbr0' up with 198.51.100.1/24 and uplink 'up0' on it" ]
	run -0 net down
	run -1 net status
}

@test "guests: a Xen vif, a QEMU tap and an LXC veth on the bridge reach each other, upstream and beyond, at their own addresses" {
	guests_setup
	guest_ip "$QG" 198.51.100.103/24 198.51.100.2
	guest_ip "$LX" 198.51.100.104/24 198.51.100.2
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	attach_vif
	run -0 net attach tapq0
	run -0 net attach lxc0
	all_reach "$GU $QG $LX $D0" "198.51.100.102 198.51.100.103 198.51.100.104 198.51.100.1 198.51.100.2 203.0.113.1"
	# The LAN sees each guest at its own address: no NAT, no route via dom0.
	all_reach "$UP" "198.51.100.102 198.51.100.103 198.51.100.104"
	[ "$(ip netns exec "$D0" iptables-save | grep -c -- '^-A')" -eq 0 ]
	detach_vif
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bridge: STP=on makes the bridge with spanning tree" {
	bridge_conf STP=on
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	ip -n "$D0" -d link show dev xenbr0 | grep -q ' stp_state 1 '
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bridge: BRIDGE_TOOL=brctl makes the bridge, ip moves the rest, down restores" {
	command -v brctl >/dev/null || skip "needs bridge-utils"
	bridge_conf BRIDGE_TOOL=brctl
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	grep -qx 'bridge xenbr0 brctl' "$HETMIG_STATE_DIR/net/net.state"
	ping_ok "$D0" 203.0.113.1
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bridge: a failure at any line of the ip -batch gives the uplink back" {
	snapshot "$BATS_TEST_TMPDIR/before"
	fail_every_batch_line "$BATS_TEST_TMPDIR/before" down up
	ping_ok "$D0" 203.0.113.1
}

@test "interrupted: bridge mode, killed or stopped at every change, down restores dom0" {
	snapshot "$BATS_TEST_TMPDIR/before"
	interrupt_every_step "$BATS_TEST_TMPDIR/before" down up
	ping_ok "$D0" 203.0.113.1
}

@test "bridge: refuses, in one line and changing nothing, what cannot move" {
	snapshot "$BATS_TEST_TMPDIR/before"
	bridge_conf UPLINK=auto
	run -2 net up
	[[ $output == "net.sh: $CONF:"*": MODE=bridge needs UPLINK named, not 'auto' (once up, the default route is the bridge's)" ]]
	bridge_conf DOM0_ADDR=198.51.100.9
	run -2 net up
	[ "$output" = "net.sh: DOM0_ADDR '198.51.100.9/24' is not on uplink 'up0': bridge mode moves the uplink's address to 'xenbr0'" ]
	bridge_conf UPLINK=vif1.0
	run -2 net up
	[ "$output" = "net.sh: address '198.51.100.1' is already in use as '198.51.100.1/24' on 'up0'" ]
	bridge_conf GATEWAY=198.51.100.1
	run -2 net up
	[[ $output == "net.sh: $CONF:"*": GATEWAY is DOM0_ADDR (in MODE=bridge dom0 does not route the guests)" ]]
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
	same_as "$BATS_TEST_TMPDIR/before"

	bridge_conf
	# An address a DHCP client manages.
	ip -n "$D0" addr add 198.51.100.8/24 dev up0 valid_lft 300 preferred_lft 300
	run -2 net up
	[ "$output" = "net.sh: uplink 'up0' has the address '198.51.100.8/24' with a lifetime (DHCP?): bridge mode moves static addresses only; configure it on the bridge instead" ]
	ip -n "$D0" addr del 198.51.100.8/24 dev up0
	ip -n "$D0" addr add 198.51.100.8/24 dev up0 label up0:1
	run -2 net up
	[ "$output" = "net.sh: uplink 'up0' has the address '198.51.100.8/24' labelled 'up0:1': bridge mode cannot move it" ]
	ip -n "$D0" addr del 198.51.100.8/24 dev up0
	ip -n "$D0" link add br-other type bridge
	ip -n "$D0" link set vif1.0 master br-other
	bridge_conf UPLINK=br-other
	run -2 net up
	[ "$output" = "net.sh: uplink 'br-other' is a bridge: name the interface under it" ]
	ip -n "$D0" link set up0 master br-other
	bridge_conf
	run -2 net up
	[ "$output" = "net.sh: uplink 'up0' is a port of 'br-other'" ]
	ip -n "$D0" link set up0 nomaster
	ip -n "$D0" link set vif1.0 nomaster
	ip -n "$D0" link del br-other
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bridge: up with another MODE than the recorded up refuses" {
	run -0 net up
	write_conf MODE=nat
	run -2 net up
	[ "$output" = "net.sh: 'up' was run with MODE=bridge (see '$HETMIG_STATE_DIR/net/net.state'): run 'net.sh down' before 'up' with MODE=nat" ]
	run -0 net down
}

@test "guest-config: bridge mode's guest uses the LAN's gateway" {
	run -0 net guest-config
	[[ $output == *"vif = ['bridge=xenbr0,script=vif-bridge']"* ]]
	[[ $output == *"ip addr add 198.51.100.102/24 dev eth0"* ]]
	[[ $output == *"ip route add default via 198.51.100.2"* ]]
	bridge_conf GATEWAY=198.51.100.254
	run -0 net guest-config 198.51.100.150
	[[ $output == *"gateway 198.51.100.254"* ]]
	[[ $output == *"address 198.51.100.150/24"* ]]
}
