#!/usr/bin/env bash
# lab.sh: real Xen 4.17, nested under QEMU's software emulation, as a test
# bench that needs no Xen hardware.  See tests/lab/README.md.
#
# usage: tests/lab/lab.sh build [pg]
#        tests/lab/lab.sh run SCENARIO [--keep] [--timeout S]
#        tests/lab/lab.sh run-all
#        tests/lab/lab.sh demo
#
# `run` boots one or two nested Xen hosts (a scenario whose file says
# "# lab: hosts=2" gets two: A and B, A with avx2, bmi2 and fma and B
# without), runs the scenario in A's dom0 and exits with the verdict: 0
# pass, 1 fail, 2 the lab could not run (the reason is taken from the
# serial log).  It prints the scenario's own story: A's console without
# the kernels', Xen's and the guests' lines; both whole consoles go to
# build/lab/logs/SCENARIO.A.log and .B.log, and on a failure the last
# lines of A's follow.  V=1 streams both consoles as they come, prefixed
# "A| " and "B| ".
# HETMIG_BUILD names the build directory whose binaries go into dom0
# (default: build).
set -euo pipefail

PROG=lab.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$top/scripts/lib/common.sh"

build=${HETMIG_BUILD:-$top/build}
out=$top/build/lab
xen_gz=/boot/xen-4.17-amd64.gz
# The two hosts' CPUs: both AMD with SVM and nested paging (Xen then runs
# PVH/HVM guests with HAP); B lacks fma, bmi2 and avx2, three features the
# emulator really refuses to execute when the model lacks them (fma, bmi2)
# or that Xen masks (avx2).  -monitor: Xen's idle loop would MWAIT.
# spec-ctrl=eager-fpu: with Xen's lazy FPU switching on this AMD model,
# dom0's tools and the guests' programs crashed on corrupt registers
# (tests/lab/README.md, "Fixed trouble").
cpu_a=EPYC,+svm,+npt,-monitor
cpu_b=EPYC,+svm,+npt,-monitor,-fma,-bmi2,-avx2
xen_args="console=com1 dom0_mem=1024M noreboot smap=0 spec-ctrl=eager-fpu"
port=$((20000 + $$ % 20000))
# dom0's initramfs: dom0-pg.cpio.gz adds the PostgreSQL guest image.
dom0_image=${LAB_DOM0_IMAGE:-dom0.cpio.gz}

tmp=""
pids=()
keep=0

kernel_version() {
	local k
	k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' | sort -V | tail -n 1)
	[ -n "$k" ] || die "no Debian kernel in /boot: install linux-image-amd64"
	basename "$k" | sed 's/^vmlinuz-//'
}

# copy_with_libs ROOT FILE...: FILE and every library ldd lists, under
# ROOT at the same paths.
copy_with_libs() {
	local root=$1
	local f
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		copy_libs "$root" "$f"
	done
}

# copy_libs ROOT FILE: the libraries FILE needs, under ROOT.
copy_libs() {
	local l
	while read -r l; do
		[ -e "$1$l" ] && continue
		mkdir -p "$1$(dirname "$l")"
		cp -L "$l" "$1$l"
	done < <(ldd "$2" 2>/dev/null | grep -o '/[^ ]*' | sort -u)
}

# install_bin ROOT FILE: a project binary into ROOT's /hetmig/bin, with
# its libraries.  Not at its build path: that may lie under /tmp, which
# the lab's dom0 mounts over.
install_bin() {
	cp -L "$2" "$1/hetmig/bin/"
	copy_libs "$1" "$2"
}

mkcpio() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}

# inputs: every file the images are made of; a change in one rebuilds.
inputs() {
	local kv=$1
	printf '%s\n' "$xen_gz" "/boot/vmlinuz-$kv" /usr/lib/xen-4.17/bin/xl \
		/usr/bin/bash /bin/busybox
	find "$here/dom0" "$here/guest" "$here/scenarios" "$top/scripts" \
		"$build/bin" -type f
	printf '%s\n' "$top/migrate-prep.sh" "$here/lab.sh" "$top/docs/tutorial.md"
}

stamp() {
	inputs "$1" | LC_ALL=C sort | xargs stat -c '%n %s %Y' | sha256sum | cut -c1-16
}

