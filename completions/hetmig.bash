# bash completion for hetmig: featdump, featcmp, featmin, featplan,
# featscan, xlcfg and migrate-prep (also as migrate-prep.sh, run from the
# source tree).
# shellcheck shell=bash
#
# Installed as share/bash-completion/completions/hetmig with a link per
# command, so that bash-completion loads it on first use; it can also be
# sourced by hand.  It needs nothing but bash: no bash-completion helpers.
# Domain names come from `xl list` (dom0 as root only), hosts from
# ~/.ssh/known_hosts.

# _hetmig_reply WORD...: complete the current word from WORDs.
_hetmig_reply() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	mapfile -t COMPREPLY < <(compgen -W "$*" -- "$cur")
}

# _hetmig_files: complete the current word as a file name.
_hetmig_files() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

# _hetmig_domains: the names of the running domains but dom0, from xl.
_hetmig_domains() {
	command -v xl >/dev/null 2>&1 || return 0
	xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0" { print $1 }'
}

# _hetmig_hosts: the host names in ~/.ssh/known_hosts (hashed ones can't be
# read back), without the [host]:port brackets.
_hetmig_hosts() {
	local file=${HOME:-}/.ssh/known_hosts
	[ -r "$file" ] || return 0
	awk '
		/^[[:space:]]*(#|$)/ { next }
		{ f = ($1 ~ /^@/) ? $2 : $1 }
		f ~ /^\|/ { next }
		{
			n = split(f, h, ",")
			for (i = 1; i <= n; i++) {
				sub(/^\[/, "", h[i]); sub(/\]:[0-9]+$/, "", h[i])
				if (h[i] !~ /[*?!]/) print h[i]
			}
		}' "$file" 2>/dev/null | sort -u
}

# _hetmig_xl_keys FILE: the keys set in an xl config file, and cpuid.
_hetmig_xl_keys() {
	{
		printf 'cpuid\n'
		[ ! -r "$1" ] ||
			sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*=.*/\1/p' \
				"$1" 2>/dev/null
	} | sort -u
}

_hetmig_featdump() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-d) _hetmig_reply "$(_hetmig_domains)"; return ;;
	-s) _hetmig_reply raw host pv-default hvm-default pv-max hvm-max; return ;;
	-o) _hetmig_reply names table json raw featureset; return ;;
	-f) _hetmig_files; return ;;
	-c) return ;;
	esac
	_hetmig_reply -c -d -f -h -l -o -s
}

_hetmig_featcmp() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local w
	local formats="human json names"
	COMPREPLY=()
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		[ "$w" != -i ] || formats="names table json raw featureset"
		[ "$w" != -e ] || formats="human json"
	done
	case $prev in
	-o) _hetmig_reply "$formats"; return ;;
	esac
	case $cur in
	-*) _hetmig_reply -d -e -h -i -j -o -x ;;
	*) _hetmig_files ;;
	esac
}

_hetmig_featplan() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-o) _hetmig_reply human json; return ;;
	-l) _hetmig_reply common needed; return ;;
	-v | -a | -b | -n | -s) _hetmig_files; return ;;
	-c) return ;;
	esac
	_hetmig_reply -a -b -c -h -j -l -n -o -s -v
}

_hetmig_featmin() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i
	COMPREPLY=()
	# After "--" comes the trial command: a command name, then files.
	for ((i = 1; i < COMP_CWORD; i++)); do
		[ "${COMP_WORDS[i]}" = -- ] || continue
		if [ "$i" -eq $((COMP_CWORD - 1)) ]; then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			_hetmig_files
		fi
		return
	done
	case $prev in
	-o | --output) _hetmig_reply json names xl; return ;;
	-p | --policy | -j | --journal) _hetmig_files; return ;;
	-e | --extra | -k | --keep | -r | --retries | -t | --timeout) return ;;
	esac
	_hetmig_reply -a -e -h -j -k -o -p -r -t -v --all --extra --help \
		--journal --keep --output --policy --retries --timeout --verbose \
		--verify --
}

# xlcfg SUBCOMMAND [options] FILE [KEY [VALUE]]: options by subcommand,
# then an xl config file, then a key it sets.
_hetmig_xlcfg() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local -a pos=()
	local i
	local w
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		_hetmig_reply get set unset check
		return
	fi
	[ "$prev" != -b ] || return 0
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-b) i=$((i + 1)) ;;
		-*) ;;
		*) pos+=("$w") ;;
		esac
	done
	if [[ $cur == -* ]]; then
		case ${COMP_WORDS[1]} in
		get) _hetmig_reply -r ;;
		set) _hetmig_reply -b -n -r ;;
		unset) _hetmig_reply -b -n ;;
		esac
		return
	fi
	case ${#pos[@]} in
	0) _hetmig_files ;;
	1)
		case ${COMP_WORDS[1]} in
		get | set | unset) _hetmig_reply "$(_hetmig_xl_keys "${pos[0]}")" ;;
		esac
		;;
	esac
}

_hetmig_migrate_prep() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local npos=0
	local i
	local w
	COMPREPLY=()
	case $prev in
	--apply) _hetmig_reply cold live; return ;;
	--level) _hetmig_reply common needed; return ;;
	--workload) _hetmig_reply pgbench selftest; return ;;
	-c | -o | --dest-policy | --trial-config) _hetmig_files; return ;;
	--trial-arg | --shutdown-timeout | --remote-cmd | --migrate-cmd | \
		--check-marker | --check-cmd | --check-timeout | --trial-ssh) return ;;
	esac
	if [[ $cur == -* ]]; then
		_hetmig_reply -c -h -n -o --analyse --apply --check-cmd \
			--check-marker --check-timeout --dest-policy --trial-config --trial-ssh \
			--dry-run --force --help --json --level --migrate-cmd \
			--no-analyse --remote-cmd --restart-on-source \
			--shared-storage --shutdown-timeout --trial-arg --workload
		return
	fi
	# Count the operands before this word, stepping over option values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-c | -o | --dest-policy | --workload | --trial-arg | --level | \
			--apply | --shutdown-timeout | --remote-cmd | --migrate-cmd | \
			--check-marker | --check-cmd | --check-timeout | --trial-config | --trial-ssh)
			i=$((i + 1)) ;;
		-*) ;;
		*) npos=$((npos + 1)) ;;
		esac
	done
	case $npos in
	0) _hetmig_reply "$(_hetmig_domains)" ;;
	1) _hetmig_reply "$(_hetmig_hosts)" ;;
	esac
}

_hetmig_featscan() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-o | --output) _hetmig_reply names table json; return ;;
	-j | --jobs) return ;;
	esac
	case $cur in
	-*) _hetmig_reply -h -j -o --at --blind --jobs --output --trap ;;
	*) _hetmig_files ;;
	esac
}

complete -F _hetmig_featdump featdump
complete -F _hetmig_featcmp featcmp
complete -F _hetmig_featmin featmin
complete -F _hetmig_featscan featscan
complete -F _hetmig_featplan featplan
complete -F _hetmig_xlcfg xlcfg
complete -F _hetmig_migrate_prep migrate-prep migrate-prep.sh ./migrate-prep.sh
