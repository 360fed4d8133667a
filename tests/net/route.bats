#!/usr/bin/env bats
# net.sh MODE=route in network namespaces: see helpers.bash for the
# picture.  No bridge: dom0 keeps 198.51.100.1 on up0 and routes each guest
# of upstream's LAN (198.51.100.0/24) through a /32 host route to its link,
# answering ARP for it on the LAN (proxy ARP), as Xen's vif-route does.
# The Xen guest's vif is set up by the test as vif-route would; the other
# hypervisors' guests by 'net.sh attach IFACE ADDR'.

bats_require_minimum_version 1.5.0

load helpers

if command -v ps >/dev/null || command -v pkill >/dev/null; then
	BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90}
fi

setup() {
	net_setup
	route_conf
	guest_ip "$GU" 198.51.100.102/24 198.51.100.1
}

# route_conf [KEY=value...]: the config of route mode, with those lines.
route_conf() {
	write_conf MODE=route LAN=198.51.100.0/24 DOM0_ADDR=198.51.100.1 \
		GUEST_ADDR=198.51.100.102,198.51.100.103,198.51.100.104 "$@"
}

teardown() {
	net_teardown
}

teardown_file() {
	net_sweep
}

@test "route: up sets forwarding, proxy ARP and the rules; a second up changes nothing; down restores" {
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	[ "$output" = "net.sh: enabled IPv4 forwarding
net.sh: set net.ipv4.conf.up0.proxy_arp=1
net.sh: added rule '-t filter -A FORWARD -i up0 -d 198.51.100.102/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -o up0 -s 198.51.100.102/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -i up0 -d 198.51.100.103/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -o up0 -s 198.51.100.103/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -i up0 -d 198.51.100.104/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -o up0 -s 198.51.100.104/32 -j ACCEPT'
net.sh: added rule '-t filter -A FORWARD -i up0 -j DROP'
net.sh: added rule '-t filter -A FORWARD -o up0 -j DROP'" ]
	# No bridge, and dom0's address stays where it was.
	! ip -n "$D0" link show xenbr0 2>/dev/null
	ip -n "$D0" -4 -o addr show dev up0 | grep -q ' 198.51.100.1/24 '
	snapshot "$BATS_TEST_TMPDIR/first"
	run -0 net up
	[ "$output" = "net.sh: nothing to do: forwarding for 3 guest address(es) through 'up0' already in place" ]
	same_as "$BATS_TEST_TMPDIR/first"
	run -0 net status
	[[ $output == *"ok       proxy_arp   net.ipv4.conf.up0.proxy_arp=1 (added by net.sh up)"* ]]
	[[ $output == *"ok       uplink      up0 (auto) with 198.51.100.1/24"* ]]
	[[ $output != *missing* ]]
	run -0 net check
	[ "$output" = "net.sh: ok: forwarding and proxy ARP on 'up0' (198.51.100.1/24), rules for 3 guest address(es)" ]
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "guests: a vif-route Xen guest, a QEMU tap and an LXC veth, each routed, reach each other and the LAN, which sees them" {
	guests_setup
	guest_ip "$QG" 198.51.100.103/24 198.51.100.1
	guest_ip "$LX" 198.51.100.104/24 198.51.100.1
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	vif_route_add 198.51.100.102
	run -0 net attach tapq0 198.51.100.103
	[ "$output" = "net.sh: set 'tapq0' up
net.sh: routed '198.51.100.103' to 'tapq0'
net.sh: set net.ipv4.conf.tapq0.proxy_arp=1" ]
	run -0 net attach lxc0 198.51.100.104
	run -0 net attach lxc0 198.51.100.104
	[ "$output" = "net.sh: nothing to do: '198.51.100.104' is already routed to 'lxc0'" ]
	[ "$(ip -n "$D0" -4 route show 198.51.100.104)" = "198.51.100.104 dev lxc0 scope link src 198.51.100.1 " ]
	all_reach "$GU $QG $LX $D0" "198.51.100.102 198.51.100.103 198.51.100.104 198.51.100.1 198.51.100.2 203.0.113.1"
	# The LAN reaches each guest at its own address, through dom0's proxy ARP.
	all_reach "$UP" "198.51.100.102 198.51.100.103 198.51.100.104"
	ip -n "$UP" neigh show 198.51.100.103 | grep -q "lladdr $(ip -n "$D0" -o link show up0 | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)"
	run -0 net status
	[[ $output == *"info     attached    tapq0 for 198.51.100.103, lxc0 for 198.51.100.104"* ]]
	# down refuses while vif-route's route to a guest, which no record made, is there.
	run -2 net down
	[ "$output" = "net.sh: guest address '198.51.100.102' is still routed through 'vif1.0': stop or detach the guests first" ]
	vif_route_del 198.51.100.102
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "route: only the declared addresses cross dom0" {
	local declared
	local undeclared
	run -0 net up
	vif_route_add 198.51.100.102
	# The guest takes an address it was not given, and dom0 even routes it.
	ip -n "$GU" addr add 198.51.100.110/24 dev eth0
	ip -n "$D0" route add 198.51.100.110 dev vif1.0 src 198.51.100.1
	# Upstream counts what arrives from each.
	ip netns exec "$UP" iptables -w -A INPUT -s 198.51.100.102 -j ACCEPT
	ip netns exec "$UP" iptables -w -A INPUT -s 198.51.100.110 -j ACCEPT
	ip netns exec "$GU" ping -q -c 2 -W 1 -I 198.51.100.102 198.51.100.2 >/dev/null
	! ip netns exec "$GU" ping -q -c 2 -W 1 -I 198.51.100.110 198.51.100.2 >/dev/null
	declared=$(ip netns exec "$UP" iptables -w -nvxL INPUT | awk '$8 == "198.51.100.102" { print $1 }')
	undeclared=$(ip netns exec "$UP" iptables -w -nvxL INPUT | awk '$8 == "198.51.100.110" { print $1 }')
	echo "upstream got $declared packet(s) from the declared address, $undeclared from the other"
	[ "$declared" -ge 2 ]
	[ "$undeclared" -eq 0 ]
	ping_fails "$UP" 198.51.100.110
	ip -n "$D0" route del 198.51.100.110 dev vif1.0
	vif_route_del 198.51.100.102
	run -0 net down
}

@test "route: attach and detach route a guest's link and give it back exactly" {
	guests_setup
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/up"
	run -0 net attach tapq0 198.51.100.103
	grep -qx '@tapq0 route 198.51.100.103 dev tapq0 scope link src 198.51.100.1' "$HETMIG_STATE_DIR/net/net.state"
	grep -qx '@tapq0 sysctl conf/tapq0/proxy_arp 0' "$HETMIG_STATE_DIR/net/net.state"
	run -0 net detach tapq0
	same_as "$BATS_TEST_TMPDIR/up"
	run -2 net attach tapq0
	[ "$output" = "net.sh: MODE=route: 'attach' needs the guest's address (one of GUEST_ADDR) or a VLAN" ]
	run -2 net attach tapq0 198.51.100.150
	[ "$output" = "net.sh: '198.51.100.150' is not in GUEST_ADDR: route mode routes the declared addresses only" ]
	vif_route_add 198.51.100.102
	run -2 net attach tapq0 198.51.100.102
	[ "$output" = "net.sh: '198.51.100.102' is already routed: '198.51.100.102 dev vif1.0 scope link src 198.51.100.1 metric 2'" ]
	vif_route_del 198.51.100.102
	same_as "$BATS_TEST_TMPDIR/up"
	run -0 net down
}

@test "interrupted: route mode's up and attach, killed or stopped at every change, are undone" {
	guests_setup
	# One address: two ACCEPTs and the two DROPs.
	route_conf GUEST_ADDR=198.51.100.103
	snapshot "$BATS_TEST_TMPDIR/before"
	interrupt_every_step "$BATS_TEST_TMPDIR/before" down up
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/up"
	interrupt_every_step "$BATS_TEST_TMPDIR/up" "detach tapq0" attach tapq0 198.51.100.103
	fail_every_batch_line "$BATS_TEST_TMPDIR/up" "detach tapq0" attach tapq0 198.51.100.103
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "route: refuses, in one line and changing nothing, what it cannot route" {
	snapshot "$BATS_TEST_TMPDIR/before"
	write_conf MODE=route LAN=198.51.100.0/24 DOM0_ADDR=198.51.100.1
	sed -i '/^GUEST_ADDR=/d' "$CONF"
	run -2 net up
	[ "$output" = "net.sh: $CONF: MODE=route needs GUEST_ADDR, the guests' addresses: it routes those only" ]
	route_conf DOM0_ADDR=198.51.100.9
	run -2 net up
	[ "$output" = "net.sh: DOM0_ADDR '198.51.100.9/24' is not on uplink 'up0': route mode routes the guests through it" ]
	route_conf GUEST_ADDR=198.51.100.1
	run -2 net up
	[[ $output == "net.sh: $CONF:"*": GUEST_ADDR is DOM0_ADDR" ]]
	route_conf GATEWAY=198.51.100.2
	run -2 net up
	[[ $output == "net.sh: $CONF:"*": GATEWAY is for MODE=bridge (in MODE=route the guests' gateway is DOM0_ADDR)" ]]
	ip -n "$D0" addr add 198.51.100.103/32 dev lo
	route_conf
	run -2 net up
	[ "$output" = "net.sh: guest address '198.51.100.103' is dom0's own, as '198.51.100.103/32' on 'lo'" ]
	ip -n "$D0" addr del 198.51.100.103/32 dev lo
	same_as "$BATS_TEST_TMPDIR/before"
	# A new guest address after up: its ACCEPT would come after the DROPs.
	run -0 net up
	route_conf GUEST_ADDR=198.51.100.102,198.51.100.105
	run -2 net up
	[ "$output" = "net.sh: the route rules through 'up0' lack '-t filter -A FORWARD -i up0 -d 198.51.100.105/32 -j ACCEPT': run 'net.sh down', then 'net.sh up'" ]
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "guest-config: route mode's vif line names vif-route and the uplink" {
	run -0 net guest-config
	[[ $output == *"vif = ['ip=198.51.100.102,script=vif-route,gatewaydev=up0']"* ]]
	[[ $output == *"# a QEMU/KVM tap or an LXC veth instead: net.sh attach IFACE 198.51.100.102"* ]]
	[[ $output == *"ip route add default via 198.51.100.1"* ]]
	run -0 net guest-config 198.51.100.104
	[[ $output == *"vif = ['ip=198.51.100.104,script=vif-route,gatewaydev=up0']"* ]]
	run -2 net guest-config 198.51.100.150
	[ "$output" = "net.sh: '198.51.100.150' is not in GUEST_ADDR: route mode routes the declared addresses only" ]
}
