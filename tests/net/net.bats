#!/usr/bin/env bats
# net.sh in network namespaces: see helpers.bash for the picture.
#
# Loop variables here are never named i: bats 1.8's run -N sets a global i
# (bats_version_lt has no "local i"), which once made a loop of this file
# start over for ever.

bats_require_minimum_version 1.5.0

load helpers

# No test may hang: bats stops one that runs longer (teardown still runs).
# Its watchdog needs ps or pkill (procps); without them bats would fail
# every test, and each net.sh run is bounded by timeout anyway.
if command -v ps >/dev/null || command -v pkill >/dev/null; then
	BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-60}
fi

setup() {
	net_setup
}

teardown() {
	net_teardown
}

teardown_file() {
	net_sweep
}

@test "up: guest and dom0 ping each other over the bridge" {
	run -0 net up
	[[ $output == *"created bridge 'xenbr0'"* ]]
	attach_vif
	ping_ok "$GU" 192.168.1.101
	ping_ok "$D0" 192.168.1.102
}

@test "up: the guest reaches upstream through NAT only, and not before up or after down" {
	# Upstream has no way back to the LAN but dom0's NAT.
	run -2 ip -n "$UP" route get 192.168.1.102
	[[ $output == *"unreachable"* ]]
	# A FORWARD policy of DROP: only up's FORWARD rules let the guest out.
	ip netns exec "$D0" iptables -w -P FORWARD DROP
	ping_fails "$GU" 198.51.100.2

	run -0 net up
	attach_vif
	ping_ok "$GU" 198.51.100.2

	ip netns exec "$D0" iptables -w -t nat -D POSTROUTING -s 192.168.1.0/24 -o up0 -j MASQUERADE
	ping_fails "$GU" 198.51.100.2
	ip netns exec "$D0" iptables -w -t nat -A POSTROUTING -s 192.168.1.0/24 -o up0 -j MASQUERADE
	ping_ok "$GU" 198.51.100.2

	detach_vif
	run -0 net down
	ping_fails "$GU" 198.51.100.2
	[ "$(ip netns exec "$D0" iptables -w -S FORWARD | head -n 1)" = "-P FORWARD DROP" ]
}

@test "up: a second run changes nothing" {
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/first"
	cp "$HETMIG_STATE_DIR/net/net.state" "$BATS_TEST_TMPDIR/first.state"
	run -0 net up
	[ "$output" = "net.sh: nothing to do: 'xenbr0' and NAT out of 'up0' already in place" ]
	same_as "$BATS_TEST_TMPDIR/first"
	diff -u "$BATS_TEST_TMPDIR/first.state" "$HETMIG_STATE_DIR/net/net.state"
	[ "$(rules_in iptables-save MASQUERADE)" -eq 1 ]
	[ "$(rules_in iptables-save '^-A FORWARD')" -eq 2 ]
	[ "$(ip -n "$D0" -4 -o addr show dev xenbr0 | wc -l)" -eq 1 ]
}

