#!/usr/bin/env bash
# net.sh: the dom0 side of the guests' network, as one command that can be
# undone, in one of three modes (MODE in the config):
#   nat     a private bridge with dom0's address on the guests' LAN, IPv4
#           forwarding, and NAT from that LAN out of an uplink (the default)
#   bridge  the uplink joins the bridge and dom0's addresses and routes move
#           to it: the guests sit on the physical LAN
#   route   no bridge: forwarding and proxy ARP on the uplink, and rules that
#           let only the declared guest addresses through, for Xen's
#           vif-route (which adds each guest's /32 route)
# plus, in any mode, one 802.1q sub-interface and one bridge per VLAN, and
# the guests of other hypervisors (a tap, a veth, any link) put on a bridge
# or routed with 'attach'.  See net.sh(8) and docs/networking.md.
#
# usage: net.sh [-c CONF] up|down|status|check [GUEST_IP]|guest-config [GUEST_IP]
#        net.sh [-c CONF] attach IFACE [VLAN|GUEST_IP]|detach IFACE
#
#   up            create what is missing, record what was added
#   down          remove exactly what 'up' and 'attach' recorded, nothing else
#   status        a table of what exists; exit 0 healthy, 1 not
#   check [IP]    exit 0 if everything 'up' sets is in place (and the guest
#                 at IP answers ping), 1 if not
#   guest-config  the guest's address, route and resolver, and the
#                 vif = [...] line for its xl config
#   attach IFACE  put a guest's link on the bridge (of VLAN), or route
#                 GUEST_IP to it (route mode); recorded like 'up'
#   detach IFACE  undo what 'attach IFACE' recorded
#
# CONF is read, never sourced: -c CONF, else /etc/hetmig/net.conf when it
# exists, else configs/net.conf of this tree.  Its net/ directory
# under HETMIG_STATE_DIR (default /var/lib/hetmig, as for migrate-prep)
# holds the record of what 'up' and 'attach' added.
#
# Exit status: 0 success or healthy, 1 unhealthy, 2 usage or input error.

set -euo pipefail

PROG=net.sh
# shellcheck source=scripts/lib/common.sh
. "${BASH_SOURCE[0]%/*}/lib/common.sh"

TREE_CONF="${BASH_SOURCE[0]%/*}/../configs/net.conf"
ETC_CONF=/etc/hetmig/net.conf
STATE_DIR=${HETMIG_STATE_DIR:-/var/lib/hetmig}/net
STATE_FILE="$STATE_DIR/net.state"
LOCK_FILE="$STATE_DIR/lock"
SYSCTL_DIR=/proc/sys/net/ipv4
FORWARD_SYSCTL=$SYSCTL_DIR/ip_forward

KNOWN_KEYS=(MODE BRIDGE LAN DOM0_ADDR UPLINK GUEST_DNS GUEST_ADDR GUEST_IF
	BRIDGE_TOOL VLANS STP GATEWAY)
REQUIRED_KEYS=(LAN DOM0_ADDR UPLINK GUEST_DNS)

declare -A CONF=()      # key -> value, as read from CONF_FILE
declare -A CONF_LINE=() # key -> line number in CONF_FILE
CONF_FILE=

# Derived from CONF by conf_check.
MODE=nat     # nat, bridge or route
LAN_NET=0    # LAN's network address as an integer
LAN_PFX=0    # LAN's prefix length
DOM0_CIDR=   # DOM0_ADDR/LAN_PFX, as it goes on the bridge or is on the uplink
GUEST_IPS=() # GUEST_ADDR's addresses: route mode routes these only
GUEST_IP=    # the guest's address for guest-config: the first of GUEST_IPS
VLAN_IDS=()  # VLANS's ids
UPLINK_DEV=  # UPLINK with 'auto' resolved, set by uplink_resolve

STATE=()     # records of what 'up' and 'attach' added, one per line of STATE_FILE
RUN_CMD=     # the command that is running: up, attach, ...
RUN_FIRST=-1 # index in STATE of this run's first record while up or attach runs
LOCKED=0
BATCH_FILE=  # the ip -batch file of this run, removed on exit

# What 'up' and 'attach' are about to do, filled by the plan_* functions:
# the records, the brctl commands, the lines of the one ip -batch, the
# sysctls (PATH VALUE), the rules (TABLE CHAIN SPEC...), and what to say.
P_REC=()
P_BRCTL=()
P_BATCH=()
P_SYSCTL=()
P_RULE=()
P_SAY=()

usage() {
	cat <<EOF
usage: $PROG [-c CONF] up|down|status|check [GUEST_IP]|guest-config [GUEST_IP]
       $PROG [-c CONF] attach IFACE [VLAN|GUEST_IP]|detach IFACE
EOF
}

# --- IPv4 arithmetic -------------------------------------------------------

# is_ip4 STR: true if STR is a dotted quad without leading zeros.
is_ip4() {
	local o
	o='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
	[[ $1 =~ ^$o\.$o\.$o\.$o$ ]]
}

# ip4_int ADDR: print ADDR (already checked with is_ip4) as an integer.
ip4_int() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '%d\n' "$(((a << 24) | (b << 16) | (c << 8) | d))"
}

# int_ip4 N: print the integer N as a dotted quad.
int_ip4() {
	printf '%d.%d.%d.%d\n' "$((($1 >> 24) & 255))" "$((($1 >> 16) & 255))" \
		"$((($1 >> 8) & 255))" "$(($1 & 255))"
}

# net_overlap N1 P1 N2 P2: true if the networks N1/P1 and N2/P2 (integers
# and prefix lengths) share an address, i.e. one contains the other.
net_overlap() {
	local p
	p=$(($2 < $4 ? $2 : $4))
	(($1 >> (32 - p) == $3 >> (32 - p)))
}

# lan_bcast: print the broadcast address of LAN as an integer.
lan_bcast() {
	printf '%d\n' "$((LAN_NET | ((1 << (32 - LAN_PFX)) - 1)))"
}

# in_list WORD LIST...: true if WORD is one of LIST.
in_list() {
	local w
	local x
	w=$1
	shift
	for x in "$@"; do
		[ "$x" = "$w" ] && return 0
	done
	return 1
}

# --- the configuration file ------------------------------------------------

# conf_where KEY: "FILE:LINE" of KEY, for messages.
conf_where() {
	printf '%s:%s\n' "$CONF_FILE" "${CONF_LINE[$1]:-?}"
}

