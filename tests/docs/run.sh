#!/usr/bin/env bash
# run.sh: the documentation's own tests, quick and without Xen.
#
# usage: tests/docs/run.sh BUILD_DIR
#
# - The tutorial's "<!-- lab -->" blocks: every mark is right before a
#   code fence and extracted, by the same code the lab scenario uses
#   (tests/lab/scenarios/tutorial.sh --extract); each block is bash that
#   parses, without sudo or prompts; the script the lab runs parses; lab.sh
#   puts docs/tutorial.md into dom0.  (The blocks themselves run in the
#   lab: tests/lab/lab.sh run tutorial.)
# - docs/tutorial.fr.md has the same marked blocks as docs/tutorial.md,
#   with identical commands (only whole-line # comments may differ), and
#   as many code fences.
# - Every option of featdump, featcmp, featmin, featplan, xlcfg and featscan that a docs/*.md
#   uses after the command's name is in the command's man page (an mdoc
#   .Fl) and in the usage its binary in BUILD_DIR prints.
# - Every option the usage of a binary or a script prints for -h is in the
#   SYNOPSIS of its man page (an option and its long alias, "-n,
#   --dry-run", count as one; -h and --help are left out).  For the
#   binaries the converse holds too: the SYNOPSIS names no option the
#   usage lacks.
# - Every relative link of docs/*.md names a file that exists, and an
#   anchor (#...) names a heading of the file it points into.
# Ends with "docs: N passed, M failed"; exit 0 when none failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
extractor=$top/tests/lab/scenarios/tutorial.sh
commands=(featdump featcmp featmin featplan xlcfg featscan)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

# check MESSAGE CMD...: one assertion.
check() {
	local msg=$1
	shift
	if "$@"; then ok; else not_ok "$msg"; fi
}

# --- the marked blocks --------------------------------------------------

# extract NAME: the marked blocks of docs/NAME into $tmp/NAME/.
extract() {
	local err
	rm -rf "${tmp:?}/$1"
	if ! err=$(bash "$extractor" --extract "$top/docs/$1" "$tmp/$1" 2>&1); then
		not_ok "docs/$1: the lab's extractor refuses it: $err"
		return 1
	fi
	ok
}

# no_root_prompt FILE: no line of FILE starts with sudo or a shell prompt
# ("$ cmd", "# cmd -x"): the tutorial's blocks run in a root shell.
no_root_prompt() {
	! grep -Eq '^[[:space:]]*(sudo |[$] |# [a-z/.]+ -)' "$1"
}

# count_marks FILE: lines that are exactly the mark.
count_marks() {
	grep -c -x -F '<!-- lab -->' "$1" || true
}

test_blocks() {
	local name
	local f
	local n
	local marks
	local where
	for name in tutorial.md tutorial.fr.md; do
		extract "$name" || continue
		marks=$(count_marks "$top/docs/$name")
		n=$(find "$tmp/$name" -name '*.sh' | wc -l)
		check "docs/$name: $marks marks but $n blocks extracted" \
			test "$n" -eq "$marks"
		check "docs/$name: no marked block" test "$marks" -gt 0
		for f in "$tmp/$name"/*.sh; do
			[ -e "$f" ] || continue
			where="docs/$name:$(cat "${f%.sh}.line")"
			check "$where: the marked block does not parse as bash" \
				bash -n "$f"
			check "$where: the marked block uses sudo or a prompt (the tutorial runs as root)" \
				no_root_prompt "$f"
		done
	done
	if bash "$extractor" --runner "$top/docs/tutorial.md" "$tmp/run.sh" 2>"$tmp/err"; then
		check "the lab's runner script for docs/tutorial.md does not parse" bash -n "$tmp/run.sh"
	else
		not_ok "tutorial.sh --runner failed: $(head -n 1 "$tmp/err")"
	fi
	# shellcheck disable=SC2016 # the words of lab.sh, not an expansion
	check "tests/lab/lab.sh does not put docs/tutorial.md into dom0" \
		grep -q 'cp "$top/docs/tutorial.md"' "$top/tests/lab/lab.sh"
}

# strip FILE: the block without its whole-line comments.
strip() {
	grep -v '^[[:space:]]*#' "$1" || true
}

test_same_blocks() {
	local en=$tmp/tutorial.md
	local fr=$tmp/tutorial.fr.md
	local f
	local g
	local ne
	local nf
	[ -d "$en" ] && [ -d "$fr" ] || return 0
	ne=$(find "$en" -name '*.sh' | wc -l)
	nf=$(find "$fr" -name '*.sh' | wc -l)
	check "tutorial.md has $ne marked blocks, tutorial.fr.md $nf" test "$ne" -eq "$nf"
	for f in "$en"/*.sh; do
		g=$fr/${f##*/}
		[ -e "$g" ] || continue
		if diff -u <(strip "$f") <(strip "$g") >"$tmp/diff"; then
			ok
		else
			not_ok "marked block at docs/tutorial.md:$(cat "${f%.sh}.line") differs from docs/tutorial.fr.md:$(cat "${g%.sh}.line"):"
			cat "$tmp/diff" >&2
		fi
	done
	ne=$(grep -c '^```' "$top/docs/tutorial.md" || true)
	nf=$(grep -c '^```' "$top/docs/tutorial.fr.md" || true)
	check "tutorial.md has $ne code fences, tutorial.fr.md $nf" test "$ne" -eq "$nf"
}

