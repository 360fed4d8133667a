#!/bin/bash
# net: net.sh up makes the bridge and NAT in a real dom0; a PVH guest with
# vif = ['bridge=xenbr0,script=vif-bridge'] gets its vif put on the bridge
# by Xen's own hotplug script; guest and dom0 ping each other over it, the
# guest reaches an upstream namespace only through dom0's NAT; net.sh down
# then leaves dom0 as it found it.
# lab: hosts=1
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

# iproute2, iptables and xenstore-* (lab.sh's net_tools) come before
# busybox's ip, which cannot do what net.sh and vif-bridge ask of it.
export PATH=/usr/sbin:/usr/bin:$PATH
export HETMIG_STATE_DIR=/tmp/net-state
NET=/hetmig/scripts/net.sh
CONF=/tmp/net.conf
# The guest program, /lab/guest.d/net, uses the same addresses.
GUEST_IP=10.78.0.2

# dom0_state: what net.sh may change, in a form that does not change by
# itself (no counters, no carrier or operational state).
dom0_state() {
	ip -4 -o addr show
	ip -4 route show table all
	ip -o link show | sed -E -e 's/ state [A-Z]+//' -e 's/ qdisc [a-z_]+//' \
		-e 's/NO-CARRIER,//' -e 's/,LOWER_UP//' -e 's/,M-DOWN//'
	iptables-save | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
	cat /proc/sys/net/ipv4/ip_forward
}

# ports: the ports of xenbr0, if it exists.
ports() {
	ls /sys/class/net/xenbr0/brif 2>/dev/null
}

# show_logs: what to read when the vif did not come up.
show_logs() {
	say "--- /var/log/xen/xen-hotplug.log"
	cat /var/log/xen/xen-hotplug.log 2>/dev/null
	say "--- /var/log/xen/xl-netg.log"
	cat /var/log/xen/xl-netg.log 2>/dev/null
}

load_net_modules

# The uplink: a veth whose other end is in a namespace "upstream" that has
# no route to the LAN, so that only NAT brings the guest's pings back.
upstream=0
uplink=lo
if ip link add up0 type veth peer name up0u && ip netns add upstream &&
	ip link set up0u netns upstream; then
	ip addr add 10.79.0.1/24 dev up0
	ip link set up0 up
	ip -n upstream link set lo up
	ip -n upstream addr add 10.79.0.2/24 dev up0u
	ip -n upstream link set up0u up
	ip route add default via 10.79.0.2
	uplink=auto
	upstream=1
else
	say "no veth pair or namespace here: the uplink is lo, upstream is not tried"
fi

cat >"$CONF" <<EOF
BRIDGE=xenbr0
LAN=10.78.0.0/24
DOM0_ADDR=10.78.0.1
UPLINK=$uplink
GUEST_DNS=10.79.0.2
GUEST_ADDR=$GUEST_IP
EOF

# The tables exist on any dom0 whose iptables has been used; with
# iptables-nft a table made by net.sh's first rule would stay, empty,
# after down (see net.sh(8), CAVEATS).
iptables -w -t filter -P FORWARD ACCEPT
iptables -w -t nat -P POSTROUTING ACCEPT
dom0_state >/tmp/net.before

check "$NET" -c "$CONF" up -- "net.sh up"
"$NET" -c "$CONF" status
check "$NET" -c "$CONF" check -- "net.sh check: bridge, forwarding and NAT in place"
"$NET" -c "$CONF" up 2>/tmp/net.up2
check grep -q 'nothing to do' /tmp/net.up2 -- "a second net.sh up changes nothing"

guest_cfg netg net
"$NET" -c "$CONF" guest-config | grep '^vif = ' >>/etc/xen/netg.cfg
check grep -qx "vif = \['bridge=xenbr0,script=vif-bridge'\]" /etc/xen/netg.cfg -- \
	"net.sh guest-config gives the vif line"
if ! guest_start netg; then
	check false -- "xl create of a guest with a vif on xenbr0"
	show_logs
	"$NET" -c "$CONF" down
	finish
fi
domid=$(xl domid netg)
for ((n = 0; n < 30; n++)); do
	[ -e "/sys/class/net/xenbr0/brif/vif$domid.0" ] && break
	sleep 1
done
check test -e "/sys/class/net/xenbr0/brif/vif$domid.0" -- \
	"vif-bridge put the guest's vif$domid.0 on xenbr0"
[ -e "/sys/class/net/xenbr0/brif/vif$domid.0" ] || show_logs

if ! wait_marker netg '^NET-GUEST-PING' 150; then
	say "the guest never said whether it reached dom0"
	guest_log netg | tail -n 30
	check false -- "the guest pings dom0 (10.78.0.1) over the bridge"
else
	check grep -q '^NET-GUEST-PING: ok' "/var/log/xen/guest-netg.log" -- \
		"the guest pings dom0 (10.78.0.1) over the bridge"
fi
check ping -q -c 3 -W 2 "$GUEST_IP" -- "dom0 pings the guest ($GUEST_IP)"
check "$NET" -c "$CONF" check "$GUEST_IP" -- "net.sh check $GUEST_IP: the guest answers"
if [ "$upstream" -eq 1 ]; then
	wait_marker netg '^NET-GUEST-UPSTREAM' 30
	check grep -q '^NET-GUEST-UPSTREAM: ok' "/var/log/xen/guest-netg.log" -- \
		"the guest reaches upstream (10.79.0.2) through dom0's NAT"
fi

# down refuses while the guest's vif is on the bridge.
"$NET" -c "$CONF" down 2>/tmp/net.down1
check grep -q 'still has ports' /tmp/net.down1 -- "net.sh down refuses while the guest runs"
guest_destroy netg
for ((n = 0; n < 30; n++)); do
	[ -z "$(ports)" ] && break
	sleep 1
done
check test -z "$(ports)" -- "the vif left the bridge with the guest"
check "$NET" -c "$CONF" down -- "net.sh down"
dom0_state >/tmp/net.after
diff /tmp/net.before /tmp/net.after
check same /tmp/net.before /tmp/net.after -- \
	"after net.sh down, dom0's addresses, routes, links, rules and forwarding are as before"
check test ! -e /sys/class/net/xenbr0 -- "xenbr0 is gone"
finish