# conf_read FILE: read KEY=value lines into CONF.  Blank lines and lines
# starting with # are skipped; a value is one word, or is quoted with ' or "
# (no expansion of any kind happens); KEY must be a known key, set once.
conf_read() {
	local file
	local line
	local n
	local key
	local val
	local k
	file=$1
	CONF_FILE=$file
	if ! [ -f "$file" ] || ! [ -r "$file" ]; then
		die "cannot read config '$file'"
	fi
	n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		case $line in
		'' | '#'*) continue ;;
		esac
		[[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
			die "$file:$n: malformed line (want KEY=value): '$line'"
		key=${BASH_REMATCH[1]}
		val=${BASH_REMATCH[2]}
		if [[ $val =~ ^\"([^\"\\\$\`]*)\"([[:space:]]+#.*)?$ ]] ||
			[[ $val =~ ^\'([^\']*)\'([[:space:]]+#.*)?$ ]] ||
			[[ $val =~ ^([^[:space:]\"\'\\\$\`\;\&\|\<\>\(\)#]*)([[:space:]]+#.*)?$ ]]; then
			val=${BASH_REMATCH[1]}
		else
			die "$file:$n: malformed value for $key (one word, or quoted, no \$ or \`): '$val'"
		fi
		in_list "$key" "${KNOWN_KEYS[@]}" || die "$file:$n: unknown key '$key'"
		[ -z "${CONF_LINE[$key]:-}" ] ||
			die "$file:$n: '$key' already set on line ${CONF_LINE[$key]}"
		CONF[$key]=$val
		CONF_LINE[$key]=$n
	done <"$file"
	for k in "${REQUIRED_KEYS[@]}"; do
		[ -n "${CONF[$k]:-}" ] || die "$file: '$k' is not set"
	done
}

# valid_ifname NAME: true if NAME can be a Linux interface name.
valid_ifname() {
	[[ $1 =~ ^[A-Za-z0-9_.-]{1,15}$ ]] && [ "$1" != . ] && [ "$1" != .. ]
}

# conf_host KEY [VALUE]: die unless VALUE (default CONF[KEY]) is a host
# address inside LAN.
conf_host() {
	local a
	local i
	a=${2-${CONF[$1]}}
	is_ip4 "$a" || die "$(conf_where "$1"): $1 '$a' is not an IPv4 address"
	i=$(ip4_int "$a")
	net_overlap "$i" 32 "$LAN_NET" "$LAN_PFX" ||
		die "$(conf_where "$1"): $1 '$a' is not inside LAN '${CONF[LAN]}'"
	if [ "$i" -eq "$LAN_NET" ] || [ "$i" -eq "$(lan_bcast)" ]; then
		die "$(conf_where "$1"): $1 '$a' is the network or broadcast address of '${CONF[LAN]}'"
	fi
}

# conf_list KEY: print CONF[KEY]'s items (separated by commas or blanks),
# one a line.
conf_list() {
	local list
	IFS=', ' read -ra list <<<"${CONF[$1]:-}"
	[ "${#list[@]}" -eq 0 ] || printf '%s\n' "${list[@]}"
}

# conf_check: validate every value of CONF and set the derived globals.
# Nothing on the system is looked at here: see preflight for that.
conf_check() {
	local v
	local a
	local dns
	local vid
	local br
	v=${CONF[MODE]:=nat}
	case $v in
	nat | bridge | route) MODE=$v ;;
	*) die "$(conf_where MODE): MODE '$v' is not 'nat', 'bridge' or 'route'" ;;
	esac
	v=${CONF[STP]:=off}
	case $v in
	off | on) ;;
	*) die "$(conf_where STP): STP '$v' is not 'off' or 'on'" ;;
	esac

	VLAN_IDS=()
	while read -r vid; do
		[ -n "$vid" ] || continue
		if ! [[ $vid =~ ^[1-9][0-9]{0,3}$ ]] || ((vid > 4094)); then
			die "$(conf_where VLANS): VLANS '$vid' is not a VLAN id (1 to 4094)"
		fi
		! in_list "$vid" "${VLAN_IDS[@]}" || die "$(conf_where VLANS): VLANS has '$vid' twice"
		VLAN_IDS+=("$vid")
	done < <(conf_list VLANS)

	# A route mode without VLANs makes no bridge, and needs no name for one.
	br=${CONF[BRIDGE]:-}
	if [ -z "$br" ]; then
		if [ "$MODE" != route ] || [ "${#VLAN_IDS[@]}" -gt 0 ]; then
			die "$CONF_FILE: 'BRIDGE' is not set"
		fi
	else
		valid_ifname "$br" || die "$(conf_where BRIDGE): BRIDGE '$br' is not an interface name"
		for vid in "${VLAN_IDS[@]}"; do
			valid_ifname "$br.$vid" ||
				die "$(conf_where BRIDGE): BRIDGE '$br' is too long for its VLAN bridge '$br.$vid' (15 characters at most)"
		done
	fi
	v=${CONF[UPLINK]}
	[ "$v" = auto ] || valid_ifname "$v" ||
		die "$(conf_where UPLINK): UPLINK '$v' is not an interface name or 'auto'"
	[ "$v" != "$br" ] ||
		die "$(conf_where UPLINK): UPLINK '$v' is the bridge itself"
	if [ "$MODE" = bridge ] && [ "$v" = auto ]; then
		die "$(conf_where UPLINK): MODE=bridge needs UPLINK named, not 'auto' (once up, the default route is the bridge's)"
	fi

	v=${CONF[LAN]}
	a=${v%/*}
	LAN_PFX=${v#*/}
	if [ "$a" = "$v" ] || ! is_ip4 "$a" || ! [[ $LAN_PFX =~ ^[1-9][0-9]?$ ]] ||
		((LAN_PFX < 8 || LAN_PFX > 30)); then
		die "$(conf_where LAN): LAN '$v' is not an IPv4 network with a /8 to /30 prefix"
	fi
	LAN_NET=$(ip4_int "$a")
	if ((LAN_NET & ((1 << (32 - LAN_PFX)) - 1))); then
		die "$(conf_where LAN): LAN '$v' has host bits set (did you mean '$(int_ip4 $((LAN_NET >> (32 - LAN_PFX) << (32 - LAN_PFX))))/$LAN_PFX'?)"
	fi

	conf_host DOM0_ADDR
	DOM0_CIDR="${CONF[DOM0_ADDR]}/$LAN_PFX"
	GUEST_IPS=()
	while read -r a; do
		[ -n "$a" ] || continue
		conf_host GUEST_ADDR "$a"
		[ "$a" != "${CONF[DOM0_ADDR]}" ] ||
			die "$(conf_where GUEST_ADDR): GUEST_ADDR is DOM0_ADDR"
		! in_list "$a" "${GUEST_IPS[@]}" ||
			die "$(conf_where GUEST_ADDR): GUEST_ADDR has '$a' twice"
		GUEST_IPS+=("$a")
	done < <(conf_list GUEST_ADDR)
	GUEST_IP=${GUEST_IPS[0]:-}
	if [ "$MODE" = route ] && [ "${#GUEST_IPS[@]}" -eq 0 ]; then
		die "$CONF_FILE: MODE=route needs GUEST_ADDR, the guests' addresses: it routes those only"
	fi
	if [ -n "${CONF[GATEWAY]:-}" ]; then
		[ "$MODE" = bridge ] ||
			die "$(conf_where GATEWAY): GATEWAY is for MODE=bridge (in MODE=$MODE the guests' gateway is DOM0_ADDR)"
		conf_host GATEWAY
		[ "${CONF[GATEWAY]}" != "${CONF[DOM0_ADDR]}" ] ||
			die "$(conf_where GATEWAY): GATEWAY is DOM0_ADDR (in MODE=bridge dom0 does not route the guests)"
		! in_list "${CONF[GATEWAY]}" "${GUEST_IPS[@]}" ||
			die "$(conf_where GATEWAY): GATEWAY '${CONF[GATEWAY]}' is also in GUEST_ADDR"
	fi

	if [ "${CONF[GUEST_DNS]}" != auto ]; then
		IFS=', ' read -ra dns <<<"${CONF[GUEST_DNS]}"
		[ "${#dns[@]}" -gt 0 ] || die "$(conf_where GUEST_DNS): GUEST_DNS is empty"
		for a in "${dns[@]}"; do
			is_ip4 "$a" || die "$(conf_where GUEST_DNS): GUEST_DNS '$a' is not an IPv4 address"
		done
	fi
	v=${CONF[GUEST_IF]:=eth0}
	valid_ifname "$v" || die "$(conf_where GUEST_IF): GUEST_IF '$v' is not an interface name"
	v=${CONF[BRIDGE_TOOL]:=ip}
	case $v in
	ip | brctl) ;;
	*) die "$(conf_where BRIDGE_TOOL): BRIDGE_TOOL '$v' is not 'ip' or 'brctl'" ;;
	esac
}

# conf_load FILE: the config named by -c, or the default one, read and checked.
conf_load() {
	local file
	file=$1
	if [ -z "$file" ]; then
		if [ -e "$ETC_CONF" ]; then
			file=$ETC_CONF
		else
			file=$TREE_CONF
		fi
	fi
	conf_read "$file"
	conf_check
}

# --- looking at the system -------------------------------------------------

link_exists() {
	ip link show dev "$1" >/dev/null 2>&1
}

is_bridge() {
	[[ $(ip -d -o link show dev "$1" 2>/dev/null) =~ [[:space:]]bridge[[:space:]] ]]
}

# is_vlan_of DEV LINK VID: true if DEV is the 802.1q VLAN VID on LINK.
is_vlan_of() {
	local line
	line=$(ip -d -o link show dev "$1" 2>/dev/null) || return 1
	[[ $line == *": $1@$2: "* ]] && [[ $line == *" vlan protocol 802.1Q id $3 "* ]]
}

# link_is_up DEV: true if DEV is administratively up (UP among its flags).
link_is_up() {
	local re
	re='<([A-Z0-9_,-]*,)?UP[,>]'
	[[ $(ip -o link show dev "$1" 2>/dev/null) =~ $re ]]
}

# link_master DEV: print the bridge (or bond...) DEV is a port of, if any.
link_master() {
	local re
	re=' master ([^ ]+) '
	if [[ $(ip -o link show dev "$1" 2>/dev/null) =~ $re ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}

# link_mac DEV: print DEV's Ethernet address, if it has one.
link_mac() {
	local re
	re='link/ether ([0-9a-f:]{17}) '
	if [[ $(ip -o link show dev "$1" 2>/dev/null) =~ $re ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}

# bridge_ports BR: print the ports enslaved to BR, space separated.
bridge_ports() {
	local line
	local ports
	ports=()
	while read -r _ line _; do
		line=${line%:}
		ports+=("${line%@*}")
	done < <(ip -o link show master "$1" 2>/dev/null)
	printf '%s\n' "${ports[*]}"
}

# addr_owner CIDR: print the first interface that holds the address of
# CIDR (as "ADDR/PFX DEV"), if any.
addr_owner() {
	local dev
	local a
	while read -r _ dev _ a _; do
		if [ "${a%/*}" = "${1%/*}" ]; then
			printf '%s %s\n' "$a" "$dev"
			return 0
		fi
	done < <(ip -4 -o addr show)
}

# dev_addrs DEV: print DEV's IPv4 addresses (ADDR/PFX), one a line.
dev_addrs() {
	local a
	while read -r _ _ _ a _; do
		printf '%s\n' "$a"
	done < <(ip -4 -o addr show dev "$1" 2>/dev/null)
}

# has_addr DEV CIDR: true if DEV holds CIDR (another device may too).
has_addr() {
	local a
	while read -r a; do
		[ "$a" = "$2" ] && return 0
	done < <(dev_addrs "$1")
	return 1
}

# sysctl_get PATH: print the value of /proc/sys/net/ipv4/PATH.
sysctl_get() {
	local v
	read -r v <"$SYSCTL_DIR/$1"
	printf '%s\n' "$v"
}

# sysctl_put PATH VALUE: write it, or say why not and return 1.
sysctl_put() {
	if ! { printf '%s\n' "$2" >"$SYSCTL_DIR/$1"; } 2>/dev/null; then
		printf '%s: cannot write %s to %s\n' "$PROG" "$2" "'$SYSCTL_DIR/$1'" >&2
		return 1
	fi
}

forwarding() {
	sysctl_get ip_forward
}

# uplink_resolve: set UPLINK_DEV from UPLINK; with 'auto', the device of the
# first default route.  Returns 1 (UPLINK_DEV empty) when there is none.
uplink_resolve() {
	UPLINK_DEV=
	if [ "${CONF[UPLINK]}" != auto ]; then
		UPLINK_DEV=${CONF[UPLINK]}
		return 0
	fi
	UPLINK_DEV=$(route_word dev "$(first_default)")
	[ -n "$UPLINK_DEV" ]
}

# first_default: dom0's first IPv4 default route, as ip prints it.
first_default() {
	ip -4 -o route show default 2>/dev/null | head -n 1
}

# default_gateway: print the gateway of dom0's first default route, if any.
default_gateway() {
	route_word via "$(first_default)"
}

# route_word KEY ROUTE: print the word after KEY in ROUTE (a route as ip
# prints it: "dev", "via", ...), if it has one.
route_word() {
	local words
	local i
	read -ra words <<<"$2"
	for ((i = 0; i + 1 < ${#words[@]}; i++)); do
		if [ "${words[i]}" = "$1" ]; then
			printf '%s\n' "${words[i + 1]}"
			return 0
		fi
	done
}

# --- routes, as 'ip route' prints them ---------------------------------------
#
# A route is kept as the words 'ip -4 -o route show table all' prints for
# it, without the flags that describe its state rather than the route
# (linkdown, dead, offload...): those words are also what 'ip route add'
# and 'ip route del' take back.

# route_norm LINE: print LINE without its state flags.
route_norm() {
	local words
	local w
	local out
	read -ra words <<<"$1"
	out=()
	for w in "${words[@]}"; do
		case $w in
		linkdown | dead | offload | trap | offload_failed | rt_offload | rt_trap | \
			rt_offload_failed | pervasive | notify) ;;
		*) out+=("$w") ;;
		esac
	done
	printf '%s\n' "${out[*]}"
}

# routes: print every IPv4 route of every table, normalised, one a line.
routes() {
	local line
	while IFS= read -r line; do
		route_norm "$line"
	done < <(ip -4 -o route show table all 2>/dev/null)
}

# route_present ROUTE-WORDS...: true if that route exists.
route_present() {
	local r
	while IFS= read -r r; do
		[ "$r" = "$*" ] && return 0
	done < <(routes)
	return 1
}

# route_on ROUTE DEV: print ROUTE with its "dev X" made "dev DEV".
route_on() {
	local words
	local i
	read -ra words <<<"$1"
	for ((i = 0; i + 1 < ${#words[@]}; i++)); do
		[ "${words[i]}" != dev ] || words[i + 1]=$2
	done
	printf '%s\n' "${words[*]}"
}

# route_dev ROUTE: print the device ROUTE goes through.
route_dev() {
	route_word dev "$1"
}

# routes_to ADDR: print the routes whose destination is ADDR (a host).
routes_to() {
	local r
	while IFS= read -r r; do
		case $r in
		"$1 "* | "$1/32 "*) printf '%s\n' "$r" ;;
		esac
	done < <(routes)
}

# The rules, as words after "iptables -t TABLE -A": TABLE CHAIN SPEC...
# rules_wanted fills RULES with one "TABLE CHAIN SPEC..." line a rule.
rules_wanted() {
	local br
	local g
	br=${CONF[BRIDGE]:-}
	RULES=()
	case $MODE in
	nat)
		RULES+=("nat POSTROUTING -s ${CONF[LAN]} -o $UPLINK_DEV -j MASQUERADE")
		RULES+=("filter FORWARD -i $br -o $UPLINK_DEV -s ${CONF[LAN]} -j ACCEPT")
		RULES+=("filter FORWARD -i $UPLINK_DEV -o $br -d ${CONF[LAN]} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
		;;
	route)
		# The declared addresses in and out, then nothing else across the
		# uplink: a guest that takes another address is not forwarded.
		for g in "${GUEST_IPS[@]}"; do
			RULES+=("filter FORWARD -i $UPLINK_DEV -d $g/32 -j ACCEPT")
			RULES+=("filter FORWARD -o $UPLINK_DEV -s $g/32 -j ACCEPT")
		done
		RULES+=("filter FORWARD -i $UPLINK_DEV -j DROP")
		RULES+=("filter FORWARD -o $UPLINK_DEV -j DROP")
		;;
	esac
}

# iptables_backend: print which kernel interface the iptables on PATH
# drives, nf_tables or legacy: rules made through the other one are not
# seen by it (Debian 12's iptables is iptables-nft).
iptables_backend() {
	local v
	v=$(iptables -V 2>/dev/null) || true
	if [[ $v =~ \(([a-z_]+)\) ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	else
		printf 'legacy\n'
	fi
}

# rule_present TABLE CHAIN SPEC...: true if iptables -C finds the rule.
rule_present() {
	local table
	local chain
	table=$1
	chain=$2
	shift 2
	iptables -w -t "$table" -C "$chain" "$@" >/dev/null 2>&1
}

# route_overlap: print the first route of the main table whose destination
# overlaps LAN, except routes through the bridge itself and the default route.
route_overlap() {
	local line
	local words
	local dst
	local n
	local p
	while IFS= read -r line; do
		read -ra words <<<"$line"
		[[ " $line " == *" dev ${CONF[BRIDGE]} "* ]] && continue
		dst=${words[0]}
		case $dst in
		unicast | unreachable | blackhole | prohibit | throw | local | broadcast | multicast | anycast)
			dst=${words[1]:-}
			;;
		esac
		[ "$dst" = default ] && continue
		[[ $dst == */* ]] || dst="$dst/32"
		is_ip4 "${dst%/*}" || continue
		n=$(ip4_int "${dst%/*}")
		p=${dst#*/}
		if net_overlap "$n" "$p" "$LAN_NET" "$LAN_PFX"; then
			printf '%s\n' "$line"
			return 0
		fi
	done < <(ip -4 -o route show table main)
}

# --- what bridge mode moves from the uplink to the bridge --------------------

# uplink_addrs DEV: set MOVE_ADDRS to DEV's IPv4 addresses, in order, each
# as the words that 'ip addr add WORDS dev X' takes back (ADDR/PFX, then
# metric, brd, scope, noprefixroute as DEV has them).  Dies, before
# anything changes, on an address that cannot move as it is: one that a
# DHCP client or the kernel manages (a lifetime), a peer, a label.
uplink_addrs() {
	local line
	local words
	local i
	local a
	local spec
	local label
	MOVE_ADDRS=()
	while IFS= read -r line; do
		read -ra words <<<"$line"
		for ((i = 0; i < ${#words[@]}; i++)); do
			[ "${words[i]}" = inet ] && break
		done
		a=${words[i + 1]}
		spec=("$a")
		label=
		for ((i += 2; i < ${#words[@]}; i++)); do
			case ${words[i]} in
			brd | scope | metric)
				spec+=("${words[i]}" "${words[i + 1]}")
				i=$((i + 1))
				;;
			secondary) ;;
			noprefixroute) spec+=(noprefixroute) ;;
			dynamic | valid_lft | preferred_lft)
				if [ "${words[i]}" = dynamic ] || [ "${words[i + 1]}" != forever ]; then
					die "uplink '$1' has the address '$a' with a lifetime (DHCP?): bridge mode moves static addresses only; configure it on the bridge instead"
				fi
				i=$((i + 1))
				;;
			peer) die "uplink '$1' has the point-to-point address '$a peer ${words[i + 1]}': bridge mode cannot move it" ;;
			*\\) label=${words[i]%\\} ;;
			*) die "uplink '$1' has the address '$a' with '${words[i]}': bridge mode cannot move it" ;;
			esac
		done
		[ "$label" = "$1" ] ||
			die "uplink '$1' has the address '$a' labelled '$label': bridge mode cannot move it"
		MOVE_ADDRS+=("${spec[*]}")
	done < <(ip -4 -o addr show dev "$1")
}

# uplink_routes DEV: set MOVE_ROUTES to the IPv4 routes through DEV, in
# every table, but the kernel's own (made again with the address); dies
# on a route that cannot move as it is.
uplink_routes() {
	local r
	MOVE_ROUTES=()
	while IFS= read -r r; do
		[ "$(route_dev "$r")" = "$1" ] || continue
		[[ " $r " != *" proto kernel "* ]] || continue
		if [[ " $r " == *" nexthop "* ]] || [[ " $r " == *" nhid "* ]]; then
			die "uplink '$1' carries the route '$r': bridge mode cannot move it"
		fi
		MOVE_ROUTES+=("$r")
	done < <(routes)
}

# --- preflight: every check of the system, before anything changes ----------

# vlan_names VID: set VLAN_DEV and VLAN_BR, the VLAN's sub-interface of the
# uplink and its bridge.
vlan_names() {
	VLAN_DEV=$UPLINK_DEV.$1
	VLAN_BR=${CONF[BRIDGE]}.$1
}

preflight_vlans() {
	local vid
	local m
	for vid in "${VLAN_IDS[@]}"; do
		vlan_names "$vid"
		valid_ifname "$VLAN_DEV" ||
			die "the VLAN interface '$VLAN_DEV' would be longer than 15 characters: rename the uplink"
		if link_exists "$VLAN_DEV"; then
			is_vlan_of "$VLAN_DEV" "$UPLINK_DEV" "$vid" ||
				die "'$VLAN_DEV' exists and is not VLAN $vid of '$UPLINK_DEV'"
			m=$(link_master "$VLAN_DEV")
			[ -z "$m" ] || [ "$m" = "$VLAN_BR" ] || die "'$VLAN_DEV' is a port of '$m'"
		fi
		if link_exists "$VLAN_BR" && ! is_bridge "$VLAN_BR"; then
			die "'$VLAN_BR' exists and is not a bridge"
		fi
	done
}

# preflight_addr_free CIDR WHERE...: die if CIDR's address is on a device
# other than WHERE.
preflight_addr_free() {
	local a
	local line
	local dev
	a=$1
	shift
	while read -r _ dev _ line _; do
		[ "${line%/*}" = "${a%/*}" ] || continue
		in_list "$dev" "$@" ||
			die "address '${a%/*}' is already in use as '$line' on '$dev'"
	done < <(ip -4 -o addr show)
}

preflight_nat() {
	local br
	local r
	br=${CONF[BRIDGE]}
	preflight_addr_free "$DOM0_CIDR" "$br"
	r=$(route_overlap)
	[ -z "$r" ] || die "LAN '${CONF[LAN]}' overlaps the route '$r'"
}

preflight_bridge() {
	local br
	local up
	local m
	br=${CONF[BRIDGE]}
	up=$UPLINK_DEV
	! is_bridge "$up" || die "uplink '$up' is a bridge: name the interface under it"
	[ "$up" != lo ] || die "uplink 'lo' cannot join a bridge"
	[ -n "$(link_mac "$up")" ] || die "uplink '$up' has no Ethernet address: it cannot join a bridge"
	m=$(link_master "$up")
	[ -z "$m" ] || [ "$m" = "$br" ] || die "uplink '$up' is a port of '$m'"
	preflight_addr_free "$DOM0_CIDR" "$up" "$br"
	if ! has_addr "$up" "$DOM0_CIDR" && ! has_addr "$br" "$DOM0_CIDR"; then
		die "DOM0_ADDR '$DOM0_CIDR' is not on uplink '$up': bridge mode moves the uplink's address to '$br'"
	fi
	uplink_addrs "$up"
	uplink_routes "$up"
}

preflight_route() {
	local up
	local g
	local owner
	local r
	local words
	local last
	up=$UPLINK_DEV
	has_addr "$up" "$DOM0_CIDR" ||
		die "DOM0_ADDR '$DOM0_CIDR' is not on uplink '$up': route mode routes the guests through it"
	[ -w "$SYSCTL_DIR/conf/$up/proxy_arp" ] || [ -r "$SYSCTL_DIR/conf/$up/proxy_arp" ] ||
		die "cannot read '$SYSCTL_DIR/conf/$up/proxy_arp'"
	for g in "${GUEST_IPS[@]}"; do
		owner=$(addr_owner "$g/32")
		[ -z "$owner" ] || die "guest address '$g' is dom0's own, as '${owner% *}' on '${owner#* }'"
	done
	# An ACCEPT appended after the DROPs would never match: a config with a
	# new address needs the rules made again.
	rules_wanted
	read -ra words <<<"${RULES[-1]}"
	read -ra last <<<"${RULES[-2]}"
	if rule_present "${words[@]}" || rule_present "${last[@]}"; then
		for r in "${RULES[@]}"; do
			read -ra words <<<"$r"
			rule_present "${words[@]}" ||
				die "the route rules through '$up' lack '-t ${words[0]} -A ${words[*]:1}': run 'net.sh down', then 'net.sh up'"
		done
	fi
}

# preflight: every check of the system that 'up' needs, before it changes
# anything.  Root and the tools were checked by main.
preflight() {
	local br
	[ "${CONF[BRIDGE_TOOL]}" != brctl ] || need_cmd brctl bridge-utils
	[ -r "$FORWARD_SYSCTL" ] || die "cannot read '$FORWARD_SYSCTL': is /proc mounted?"
	br=${CONF[BRIDGE]:-}
	uplink_resolve ||
		die "UPLINK is 'auto' but there is no default route: set UPLINK in '$CONF_FILE'"
	link_exists "$UPLINK_DEV" || die "uplink '$UPLINK_DEV' not found"
	[ "$UPLINK_DEV" != "$br" ] || die "uplink '$UPLINK_DEV' is the bridge itself"
	if [ "$MODE" != route ] && link_exists "$br" && ! is_bridge "$br"; then
		die "'$br' exists and is not a bridge"
	fi
	preflight_vlans
	"preflight_$MODE"
}

# --- the record of what 'up' and 'attach' added -----------------------------
#
# One record a line, words separated by spaces, undone in reverse order.
# A record is written before its change is made, so that whatever stops
# net.sh (an error, a signal, kill -9) leaves no change without a record;
# undoing a record whose change was never made finds nothing to undo.
#   mode MODE                   'up' ran in MODE (nothing to undo)
#   bridge BR ip|brctl          the bridge was created
#   addr DEV ADDR/PFX           the address was added to DEV
#   up DEV                      DEV was set up
#   port BR DEV                 DEV was put on the bridge BR
#   vlan DEV LINK VID           the VLAN sub-interface DEV of LINK was created
#   moveaddr UP BR ADDR...      the address moved from the uplink UP to BR
#   moveroute UP BR ROUTE...    the route moved from UP to BR
#   route ROUTE...              the route was added
#   sysctl PATH OLD             net.ipv4.PATH (ip_forward, conf/DEV/proxy_arp)
#                               was OLD and was set
#   rule TABLE CHAIN SPEC...    the rule was appended
# A record that 'attach IFACE' made starts with the word @IFACE.

state_load() {
	local line
	local n
	local re
	STATE=()
	[ -e "$STATE_FILE" ] || return 0
	re='^(@[A-Za-z0-9_.-]{1,15} )?(mode|bridge|addr|up|port|vlan|moveaddr|moveroute|route|sysctl|rule) [^[:cntrl:]]+$'
	n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case $line in
		'' | '#'*) continue ;;
		esac
		[[ $line =~ $re ]] || die "$STATE_FILE:$n: unknown record '$line'"
		STATE+=("$line")
	done <"$STATE_FILE"
}

state_save() {
	if [ "${#STATE[@]}" -eq 0 ]; then
		rm -f -- "$STATE_FILE"
		return 0
	fi
	{
		printf '# what "net.sh up" and "attach" added; "net.sh down" removes it, last first\n'
		printf '%s\n' "${STATE[@]}"
	} >"$STATE_FILE.tmp" &&
		mv -f -- "$STATE_FILE.tmp" "$STATE_FILE"
}

# recorded WORDS...: true if the record is in STATE.
recorded() {
	in_list "$*" "${STATE[@]}"
}

# record WORDS...: add a record and write the state file at once, before
# the change is made, so that a run that dies leaves a record 'down' can
# use.  A record an earlier, interrupted run left (its change maybe never
# made) moves to the end: the change is this run's now.
record() {
	local j
	local kept
	kept=()
	for ((j = 0; j < ${#STATE[@]}; j++)); do
		if [ "${STATE[j]}" != "$*" ]; then
			kept+=("${STATE[j]}")
		elif [ "$j" -lt "$RUN_FIRST" ]; then
			RUN_FIRST=$((RUN_FIRST - 1))
		fi
	done
	STATE=("${kept[@]}" "$*")
	state_save || die "cannot write '$STATE_FILE'"
}

# recorded_mode: print the MODE of the 'up' the state file records, if any
# (a record from before modes existed is nat's).
recorded_mode() {
	local r
	local any
	any=0
	for r in "${STATE[@]}"; do
		case $r in
		@*) ;;
		mode\ *)
			printf '%s\n' "${r#mode }"
			return 0
			;;
		*) any=1 ;;
		esac
	done
	[ "$any" -eq 0 ] || printf 'nat\n'
}

# lock_take: make the lock, which holds our pid, or die.  A lock whose pid
# is not running was left by a killed net.sh (SIGKILL runs no trap): the
# error says so, and the user, who knows that nothing else runs, removes
# it.  It is not taken over here: two runs that both found it stale could
# then both hold it.
lock_take() {
	local pid
	mkdir -p -- "$STATE_DIR" || die "cannot create state directory '$STATE_DIR'"
	if ! (set -C && printf '%s\n' "$$" >"$LOCK_FILE") 2>/dev/null; then
		pid=
		read -r pid <"$LOCK_FILE" 2>/dev/null || true
		if [[ $pid =~ ^[1-9][0-9]{0,9}$ ]] && [ -d /proc/self ] && ! [ -d "/proc/$pid" ]; then
			die "'$LOCK_FILE' was left by net.sh $pid, which is no longer running: remove it, then run net.sh again"
		fi
		die "'$LOCK_FILE' exists: another net.sh is running (remove the file if not)"
	fi
	LOCKED=1
	# A batch file whose run was killed; no other run is using one now.
	rm -f -- "$STATE_DIR"/batch.*
}

# undo_records FIRST: undo STATE[FIRST..], newest first, saying each; the
# records that could not be undone stay in STATE (LEFT counts them).
undo_records() {
	local i
	local words
	local left
	left=()
	for ((i = ${#STATE[@]} - 1; i >= $1; i--)); do
		read -ra words <<<"${STATE[i]}"
		[[ ${words[0]} != @* ]] || words=("${words[@]:1}")
		if undo "${words[@]}"; then
			[ "$RUN_FIRST" -ge 0 ] || [ "${words[0]}" = mode ] || say "undid '${STATE[i]}'"
		else
			warn "could not undo '${STATE[i]}'"
			left=("${STATE[i]}" "${left[@]}")
		fi
	done
	STATE=("${STATE[@]:0:$1}" "${left[@]}")
	LEFT=${#left[@]}
}

# on_exit STATUS: undo what a failed 'up' or 'attach' added in this run,
# then drop the lock, then exit with STATUS.  What could not be undone
# keeps its record, and the last line says so: it never claims a removal
# that did not happen.
on_exit() {
	local rc
	rc=$1
	set +e
	if [ "$rc" -ne 0 ] && [ "$RUN_FIRST" -ge 0 ]; then
		undo_records "$RUN_FIRST"
		if ! state_save; then
			warn "'$RUN_CMD' failed, and '$STATE_FILE' could not be written: check with 'net.sh status'"
		elif [ "$LEFT" -eq 0 ]; then
			warn "'$RUN_CMD' failed: what it had added is removed"
		else
			warn "'$RUN_CMD' failed: $LEFT change(s) could not be undone; they stay in '$STATE_FILE' for 'net.sh down'"
		fi
	fi
	[ -z "$BATCH_FILE" ] || rm -f -- "$BATCH_FILE"
	[ "$LOCKED" -eq 0 ] || rm -f -- "$LOCK_FILE"
	exit "$rc"
}

# act WHAT CMD...: run CMD; if it fails, say "cannot WHAT" with the first
# line CMD wrote on stderr, and return 1.  It never exits, so that undoing
# can go on past a failure.
act() {
	local what
	local err
	what=$1
	shift
	if ! err=$("$@" 2>&1 >/dev/null); then
		printf '%s: cannot %s: %s\n' "$PROG" "$what" "${err%%$'\n'*}" >&2
		return 1
	fi
}

# must WHAT CMD...: act, and exit 2 if it fails (the run then undoes its work).
must() {
	act "$@" || exit 2
}

# undo RECORD-WORDS...: remove one thing 'up' or 'attach' added, if it is
# still there.
undo() {
	local kind
	local route
	local words
	kind=$1
	shift
	case $kind in
	mode) ;;
	bridge)
		link_exists "$1" || return 0
		if [ "${2:-ip}" = brctl ]; then
			act "set '$1' down" ip link set dev "$1" down &&
				act "delete bridge '$1'" brctl delbr "$1"
		else
			act "delete bridge '$1'" ip link del dev "$1"
		fi
		;;
	addr)
		has_addr "$1" "$2" || return 0
		act "remove '$2' from '$1'" ip addr del "$2" dev "$1"
		;;
	up)
		link_exists "$1" || return 0
		act "set '$1' down" ip link set dev "$1" down
		;;
	port)
		[ "$(link_master "$2")" = "$1" ] || return 0
		act "take '$2' off '$1'" ip link set dev "$2" nomaster
		;;
	vlan)
		is_vlan_of "$1" "$2" "$3" || return 0
		act "delete VLAN interface '$1'" ip link del dev "$1"
		;;
	moveaddr)
		# Off the bridge, back on the uplink, with its words as it had them.
		if has_addr "$2" "$3"; then
			act "remove '$3' from '$2'" ip addr del "$3" dev "$2" || return 1
		fi
		if link_exists "$1" && ! has_addr "$1" "$3"; then
			act "give '$3' back to '$1'" ip addr add "${@:3}" dev "$1" || return 1
		fi
		;;
	moveroute)
		route=$(route_on "${*:3}" "$2")
		if route_present "$route"; then
			read -ra words <<<"$route"
			act "delete route '$route'" ip route del "${words[@]}" || return 1
		fi
		if link_exists "$1" && ! route_present "${@:3}"; then
			act "give route '${*:3}' back to '$1'" ip route add "${@:3}" || return 1
		fi
		;;
	route)
		route_present "$@" || return 0
		act "delete route '$*'" ip route del "$@"
		;;
	sysctl)
		[[ $1 =~ ^(ip_forward|conf/[A-Za-z0-9_.-]{1,15}/proxy_arp)$ ]] && [[ $2 =~ ^[0-9]+$ ]] ||
			return 1
		[ -e "$SYSCTL_DIR/$1" ] || return 0
		sysctl_put "$1" "$2"
		;;
	rule)
		rule_present "$@" || return 0
		act "delete rule '-t $1 -A ${*:2}'" iptables -w -t "$1" -D "${@:2}"
		;;
	*)
		return 1
		;;
	esac
}

# --- planning and applying a change ------------------------------------------

plan_reset() {
	P_REC=()
	P_BRCTL=()
	P_BATCH=()
	P_SYSCTL=()
	P_RULE=()
	P_SAY=()
}

# plan_count: print how many changes the plan holds.
plan_count() {
	printf '%d\n' "$((${#P_REC[@]} + ${#P_SYSCTL[@]} + ${#P_RULE[@]}))"
}

# bridge_mac BR: print a locally administered Ethernet address for the
# bridge BR, the same at each 'up' on this machine.  A bridge without one
# of its own takes the lowest of its ports', and changes it as guests come
# and go (a QEMU tap's random address may be lower): the guests' ARP
# entries for dom0 would go stale each time.
bridge_mac() {
	local h
	local id
	id=
	[ ! -r /etc/machine-id ] || read -r id </etc/machine-id || true
	h=$(printf '%s %s' "$1" "$id" | sha256sum)
	printf '02:%s:%s:%s:%s:%s\n' "${h:0:2}" "${h:2:2}" "${h:4:2}" "${h:6:2}" "${h:8:2}"
}

# plan_new_bridge BR [MAC]: create the bridge BR with the Ethernet address
# MAC (default: bridge_mac's), spanning tree as STP says.  With STP off a
# new port forwards at once; with it on, the kernel's default forward
# delay (15 s) stays.
plan_new_bridge() {
	local line
	local mac
	mac=${2:-$(bridge_mac "$1")}
	if [ "${CONF[BRIDGE_TOOL]}" = brctl ]; then
		P_REC+=("bridge $1 brctl")
		P_BRCTL+=("brctl addbr $1")
		if [ "${CONF[STP]}" = on ]; then
			P_BRCTL+=("brctl stp $1 on")
		else
			P_BRCTL+=("brctl setfd $1 0")
		fi
		P_BATCH+=("link set dev $1 address $mac")
	else
		P_REC+=("bridge $1 ip")
		line="link add name $1 address $mac type bridge"
		if [ "${CONF[STP]}" = on ]; then
			line+=" stp_state 1"
		else
			line+=" forward_delay 0"
		fi
		P_BATCH+=("$line")
	fi
	P_SAY+=("created bridge '$1'")
}

# plan_link_up DEV: set DEV up if it is not.
plan_link_up() {
	link_is_up "$1" && return 0
	P_REC+=("up $1")
	P_BATCH+=("link set dev $1 up")
	P_SAY+=("set '$1' up")
}

# plan_sysctl PATH VALUE: set net.ipv4.PATH to VALUE if it is not.
plan_sysctl() {
	[ "$(sysctl_get "$1")" != "$2" ] || return 0
	P_SYSCTL+=("$1 $2")
}

# plan_rules: append the mode's rules that iptables -C does not find.
plan_rules() {
	local r
	local words
	rules_wanted
	for r in "${RULES[@]}"; do
		read -ra words <<<"$r"
		rule_present "${words[@]}" || P_RULE+=("$r")
	done
}

plan_nat() {
	local br
	br=${CONF[BRIDGE]}
	link_exists "$br" || plan_new_bridge "$br"
	if ! has_addr "$br" "$DOM0_CIDR"; then
		P_REC+=("addr $br $DOM0_CIDR")
		P_BATCH+=("address add $DOM0_CIDR brd + dev $br")
		P_SAY+=("added '$DOM0_CIDR' to '$br'")
	fi
	plan_link_up "$br"
	plan_sysctl ip_forward 1
	plan_rules
}

# plan_bridge: the uplink on the bridge, its addresses and routes on the
# bridge.  The records are in the order that undoes it right, last first:
# the uplink leaves the bridge, the addresses come back to it (first one
# first, so the primary stays primary), then the routes, which need them.
# The batch deletes the addresses from the uplink (secondaries first: a
# primary takes them along) and gives them to the bridge, whose Ethernet
# address is the uplink's, so that the LAN's ARP caches stay right.
plan_bridge() {
	local br
	local up
	local i
	local r
	local words
	br=${CONF[BRIDGE]}
	up=$UPLINK_DEV
	link_exists "$br" || plan_new_bridge "$br" "$(link_mac "$up")"
	if [ "$(link_master "$up")" != "$br" ]; then
		P_BATCH+=("link set dev $up master $br")
		P_SAY+=("put uplink '$up' on '$br'")
	fi
	plan_link_up "$br"
	for r in "${MOVE_ROUTES[@]}"; do
		P_REC+=("moveroute $up $br $r")
	done
	for ((i = ${#MOVE_ADDRS[@]} - 1; i >= 0; i--)); do
		P_REC+=("moveaddr $up $br ${MOVE_ADDRS[i]}")
		read -ra words <<<"${MOVE_ADDRS[i]}"
		P_BATCH+=("address del ${words[0]} dev $up")
	done
	for ((i = 0; i < ${#MOVE_ADDRS[@]}; i++)); do
		P_BATCH+=("address add ${MOVE_ADDRS[i]} dev $br")
		read -ra words <<<"${MOVE_ADDRS[i]}"
		P_SAY+=("moved '${words[0]}' from '$up' to '$br'")
	done
	for r in "${MOVE_ROUTES[@]}"; do
		P_BATCH+=("route add $(route_on "$r" "$br")")
		P_SAY+=("moved route '$r' to '$br'")
	done
	[ "$(link_master "$up")" = "$br" ] || P_REC+=("port $br $up")
}

plan_route() {
	plan_sysctl ip_forward 1
	plan_sysctl "conf/$UPLINK_DEV/proxy_arp" 1
	plan_rules
}

plan_vlans() {
	local vid
	for vid in "${VLAN_IDS[@]}"; do
		vlan_names "$vid"
		if ! link_exists "$VLAN_DEV"; then
			P_REC+=("vlan $VLAN_DEV $UPLINK_DEV $vid")
			P_BATCH+=("link add link $UPLINK_DEV name $VLAN_DEV type vlan id $vid")
			P_SAY+=("created VLAN interface '$VLAN_DEV'")
		fi
		link_exists "$VLAN_BR" || plan_new_bridge "$VLAN_BR"
		if [ "$(link_master "$VLAN_DEV")" != "$VLAN_BR" ]; then
			P_REC+=("port $VLAN_BR $VLAN_DEV")
			P_BATCH+=("link set dev $VLAN_DEV master $VLAN_BR")
			P_SAY+=("put '$VLAN_DEV' on '$VLAN_BR'")
		fi
		plan_link_up "$VLAN_DEV"
		plan_link_up "$VLAN_BR"
	done
}

# apply_batch: run P_BATCH as one 'ip -batch'; on failure say which line
# failed and why, and return 1.
apply_batch() {
	local err
	local n
	[ "${#P_BATCH[@]}" -gt 0 ] || return 0
	BATCH_FILE=$(mktemp -- "$STATE_DIR/batch.XXXXXX") || die "cannot create a file in '$STATE_DIR'"
	printf '%s\n' "${P_BATCH[@]}" >"$BATCH_FILE" || die "cannot write '$BATCH_FILE'"
	if ! err=$(ip -batch "$BATCH_FILE" 2>&1 >/dev/null); then
		n=0
		[[ $err =~ Command\ failed\ .*:([0-9]+) ]] && n=${BASH_REMATCH[1]}
		if [ "$n" -ge 1 ] && [ "$n" -le "${#P_BATCH[@]}" ]; then
			printf "%s: cannot apply 'ip %s': %s\n" "$PROG" "${P_BATCH[n - 1]}" "${err%%$'\n'*}" >&2
		else
			printf "%s: cannot apply 'ip -batch': %s\n" "$PROG" "${err%%$'\n'*}" >&2
		fi
		return 1
	fi
	rm -f -- "$BATCH_FILE"
	BATCH_FILE=
}

# plan_apply [TAG]: make the plan's changes, each record (with TAG first)
# written before its change: the records, then brctl's commands, then the
# one ip -batch, then each sysctl, then each rule.  Exits 2 on a failure
# (on_exit undoes this run's records).
plan_apply() {
	local tag
	local r
	local words
	local path
	local val
	tag=${1:+$1 }
	for r in "${P_REC[@]}"; do
		record "$tag$r"
	done
	for r in "${P_BRCTL[@]}"; do
		read -ra words <<<"$r"
		must "run '$r'" "${words[@]}"
	done
	apply_batch || exit 2
	for r in "${P_SAY[@]}"; do
		say "$r"
	done
	for r in "${P_SYSCTL[@]}"; do
		read -r path val <<<"$r"
		record "${tag}sysctl $path $(sysctl_get "$path")"
		sysctl_put "$path" "$val" || exit 2
		case $path in
		ip_forward) say "enabled IPv4 forwarding" ;;
		*) say "set net.ipv4.${path//\//.}=$val" ;;
		esac
	done
	for r in "${P_RULE[@]}"; do
		read -ra words <<<"$r"
		record "${tag}rule $r"
		must "add rule '-t ${words[0]} -A ${words[*]:1}'" \
			iptables -w -t "${words[0]}" -A "${words[@]:1}"
		say "added rule '-t ${words[0]} -A ${words[*]:1}'"
	done
}

# run_start CMD: this run records from here on; a failure undoes it.
run_start() {
	RUN_CMD=$1
	RUN_FIRST=${#STATE[@]}
}

run_end() {
	RUN_FIRST=-1
}

# --- subcommands -----------------------------------------------------------

# mode_check: die if the state file records an 'up' of another MODE; print
# the recorded MODE, if any.
mode_check() {
	local rm
	state_load
	rm=$(recorded_mode)
	[ -z "$rm" ] || [ "$rm" = "$MODE" ] ||
		die "'up' was run with MODE=$rm (see '$STATE_FILE'): run 'net.sh down' before 'up' with MODE=$MODE"
	printf '%s\n' "$rm"
}

cmd_up() {
	local rm
	local what
	# Before preflight, whose complaint would be about the other mode's work.
	mode_check >/dev/null
	preflight
	lock_take
	rm=$(mode_check)
	state_load
	plan_reset
	"plan_$MODE"
	plan_vlans
	if [ "$(plan_count)" -eq 0 ]; then
		case $MODE in
		nat) what="'${CONF[BRIDGE]}' and NAT out of '$UPLINK_DEV'" ;;
		bridge) what="'$UPLINK_DEV' and its addresses on '${CONF[BRIDGE]}'" ;;
		route) what="forwarding for ${#GUEST_IPS[@]} guest address(es) through '$UPLINK_DEV'" ;;
		esac
		[ "${#VLAN_IDS[@]}" -eq 0 ] || what+=", VLANs ${CONF[VLANS]}"
		say "nothing to do: $what already in place"
		return 0
	fi
	run_start up
	[ -n "$rm" ] || P_REC=("mode $MODE" "${P_REC[@]}")
	plan_apply
	run_end
}

# down_guard: die, before anything changes, if a bridge 'up' made carries
# a port that no record put there (a running guest's vif), or if a
# declared guest address is routed through a link no record routed (a
# guest of route mode, through Xen's vif-route).
down_guard() {
	local r
	local words
	local p
	local ports
	local unknown
	local g
	local line
	for r in "${STATE[@]}"; do
		read -ra words <<<"$r"
		[[ ${words[0]} != @* ]] || words=("${words[@]:1}")
		case ${words[0]} in
		bridge)
			link_exists "${words[1]}" || continue
			unknown=()
			read -ra ports <<<"$(bridge_ports "${words[1]}")"
			for p in "${ports[@]}"; do
				recorded "port ${words[1]} $p" || recorded "@$p port ${words[1]} $p" ||
					unknown+=("$p")
			done
			[ "${#unknown[@]}" -eq 0 ] ||
				die "bridge '${words[1]}' still has ports (${unknown[*]}): stop or detach the guests first"
			;;
		rule)
			# Route mode's "-i UPLINK -d GUEST/32 -j ACCEPT".
			[ "${#words[@]}" -eq 9 ] || continue
			[ "${words[3]} ${words[5]} ${words[8]}" = "-i -d ACCEPT" ] || continue
			g=${words[6]%/32}
			while IFS= read -r line; do
				recorded "@$(route_dev "$line") route $line" && continue
				die "guest address '$g' is still routed through '$(route_dev "$line")': stop or detach the guests first"
			done < <(routes_to "$g")
			;;
		esac
	done
}

cmd_down() {
	lock_take
	state_load
	if [ "${#STATE[@]}" -eq 0 ]; then
		say "nothing to do: no record of 'up' in '$STATE_DIR'"
		return 0
	fi
	down_guard
	undo_records 0
	state_save || die "cannot write '$STATE_FILE'"
	[ "$LEFT" -eq 0 ] ||
		die "$LEFT record(s) could not be undone; they stay in '$STATE_FILE'"
}

# attach_target ARG: set ATTACH_BR (the bridge) or ATTACH_IP (route mode's
# guest address) from attach's optional argument.
attach_target() {
	ATTACH_BR=
	ATTACH_IP=
	if [ -z "$1" ]; then
		[ "$MODE" != route ] ||
			die "MODE=route: 'attach' needs the guest's address (one of GUEST_ADDR) or a VLAN"
		ATTACH_BR=${CONF[BRIDGE]}
	elif [[ $1 =~ ^[0-9]+$ ]]; then
		in_list "$1" "${VLAN_IDS[@]}" || die "VLAN '$1' is not in VLANS"
		ATTACH_BR=${CONF[BRIDGE]}.$1
	elif is_ip4 "$1"; then
		[ "$MODE" = route ] || die "'$1': attach with an address is for MODE=route"
		in_list "$1" "${GUEST_IPS[@]}" ||
			die "'$1' is not in GUEST_ADDR: route mode routes the declared addresses only"
		ATTACH_IP=$1
	else
		die "'$1' is neither a VLAN id nor an IPv4 address"
	fi
}

# preflight_attach IFACE: what any attach needs of IFACE.
preflight_attach() {
	local a
	valid_ifname "$1" || die "'$1' is not an interface name"
	link_exists "$1" || die "'$1' not found"
	[ "$1" != lo ] || die "'lo' cannot be a guest's link"
	[ "$1" != "$UPLINK_DEV" ] || die "'$1' is the uplink"
	! is_bridge "$1" || die "'$1' is a bridge: attach takes a guest's link"
	for a in $(dev_addrs "$1"); do
		[ -n "$ATTACH_IP" ] && [ "$a" = "${CONF[DOM0_ADDR]}/32" ] && continue
		die "'$1' has the address '$a': a guest's link carries no address of dom0"
	done
}

# plan_attach_bridge IFACE: IFACE on ATTACH_BR, and up.
plan_attach_bridge() {
	local m
	is_bridge "$ATTACH_BR" || die "bridge '$ATTACH_BR' not found: run 'net.sh up' first"
	m=$(link_master "$1")
	[ -z "$m" ] || [ "$m" = "$ATTACH_BR" ] || die "'$1' is a port of '$m'"
	if [ "$m" != "$ATTACH_BR" ]; then
		P_REC+=("port $ATTACH_BR $1")
		P_BATCH+=("link set dev $1 master $ATTACH_BR")
		P_SAY+=("attached '$1' to '$ATTACH_BR'")
	fi
	plan_link_up "$1"
}

# plan_attach_route IFACE: what Xen's vif-route does for a vif: dom0's
# address on IFACE as a /32, proxy ARP on it, IFACE up, and the host route
# to the guest's address through it.
plan_attach_route() {
	local m
	local route
	local r
	has_addr "$UPLINK_DEV" "$DOM0_CIDR" ||
		die "DOM0_ADDR '$DOM0_CIDR' is not on uplink '$UPLINK_DEV': run 'net.sh up' first"
	m=$(link_master "$1")
	[ -z "$m" ] || die "'$1' is a port of '$m'"
	route="$ATTACH_IP dev $1 scope link src ${CONF[DOM0_ADDR]}"
	while IFS= read -r r; do
		[ "$r" = "$route" ] || die "'$ATTACH_IP' is already routed: '$r'"
	done < <(routes_to "$ATTACH_IP")
	plan_sysctl "conf/$1/proxy_arp" 1
	if ! has_addr "$1" "${CONF[DOM0_ADDR]}/32"; then
		P_REC+=("addr $1 ${CONF[DOM0_ADDR]}/32")
		P_BATCH+=("address add ${CONF[DOM0_ADDR]}/32 dev $1")
	fi
	plan_link_up "$1"
	if ! route_present "$route"; then
		P_REC+=("route $route")
		P_BATCH+=("route add $route")
		P_SAY+=("routed '$ATTACH_IP' to '$1'")
	fi
}

cmd_attach() {
	local iface
	iface=$1
	attach_target "${2:-}"
	[ -r "$FORWARD_SYSCTL" ] || die "cannot read '$FORWARD_SYSCTL': is /proc mounted?"
	uplink_resolve || die "UPLINK is 'auto' but there is no default route: set UPLINK in '$CONF_FILE'"
	preflight_attach "$iface"
	lock_take
	state_load
	plan_reset
	if [ -n "$ATTACH_IP" ]; then
		plan_attach_route "$iface"
	else
		plan_attach_bridge "$iface"
	fi
	if [ "$(plan_count)" -eq 0 ]; then
		if [ -n "$ATTACH_IP" ]; then
			say "nothing to do: '$ATTACH_IP' is already routed to '$iface'"
		else
			say "nothing to do: '$iface' is already on '$ATTACH_BR'"
		fi
		return 0
	fi
	run_start attach
	plan_apply "@$iface"
	run_end
}

cmd_detach() {
	local iface
	local i
	local mine
	local keep
	iface=$1
	valid_ifname "$iface" || die "'$iface' is not an interface name"
	lock_take
	state_load
	# This interface's records go last, in their order, and are undone there.
	mine=()
	keep=()
	for ((i = 0; i < ${#STATE[@]}; i++)); do
		if [[ ${STATE[i]} == "@$iface "* ]]; then
			mine+=("${STATE[i]}")
		else
			keep+=("${STATE[i]}")
		fi
	done
	if [ "${#mine[@]}" -eq 0 ]; then
		say "nothing to do: no record of 'attach $iface' in '$STATE_DIR'"
		return 0
	fi
	STATE=("${keep[@]}" "${mine[@]}")
	undo_records "${#keep[@]}"
	state_save || die "cannot write '$STATE_FILE'"
	[ "$LEFT" -eq 0 ] ||
		die "$LEFT record(s) of '$iface' could not be undone; they stay in '$STATE_FILE'"
}

# probe_by RECORD-WORDS...: print " (added by net.sh up)" if that is recorded.
probe_by() {
	if recorded "$@"; then
		printf ' (added by net.sh up)'
	fi
}

# probe_row STATE ITEM DETAIL: add a row to PROBE, count it if not ok.
probe_row() {
	PROBE+=("$1|$2|$3")
	[ "$1" = ok ] || MISSING=$((MISSING + 1))
}

# probe_bridge BR: rows for the bridge BR and its link.
probe_bridge() {
	if ! link_exists "$1"; then
		probe_row missing bridge "$1"
	elif ! is_bridge "$1"; then
		probe_row wrong bridge "'$1' exists and is not a bridge"
	else
		probe_row ok bridge "$1$(probe_by bridge "$1" ip)$(probe_by bridge "$1" brctl)"
	fi
	if link_is_up "$1"; then
		probe_row ok link "$1 is up$(probe_by up "$1")"
	else
		probe_row missing link "$1 is not up"
	fi
}

probe_forwarding() {
	local f
	f=$(forwarding)
	if [ "$f" = 1 ]; then
		probe_row ok forwarding "net.ipv4.ip_forward=1$(probe_by sysctl ip_forward 0)"
	else
		probe_row missing forwarding "net.ipv4.ip_forward=$f"
	fi
}

probe_rules() {
	local r
	local st
	local words
	rules_wanted
	for r in "${RULES[@]}"; do
		read -ra words <<<"$r"
		st=missing
		rule_present "${words[@]}" && st=ok
		probe_row "$st" "${words[1],,}" "-t ${words[0]} -A ${words[*]:1}$(probe_by rule "${words[@]}")"
	done
}

probe_vlans() {
	local vid
	local st
	for vid in "${VLAN_IDS[@]}"; do
		vlan_names "$vid"
		st=missing
		is_vlan_of "$VLAN_DEV" "$UPLINK_DEV" "$vid" && link_is_up "$VLAN_DEV" &&
			[ "$(link_master "$VLAN_DEV")" = "$VLAN_BR" ] && st=ok
		probe_row "$st" vlan "$VLAN_DEV (VLAN $vid of $UPLINK_DEV) up on $VLAN_BR$(probe_by vlan "$VLAN_DEV" "$UPLINK_DEV" "$vid")"
		st=missing
		is_bridge "$VLAN_BR" && link_is_up "$VLAN_BR" && st=ok
		probe_row "$st" bridge "$VLAN_BR is up$(probe_by bridge "$VLAN_BR" ip)$(probe_by bridge "$VLAN_BR" brctl)"
	done
}

# probe: look at everything 'up' sets and fill PROBE with "STATE|ITEM|DETAIL"
# rows; MISSING counts the rows that are not ok.
probe() {
	local br
	local st
	local name
	local r
	local words
	br=${CONF[BRIDGE]:-}
	PROBE=()
	MISSING=0
	state_load
	[ "$MODE" = route ] || probe_bridge "$br"
	if [ "$MODE" = nat ]; then
		if has_addr "$br" "$DOM0_CIDR"; then
			probe_row ok address "$DOM0_CIDR on $br$(probe_by addr "$br" "$DOM0_CIDR")"
		else
			probe_row missing address "$DOM0_CIDR on $br"
		fi
	fi
	[ "$MODE" = bridge ] || probe_forwarding
	if ! uplink_resolve; then
		probe_row missing uplink "auto: there is no default route"
		return 0
	fi
	name=$UPLINK_DEV
	[ "${CONF[UPLINK]}" != auto ] || name="$name (auto)"
	case $MODE in
	nat)
		st=missing
		link_exists "$UPLINK_DEV" && st=ok
		probe_row "$st" uplink "$name"
		;;
	bridge)
		st=missing
		[ "$(link_master "$UPLINK_DEV")" = "$br" ] && st=ok
		probe_row "$st" uplink "$name on $br$(probe_by port "$br" "$UPLINK_DEV")"
		st=missing
		has_addr "$br" "$DOM0_CIDR" && st=ok
		probe_row "$st" address "$DOM0_CIDR on $br (moved from $UPLINK_DEV)"
		for r in "${STATE[@]}"; do
			read -ra words <<<"$r"
			[ "${words[0]}" = moveroute ] || continue
			r=$(route_on "${words[*]:3}" "${words[2]}")
			st=missing
			route_present "$r" && st=ok
			probe_row "$st" route "$r (moved from ${words[1]})"
		done
		;;
	route)
		st=missing
		has_addr "$UPLINK_DEV" "$DOM0_CIDR" && st=ok
		probe_row "$st" uplink "$name with $DOM0_CIDR"
		st=missing
		[ "$(sysctl_get "conf/$UPLINK_DEV/proxy_arp" 2>/dev/null)" = 1 ] && st=ok
		probe_row "$st" proxy_arp "net.ipv4.conf.$UPLINK_DEV.proxy_arp=1$(probe_by sysctl "conf/$UPLINK_DEV/proxy_arp" 0)"
		;;
	esac
	probe_rules
	probe_vlans
}

# attached: print what 'attach' recorded, as "IFACE on BR" or "IFACE for
# ADDR", comma separated.
attached() {
	local r
	local words
	local out
	out=
	for r in "${STATE[@]}"; do
		read -ra words <<<"$r"
		case ${words[0]}:${words[1]:-} in
		@*:port) out+=", ${words[0]#@} on ${words[2]}" ;;
		@*:route) out+=", ${words[0]#@} for ${words[2]}" ;;
		esac
	done
	printf '%s\n' "${out#, }"
}