# --- options ------------------------------------------------------------

# expand OPT...: one option a line; a single-dash cluster (-av) gives each
# letter.
expand() {
	local o
	local i
	for o in "$@"; do
		if [[ $o == --* ]]; then
			printf '%s\n' "$o"
		else
			for ((i = 1; i < ${#o}; i++)); do
				printf -- '-%s\n' "${o:i:1}"
			done
		fi
	done
}

# man_options PAGE: the options its .Fl macros name, one a line.
man_options() {
	local -a opts=()
	local -a words
	local line
	local i
	local w
	while IFS= read -r line; do
		[[ $line == *Fl\ * ]] || continue
		read -r -a words <<<"$line"
		for ((i = 0; i + 1 < ${#words[@]}; i++)); do
			[ "${words[i]}" = Fl ] || [ "${words[i]}" = .Fl ] || continue
			w=${words[i + 1]//\\-/-}
			w=${w%%[,.;:)]}
			if [[ $w =~ ^-[A-Za-z][A-Za-z0-9-]*$ ]]; then
				opts+=("-$w")
			elif [[ $w =~ ^[A-Za-z]+$ ]]; then
				opts+=("-$w")
			fi
		done
	done <"$1"
	[ "${#opts[@]}" -eq 0 ] || expand "${opts[@]}"
}

# usage_options BINARY: the options the usage it prints for -h names.
usage_options() {
	local -a opts
	mapfile -t opts < <("$1" -h 2>&1 >/dev/null |
		grep -oE '(^|[][[:space:]|])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[^-]*//')
	[ "${#opts[@]}" -eq 0 ] || expand "${opts[@]}"
}

# doc_options: "COMMAND OPTION FILE:LINE" for every option a docs/*.md
# gives one of the commands: the words after the command's name up to a
# shell separator, a backtick, "--" or the end of a phrase.  Lines ending
# in a backslash are joined first.
doc_options() {
	awk -v cmds="${commands[*]}" '
	BEGIN { n = split(cmds, c, " "); for (i = 1; i <= n; i++) want[c[i]] = 1 }
	function scan(text, where,    w, n, i, t, base, cur, o) {
		gsub(/[`;|&<>()]/, " | ", text)
		n = split(text, w, /[ \t]+/)
		cur = ""
		for (i = 1; i <= n; i++) {
			t = w[i]
			if (t == "") continue
			if (t == "|" || t == "--") { cur = ""; continue }
			base = t
			sub(/.*\//, "", base)
			if (base in want) { cur = base; continue }
			if (cur == "") continue
			if (t ~ /^--?[A-Za-z]/) {
				o = t
				sub(/=.*/, "", o)
				sub(/[,.:;]+$/, "", o)
				print cur, o, where
			}
			if (t ~ /[.,:]$/) cur = ""
		}
	}
	{
		if (cont != "") { text = cont " " $0 } else { text = $0; where = FILENAME ":" FNR }
		if (text ~ /\\$/) { cont = substr(text, 1, length(text) - 1); next }
		cont = ""
		scan(text, where)
	}
	' docs/*.md
}

test_options() {
	local cmd
	local opt
	local where
	local page
	declare -A in_man=()
	declare -A in_usage=()
	declare -A seen=()
	for cmd in "${commands[@]}"; do
		page=$top/man/$cmd.1
		if [ -e "$page" ]; then
			while read -r opt; do in_man["$cmd $opt"]=1; done < <(man_options "$page")
		fi
		if [ -x "$build/bin/$cmd" ]; then
			while read -r opt; do in_usage["$cmd $opt"]=1; done < <(usage_options "$build/bin/$cmd")
		fi
	done
	while read -r cmd opt where; do
		[ -z "${seen["$cmd $opt"]:-}" ] || continue
		seen["$cmd $opt"]=1
		page=man/$cmd.1
		if [ ! -e "$top/$page" ]; then
			not_ok "$where: '$cmd $opt': there is no $page"
		elif [ -z "${in_man["$cmd $opt"]:-}" ]; then
			not_ok "$where: '$cmd $opt' is not in $page"
		else
			ok
		fi
		if [ ! -x "$build/bin/$cmd" ]; then
			not_ok "$where: '$cmd $opt': no $build/bin/$cmd to ask for its usage"
		elif [ -z "${in_usage["$cmd $opt"]:-}" ]; then
			not_ok "$where: '$cmd $opt' is not in the usage '$cmd -h' prints"
		else
			ok
		fi
	done < <(cd "$top" && doc_options)
	check "no featdump, featcmp, featmin or xlcfg option found in docs/*.md" \
		test "${#seen[@]}" -gt 0
}

# --- usage and SYNOPSIS ---------------------------------------------------

# Each program (a binary in BUILD_DIR, or a script of the source tree) and
# its man page.
programs=(
	"bin featdump man/featdump.1"
	"bin featcmp man/featcmp.1"
	"bin featmin man/featmin.1"
	"bin xlcfg man/xlcfg.1"
	"script migrate-prep.sh man/migrate-prep.8"
	"script scripts/net.sh man/net.sh.8"
	"script scripts/trial.sh man/trial.sh.8"
	"script scripts/vm.sh man/vm.sh.8"
)

# synopsis_options PAGE: the options the SYNOPSIS of PAGE names, one a
# line: every argument of an Fl macro up to the next macro ("Fl av" gives
# -a and -v, "Fl \-analyse | \-no-analyse" both long options).
synopsis_options() {
	local -a opts=()
	local o
	while read -r o; do
		opts+=("$o")
	done < <(awk '/^\.Sh SYNOPSIS/ { f = 1; next } /^\.Sh / { f = 0 } f' "$1" | awk '{
		fl = 0
		for (i = 1; i <= NF; i++) {
			w = $i
			if (w == "Fl" || w == ".Fl") { fl = 1; continue }
			if (w ~ /^\.?[A-Z][a-z][a-z]?$/) { fl = 0; continue }
			if (!fl || w == "|") continue
			gsub(/\\-/, "-", w)
			sub(/[,.;:)]+$/, "", w)
			if (w ~ /^-?[A-Za-z]/) print "-" w
		}
	}')
	[ "${#opts[@]}" -eq 0 ] || expand "${opts[@]}"
}

# usage_groups KIND PATH: the options of the usage PATH prints for -h, one
# group a line: an option, or an option and its long alias joined by '|'
# ("-n|--dry-run").  The usage is the block from "usage:" to the first
# blank line, without the description column of an option list (what
# follows two spaces: "passed to 'xl migrate -s'" names no option of its
# own); a single-dash cluster gives one line a letter.
usage_groups() {
	local prog=$2
	local g
	[ "$1" = bin ] || prog=$top/$2
	"$prog" -h 2>&1 </dev/null |
		awk '/^usage:/ { f = 1 } f && /^[[:space:]]*$/ { exit } f' |
		sed -E 's/([^[:space:]])[[:space:]]{2,}.*/\1/' |
		sed -E 's/(^|[[:space:]])(-[A-Za-z]), (--[A-Za-z][A-Za-z0-9-]*)/\1\2|\3/g' |
		grep -oE '(^|[][[:space:]|(])--?[A-Za-z][A-Za-z0-9-]*(\|--[A-Za-z][A-Za-z0-9-]*)?' |
		sed -E 's/^[^-]*//' |
		while read -r g; do
			if [[ $g == *'|'* || $g == --* ]]; then
				printf '%s\n' "$g"
			else
				expand "$g"
			fi
		done | sort -u
}

test_synopsis() {
	local entry
	local kind
	local prog
	local page
	local g
	local o
	local found
	local -A in_syn
	local -A in_usage
	for entry in "${programs[@]}"; do
		read -r kind prog page <<<"$entry"
		if [ "$kind" = bin ]; then
			prog=$build/bin/$prog
		fi
		in_syn=()
		in_usage=()
		while read -r o; do in_syn["$o"]=1; done < <(synopsis_options "$top/$page")
		check "$page: no option found in its SYNOPSIS" test "${#in_syn[@]}" -gt 0
		mapfile -t groups < <(usage_groups "$kind" "$prog")
		check "${prog##*/}: no option found in the usage it prints for -h" \
			test "${#groups[@]}" -gt 0
		for g in "${groups[@]}"; do
			found=0
			IFS='|' read -r -a alts <<<"$g"
			for o in "${alts[@]}"; do
				in_usage["$o"]=1
				[ -z "${in_syn["$o"]:-}" ] || found=1
			done
			case $g in -h | --help | "-h|--help") continue ;; esac
			if [ "$found" -eq 1 ]; then
				ok
			else
				not_ok "${prog##*/}: its usage has '${g//|/, }', which $page's SYNOPSIS lacks"
			fi
		done
		for o in "${!in_syn[@]}"; do
			case $o in -h | --help) continue ;; esac
			if [ -n "${in_usage["$o"]:-}" ]; then
				ok
			else
				not_ok "${prog##*/}: $page's SYNOPSIS has '$o', which its usage lacks"
			fi
		done
	done
}

# --- commit subjects -------------------------------------------------------

# Every commit since .gitmessage came (the template says the rule) has a
# subject of at most 72 characters that does not chain two changes with
# "; ".  Older history is left as it is.  Outside a git checkout there is
# nothing to read.
test_commit_subjects() {
	local base
	local subject
	git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || return 0
	base=$(git -C "$top" log -n 1 --format=%H --diff-filter=A -- .gitmessage 2>/dev/null)
	[ -n "$base" ] || return 0
	while IFS= read -r subject; do
		if [ "${#subject}" -gt 72 ]; then
			not_ok "commit subject over 72 characters: '$subject'"
		elif [[ $subject == *"; "* ]]; then
			not_ok "commit subject chains changes with '; ': '$subject'"
		else
			ok
		fi
	done < <(git -C "$top" log --no-merges --format=%s "$base~1..HEAD")
}

# --- links ----------------------------------------------------------------

# anchors FILE: the GitHub anchors of FILE's headings (outside code), one a
# line: lower case, punctuation dropped, spaces as '-'.
anchors() {
	awk '/^```/ { code = !code; next } !code && /^#+ / { sub(/^#+ /, ""); print }' "$1" |
		tr '[:upper:]' '[:lower:]' | LC_ALL=C sed 's/[^a-z0-9 _-]//g; s/ /-/g'
}

test_links() {
	local doc
	local no
	local line
	local target
	local path
	local frag
	local file
	local -a lines
	for doc in "$top"/docs/*.md; do
		mapfile -t lines <"$doc"
		for ((no = 1; no <= ${#lines[@]}; no++)); do
			line=${lines[no - 1]}
			[[ $line == *']('* ]] || continue
			while read -r target; do
				target=${target#](}
				target=${target%)}
				target=${target%% *}
				case $target in
				http://* | https://* | mailto:*) continue ;;
				esac
				path=${target%%#*}
				frag=
				[[ $target != *'#'* ]] || frag=${target#*#}
				if [ -z "$path" ]; then
					file=$doc
				else
					file=$(dirname "$doc")/$path
				fi
				if [ ! -e "$file" ]; then
					not_ok "docs/${doc##*/}:$no: link to '$path', which does not exist"
					continue
				fi
				if [ -n "$frag" ] && [[ $file == *.md ]]; then
					if anchors "$file" | grep -qx -F -- "$frag"; then
						ok
					else
						not_ok "docs/${doc##*/}:$no: no heading '#$frag' in ${file#"$top"/}"
					fi
				else
					ok
				fi
			done < <(grep -oE '\]\([^)]*\)' <<<"$line")
		done
	done
}

main() {
	test_blocks
	test_same_blocks
	test_options
	test_synopsis
	test_links
	test_commit_subjects
	summary docs
}

main "$@"
