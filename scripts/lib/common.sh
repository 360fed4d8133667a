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

# --- validation at the edge ----------------------------------------------
# hetmig runs as root and hands names to xl (which builds shell command
# lines from some of them), to ssh and to xl config lines.  Each kind of
# name is checked here, once, against what it may be; a script dies with
# one line naming the bad value before it uses it.  The checks are strict
# on purpose: a value they refuse can still be given by renaming, a value
# they let through wrongly runs as root.

# is_domain_name NAME: a Xen domain (or VM) name hetmig accepts: letters,
# digits, '_', '.', '-', not starting with '-' or '.', at most 64 bytes.
# Xen allows more; these are what xl configs, file names under the state
# directory and shell command lines can all carry unquoted.
is_domain_name() {
	[[ ${#1} -le 64 && $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]]
}

# is_host NAME: a host name (RFC 1123 labels, dot-separated), an IPv4
# address or an IPv6 address (bare, without brackets).  Nothing that a
# shell, ssh's option parser or a path could read as more than a name.
is_host() {
	local label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
	[ "${#1}" -le 253 ] || return 1
	[[ $1 =~ ^$label(\.$label)*\.?$ ]] && return 0
	[[ $1 =~ ^[0-9A-Fa-f:.]+$ && $1 == *:*:* ]]
}

# is_ssh_target TARGET: [USER@]HOST, USER a POSIX login name.
is_ssh_target() {
	local user
	local host=$1
	if [[ $1 == *@* ]]; then
		user=${1%%@*}
		host=${1#*@}
		[[ $user =~ ^[a-z_][a-z0-9_.-]{0,31}$ ]] || return 1
	fi
	is_host "$host"
}

# is_cpuid_value VALUE: a cpuid= value as hetmig passes it to xl create
# (the libxl form "host,NAME=VALUE,..." or the legacy list text), checked
# where that fact lives: featcmp -e reads it with the C grammar, which
# refuses any quote, backslash or newline that could end the string and
# start another config line, and with the installed libxl, item by item.
is_cpuid_value() {
	"$(hetmig_bin featcmp)" -e -- "$1" >/dev/null 2>&1
}

# is_uint VALUE: a decimal number (no sign, at most 9 digits), safe in
# bash arithmetic.
is_uint() {
	[[ $1 =~ ^[0-9]{1,9}$ ]]
}

# validate KIND WHAT VALUE: die "bad WHAT 'VALUE'" unless is_KIND VALUE.
# The value is printed with %q when it holds anything unprintable, so the
# error stays one line.
validate() {
	local shown=$3
	"is_$1" "$3" && return 0
	[[ $3 =~ ^[[:print:]]*$ ]] || printf -v shown '%q' "$3"
	die "bad $2 '$shown'"
}

# need_xen: die unless xl is installed and answers as Xen's toolstack in a
# dom0.  Without Xen, xl exits 1 for every question, the same status as
# "no such domain": a script that went on would take every domain for
# gone.
need_xen() {
	need_cmd xl xen-utils-4.17
	xl info >/dev/null 2>&1 || die "xl cannot reach Xen ('xl info' fails): run this in a Xen dom0"
}

# is_config_path PATH: a file name xl create can take: xl reads an
# argument holding '=' as a line of config, not as the file.  No control
# characters either, so that every message about it stays one line.
is_config_path() {
	[[ -n $1 && $1 != *=* && $1 =~ ^[[:print:]]+$ && $1 != -* ]]
}

# is_remote_path PATH: an absolute path that can go unquoted into a shell
# command line run elsewhere (the workload run in a twin over ssh).
is_remote_path() {
	[[ $1 =~ ^/[A-Za-z0-9_.+/-]*$ && $1 != *..* ]]
}

# domain_state NAME: what xl says of domain NAME here: 0 it exists, 1 it
# does not (xl's exit 1), 2 no answer (xl crashed or was killed).  No
# answer is never news of the domain: a caller that acts on "gone" treats
# 2 as "still there", or the VM could end up on two hosts.  The one place
# where hetmig asks whether a domain exists; callers add the patience
# their step needs, each with its reason.
domain_state() {
	local rc=0
	xl domid -- "$1" >/dev/null 2>&1 || rc=$?
	case $rc in 0 | 1) return "$rc" ;; *) return 2 ;; esac
}

# hetmig_bin NAME: the path of hetmig's binary NAME: the build tree's when
# the scripts run from a checkout, else the one on PATH.
hetmig_bin() {
	local tree=${BASH_SOURCE[0]%/*}/../../build/bin
	if [ -x "$tree/$1" ]; then
		printf '%s\n' "$tree/$1"
	else
		command -v "$1" || die "'$1' not found: install hetmig"
	fi
}
