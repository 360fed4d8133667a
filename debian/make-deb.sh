#!/usr/bin/env bash
# make-deb.sh: build hetmig_VERSION_amd64.deb into build/deb/ (make deb).
#
# usage: debian/make-deb.sh VERSION
#
# dpkg-buildpackage writes its results into the parent of the tree it
# builds, and debian/rules clean wipes build/.  So the work tree (less
# .git and the build outputs) is copied to build/deb/hetmig-VERSION and the
# package is built there: the .deb, .buildinfo and .changes land in
# build/deb/, and nothing is written outside build/.  VERSION is the
# Makefile's; when debian/changelog names another version, the copy gets a
# new changelog entry for VERSION, so the package always carries it.
# lintian then checks the result; its errors fail the build.
#
# Exit status: 0 built and lintian-clean of errors, 2 otherwise.
set -euo pipefail

PROG=make-deb.sh
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$top/scripts/lib/common.sh"

# stamp_changelog FILE VERSION: add an entry for VERSION at the top of the
# Debian changelog FILE, in the format dpkg-parsechangelog reads.
stamp_changelog() {
	local file=$1
	local version=$2
	local maint
	local tmp
	maint=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$file" | head -n 1)
	tmp=$file.new
	{
		printf 'hetmig (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * New upstream version %s.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
		cat "$file"
	} >"$tmp"
	mv "$tmp" "$file"
}

main() {
	local version=${1:-}
	local out=$top/build/deb
	local stage
	local logged
	local deb
	local rc=0

	[ -n "$version" ] || die "usage: make-deb.sh VERSION"
	need_cmd dpkg-buildpackage dpkg-dev
	need_cmd dh debhelper
	need_cmd lintian lintian

	stage=$out/hetmig-$version
	mkdir -p "$out"
	rm -rf "$stage"
	rm -f "$out"/hetmig_* "$out"/hetmig-dbgsym_*
	mkdir "$stage"
	tar -C "$top" --anchored --exclude=./.git --exclude=./build \
		--exclude=./build-san --exclude=./tests/lab/out \
		--exclude=./debian/.debhelper -cf - . | tar -C "$stage" -xf -

	logged=$(dpkg-parsechangelog -l "$stage/debian/changelog" -S Version)
	if [ "$logged" != "$version" ]; then
		warn "debian/changelog is at $logged, the Makefile at $version:" \
			"the package says $version (add a changelog entry for it)"
		stamp_changelog "$stage/debian/changelog" "$version"
	fi

	say "dpkg-buildpackage in ${stage#"$top"/} (log: build/deb/build.log)"
	(cd "$stage" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
		{ tail -n 30 "$out/build.log" >&2; die "dpkg-buildpackage failed"; }
	deb=$out/hetmig_${version}_amd64.deb
	[ -e "$deb" ] || die "no '${deb#"$top"/}' after the build"
	rm -rf "$stage"

	say "lintian ${out#"$top"/}/hetmig_${version}_amd64.changes"
	lintian --fail-on error "$out/hetmig_${version}_amd64.changes" ||
		rc=$?
	[ "$rc" -eq 0 ] || die "lintian found errors"
	printf '%s\n' "${deb#"$top"/}"
}

main "$@"