cmd_status() {
	local r
	local ports
	local st
	local item
	local detail
	local vid
	probe
	printf '%-8s %-11s %s\n' STATE ITEM DETAIL
	for r in "${PROBE[@]}"; do
		IFS='|' read -r st item detail <<<"$r"
		printf '%-8s %-11s %s\n' "$st" "$item" "$detail"
	done
	if [ "$MODE" != route ] && is_bridge "${CONF[BRIDGE]}"; then
		ports=$(bridge_ports "${CONF[BRIDGE]}")
		printf '%-8s %-11s %s\n' info ports "${ports:-(none)}"
	fi
	for vid in "${VLAN_IDS[@]}"; do
		is_bridge "${CONF[BRIDGE]}.$vid" || continue
		ports=$(bridge_ports "${CONF[BRIDGE]}.$vid")
		printf '%-8s %-11s %s\n' info ports "${CONF[BRIDGE]}.$vid: ${ports:-(none)}"
	done
	r=$(attached)
	[ -z "$r" ] || printf '%-8s %-11s %s\n' info attached "$r"
	printf '%-8s %-11s %s\n' info mode "$MODE"
	printf '%-8s %-11s %s\n' info iptables "$(iptables_backend)"
	[ "$MISSING" -eq 0 ]
}

cmd_check() {
	local ip
	local r
	local i
	local st
	local item
	local detail
	local what
	ip=${1:-}
	if [ -n "$ip" ]; then
		is_ip4 "$ip" || die "'$ip' is not an IPv4 address"
		i=$(ip4_int "$ip")
		net_overlap "$i" 32 "$LAN_NET" "$LAN_PFX" ||
			die "'$ip' is not inside LAN '${CONF[LAN]}'"
	fi
	[ -z "$ip" ] || need_cmd ping iputils-ping
	probe
	for r in "${PROBE[@]}"; do
		IFS='|' read -r st item detail <<<"$r"
		[ "$st" = ok ] || say "$st: $item: $detail"
	done
	[ "$MISSING" -eq 0 ] || return 1
	case $MODE in
	nat) what="'${CONF[BRIDGE]}' up with $DOM0_CIDR, forwarding on, NAT out of '$UPLINK_DEV'" ;;
	bridge) what="'${CONF[BRIDGE]}' up with $DOM0_CIDR and uplink '$UPLINK_DEV' on it" ;;
	route) what="forwarding and proxy ARP on '$UPLINK_DEV' ($DOM0_CIDR), rules for ${#GUEST_IPS[@]} guest address(es)" ;;
	esac
	[ "${#VLAN_IDS[@]}" -eq 0 ] || what+=", VLANs ${CONF[VLANS]}"
	say "ok: $what"
	[ -n "$ip" ] || return 0
	# Options both iputils' and busybox's ping know (busybox has no -n).
	if ! ping -q -c 3 -i 0.2 -W 1 -- "$ip" >/dev/null 2>&1; then
		say "guest '$ip' does not answer ping"
		return 1
	fi
	say "guest '$ip' answers ping"
}

