#!/usr/bin/env bash
# run.sh: install the hetmig .deb into a fresh Debian 12 chroot and run it
# there (make check-deb; too slow for make check).
#
# usage: tests/deb/run.sh DEB
#
# The chroot is debootstrapped (minbase, bookworm) from the mirror apt is
# configured with on this machine, given the same bookworm, -updates and
# -security entries (the package's shlibs dependencies name the library
# versions it was built against, often security updates), with the
# package's dependencies installed, and kept as a tarball in
# build/deb/chroot-bookworm-KEY.tar: KEY hashes those entries and the
# dependency list, so a rerun only unpacks it, and a package with other
# dependencies gets a new one.  Every run unpacks a clean copy,
# installs DEB with dpkg -i (offline), checks what it installed, runs
# `migrate-prep --help` and `featdump -f` on a fixture (against the golden
# output of tests/featdump), and purges the package.
#
# Needs root (debootstrap, chroot, dpkg -i).  Called by tests/run.sh with a
# directory (its BUILD_DIR) it does nothing: it is not part of make check.
#
# Exit status: 0 every check passed, 1 one failed, 2 could not run.
set -euo pipefail

PROG="check-deb"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$top/scripts/lib/common.sh"

SUITE=bookworm
FIXTURE=tests/fixtures/raw/qemu-lab-a.txt
GOLDEN=tests/featdump/golden/qemu-lab-a.names
CHROOT_PATH=/usr/sbin:/usr/bin:/sbin:/bin

work=
root=
mounts=()
passed=0
failed=0

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	local m
	for m in "${mounts[@]}"; do
		[ -z "$m" ] || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	# Never rm -rf across a mount (ours, or one a failed debootstrap left).
	if [ -n "$work" ]; then
		if awk -v w="$work/" 'index($2, w) == 1 { found = 1 }
			END { exit !found }' /proc/self/mounts; then
			warn "left '$work': something is still mounted in it"
		else
			rm -rf "$work"
		fi
	fi
	exit "$rc"
}

# sources_entries SUITE: "URI SUITE" for every "deb" entry of apt's
# sources (one-line .list or deb822 .sources) whose suite is SUITE or
# SUITE-something (SUITE-updates, SUITE-security), in the order apt has them.
sources_entries() {
	local suite=$1
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$suite" '
			$1 != "deb" { next }
			{
				i = 2
				if ($i ~ /^\[/) {
					while (i <= NF && $i !~ /\]$/) i++
					i++
				}
				if ($(i + 1) == suite || index($(i + 1), suite "-") == 1)
					print $i, $(i + 1)
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$suite" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = uris = suites = ""; enabled = "yes"
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^[[:space:]]*#/) continue
					k = tolower($i); sub(/:.*/, "", k)
					v = $i; sub(/^[^:]*:[[:space:]]*/, "", v)
					if (k == "types") types = v
					else if (k == "uris") uris = v
					else if (k == "suites") suites = v
					else if (k == "enabled") enabled = tolower(v)
				}
				if (enabled == "no" || (" " types " ") !~ / deb /) next
				nu = split(uris, u, " ")
				ns = split(suites, s, " ")
				for (j = 1; j <= ns; j++) {
					if (s[j] != suite && index(s[j], suite "-") != 1)
						continue
					for (k = 1; k <= nu; k++) print u[k], s[j]
				}
			}' "$f"
	done
}

# dep_names DEB: the package names of DEB's Depends (the first of each set
# of alternatives, without version constraints), comma-separated.
dep_names() {
	dpkg-deb -f "$1" Depends |
		tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
		grep -v '^$' | sort -u | paste -sd, -
}

