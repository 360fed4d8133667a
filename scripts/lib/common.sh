# shellcheck shell=bash
# Helpers shared by every hetmig script.  Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# PROG is the name used in messages; a script may set it before sourcing.

PROG=${PROG:-$(basename "$0")}

# die MESSAGE...: one line on stderr, exit 2 (usage or environment error).
die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 2
}

# warn MESSAGE...: one line on stderr, carry on.
warn() {
	printf '%s: warning: %s\n' "$PROG" "$*" >&2
}

# say MESSAGE...: progress talk, on stderr so stdout stays data.
say() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

# need_cmd COMMAND PACKAGE: die unless COMMAND is on PATH, naming the Debian
# package that provides it.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2'"
}

# need_root: die unless running as root.
need_root() {
	[ "$(id -u)" -eq 0 ] || die "must be run as root"
}
