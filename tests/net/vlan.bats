#!/usr/bin/env bats
# net.sh with VLANS=10,20 in network namespaces: see helpers.bash for the
# picture.  MODE=bridge here (a VLAN bridge is a bridge onto the LAN): up
# makes up0.10 and up0.20 (802.1q sub-interfaces of the uplink) and the
# bridges xenbr0.10 and xenbr0.20, each with its sub-interface as a port.
# Upstream, the LAN's switch and router, has eth0.10 (10.10.0.2/24) and
# eth0.20 (10.20.0.2/24).  The guests' links are plain: the tags are added
# and taken off in dom0.  These tests need the kernel's 802.1q support
# (CONFIG_VLAN_8021Q); where it is missing they are skipped, and say so.

bats_require_minimum_version 1.5.0

load helpers

if command -v ps >/dev/null || command -v pkill >/dev/null; then
	BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90}
fi

setup_file() {
	local ns
	ns="${NS_PREFIX}vlan-probe-$$"
	VLAN_OK=0
	if ip netns add "$ns" 2>/dev/null; then
		if ip -n "$ns" link add v0 type veth peer name v1 &&
			ip -n "$ns" link add link v0 name v0.10 type vlan id 10 2>/dev/null; then
			VLAN_OK=1
		fi
		ip netns del "$ns"
	fi
	export VLAN_OK
}

setup() {
	[ "${VLAN_OK:-0}" -eq 1 ] || skip "the kernel has no 802.1q VLANs (CONFIG_VLAN_8021Q)"
	net_setup
	vlan_conf
	guest_ip "$GU" 198.51.100.102/24 198.51.100.2
	ip -n "$UP" link add link eth0 name eth0.10 type vlan id 10
	ip -n "$UP" link add link eth0 name eth0.20 type vlan id 20
	ip -n "$UP" addr add 10.10.0.2/24 dev eth0.10
	ip -n "$UP" addr add 10.20.0.2/24 dev eth0.20
	ip -n "$UP" link set eth0.10 up
	ip -n "$UP" link set eth0.20 up
}

# vlan_conf [KEY=value...]: bridge mode with VLANs 10 and 20, and those lines.
vlan_conf() {
	write_conf MODE=bridge LAN=198.51.100.0/24 DOM0_ADDR=198.51.100.1 UPLINK=up0 \
		GUEST_ADDR=198.51.100.102 VLANS=10,20 "$@"
}

teardown() {
	net_teardown
}

teardown_file() {
	net_sweep
}

