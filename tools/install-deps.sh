#!/usr/bin/env bash
# install-deps.sh: install the Debian packages of tools/packages.txt that
# are missing.  As root it runs apt-get non-interactively; otherwise it
# prints the exact apt-get line and exits 2.
#
# usage: tools/install-deps.sh
set -euo pipefail

PROG=install-deps.sh
# shellcheck source=../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

missing_packages() {
	local list=$1
	local pkg
	local status
	while read -r pkg; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[ "$status" = "install ok installed" ] || printf '%s\n' "$pkg"
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$list")
}

main() {
	local list
	local -a missing
	list="$(dirname "${BASH_SOURCE[0]}")/packages.txt"
	mapfile -t missing < <(missing_packages "$list")
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		printf '%s: missing packages; as root, run:\n' "$PROG" >&2
		printf 'apt-get install -y %s\n' "${missing[*]}" >&2
		exit 2
	fi
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

main "$@"