build_guest() {
	local kv=$1
	local g=$out/guest.root
	rm -rf "$g"
	mkdir -p "$g"/{bin,proc,sys,dev,tmp,lab,hetmig/bin}
	cp /bin/busybox "$g/bin/busybox"
	cp "$here/guest/init" "$g/init"
	cp -r "$here/guest/guest.d" "$g/lab/"
	gcc -std=gnu11 -O2 -static -o "$g/hetmig/bin/avx2check" "$here/guest/avx2check.c"
	gcc -std=gnu11 -O2 -static -o "$g/hetmig/bin/cpuwork" "$top/scripts/workloads/cpuwork.c"
	# Built for bmi2 without asking CPUID (the blind scenario); dom0 keeps
	# a copy, the guest's program as an admin would have it at hand.
	gcc -std=gnu11 -O2 -mbmi2 -static -o "$g/hetmig/bin/blind" "$here/guest/blind.c"
	[ ! -e "$top/scripts/workloads/selftest.c" ] ||
		gcc -std=gnu11 -O2 -static -o "$g/hetmig/bin/selftest" "$top/scripts/workloads/selftest.c"
	install_bin "$g" "$build/bin/featdump"
	# The net scenario's guest loads its vif's driver (not built in).
	mkdir -p "$g/lib/modules"
	cp "$(module_path "$kv" xen-netfront)" "$g/lib/modules/xen-netfront.ko"
	mkcpio "$g" "$out/guest.cpio.gz"
}

# module_path KV NAME: the file of kernel KV's module NAME.
module_path() {
	local f
	need_cmd modprobe kmod
	f=$(modprobe -S "$1" --show-depends "$2" 2>/dev/null | awk '$1 == "insmod" { f = $2 } END { print f }')
	[ -n "$f" ] || die "kernel $1 has no module '$2'"
	printf '%s\n' "$f"
}

# net_tools ROOT KV: what the net scenario needs beyond busybox: iproute2's
# ip and bridge (busybox's ip knows no "type bridge", -d or master),
# iptables (nf_tables backend) with its extensions, xenstore-read and
# -write for /etc/xen/scripts/vif-bridge, and the modules for a bridge, a
# vif backend, a veth pair, NAT and 802.1q VLANs (net-modes), whose file
# names ROOT/lab/net-modules
# lists in load order.  The tools go to /usr/sbin and /usr/bin, after
# busybox's /bin in dom0's PATH, so other scenarios see what they saw.
net_tools() {
	local root=$1
	local kv=$2
	local xt=/usr/lib/x86_64-linux-gnu/xtables
	local m
	local deps
	local word
	local f
	local t
	need_cmd modprobe kmod
	if ! [ -x /bin/ip ] || ! [ -x /sbin/bridge ]; then
		die "no /bin/ip or /sbin/bridge: install iproute2"
	fi
	if ! [ -x /usr/sbin/xtables-nft-multi ] || ! [ -d "$xt" ]; then
		die "no /usr/sbin/xtables-nft-multi or '$xt': install iptables"
	fi
	[ -x /usr/bin/xenstore ] || die "no /usr/bin/xenstore: install xenstore-utils"
	mkdir -p "$root/usr/sbin" "$root/usr/bin" "$root$xt" "$root/lib/modules/net"
	cp -L /bin/ip "$root/usr/sbin/ip"
	cp -L /sbin/bridge "$root/usr/sbin/bridge"
	copy_libs "$root" /bin/ip
	copy_libs "$root" /sbin/bridge
	copy_with_libs "$root" /usr/sbin/xtables-nft-multi
	for t in iptables iptables-save iptables-restore; do
		ln -sf xtables-nft-multi "$root/usr/sbin/$t"
	done
	for f in "$xt"/*.so; do
		cp "$f" "$root$xt/"
		copy_libs "$root" "$f"
	done
	copy_with_libs "$root" /usr/bin/xenstore
	for t in read write rm exists list ls chmod watch; do
		ln -sf xenstore "$root/usr/bin/xenstore-$t"
	done
	: >"$root/lab/net-modules"
	for m in bridge xen-netback veth nf_tables nft_compat nft_chain_nat nft_nat \
		nft_masq nft_ct xt_MASQUERADE xt_conntrack xt_nat 8021q; do
		deps=$(modprobe -S "$kv" --show-depends "$m") || die "kernel $kv has no module '$m'"
		while read -r word f _; do
			[ "$word" = insmod ] || continue
			t=${f##*/}
			grep -qxF -- "$t" "$root/lab/net-modules" && continue
			cp "$f" "$root/lib/modules/net/$t"
			printf '%s\n' "$t" >>"$root/lab/net-modules"
		done <<<"$deps"
	done
}