# guest_dns: print the guest's resolvers, one a line.  With GUEST_DNS=auto,
# the resolvers of dom0's resolv.conf that a guest can reach (not loopback).
guest_dns() {
	local a
	local k
	local found
	local list
	if [ "${CONF[GUEST_DNS]}" != auto ]; then
		IFS=', ' read -ra list <<<"${CONF[GUEST_DNS]}"
		printf '%s\n' "${list[@]}"
		return 0
	fi
	found=0
	if [ -r /etc/resolv.conf ]; then
		while read -r k a _; do
			if [ "$k" = nameserver ] && is_ip4 "$a" && [[ $a != 127.* ]]; then
				printf '%s\n' "$a"
				found=1
			fi
		done </etc/resolv.conf
	fi
	[ "$found" -eq 1 ] ||
		die "GUEST_DNS is 'auto' but '/etc/resolv.conf' names no usable IPv4 resolver: set GUEST_DNS in '$CONF_FILE'"
}

# guest_gateway: print the guests' default gateway: dom0 in nat and route
# modes; in bridge mode GATEWAY, else dom0's own, which must be on LAN.
guest_gateway() {
	local gw
	local i
	if [ "$MODE" != bridge ]; then
		printf '%s\n' "${CONF[DOM0_ADDR]}"
		return 0
	fi
	gw=${CONF[GATEWAY]:-$(default_gateway)}
	[ -n "$gw" ] ||
		die "MODE=bridge: no GATEWAY in '$CONF_FILE' and dom0 has no default route to take it from"
	i=$(ip4_int "$gw")
	net_overlap "$i" 32 "$LAN_NET" "$LAN_PFX" ||
		die "MODE=bridge: dom0's default gateway '$gw' is not inside LAN '${CONF[LAN]}': set GATEWAY in '$CONF_FILE'"
	printf '%s\n' "$gw"
}

