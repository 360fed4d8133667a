#!/bin/bash
# net-modes: net.sh's route mode and a VLAN bridge, with real Xen guests.
# Route: net.sh up (MODE=route) sets forwarding, proxy ARP on the uplink
# and the rules; a PVH guest with the vif line guest-config prints,
# vif = ['ip=10.79.0.50,script=vif-route,gatewaydev=up0'], gets its /32
# host route from Xen's own vif-route; the guest pings dom0 and upstream,
# upstream pings it at its own address (dom0 answers ARP for it), what the
# guest sends from an address nobody declared never reaches upstream;
# net.sh down refuses while the guest runs, then leaves dom0 as it was.
# VLAN: net.sh up with VLANS=10 makes up0.10 and xenbr0.10; a guest on
# xenbr0.10, with no VLAN of its own, pings upstream's VLAN 10 address;
# net.sh down leaves dom0 as it was.
# It needs the 8021q module in dom0: lab.sh's net_tools must list it.
# lab: hosts=1
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

export PATH=/usr/sbin:/usr/bin:$PATH
export HETMIG_STATE_DIR=/tmp/net-modes-state
NET=/hetmig/scripts/net.sh
CONF=/tmp/net-modes.conf
# The guest programs, /lab/guest.d/net-route and net-vlan, use the same
# addresses.
ROUTED_IP=10.79.0.50
VLAN_UP_IP=10.80.0.2

# dom0_state: what net.sh may change, in a form that does not change by
# itself (no counters, no carrier or operational state).
dom0_state() {
	ip -4 -o addr show
	ip -4 route show table all | sed 's/ linkdown//'
	ip -o link show | sed -E -e 's/ state [A-Z]+//' -e 's/ qdisc [a-z_]+//' \
		-e 's/NO-CARRIER,//' -e 's/,LOWER_UP//' -e 's/,M-DOWN//'
	iptables-save | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
	cat /proc/sys/net/ipv4/ip_forward
	grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp
}

show_logs() {
	say "--- /var/log/xen/xen-hotplug.log"
	cat /var/log/xen/xen-hotplug.log 2>/dev/null
}

# wait_vif_gone: until vif-route's host route to the guest is gone.
# shellcheck disable=SC2317 # called through check
wait_vif_gone() {
	local n
	for ((n = 0; n < 30; n++)); do
		[ -z "$(ip -4 route show "$ROUTED_IP")" ] && return 0
		sleep 1
	done
	return 1
}

# upstream_count SRC: packets upstream got from SRC (its INPUT counter).
upstream_count() {
	ip netns exec upstream iptables -w -nvxL INPUT |
		awk -v s="$1" '$8 == s { print $1 }'
}

load_net_modules

# The uplink: a veth whose other end is in a namespace "upstream", the
# LAN's router, on the same LAN as dom0 (route mode puts the guests there).
if ! ip link add up0 type veth peer name up0u || ! ip netns add upstream ||
	! ip link set up0u netns upstream; then
	say "no veth pair or namespace here"
	exit 2
fi
ip addr add 10.79.0.1/24 dev up0
ip link set up0 up
ip -n upstream link set lo up
ip -n upstream addr add 10.79.0.2/24 dev up0u
ip -n upstream link set up0u up
ip route add default via 10.79.0.2
ip netns exec upstream iptables -w -A INPUT -s "$ROUTED_IP" -j ACCEPT
ip netns exec upstream iptables -w -A INPUT -s 10.79.0.51 -j ACCEPT

iptables -w -t filter -P FORWARD ACCEPT
iptables -w -t nat -P POSTROUTING ACCEPT
dom0_state >/tmp/net-modes.before

# --- route mode, with Xen's vif-route ---------------------------------------

cat >"$CONF" <<EOF
MODE=route
LAN=10.79.0.0/24
DOM0_ADDR=10.79.0.1
UPLINK=up0
GUEST_DNS=10.79.0.2
GUEST_ADDR=$ROUTED_IP
EOF
check "$NET" -c "$CONF" up -- "net.sh up, MODE=route"
"$NET" -c "$CONF" status
check "$NET" -c "$CONF" check -- "net.sh check: forwarding, proxy ARP and the rules in place"
guest_cfg netr net-route
"$NET" -c "$CONF" guest-config | grep '^vif = ' >>/etc/xen/netr.cfg
check grep -qx "vif = \['ip=$ROUTED_IP,script=vif-route,gatewaydev=up0'\]" /etc/xen/netr.cfg -- \
	"net.sh guest-config gives the vif-route line"
if ! guest_start netr; then
	check false -- "xl create of a guest with vif-route"
	show_logs
	"$NET" -c "$CONF" down
	finish