# make_cache ENTRIES DEPS CACHE: debootstrap a chroot from the mirror of
# ENTRIES' first line, give it every entry (so that it gets the security
# and stable updates the build machine had), install DEPS and save it as
# the tarball CACHE.
make_cache() {
	local entries=$1
	local deps=$2
	local cache=$3
	local dir=$work/bootstrap
	local log=$top/build/deb/debootstrap.log
	local mirror
	local -a pkgs
	IFS=, read -r -a pkgs <<<"$deps"
	mirror=$(awk -v suite="$SUITE" '$2 == suite { print $1; exit }' <<<"$entries")
	[ -n "$mirror" ] || die "no 'deb' entry for $SUITE in apt's sources"
	say "debootstrap $SUITE (once; log: ${log#"$top"/})"
	if ! debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" \
		>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "debootstrap failed"
	fi
	awk '{ print "deb", $1, $2, "main" }' <<<"$entries" \
		>"$dir/etc/apt/sources.list"
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	mount_proc "$dir"
	say "installing the package's dependencies: ${pkgs[*]}"
	if ! {
		chroot "$dir" apt-get update &&
			chroot "$dir" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends "${pkgs[@]}" &&
			chroot "$dir" apt-get clean
	} >>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "cannot install the dependencies in the chroot"
	fi
	umount_proc "$dir"
	rm -rf "$dir"/var/lib/apt/lists/*
	rm -f "$top"/build/deb/chroot-"$SUITE"-*.tar
	tar -C "$dir" --numeric-owner -cf "$cache.tmp" .
	mv "$cache.tmp" "$cache"
	rm -rf "$dir"
}

# mount_proc DIR: mount /proc in the chroot DIR (process substitution needs
# /dev/fd, which is /proc/self/fd); cleanup unmounts it.
mount_proc() {
	mount -t proc proc "$1/proc"
	mounts+=("$1/proc")
}

# umount_proc DIR: undo mount_proc DIR.
umount_proc() {
	umount "$1/proc"
	mounts=("${mounts[@]/"$1/proc"/}")
}

# in_root CMD...: run CMD in the chroot with a clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root \
		LC_ALL=C.UTF-8 "$@"
}

# check NAME CMD...: one check; CMD's output is shown only when it fails.
check() {
	local name=$1
	local rc=0
	shift
	"$@" >"$work/out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok - %s\n' "$name"
	else
		failed=$((failed + 1))
		printf 'FAIL - %s (exit %d)\n' "$name" "$rc"
		sed 's/^/    /' "$work/out"
	fi
}

# --- the checks --------------------------------------------------------------

t_install() {
	in_root dpkg -i /tmp/hetmig.deb
}

t_layout() {
	local f
	local target
	for f in /usr/bin/featdump /usr/lib/hetmig/lib/common.sh \
		/usr/lib/hetmig/migrate-prep.sh /etc/hetmig/net.conf \
		/usr/share/man/man1/featdump.1.gz \
		/usr/share/man/man8/migrate-prep.8.gz \
		/usr/share/bash-completion/completions/hetmig; do
		[ -e "$root$f" ] || { echo "missing: $f"; return 1; }
	done
	target=$(in_root readlink -f /usr/sbin/migrate-prep)
	[ "$target" = /usr/lib/hetmig/migrate-prep.sh ] ||
		{ echo "/usr/sbin/migrate-prep -> '$target'"; return 1; }
}

t_conffiles() {
	local conf
	# shellcheck disable=SC2016 # a dpkg-query format, not an expansion
	conf=$(in_root dpkg-query -W -f='${Conffiles}\n' hetmig)
	printf '%s\n' "$conf"
	grep -q '^ /etc/hetmig/net.conf ' <<<"$conf"
}

t_migrate_prep_help() {
	local rc=0
	in_root migrate-prep --help >"$work/help" 2>&1 || rc=$?
	cat "$work/help"
	[ "$rc" -eq 0 ] || { echo "exit $rc"; return 1; }
	grep -q '^usage: ' "$work/help"
}

t_featdump_file() {
	in_root featdump -f /tmp/fixture.txt >"$work/names"
	if [ -e "$top/$GOLDEN" ]; then
		diff -u "$top/$GOLDEN" "$work/names"
	else
		[ -s "$work/names" ]
	fi
}

# Every binary loads its libraries and answers -h with a usage on stderr.
t_binaries_load() {
	local b
	local rc
	local n=0
	for b in $(in_root dpkg -L hetmig | grep '^/usr/bin/'); do
		rc=0
		in_root "$b" -h >/dev/null 2>"$work/err" || rc=$?
		if [ "$rc" -ge 126 ] || ! grep -q 'usage' "$work/err"; then
			echo "$b -h: exit $rc"
			cat "$work/err"
			return 1
		fi
		n=$((n + 1))
	done
	echo "$n binaries"
	[ "$n" -gt 0 ]
}

# The scripts find lib/common.sh where they are installed: without
# arguments each prints its usage instead of failing to source it.
t_scripts_source() {
	local s
	for s in net.sh vm.sh trial.sh; do
		[ -e "$root/usr/lib/hetmig/$s" ] || continue
		in_root "/usr/lib/hetmig/$s" >/dev/null 2>"$work/err" || true
		if grep -q 'common.sh' "$work/err" || ! grep -qi 'usage' "$work/err"; then
			echo "/usr/lib/hetmig/$s:"
			cat "$work/err"
			return 1
		fi
	done
}

t_completion() {
	local got
	# shellcheck disable=SC2016 # expanded by the chroot's bash
	got=$(in_root bash -c '
		. /usr/share/bash-completion/completions/featdump
		COMP_WORDS=(migrate-prep --apply ""); COMP_CWORD=2
		"$(complete -p migrate-prep | awk "{ print \$3 }")"
		printf "%s\n" "${COMPREPLY[*]}"
		COMP_WORDS=(featdump -s hvm); COMP_CWORD=2
		_hetmig_featdump
		printf "%s\n" "${COMPREPLY[*]}"')
	printf '%s\n' "$got"
	[ "$got" = "cold live
hvm-default hvm-max" ]
}

t_purge() {
	in_root dpkg --purge hetmig
	local f
	for f in /usr/bin/featdump /usr/lib/hetmig /etc/hetmig \
		/usr/sbin/migrate-prep; do
		if [ -e "$root$f" ] || [ -L "$root$f" ]; then
			echo "left behind: $f"
			return 1
		fi
	done
}

main() {
	local deb=${1:-}
	local entries
	local deps
	local key
	local cache

	[ $# -eq 1 ] || die "usage: tests/deb/run.sh DEB"
	if [ -d "$deb" ]; then
		say "not part of make check: run make check-deb"
		return 0
	fi
	[ -r "$deb" ] || die "cannot read '$deb'"
	[ "$(id -u)" -eq 0 ] || die "must be run as root (debootstrap, chroot, dpkg -i)"
	need_cmd debootstrap debootstrap
	need_cmd dpkg-deb dpkg
	deb=$(readlink -f "$deb")

	entries=$(sources_entries "$SUITE")
	[ -n "$entries" ] || die "no 'deb' entry for $SUITE in apt's sources"
	deps=$(dep_names "$deb")
	key=$(printf '%s\n' "$SUITE" "$entries" "$deps" | sha256sum | cut -c 1-12)
	cache=$top/build/deb/chroot-$SUITE-$key.tar

	mkdir -p "$top/build/deb"
	work=$(mktemp -d "$top/build/deb/test.XXXXXX")
	trap 'cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ -e "$cache" ] || make_cache "$entries" "$deps" "$cache"
	root=$work/root
	mkdir "$root"
	tar -C "$root" --numeric-owner -xpf "$cache"
	cp "$deb" "$root/tmp/hetmig.deb"
	cp "$top/$FIXTURE" "$root/tmp/fixture.txt"
	mount_proc "$root"

	printf 'deb: %s in a %s chroot (%s)\n' "${deb##*/}" "$SUITE" \
		"${cache#"$top"/}"
	check "dpkg -i installs the package offline" t_install
	check "files in place, /usr/sbin/migrate-prep resolves" t_layout
	check "/etc/hetmig/net.conf is a conffile" t_conffiles
	check "migrate-prep --help" t_migrate_prep_help
	check "featdump -f ${FIXTURE##*/} matches ${GOLDEN#tests/}" t_featdump_file
	check "every binary loads its libraries" t_binaries_load
	check "scripts source lib/common.sh where installed" t_scripts_source
	check "bash completion loads and completes" t_completion
	check "dpkg --purge removes everything" t_purge
	umount_proc "$root"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

main "$@"