# guest_vif IP: print the vif = [...] line of the guest at IP.
guest_vif() {
	if [ "$MODE" = route ]; then
		uplink_resolve ||
			die "UPLINK is 'auto' but there is no default route: set UPLINK in '$CONF_FILE'"
		printf "vif = ['ip=%s,script=vif-route,gatewaydev=%s']\n" "$1" "$UPLINK_DEV"
	else
		printf "vif = ['bridge=%s,script=vif-bridge']\n" "${CONF[BRIDGE]}"
	fi
}

cmd_guest_config() {
	local ip
	local i
	local dev
	local dns
	local a
	local gw
	local vid
	ip=${1:-$GUEST_IP}
	if [ -z "$ip" ]; then
		i=$(($(ip4_int "${CONF[DOM0_ADDR]}") + 1))
		if [ "$i" -ge "$(lan_bcast)" ]; then
			die "no GUEST_ADDR in '$CONF_FILE' and no GUEST_IP given"
		fi
		ip=$(int_ip4 "$i")
	fi
	is_ip4 "$ip" || die "'$ip' is not an IPv4 address"
	i=$(ip4_int "$ip")
	net_overlap "$i" 32 "$LAN_NET" "$LAN_PFX" ||
		die "'$ip' is not inside LAN '${CONF[LAN]}'"
	[ "$ip" != "${CONF[DOM0_ADDR]}" ] || die "'$ip' is dom0's own address"
	if [ "$MODE" = route ]; then
		in_list "$ip" "${GUEST_IPS[@]}" ||
			die "'$ip' is not in GUEST_ADDR: route mode routes the declared addresses only"
	fi
	gw=$(guest_gateway)
	[ "$ip" != "$gw" ] || die "'$ip' is the guests' gateway"
	dns=$(guest_dns)
	dev=${CONF[GUEST_IF]}
	printf '# xl config of the guest (dom0):\n'
	guest_vif "$ip"
	for vid in "${VLAN_IDS[@]}"; do
		printf "# or, on VLAN %s: vif = ['bridge=%s.%s,script=vif-bridge']\n" \
			"$vid" "${CONF[BRIDGE]}" "$vid"
	done
	if [ "$MODE" = route ]; then
		printf '# a QEMU/KVM tap or an LXC veth instead: net.sh attach IFACE %s\n' "$ip"
	else
		printf '# a QEMU/KVM tap or an LXC veth instead: net.sh attach IFACE\n'
	fi
	cat <<EOF

# in the guest, by hand (as root):
ip addr add $ip/$LAN_PFX dev $dev
ip link set dev $dev up
ip route add default via $gw

# in the guest, for good (/etc/network/interfaces on Debian):
auto $dev
iface $dev inet static
    address $ip/$LAN_PFX
    gateway $gw

# in the guest, /etc/resolv.conf:
EOF
	while read -r a; do
		printf 'nameserver %s\n' "$a"
	done <<<"$dns"
}