@test "vlan: up makes one 802.1q interface and one bridge per VLAN, a second up nothing, down restores" {
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	[[ $output == *"net.sh: created VLAN interface 'up0.10'"* ]]
	[[ $output == *"net.sh: created bridge 'xenbr0.20'"* ]]
	[[ $output == *"net.sh: put 'up0.20' on 'xenbr0.20'"* ]]
	ip -n "$D0" -d link show up0.10 | grep -q 'vlan protocol 802.1Q id 10 '
	ip -n "$D0" -d link show up0.20 | grep -q 'vlan protocol 802.1Q id 20 '
	[ "$(ip -n "$D0" -o link show master xenbr0.10 | cut -d' ' -f2)" = "up0.10@up0:" ]
	[ "$(ip -n "$D0" -o link show master xenbr0.20 | cut -d' ' -f2)" = "up0.20@up0:" ]
	# dom0 has no address on the VLANs: it does not route them.
	[ -z "$(ip -n "$D0" -4 -o addr show dev xenbr0.10)" ]
	snapshot "$BATS_TEST_TMPDIR/first"
	run -0 net up
	[ "$output" = "net.sh: nothing to do: 'up0' and its addresses on 'xenbr0', VLANs 10,20 already in place" ]
	same_as "$BATS_TEST_TMPDIR/first"
	run -0 net status
	[[ $output == *"ok       vlan        up0.10 (VLAN 10 of up0) up on xenbr0.10 (added by net.sh up)"* ]]
	[[ $output == *"ok       bridge      xenbr0.20 is up (added by net.sh up)"* ]]
	[[ $output != *missing* ]]
	run -0 net check
	[ "$output" = "net.sh: ok: 'xenbr0' up with 198.51.100.1/24 and uplink 'up0' on it, VLANs 10,20" ]
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "guests: on their VLAN's bridge, untagged, they reach their VLAN upstream and nothing of the other" {
	guests_setup
	# Each guest also has an address in 10.30.0.0/24, as the others do:
	# only the VLANs keep them apart.
	guest_ip "$LX" 10.10.0.5/24
	ip -n "$LX" addr add 10.30.0.10/24 dev eth0
	guest_ip "$QG" 10.20.0.5/24
	ip -n "$QG" addr add 10.30.0.20/24 dev eth0
	ip -n "$GU" addr add 10.30.0.30/24 dev eth0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	attach_vif
	run -0 net attach lxc0 10
	[ "$output" = "net.sh: attached 'lxc0' to 'xenbr0.10'"$'\n'"net.sh: set 'lxc0' up" ]
	run -0 net attach tapq0 20
	# The guests' own links carry no VLAN: dom0 tags and untags.
	! ip -n "$LX" -d link show eth0 | grep -q vlan
	ping_ok "$LX" 10.10.0.2
	ping_ok "$QG" 10.20.0.2
	ping_ok "$GU" 198.51.100.2
	ping_fails "$LX" 10.30.0.20
	ping_fails "$QG" 10.30.0.10
	ping_fails "$GU" 10.30.0.10
	ping_fails "$GU" 10.30.0.20
	run -0 net status
	[[ $output == *"info     ports       xenbr0.10: lxc0 up0.10"* ]]
	[[ $output == *"info     attached    lxc0 on xenbr0.10, tapq0 on xenbr0.20"* ]]
	run -0 net detach tapq0
	detach_vif
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "vlan: refuses what is in the way, in one line, changing nothing" {
	ip -n "$D0" link add up0.10 type veth peer name other0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: 'up0.10' exists and is not VLAN 10 of 'up0'" ]
	ip -n "$D0" link del up0.10
	ip -n "$D0" link add xenbr0.20 type veth peer name other0
	run -2 net up
	[ "$output" = "net.sh: 'xenbr0.20' exists and is not a bridge" ]
	ip -n "$D0" link del xenbr0.20
	ip -n "$D0" link add up0.10 link up0 type vlan id 11
	run -2 net up
	[ "$output" = "net.sh: 'up0.10' exists and is not VLAN 10 of 'up0'" ]
	ip -n "$D0" link del up0.10
	ip -n "$D0" link add longuplink0 type veth peer name other0
	vlan_conf UPLINK=longuplink0 VLANS=4094
	run -2 net up
	[ "$output" = "net.sh: the VLAN interface 'longuplink0.4094' would be longer than 15 characters: rename the uplink" ]
	ip -n "$D0" link del longuplink0
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "interrupted: VLANs' up and attach, killed or stopped at every change, are undone" {
	guests_setup
	snapshot "$BATS_TEST_TMPDIR/before"
	interrupt_every_step "$BATS_TEST_TMPDIR/before" down up
	fail_every_batch_line "$BATS_TEST_TMPDIR/before" down up
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/up"
	interrupt_every_step "$BATS_TEST_TMPDIR/up" "detach lxc0" attach lxc0 20
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "vlan: in NAT mode too, beside the NAT bridge" {
	write_conf VLANS=10
	guest_ip "$GU" 192.168.1.102/24 192.168.1.101
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	ip -n "$D0" -d link show up0.10 | grep -q 'vlan protocol 802.1Q id 10 '
	attach_vif
	ping_ok "$GU" 203.0.113.1
	detach_vif
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}