fi
domid=$(xl domid netr)
for ((n = 0; n < 30; n++)); do
	ip -4 route show "$ROUTED_IP" | grep -q "dev vif$domid.0" && break
	sleep 1
done
ip -4 route show "$ROUTED_IP"
check eval "ip -4 route show $ROUTED_IP | grep -q 'dev vif$domid.0'" -- \
	"vif-route gave $ROUTED_IP a host route through vif$domid.0"
if ! wait_marker netr '^NET-ROUTE-UNDECLARED' 150; then
	say "the routed guest never finished"
	guest_log netr | tail -n 30
	show_logs
fi
check grep -q '^NET-ROUTE-PING: ok' /var/log/xen/guest-netr.log -- "the routed guest pings dom0"
check grep -q '^NET-ROUTE-UPSTREAM: ok' /var/log/xen/guest-netr.log -- \
	"the routed guest reaches upstream, without NAT"
check ip netns exec upstream ping -q -c 3 -W 2 "$ROUTED_IP" -- \
	"upstream pings the guest at its own address (dom0's proxy ARP)"
check test "$(upstream_count "$ROUTED_IP")" -gt 0 -- "upstream got packets from the declared address"
check test "$(upstream_count 10.79.0.51)" -eq 0 -- "upstream got nothing from the undeclared address"
"$NET" -c "$CONF" down 2>/tmp/net-modes.down1
cat /tmp/net-modes.down1
check grep -q "is still routed through 'vif$domid.0'" /tmp/net-modes.down1 -- \
	"net.sh down refuses while the routed guest runs"
guest_destroy netr
check wait_vif_gone -- "vif-route removed the host route with the guest"
check "$NET" -c "$CONF" down -- "net.sh down, MODE=route"
dom0_state >/tmp/net-modes.after-route
diff /tmp/net-modes.before /tmp/net-modes.after-route
check same /tmp/net-modes.before /tmp/net-modes.after-route -- \
	"after route mode's down, dom0's addresses, routes, links, rules, forwarding and proxy ARP are as before"

# --- a VLAN bridge ----------------------------------------------------------

if ! [ -d /sys/module/8021q ]; then
	check false -- "the 8021q module is loaded (add it to lab.sh's net_tools)"
	finish
fi
ip -n upstream link add link up0u name up0u.10 type vlan id 10
ip -n upstream addr add "$VLAN_UP_IP/24" dev up0u.10
ip -n upstream link set up0u.10 up
cat >"$CONF" <<EOF
BRIDGE=xenbr0
LAN=10.78.0.0/24
DOM0_ADDR=10.78.0.1
UPLINK=up0
GUEST_DNS=10.79.0.2
VLANS=10
EOF
check "$NET" -c "$CONF" up -- "net.sh up with VLANS=10"
"$NET" -c "$CONF" status
check eval "ip -d link show up0.10 | grep -q 'vlan protocol 802.1Q id 10 '" -- "up0.10 is VLAN 10 of up0"
check test -e /sys/class/net/xenbr0.10/brif/up0.10 -- "up0.10 is a port of xenbr0.10"
"$NET" -c "$CONF" guest-config | grep "xenbr0.10"
guest_cfg netv net-vlan
echo "vif = ['bridge=xenbr0.10,script=vif-bridge']" >>/etc/xen/netv.cfg
if guest_start netv; then
	domid=$(xl domid netv)
	for ((n = 0; n < 30; n++)); do
		[ -e "/sys/class/net/xenbr0.10/brif/vif$domid.0" ] && break
		sleep 1
	done
	check test -e "/sys/class/net/xenbr0.10/brif/vif$domid.0" -- \
		"vif-bridge put the guest's vif$domid.0 on xenbr0.10"
	wait_marker netv '^NET-VLAN-PING' 150 || guest_log netv | tail -n 30
	check grep -q '^NET-VLAN-PING: ok' /var/log/xen/guest-netv.log -- \
		"the guest on xenbr0.10, untagged, pings upstream's VLAN 10 address"
	guest_destroy netv
	for ((n = 0; n < 30; n++)); do
		[ "$(ip -o link show master xenbr0.10 | wc -l)" -le 1 ] && break
		sleep 1
	done
else
	check false -- "xl create of a guest on xenbr0.10"
	show_logs
fi
check "$NET" -c "$CONF" down -- "net.sh down with VLANS=10"
dom0_state >/tmp/net-modes.after-vlan
diff /tmp/net-modes.before /tmp/net-modes.after-vlan
check same /tmp/net-modes.before /tmp/net-modes.after-vlan -- \
	"after the VLAN's down, dom0 is as before"
finish