main() {
	local conf
	local opt
	local cmd
	conf=
	while getopts c:h opt; do
		case $opt in
		c) conf=$OPTARG ;;
		h)
			usage
			exit 0
			;;
		*)
			usage >&2
			exit 2
			;;
		esac
	done
	shift $((OPTIND - 1))
	[ "$#" -ge 1 ] || {
		usage >&2
		exit 2
	}
	cmd=$1
	shift
	case $cmd in
	up | down | status)
		[ "$#" -eq 0 ] || die "'$cmd' takes no argument"
		;;
	check | guest-config)
		[ "$#" -le 1 ] || die "'$cmd' takes at most one argument"
		;;
	attach)
		if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
			die "'attach' takes an interface and at most one more argument"
		fi
		;;
	detach)
		[ "$#" -eq 1 ] || die "'detach' takes one interface"
		;;
	*)
		die "unknown command '$cmd' (want up, down, status, check, guest-config, attach or detach)"
		;;
	esac
	trap 'on_exit "$?"' EXIT
	trap 'exit 130' INT TERM
	# What the system must offer is checked before the config is read, so
	# that each of these failures is one line that says what to do.
	case $cmd in
	up | down | status | check | attach | detach)
		need_root
		need_cmd ip iproute2
		need_cmd iptables iptables
		;;
	esac
	# 'down' and 'detach' work from the state file alone, so a changed or
	# broken config never stops them from undoing what was done.
	case $cmd in
	down | detach) ;;
	*) conf_load "$conf" ;;
	esac
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	check) cmd_check "$@" ;;
	guest-config) cmd_guest_config "$@" ;;
	attach) cmd_attach "$@" ;;
	detach) cmd_detach "$@" ;;
	esac
}

main "$@"