# build_guest_pg: the PostgreSQL guest image, for scenarios that say
# "# lab: image=pg": busybox, bash, PostgreSQL 15 from the installed
# Debian package (server, initdb, pg_ctl, pgbench, psql, their libraries,
# its share tree) with a postgres user, and hetmig's scripts/ tree.  It is
# large (tens of MB), so it is built, and put into dom0, only when such a
# scenario runs; its stamp is separate from the other images'.
build_guest_pg() {
	local g=$out/guest-pg.root
	local pg=/usr/lib/postgresql/15
	local s
	local b
	[ -x "$pg/bin/postgres" ] || die "no '$pg/bin/postgres': install postgresql-15"
	s=$({ printf '%s\n' "$pg/bin/postgres" "$here/guest/init" /bin/busybox \
		/usr/bin/bash "$here/lab.sh" "$out/dom0.cpio.gz"; find "$top/scripts" -type f; } |
		LC_ALL=C sort | xargs stat -c '%n %s %Y' | sha256sum | cut -c1-16)
	if [ -e "$out/pg.stamp" ] && [ "$(cat "$out/pg.stamp")" = "$s" ] &&
		[ -e "$out/dom0-pg.cpio.gz" ]; then
		return 0
	fi
	say "building the PostgreSQL guest image"
	rm -rf "$g" "$out/pg-overlay.root"
	mkdir -p "$g"/{bin,proc,sys,dev,tmp,lab,etc,hetmig/bin,var/run/postgresql} \
		"$g/usr/share/zoneinfo/Etc" "$g$pg/bin"
	cp /bin/busybox "$g/bin/busybox"
	cp "$here/guest/init" "$g/init"
	cp -r "$here/guest/guest.d" "$g/lab/"
	copy_with_libs "$g" /usr/bin/bash
	ln -s /usr/bin/bash "$g/bin/bash"
	mkdir -p "$g/usr/bin"
	for b in postgres initdb pg_ctl pgbench psql; do
		copy_with_libs "$g" "$pg/bin/$b"
	done
	# Server modules (plpgsql, snowball dictionaries: initdb loads them)
	# without the LLVM JIT, which is large and off unless asked for.
	mkdir -p "$g$pg/lib"
	find "$pg/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' \
		-exec cp {} "$g$pg/lib/" \;
	for b in "$g$pg"/lib/*.so; do copy_libs "$g" "$b"; done
	mkdir -p "$g/usr/share/postgresql"
	cp -r /usr/share/postgresql/15 "$g/usr/share/postgresql/"
	rm -rf "$g/usr/share/postgresql/15/man"
	[ ! -e /usr/share/zoneinfo/UTC ] || cp /usr/share/zoneinfo/UTC "$g/usr/share/zoneinfo/"
	[ ! -e /usr/share/zoneinfo/Etc/UTC ] || cp /usr/share/zoneinfo/Etc/UTC "$g/usr/share/zoneinfo/Etc/"
	printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:100:100:PostgreSQL:/tmp:/bin/sh\n' \
		>"$g/etc/passwd"
	printf 'root:x:0:\npostgres:x:100:\n' >"$g/etc/group"
	chown 100:100 "$g/var/run/postgresql"
	mkdir -p "$g/hetmig/scripts"
	cp -r "$top/scripts/." "$g/hetmig/scripts/"
	mkcpio "$g" "$out/guest-pg.cpio.gz"
	# dom0's image with the PostgreSQL image in /lab: the kernel unpacks
	# concatenated cpio archives in turn, so an overlay archive is enough.
	mkdir -p "$out/pg-overlay.root/lab"
	ln "$out/guest-pg.cpio.gz" "$out/pg-overlay.root/lab/guest-pg.cpio.gz"
	mkcpio "$out/pg-overlay.root" "$out/pg-overlay.cpio.gz"
	cat "$out/dom0.cpio.gz" "$out/pg-overlay.cpio.gz" >"$out/dom0-pg.cpio.gz.tmp"
	mv "$out/dom0-pg.cpio.gz.tmp" "$out/dom0-pg.cpio.gz"
	rm -rf "$g" "$out/pg-overlay.root" "$out/pg-overlay.cpio.gz"
	printf '%s\n' "$s" >"$out/pg.stamp"
	say "PostgreSQL guest image ready: $(du -h "$out/guest-pg.cpio.gz" | cut -f1)"
}

build_dom0() {
	local kv=$1
	local d=$out/dom0.root
	local mods=/lib/modules/$kv/kernel/drivers
	local x=/usr/lib/xen-4.17/bin
	local b
	rm -rf "$d"
	mkdir -p "$d"/{bin,sbin,proc,sys,dev,run,tmp,root,lab,hetmig/bin,lib/modules} \
		"$d"/var/{log,lib,run}/xen "$d"/etc/xen "$d"/usr/bin
	cp /bin/busybox "$d/bin/busybox"
	copy_with_libs "$d" "$x/xl" "$x/xenstored" "$x/xenconsoled" \
		"$x/xen-init-dom0" "$x/libxl-save-helper" "$x/xen-cpuid" /usr/bin/bash \
		/usr/bin/jq
	ln -s /usr/bin/bash "$d/bin/bash"
	ln -s /bin/busybox "$d/usr/bin/env"
	# GNU env, for serve-one: busybox's nc -ll ignores SIGCHLD, and an xl
	# create run under it cannot wait for its child ("failed to waitpid
	# for domain monitoring daemonizing child") and exits 1.
	mkdir -p "$d/lab/bin"
	cp -L /usr/bin/env "$d/lab/bin/env"
	copy_libs "$d" /usr/bin/env
	# xl aborts without it ("libgcc_s.so.1 must be installed for
	# pthread_cancel to work").
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$d/lib/x86_64-linux-gnu/"
	cp /etc/xen/xl.conf "$d/etc/xen/"
	[ ! -d /etc/xen/scripts ] || cp -r /etc/xen/scripts "$d/etc/xen/"
	for b in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc; do
		cp "$mods/xen/$b.ko" "$d/lib/modules/"
	done
	cp "$mods/xen/xenfs/xenfs.ko" "$d/lib/modules/"
	cp "$mods/net/ethernet/intel/e1000/e1000.ko" "$d/lib/modules/"
	net_tools "$d" "$kv"
	for b in "$build"/bin/*; do
		install_bin "$d" "$b"
	done
	mkdir -p "$d/hetmig/scripts"
	cp -r "$top/scripts/." "$d/hetmig/scripts/"
	cp "$top/migrate-prep.sh" "$d/hetmig/"
	ln -s /hetmig/migrate-prep.sh "$d/hetmig/bin/migrate-prep"
	cp "$here/dom0/init" "$d/init"
	cp "$here/dom0/lib.sh" "$here/dom0/prep.sh" "$here/dom0/serve" "$here/dom0/serve-one" \
		"$here/dom0/remote" "$here/dom0/migrate-nc" "$d/lab/"
	cp -r "$here/scenarios" "$d/lab/"
	# The tutorial scenario runs the blocks docs/tutorial.md marks.
	cp "$top/docs/tutorial.md" "$d/lab/"
	cp "/boot/vmlinuz-$kv" "$d/lab/vmlinuz"
	cp "$out/guest.cpio.gz" "$d/lab/guest.cpio.gz"
	mkdir -p "$d/lab/programs"
	cp "$out/guest.root/hetmig/bin/blind" "$d/lab/programs/"
	mkcpio "$d" "$out/dom0.cpio.gz"
}

cmd_build() {
	local kv
	local s
	need_cmd qemu-system-x86_64 qemu-system-x86
	need_cmd cpio cpio
	[ -e "$xen_gz" ] || die "'$xen_gz' not found: install xen-hypervisor-4.17-amd64"
	[ -x /usr/lib/xen-4.17/bin/xl ] || die "xl not found: install xen-utils-4.17"
	[ -x /bin/busybox ] || die "busybox not found: install busybox-static"
	[ -x "$build/bin/featdump" ] || die "no '$build/bin/featdump': run make first"
	kv=$(kernel_version)
	mkdir -p "$out"
	s=$(stamp "$kv")
	if [ -e "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$s" ] &&
		[ -e "$out/dom0.cpio.gz" ]; then
		return 0
	fi
	say "building the lab images (kernel $kv)"
	zcat "$xen_gz" >"$out/xen.tmp"
	mv "$out/xen.tmp" "$out/xen"
	build_guest "$kv"
	build_dom0 "$kv"
	printf '%s\n' "$s" >"$out/stamp"
	say "lab images ready: $(du -h "$out/dom0.cpio.gz" | cut -f1) dom0 initramfs"
}

# boot ROLE CPU [NETDEV-ARGS...]: start one nested Xen host in the
# background; its serial console goes to $tmp/ROLE.serial.
boot() {
	local role=$1
	local cpu=$2
	local kv
	local addr=""
	local peer=""
	shift 2
	kv=$(kernel_version)
	local net=""
	if [ "$#" -gt 2 ]; then
		if [ "$role" = A ]; then addr=10.77.0.1 peer=10.77.0.2; else addr=10.77.0.2 peer=10.77.0.1; fi
		net=" hetmig.addr=$addr hetmig.peer=$peer"
	fi
	# --pdeathsig: if this script dies, even by SIGKILL, QEMU dies too.
	setpriv --pdeathsig KILL -- qemu-system-x86_64 -accel tcg -cpu "$cpu" \
		-m 2048 -smp 1 -display none -monitor none -no-reboot \
		-serial "file:$tmp/$role.serial" \
		-kernel "$out/xen" -append "$xen_args" \
		-initrd "/boot/vmlinuz-$kv console=hvc0 quiet hetmig.scenario=$scenario hetmig.role=$role$net,$out/$dom0_image" \
		"$@" >"$tmp/$role.qemu" 2>&1 &
	pids+=("$!")
	: >>"$tmp/$role.serial"
	if [ -n "${V:-}" ]; then
		tail -F -n +1 "$tmp/$role.serial" 2>/dev/null | sed -u "s/^/$role| /" &
		pids+=("$!")
	elif [ "$role" = A ]; then
		tail -F -n +1 "$tmp/$role.serial" 2>/dev/null |
			grep --line-buffered -avE "$noise" &
		pids+=("$!")
	fi
}

# The lines of A's console that are not the scenario's story: the
# kernels' (time-stamped) and Xen's messages, the guests' consoles
# ("[name] "), the trials' talk and xl's, dom0's start-up.
noise='^(\[|\(XEN\)|  \| |Parsing config|trial\.sh: |lab: |Xen |xl: |xc: |Name +ID|[A-Za-z0-9_-]+ +[0-9]+ +[0-9]+ +[0-9]+ |Saving to migration|migration sender:|Migration successful|mapping kernel|about to get started|\r?$)'

# keep_logs: both whole consoles into build/lab/logs, for whoever reads
# past the story.
keep_logs() {
	local role
	mkdir -p "$out/logs"
	for role in A B; do
		[ -e "$tmp/$role.serial" ] || continue
		cp "$tmp/$role.serial" "$out/logs/$scenario.$role.log"
	done
	[ -n "${V:-}" ] || printf 'lab: the whole consoles: %s\n' "$out/logs/$scenario.[AB].log"
}

# why ROLE: the reason a host did not finish, from its serial log.
why() {
	local log=$tmp/$1.serial
	if grep -q 'Panic on CPU' "$log"; then
		printf 'xen panicked on host %s: %s\n' "$1" "$(grep -m1 -A2 'Panic on CPU' "$log" | tail -n 1)"
	elif grep -q 'Kernel panic' "$log"; then
		printf 'dom0 crashed on host %s: %s\n' "$1" "$(grep -m1 'Kernel panic' "$log")"
	elif ! grep -q 'lab: dom0 ready' "$log"; then
		printf 'dom0 of host %s never came up\n' "$1"
	else
		printf 'timeout\n'
	fi
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$tmp" ]; then
		if [ "$keep" -eq 1 ]; then say "kept '$tmp'"; else rm -rf "$tmp"; fi
	fi
}

# run_in_netns SCENARIO TIMEOUT HOSTS: the body of `run`, inside a network
# namespace of its own, so that the hosts' link never leaves loopback.
run_in_netns() {
	local hosts=$3
	local deadline
	local v
	scenario=$1
	ip link set lo up
	tmp=$(mktemp -d)
	trap 'cleanup' EXIT
	trap 'exit 2' INT TERM HUP
	if [ "$hosts" -eq 2 ]; then
		boot B "$cpu_b" -netdev "socket,id=n0,listen=127.0.0.1:$port" \
			-device e1000,netdev=n0,mac=52:54:00:77:00:02
		sleep 1
		boot A "$cpu_a" -netdev "socket,id=n0,connect=127.0.0.1:$port" \
			-device e1000,netdev=n0,mac=52:54:00:77:00:01
	else
		boot A "$cpu_a" -nic none
	fi
	deadline=$((SECONDS + $2))
	local ready=0
	while [ "$SECONDS" -lt "$deadline" ]; do
		if grep -q '^LAB-VERDICT: ' "$tmp/A.serial"; then
			break
		fi
		if [ "$ready" -eq 0 ] && grep -q 'lab: dom0 ready' "$tmp/A.serial"; then
			ready=1
			printf 'lab: host A dom0 ready after %ds\n' "$SECONDS"
		fi
		kill -0 "${pids[0]}" 2>/dev/null || kill -0 "${pids[-2]}" 2>/dev/null || break
		sleep 1
	done
	v=$(sed -n 's/^LAB-VERDICT: \([0-9]*\).*/\1/p' "$tmp/A.serial" | tail -n 1)
	sleep 1
	keep_logs
	if [ "$v" != 0 ] && [ -z "${V:-}" ]; then
		printf 'lab: the last lines of host A'"'"'s console:\n'
		tail -n 40 "$tmp/A.serial" | sed 's/^/A| /'
	fi
	case $v in
	0) printf 'lab: %s: pass (%ds)\n' "$scenario" "$SECONDS"; return 0 ;;
	1) printf 'lab: %s: FAIL (%ds)\n' "$scenario" "$SECONDS"; return 1 ;;
	'') printf 'lab: %s: the lab could not run: %s\n' "$scenario" "$(why A)" >&2; return 2 ;;
	*) printf 'lab: %s: the scenario could not run (exit %s)\n' "$scenario" "$v" >&2; return 2 ;;
	esac
}