@test "down: restores dom0 exactly, after traffic, and again after a second cycle" {
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	attach_vif
	ping_ok "$GU" 198.51.100.2
	detach_vif
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
	[ ! -e "$HETMIG_STATE_DIR/net/lock" ]
	run -0 net down
	[ "$output" = "net.sh: nothing to do: no record of 'up' in '$HETMIG_STATE_DIR/net'" ]
	run -0 net up
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "down: a bridge, rules and forwarding that existed before up stay as they were" {
	ip -n "$D0" link add xenbr0 type bridge
	ip -n "$D0" link add br-other type bridge
	ip -n "$D0" addr add 203.0.113.1/24 dev br-other
	ip -n "$D0" link set br-other up
	ip netns exec "$D0" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
	ip netns exec "$D0" iptables -w -t nat -A POSTROUTING -s 192.168.1.0/24 -o up0 -j MASQUERADE
	ip netns exec "$D0" iptables -w -A INPUT -i lo -j ACCEPT
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	[[ $output != *"created bridge"* ]]
	[[ $output != *"forwarding"* ]]
	[[ $output != *"MASQUERADE"* ]]
	[[ $output == *"added '192.168.1.101/24' to 'xenbr0'"* ]]
	[[ $output == *"set 'xenbr0' up"* ]]
	run -0 net status
	[[ $output == *"ok       bridge      xenbr0"$'\n'* ]]
	[[ $output == *"ok       address     192.168.1.101/24 on xenbr0 (added by net.sh up)"* ]]
	[[ $output == *"ok       forwarding  net.ipv4.ip_forward=1"$'\n'* ]]
	[[ $output == *"-j MASQUERADE"$'\n'* ]]
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "down: where iptables was never used, only empty nf_tables tables stay" {
	[ "$(backend_of iptables)" = nf_tables ] || skip "iptables is not iptables-nft"
	# A fresh dom0 namespace, without the tables net_setup made.
	net_teardown
	net_setup_bare
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	run -0 net down
	run -1 same_as "$BATS_TEST_TMPDIR/before"
	# What differs is the two tables, with no rule and accepting policies.
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/now" | sed -n 's/^> //p' >"$BATS_TEST_TMPDIR/left"
	printf '%s\n' '*filter' ':INPUT ACCEPT' ':FORWARD ACCEPT' ':OUTPUT ACCEPT' COMMIT \
		'*nat' ':PREROUTING ACCEPT' ':INPUT ACCEPT' ':OUTPUT ACCEPT' ':POSTROUTING ACCEPT' COMMIT \
		>"$BATS_TEST_TMPDIR/expect"
	diff -u "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/left"
	[ -z "$(diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/now" | grep '^<' || true)" ]
}

@test "down: refuses while a guest is on the bridge, and changes nothing" {
	run -0 net up
	attach_vif
	snapshot "$BATS_TEST_TMPDIR/up"
	run -2 net down
	[ "$output" = "net.sh: bridge 'xenbr0' still has ports (vif1.0): stop or detach the guests first" ]
	same_as "$BATS_TEST_TMPDIR/up"
	[ -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "down: works from the state file alone, whatever the config says now" {
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	write_conf 'BRIDGE=$(broken'
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "status and check: 1 before up, 0 after, 1 after down; iptables is the one the tests read" {
	run -1 net status
	[[ $output == *"missing  bridge      xenbr0"* ]]
	run -1 net check
	[[ $output == *"missing: bridge: xenbr0"* ]]
	run -0 net up
	run -0 net status
	[[ ${lines[0]} == "STATE    ITEM        DETAIL" ]]
	[[ $output == *"ok       bridge      xenbr0 (added by net.sh up)"* ]]
	[[ $output == *"ok       link        xenbr0 is up (added by net.sh up)"* ]]
	[[ $output == *"ok       forwarding  net.ipv4.ip_forward=1 (added by net.sh up)"* ]]
	[[ $output == *"ok       uplink      up0 (auto)"* ]]
	[[ $output == *"ok       postrouting -t nat -A POSTROUTING -s 192.168.1.0/24 -o up0 -j MASQUERADE (added by net.sh up)"* ]]
	[[ $output == *"info     ports       (none)"* ]]
	[[ $output != *missing* ]]
	# net.sh drives the backend whose dump the tests compare.
	[[ $output == *"info     iptables    $(backend_of iptables)"* ]]
	[ "$(backend_of iptables-save)" = "$(backend_of iptables)" ]
	[ "$(rules_in iptables-save MASQUERADE)" -eq 1 ]
	run -0 net check
	[ "$output" = "net.sh: ok: 'xenbr0' up with 192.168.1.101/24, forwarding on, NAT out of 'up0'" ]
	run -0 net down
	run -1 net status
	run -1 net check
}

@test "check GUEST_IP: pings the guest" {
	run -0 net up
	run -1 net check 192.168.1.102
	[[ $output == *"guest '192.168.1.102' does not answer ping"* ]]
	attach_vif
	run -0 net check 192.168.1.102
	[[ $output == *"guest '192.168.1.102' answers ping"* ]]
	run -2 net check 10.1.2.3
	[ "$output" = "net.sh: '10.1.2.3' is not inside LAN '192.168.1.0/24'" ]
	run -2 net check 192.168.1
	[ "$output" = "net.sh: '192.168.1' is not an IPv4 address" ]
}

@test "guest-config: address, route, resolver and the vif line" {
	run -0 net guest-config
	[[ $output == *"vif = ['bridge=xenbr0,script=vif-bridge']"* ]]
	[[ $output == *"ip addr add 192.168.1.102/24 dev eth0"* ]]
	[[ $output == *"ip route add default via 192.168.1.101"* ]]
	[[ $output == *"nameserver 198.51.100.53"* ]]
	run -0 net guest-config 192.168.1.150
	[[ $output == *"address 192.168.1.150/24"* ]]
	run -2 net guest-config 192.168.1.101
	[ "$output" = "net.sh: '192.168.1.101' is dom0's own address" ]
	[ ! -e "$HETMIG_STATE_DIR/net" ]
}

@test "brctl: BRIDGE_TOOL=brctl makes and removes the bridge" {
	command -v brctl >/dev/null || skip "needs bridge-utils"
	write_conf BRIDGE_TOOL=brctl
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	grep -qx 'bridge xenbr0 brctl' "$HETMIG_STATE_DIR/net/net.state"
	attach_vif
	ping_ok "$GU" 198.51.100.2
	detach_vif
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "iptables-legacy: net.sh drives the iptables on PATH, and down restores it" {
	local dir
	command -v iptables-legacy >/dev/null || skip "needs iptables-legacy"
	ip netns exec "$D0" iptables-legacy -w -t nat -S >/dev/null 2>&1 ||
		skip "the kernel has no legacy iptables"
	dir="$BATS_TEST_TMPDIR/legacy"
	mkdir -p "$dir"
	ln -s "$(command -v iptables-legacy)" "$dir/iptables"
	prime_tables iptables-legacy
	write_conf UPLINK=up0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net_path "$dir:$PATH" up
	run -0 net_path "$dir:$PATH" status
	[[ $output == *"info     iptables    legacy"* ]]
	[ "$(rules_in iptables-legacy-save MASQUERADE)" -eq 1 ]
	[ "$(rules_in iptables-nft-save MASQUERADE)" -eq 0 ]
	attach_vif
	ping_ok "$GU" 198.51.100.2
	detach_vif
	run -0 net_path "$dir:$PATH" down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: an unknown uplink" {
	write_conf UPLINK=nosuch0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: uplink 'nosuch0' not found" ]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bad: UPLINK=auto without a default route" {
	ip -n "$D0" route del default
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: UPLINK is 'auto' but there is no default route: set UPLINK in '$CONF'" ]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: a LAN that overlaps an existing route" {
	ip -n "$D0" route add 192.168.0.0/16 via 198.51.100.2
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "net.sh: LAN '192.168.1.0/24' overlaps the route '192.168.0.0/16 via 198.51.100.2 dev up0"* ]]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bad: a LAN that overlaps the uplink's own network" {
	write_conf LAN=198.51.100.0/25 DOM0_ADDR=198.51.100.101 GUEST_ADDR=198.51.100.102
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "net.sh: LAN '198.51.100.0/25' overlaps the route '198.51.100.0/24 dev up0 proto kernel"* ]]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: DOM0_ADDR already on another interface" {
	ip -n "$D0" addr add 192.168.1.101/32 dev up0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: address '192.168.1.101' is already in use as '192.168.1.101/32' on 'up0'" ]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: BRIDGE names an interface that is not a bridge" {
	write_conf BRIDGE=vif1.0
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: 'vif1.0' exists and is not a bridge" ]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: not root" {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	ip netns exec "$D0" setpriv --reuid=65534 --regid=65534 --clear-groups \
		test -r "$NET_SH" || skip "this tree is not readable by uid 65534"
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 as_nobody up
	[ "$output" = "net.sh: must be run as root" ]
	run -2 as_nobody down
	[ "$output" = "net.sh: must be run as root" ]
	run -2 as_nobody status
	[ "$output" = "net.sh: must be run as root" ]
	run -2 as_nobody check
	[ "$output" = "net.sh: must be run as root" ]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net" ]
}

@test "bad: iptables or iproute2 missing names the Debian package" {
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net_path "$(bin_without iptables)" up
	[ "$output" = "net.sh: 'iptables' not found: install the Debian package 'iptables'" ]
	run -2 net_path "$(bin_without iptables)" down
	[ "$output" = "net.sh: 'iptables' not found: install the Debian package 'iptables'" ]
	run -2 net_path "$(bin_without ip)" up
	[ "$output" = "net.sh: 'ip' not found: install the Debian package 'iproute2'" ]
	run -2 net_path "$(bin_without ip)" status
	[ "$output" = "net.sh: 'ip' not found: install the Debian package 'iproute2'" ]
	write_conf BRIDGE_TOOL=brctl
	run -2 net_path "$(bin_without brctl)" up
	[ "$output" = "net.sh: 'brctl' not found: install the Debian package 'bridge-utils'" ]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bad: a config that cannot be read" {
	run -2 ip netns exec "$D0" "$BASH" "$NET_SH" -c "$BATS_TEST_TMPDIR/nosuch.conf" up
	[ "$output" = "net.sh: cannot read config '$BATS_TEST_TMPDIR/nosuch.conf'" ]
}

# refuses LINE EXPECT [replace]: with LINE as line 8 of the config (after
# the default lines, or instead of that key's default line with replace),
# every command that reads the config exits 2 with one line on stderr that
# says EXPECT, and runs nothing that LINE may contain.
refuses() {
	local line
	local expect
	local cmd
	line=$1
	expect=$2
	if [ "${3:-}" = replace ]; then
		write_conf "$line"
	else
		write_conf
		printf '%s\n' "$line" >>"$CONF"
	fi
	for cmd in up status check guest-config; do
		run -2 net "$cmd"
		printf 'line <%s>, %s: %s\n' "$line" "$cmd" "$output"
		[ "${#lines[@]}" -eq 1 ]
		[[ $output == "net.sh: $CONF"*": $expect"* ]]
	done
}

@test "bad: a malformed config names file and line, and nothing in it runs" {
	local pwned
	pwned="$BATS_TEST_TMPDIR/pwned"
	snapshot "$BATS_TEST_TMPDIR/before"

	refuses 'garbage' "malformed line (want KEY=value): 'garbage'"
	refuses "touch $pwned" "malformed line (want KEY=value)"
	refuses 'FOO=1' "unknown key 'FOO'"
	refuses 'PATH=/nonexistent' "unknown key 'PATH'"
	refuses 'BRIDGE=br1' "'BRIDGE' already set on line 2"
	refuses 'UPLINK=a b' "malformed value for UPLINK"
	refuses "UPLINK=\$(touch $pwned)" "malformed value for UPLINK"
	refuses "UPLINK=\`touch $pwned\`" "malformed value for UPLINK"
	refuses "UPLINK=\"\$(touch $pwned)\"" "malformed value for UPLINK"
	refuses "UPLINK=\"\`touch $pwned\`\"" "malformed value for UPLINK"
	refuses "UPLINK=up0;touch $pwned" "malformed value for UPLINK"
	refuses "UPLINK=up0&&touch $pwned" "malformed value for UPLINK"
	refuses "UPLINK=up0|touch $pwned" "malformed value for UPLINK"
	refuses "UPLINK=up0>$pwned" "malformed value for UPLINK"
	refuses "UPLINK=up0\\" "malformed value for UPLINK"
	# Single quotes keep a value literal: it is read, then refused.
	refuses "UPLINK='\$(touch $pwned)'" "UPLINK '\$(touch $pwned)' is not an interface name or 'auto'" replace
	refuses "GUEST_DNS='1.1.1.1; touch $pwned'" "GUEST_DNS '1.1.1.1;' is not an IPv4 address" replace

	refuses 'LAN=192.168.1.0/33' "LAN '192.168.1.0/33' is not an IPv4 network with a /8 to /30 prefix" replace
	refuses 'LAN=192.168.1.0/31' "LAN '192.168.1.0/31' is not an IPv4 network" replace
	refuses 'LAN=192.168.1.0' "LAN '192.168.1.0' is not an IPv4 network" replace
	refuses 'LAN=192.168.1.0/' "LAN '192.168.1.0/' is not an IPv4 network" replace
	refuses 'LAN=192.168.1.0/24/8' "LAN '192.168.1.0/24/8' is not an IPv4 network" replace
	refuses 'LAN=192.168.1.0/024' "LAN '192.168.1.0/024' is not an IPv4 network" replace
	refuses 'LAN=256.168.1.0/24' "LAN '256.168.1.0/24' is not an IPv4 network" replace
	refuses 'LAN=192.168.1.7/24' "LAN '192.168.1.7/24' has host bits set (did you mean '192.168.1.0/24'?)" replace
	refuses 'DOM0_ADDR=10.0.0.1' "DOM0_ADDR '10.0.0.1' is not inside LAN '192.168.1.0/24'" replace
	refuses 'DOM0_ADDR=192.168.1.255' "DOM0_ADDR '192.168.1.255' is the network or broadcast address" replace
	refuses 'DOM0_ADDR=192.168.1.0' "DOM0_ADDR '192.168.1.0' is the network or broadcast address" replace
	refuses 'DOM0_ADDR=192.168.01.1' "DOM0_ADDR '192.168.01.1' is not an IPv4 address" replace
	refuses 'DOM0_ADDR=192.168.1' "DOM0_ADDR '192.168.1' is not an IPv4 address" replace
	refuses 'DOM0_ADDR=192.168.1.1.1' "DOM0_ADDR '192.168.1.1.1' is not an IPv4 address" replace
	refuses 'GUEST_ADDR=192.168.1.101' "GUEST_ADDR is DOM0_ADDR" replace
	refuses 'GUEST_ADDR=192.168.2.1' "GUEST_ADDR '192.168.2.1' is not inside LAN" replace
	refuses 'BRIDGE=this-name-is-too-long' "BRIDGE 'this-name-is-too-long' is not an interface name" replace
	refuses 'BRIDGE=a/b' "BRIDGE 'a/b' is not an interface name" replace
	refuses 'UPLINK=xenbr0' "UPLINK 'xenbr0' is the bridge itself" replace
	refuses 'GUEST_DNS=1.2.3.4,x' "GUEST_DNS 'x' is not an IPv4 address" replace
	refuses 'GUEST_IF=eth 0' "malformed value for GUEST_IF" replace
	refuses 'BRIDGE_TOOL=ifupdown' "BRIDGE_TOOL 'ifupdown' is not 'ip' or 'brctl'" replace
	refuses 'LAN=' "'LAN' is not set" replace
	refuses 'MODE=routed' "MODE 'routed' is not 'nat', 'bridge' or 'route'" replace
	refuses 'MODE=bridge' "MODE=bridge needs UPLINK named, not 'auto'" replace
	refuses 'STP=yes' "STP 'yes' is not 'off' or 'on'" replace
	refuses 'VLANS=0' "VLANS '0' is not a VLAN id (1 to 4094)" replace
	refuses 'VLANS=4095' "VLANS '4095' is not a VLAN id (1 to 4094)" replace
	refuses 'VLANS=10,010' "VLANS '010' is not a VLAN id (1 to 4094)" replace
	refuses 'VLANS=10,x' "VLANS 'x' is not a VLAN id (1 to 4094)" replace
	refuses 'VLANS=10,20,10' "VLANS has '10' twice" replace
	refuses 'BRIDGE=' "'BRIDGE' is not set" replace
	refuses 'GUEST_ADDR=192.168.1.102,192.168.1.102' "GUEST_ADDR has '192.168.1.102' twice" replace
	refuses 'GUEST_ADDR=192.168.1.102,10.0.0.1' "GUEST_ADDR '10.0.0.1' is not inside LAN" replace
	refuses 'GATEWAY=192.168.1.1' "GATEWAY is for MODE=bridge (in MODE=nat the guests' gateway is DOM0_ADDR)" replace

	write_conf BRIDGE=xenbr-long-00 VLANS=100
	run -2 net up
	[[ $output == "net.sh: $CONF:"*": BRIDGE 'xenbr-long-00' is too long for its VLAN bridge 'xenbr-long-00.100' (15 characters at most)" ]]

	[ ! -e "$pwned" ]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bad: a config with comments, quotes and blank lines is fine" {
	printf '%s\n' '# comment' '' '  BRIDGE="xenbr0"  # the bridge' "LAN='192.168.1.0/24'" \
		'DOM0_ADDR=192.168.1.101 # dom0' 'UPLINK=auto' 'GUEST_DNS="198.51.100.53, 198.51.100.54"' >"$CONF"
	run -0 net guest-config
	[[ $output == *"nameserver 198.51.100.53"$'\n'"nameserver 198.51.100.54"* ]]
	[[ $output == *"ip addr add 192.168.1.102/24 dev eth0"* ]]
}

@test "bad: a failure half-way through up removes what up had added" {
	local wrap
	wrap="$BATS_TEST_TMPDIR/wrap"
	mkdir -p "$wrap"
	printf '#!/bin/sh\ncase " $* " in *" -A FORWARD "*) echo "iptables: injected failure" >&2; exit 4 ;; esac\nexec %s "$@"\n' \
		"$(command -v iptables)" >"$wrap/iptables"
	chmod +x "$wrap/iptables"
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net_path "$wrap:$PATH" up
	[[ $output == *"net.sh: cannot add rule '-t filter -A FORWARD"*"': iptables: injected failure"* ]]
	[[ ${lines[-1]} == "net.sh: warning: 'up' failed: what it had added is removed" ]]
	same_as "$BATS_TEST_TMPDIR/before"
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
	[ ! -e "$HETMIG_STATE_DIR/net/lock" ]
}

@test "bad: a failure whose undoing fails too says so, and down finishes it" {
	local wrap
	wrap="$BATS_TEST_TMPDIR/wrap"
	mkdir -p "$wrap"
	printf '#!/bin/sh\ncase " $* " in *" -A FORWARD "*) echo "iptables: injected failure" >&2; exit 4 ;; esac\nexec %s "$@"\n' \
		"$(command -v iptables)" >"$wrap/iptables"
	printf '#!/bin/sh\ncase " $* " in *" link del "*) echo "ip: injected failure" >&2; exit 2 ;; esac\nexec %s "$@"\n' \
		"$(command -v ip)" >"$wrap/ip"
	chmod +x "$wrap/iptables" "$wrap/ip"
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net_path "$wrap:$PATH" up
	[[ $output == *"net.sh: warning: could not undo 'bridge xenbr0 ip'"* ]]
	[ "${lines[-1]}" = "net.sh: warning: 'up' failed: 1 change(s) could not be undone; they stay in '$HETMIG_STATE_DIR/net/net.state' for 'net.sh down'" ]
	[[ $output != *"what it had added is removed"* ]]
	grep -qx 'bridge xenbr0 ip' "$HETMIG_STATE_DIR/net/net.state"
	[ "$(grep -cv '^#' "$HETMIG_STATE_DIR/net/net.state")" -eq 1 ]
	run -0 net down
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "bad: a failure at any line of up's ip -batch removes what the lines before made" {
	snapshot "$BATS_TEST_TMPDIR/before"
	fail_every_batch_line "$BATS_TEST_TMPDIR/before" down up
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ]
}

@test "bad: a lock left by another net.sh stops up, which changes nothing" {
	mkdir -p "$HETMIG_STATE_DIR/net"
	echo 1 >"$HETMIG_STATE_DIR/net/lock"
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: '$HETMIG_STATE_DIR/net/lock' exists: another net.sh is running (remove the file if not)" ]
	same_as "$BATS_TEST_TMPDIR/before"
	[ -e "$HETMIG_STATE_DIR/net/lock" ]
}

@test "bad: a lock left by a killed net.sh says so, and changes nothing" {
	local gone
	sh -c 'exit 0' &
	gone=$!
	wait "$gone"
	mkdir -p "$HETMIG_STATE_DIR/net"
	echo "$gone" >"$HETMIG_STATE_DIR/net/lock"
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net up
	[ "$output" = "net.sh: '$HETMIG_STATE_DIR/net/lock' was left by net.sh $gone, which is no longer running: remove it, then run net.sh again" ]
	run -2 net down
	same_as "$BATS_TEST_TMPDIR/before"
	[ "$(cat "$HETMIG_STATE_DIR/net/lock")" = "$gone" ]
}

@test "usage errors exit 2" {
	run -2 net
	[[ $output == usage:* ]]
	run -2 net frob
	[ "$output" = "net.sh: unknown command 'frob' (want up, down, status, check, guest-config, attach or detach)" ]
	run -2 net up extra
	[ "$output" = "net.sh: 'up' takes no argument" ]
	run -2 net check 1.2.3.4 5.6.7.8
	run -2 ip netns exec "$D0" "$BASH" "$NET_SH" -x up
	run -0 ip netns exec "$D0" "$BASH" "$NET_SH" -h
	[[ $output == usage:* ]]
}

@test "interrupted: at every change of up, killed or stopped, down restores dom0" {
	snapshot "$BATS_TEST_TMPDIR/before"
	interrupt_every_step "$BATS_TEST_TMPDIR/before" down up
}

@test "guests: a Xen vif, a QEMU tap and an LXC veth on one bridge reach each other, and upstream through NAT" {
	guests_setup
	guest_ip "$QG" 192.168.1.103/24 192.168.1.101
	guest_ip "$LX" 192.168.1.104/24 192.168.1.101
	snapshot "$BATS_TEST_TMPDIR/before"
	run -0 net up
	attach_vif
	run -0 net attach tapq0
	[ "$output" = "net.sh: attached 'tapq0' to 'xenbr0'"$'\n'"net.sh: set 'tapq0' up" ]
	run -0 net attach lxc0
	run -0 net attach lxc0
	[ "$output" = "net.sh: nothing to do: 'lxc0' is already on 'xenbr0'" ]
	all_reach "$GU $QG $LX" "192.168.1.102 192.168.1.103 192.168.1.104 198.51.100.2 203.0.113.1"
	# Upstream sees dom0's address only.
	ping_fails "$UP" 192.168.1.103
	run -0 net status
	[[ $output == *"info     ports       vif1.0 tapq0 lxc0"* ]]
	[[ $output == *"info     attached    tapq0 on xenbr0, lxc0 on xenbr0"* ]]
	# down refuses for the Xen guest's vif, which no record put there.
	run -2 net down
	[ "$output" = "net.sh: bridge 'xenbr0' still has ports (vif1.0): stop or detach the guests first" ]
	detach_vif
	# What attach did, down undoes.
	run -0 net down
	[[ $output == *"net.sh: undid '@lxc0 port xenbr0 lxc0'"* ]]
	same_as "$BATS_TEST_TMPDIR/before"
}

@test "attach and detach: a link on the bridge and back, exactly" {
	guests_setup
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/up"
	run -0 net attach tapq0
	grep -qx '@tapq0 port xenbr0 tapq0' "$HETMIG_STATE_DIR/net/net.state"
	grep -qx '@tapq0 up tapq0' "$HETMIG_STATE_DIR/net/net.state"
	[ "$(ip -n "$D0" -o link show master xenbr0 | wc -l)" -eq 1 ]
	run -0 net detach tapq0
	[ "$output" = "net.sh: undid '@tapq0 up tapq0'"$'\n'"net.sh: undid '@tapq0 port xenbr0 tapq0'" ]
	same_as "$BATS_TEST_TMPDIR/up"
	run -0 net detach tapq0
	[ "$output" = "net.sh: nothing to do: no record of 'attach tapq0' in '$HETMIG_STATE_DIR/net'" ]
	# A link that was up before attach stays up after detach.
	ip -n "$D0" link set lxc0 up
	snapshot "$BATS_TEST_TMPDIR/lxc-up"
	run -0 net attach lxc0
	[ "$output" = "net.sh: attached 'lxc0' to 'xenbr0'" ]
	run -0 net detach lxc0
	same_as "$BATS_TEST_TMPDIR/lxc-up"
	run -0 net down
}

@test "attach: a guest's tap that went away is nothing to undo" {
	guests_setup
	run -0 net up
	run -0 net attach tapq0
	kill "$RELAY_PID"
	wait "$RELAY_PID" || true
	ip -n "$D0" tuntap del dev tapq0 mode tap
	run -0 net detach tapq0
	[ ! -e "$HETMIG_STATE_DIR/net/net.state" ] || ! grep -q tapq0 "$HETMIG_STATE_DIR/net/net.state"
	run -0 net down
}

@test "attach: refuses what is not a guest's link, in one line, changing nothing" {
	guests_setup
	run -0 net up
	ip -n "$D0" link add br-other type bridge
	ip -n "$D0" link add lxc1 type veth peer name lxc1p
	ip -n "$D0" link set lxc1 master br-other
	ip -n "$D0" link add lxc2 type veth peer name lxc2p
	ip -n "$D0" addr add 10.9.9.9/24 dev lxc2
	snapshot "$BATS_TEST_TMPDIR/before"
	run -2 net attach nosuch0
	[ "$output" = "net.sh: 'nosuch0' not found" ]
	run -2 net attach up0
	[ "$output" = "net.sh: 'up0' is the uplink" ]
	run -2 net attach lo
	[ "$output" = "net.sh: 'lo' cannot be a guest's link" ]
	run -2 net attach br-other
	[ "$output" = "net.sh: 'br-other' is a bridge: attach takes a guest's link" ]
	run -2 net attach lxc1
	[ "$output" = "net.sh: 'lxc1' is a port of 'br-other'" ]
	run -2 net attach lxc2
	[ "$output" = "net.sh: 'lxc2' has the address '10.9.9.9/24': a guest's link carries no address of dom0" ]
	run -2 net attach 'a/b'
	[ "$output" = "net.sh: 'a/b' is not an interface name" ]
	run -2 net attach lxc0 10
	[ "$output" = "net.sh: VLAN '10' is not in VLANS" ]
	run -2 net attach lxc0 192.168.1.103
	[ "$output" = "net.sh: '192.168.1.103': attach with an address is for MODE=route" ]
	run -2 net attach lxc0 x
	[ "$output" = "net.sh: 'x' is neither a VLAN id nor an IPv4 address" ]
	run -2 net attach
	[ "$output" = "net.sh: 'attach' takes an interface and at most one more argument" ]
	run -2 net detach
	[ "$output" = "net.sh: 'detach' takes one interface" ]
	same_as "$BATS_TEST_TMPDIR/before"
	run -0 net down
	run -2 net attach lxc0
	[ "$output" = "net.sh: bridge 'xenbr0' not found: run 'net.sh up' first" ]
}

@test "interrupted: at every change of attach, killed or stopped, detach restores dom0" {
	guests_setup
	run -0 net up
	snapshot "$BATS_TEST_TMPDIR/up"
	interrupt_every_step "$BATS_TEST_TMPDIR/up" "detach tapq0" attach tapq0
	fail_every_batch_line "$BATS_TEST_TMPDIR/up" "detach tapq0" attach tapq0
	run -0 net down
}