cmd_run() {
	local name=""
	local timeout=""
	local file
	local hosts=1
	while [ $# -gt 0 ]; do
		case $1 in
		--keep) keep=1 ;;
		--timeout) timeout=${2:?}; shift ;;
		-*) die "unknown option '$1'" ;;
		*) name=$1 ;;
		esac
		shift
	done
	[ -n "$name" ] || die "usage: lab.sh run SCENARIO [--keep] [--timeout S]"
	file=$here/scenarios/$name.sh
	[ -e "$file" ] || die "unknown scenario '$name'"
	grep -q '^# lab: hosts=2' "$file" && hosts=2
	# A scenario may ask for more time than the default 600 s.
	[ -n "$timeout" ] ||
		timeout=$(sed -n 's/^# lab: timeout=\([0-9]*\)$/\1/p' "$file" | head -n 1)
	[ -n "$timeout" ] || timeout=600
	cmd_build
	if grep -q '^# lab: image=pg' "$file"; then
		build_guest_pg
		export LAB_DOM0_IMAGE=dom0-pg.cpio.gz
	fi
	export LAB_KEEP=$keep
	exec unshare -n -- "$0" __netns "$name" "$timeout" "$hosts" "$keep"
}

cmd_run_all() {
	local s
	local rc=0
	local passed=0
	local failed=0
	for s in "$here"/scenarios/*.sh; do
		s=$(basename "$s" .sh)
		grep -q '^# lab: bench-only' "$here/scenarios/$s.sh" && continue
		if "$0" run "$s"; then passed=$((passed + 1)); else failed=$((failed + 1)); rc=1; fi
	done
	printf 'lab: %d passed, %d failed\n' "$passed" "$failed"
	return "$rc"
}

main() {
	case ${1:-} in
	build)
		cmd_build
		[ "${2:-}" != pg ] || build_guest_pg
		;;
	run) shift; cmd_run "$@" ;;
	run-all) cmd_run_all ;;
	demo) "$0" run demo ;;
	__netns)
		keep=$5
		run_in_netns "$2" "$3" "$4"
		;;
	*) die "usage: lab.sh build [pg] | run SCENARIO [--keep] [--timeout S] | run-all | demo" ;;
	esac
}

# On one line with main: bash reads a script as it runs it, and a lab run
# is long enough for the file to be edited under it.
main "$@"; exit
