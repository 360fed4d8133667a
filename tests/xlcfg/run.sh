#!/usr/bin/env bash
# run.sh: xlcfg's tests: golden edits and reads of varied xl configs
# (configs/), every fixture's set and unset read back through libxlutil by
# a reader written apart from xlcfg (xlread.c), the backup, bad input,
# kill -9 in the middle of a write, and concurrent writers.
#
# usage: tests/xlcfg/run.sh BUILD_DIR
#   UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
#   XLCFG_KILL_TRIES: how many runs the kill -9 test kills (default 250).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
xlcfg=$build/bin/xlcfg
xlread=$build/tests/xlread
configs=$here/configs
golden_dir=$here/golden
# shellcheck source=../lib.sh
. "$here/../lib.sh"
pids=()
mounted=

# The value the edits write: names the installed libxl knows.
mask=host,avx2=0,fma=0,aes=0
# A legacy list value (one leaf a line, as xend wrote them).
list_mask='[ "0x1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0" ]'

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	[ -z "$mounted" ] || umount "$mounted" || true
	rm -rf "$tmp"
}
trap 'cleanup' EXIT

# need: the tools the tests use, and the package each comes in.
need() {
	local pair
	for pair in cc:gcc pkg-config:pkg-config flock:util-linux cmp:diffutils \
		diff:diffutils awk:mawk timeout:coreutils; do
		command -v "${pair%%:*}" >/dev/null || {
			printf 'run.sh: %s is needed (apt-get install %s)\n' \
				"${pair%%:*}" "${pair#*:}" >&2
			exit 2
		}
	done
}

build_xlread() {
	local -a flags
	read -r -a flags <<<"$(pkg-config --cflags --libs xlutil xenlight)"
	mkdir -p "$build/tests"
	cc -std=gnu11 -Wall -Wextra -o "$xlread" "$here/xlread.c" "${flags[@]}"
}

# keys_of FILE: the keys FILE sets, sorted, without xlcfg's scanner:
# strings and comments dropped, the rest split at ';'.
keys_of() {
	local dq='"([^"\\]|\\.)*"'
	local sq="'([^'\\\\]|\\\\.)*'"
	sed -E -e "s/$dq//g" -e "s/$sq//g" -e 's/#.*//' "$1" | tr ';' '\n' |
		sed -nE 's/^[[:space:]]*([a-z][._0-9a-z]*)[[:space:]]*\+?=.*/\1/p' |
		sort -u
}

# without_cpuid FILE: FILE without its cpuid= settings, a list over
# several lines taken whole; every other line as it is.
without_cpuid() {
	awk '
		skip { if (index($0, "]")) skip = 0; next }
		/^[ \t]*cpuid[ \t]*\+?=/ {
			if (index($0, "[") && !index($0, "]")) skip = 1
			next
		}
		{ print }' "$1"
}

# golden NAME FILE: FILE is golden/NAME.
golden() {
	local name=$1
	local file=$2
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$file" "$golden_dir/$name"
	fi
	if diff -u "$golden_dir/$name" "$file" >&2; then
		ok
	else
		not_ok "golden $name: output differs"
	fi
}

# edit_golden NAME FIXTURE ARGS...: xlcfg ARGS on a copy of FIXTURE (the
# word FILE in ARGS stands for it) exits 0, prints nothing and leaves
# golden/NAME.
edit_golden() {
	local name=$1
	local fixture=$2
	local f=$tmp/golden/$fixture
	local rc=0
	local -a args
	local a
	shift 2
	mkdir -p "$tmp/golden"
	rm -f "$f" "$f.orig"
	cp "$configs/$fixture" "$f"
	for a in "$@"; do
		if [ "$a" = FILE ]; then args+=("$f"); else args+=("$a"); fi
	done
	"$xlcfg" "${args[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then
		not_ok "golden $name: exit $rc: $(head -c 300 "$tmp/out" "$tmp/err")"
		return
	fi
	golden "$name" "$f"
}

# get_all FIXTURE: what xlcfg get (and get -r) prints for the usual keys,
# with each exit status.
get_all() {
	local fixture=$1
	local key
	local rc
	for key in name type builder memory vcpus kernel disk vif cpuid \
		on_crash; do
		printf '$ xlcfg get %s %s\n' "$fixture" "$key"
		rc=0
		(cd "$configs" && "$xlcfg" get "$fixture" "$key") 2>&1 || rc=$?
		printf '(exit %d)\n' "$rc"
	done
	for key in disk cpuid; do
		printf '$ xlcfg get -r %s %s\n' "$fixture" "$key"
		rc=0
		(cd "$configs" && "$xlcfg" get -r "$fixture" "$key") 2>&1 || rc=$?
		printf '(exit %d)\n' "$rc"
	done
}

goldens() {
	local f
	local name
	for f in "$configs"/*.cfg; do
		name=${f##*/}
		edit_golden "set-$name" "$name" set FILE cpuid "$mask"
		get_all "$name" >"$tmp/get"
		golden "get-${name%.cfg}" "$tmp/get"
	done
	edit_golden unset-pv.cfg pv.cfg unset FILE cpuid
	edit_golden unset-hvm.cfg hvm.cfg unset FILE cpuid
	edit_golden unset-hvm-builder.cfg hvm-builder.cfg unset FILE cpuid
	edit_golden set-list-hvm.cfg hvm.cfg set -r FILE cpuid "$list_mask"
	edit_golden set-list-pv.cfg pv.cfg set -r FILE cpuid "$list_mask"
	edit_golden set-number-pvh.cfg pvh.cfg set FILE memory 8192
	edit_golden set-new-key-minimal.cfg minimal.cfg set FILE vif \
		"[ 'bridge=xenbr0' ]"
}

# same_except_cpuid ORIG NEW WHAT: NEW reads like ORIG through libxlutil
# for every key but cpuid, sets no other key, and differs from ORIG only
# in its cpuid lines.
same_except_cpuid() {
	local orig=$1
	local new=$2
	local what=$3
	local -a keys
	local k
	mapfile -t keys < <(keys_of "$orig" | grep -vx cpuid)
	if [ "${#keys[@]}" -eq 0 ]; then
		not_ok "$what: no keys found in the fixture"
		return
	fi
	"$xlread" "$orig" "${keys[@]}" >"$tmp/read-orig" 2>&1 || {
		not_ok "$what: xlread refuses the fixture: $(head -c 300 "$tmp/read-orig")"
		return
	}
	if grep -q ': unset$' "$tmp/read-orig"; then
		not_ok "$what: keys_of found a key libxlutil does not see: $(grep ': unset$' "$tmp/read-orig" | tr '\n' ' ')"
		return
	fi
	if ! "$xlread" "$new" "${keys[@]}" >"$tmp/read-new" 2>&1; then
		not_ok "$what: the result does not parse with libxlutil: $(head -c 300 "$tmp/read-new")"
	elif ! diff -u "$tmp/read-orig" "$tmp/read-new" >&2; then
		not_ok "$what: another key reads back differently"
	elif ! diff <(keys_of "$orig" | grep -vx cpuid) \
		<(keys_of "$new" | grep -vx cpuid) >&2; then
		not_ok "$what: the set of other keys changed"
	elif ! diff -u <(without_cpuid "$orig") <(without_cpuid "$new") >&2; then
		not_ok "$what: a line other than cpuid= changed"
	else
		ok
	fi
	for k in "${keys[@]}"; do
		# xlcfg get agrees with the independent reader on every key.
		if ! "$xlcfg" get "$new" "$k" >/dev/null 2>"$tmp/err"; then
			not_ok "$what: xlcfg get $k fails: $(cat "$tmp/err")"
			return
		fi
	done
	ok
}

# roundtrip FIXTURE: set then get returns the value, in the string and
# in the list form, and unset removes it; nothing else changes.
roundtrip() {
	local fixture=$1
	local f=$tmp/rt/$fixture
	local got
	mkdir -p "$tmp/rt"
	rm -f "$f" "$f.orig"
	cp "$configs/$fixture" "$f"
	if ! "$xlcfg" set "$f" cpuid "$mask" 2>"$tmp/err"; then
		not_ok "roundtrip $fixture: set failed: $(cat "$tmp/err")"
		return
	fi
	got=$("$xlcfg" get "$f" cpuid) || true
	if [ "$got" = "$mask" ]; then ok; else not_ok "roundtrip $fixture: get says '$got', want '$mask'"; fi
	got=$("$xlread" "$f" cpuid) || true
	if [ "$got" = "cpuid: \"$mask\"" ]; then ok; else not_ok "roundtrip $fixture: libxlutil reads '$got'"; fi
	if [ "$(keys_of "$f" | grep -cx cpuid)" -eq 1 ] &&
		[ "$(grep -Ec '^[[:space:]]*cpuid[[:space:]]*\+?=' "$f")" -eq 1 ]; then
		ok
	else
		not_ok "roundtrip $fixture: not exactly one cpuid= setting after set"
	fi
	same_except_cpuid "$configs/$fixture" "$f" "roundtrip $fixture (set)"
	if ! cmp -s "$configs/$fixture" "$f.orig"; then
		not_ok "roundtrip $fixture: the backup is not the original"
	else
		ok
	fi

	# The same value again: nothing to do, the file is not rewritten.
	cp -p "$f" "$tmp/rt/before"
	ls -i "$f" >"$tmp/inode.before"
	"$xlcfg" set "$f" cpuid "$mask"
	ls -i "$f" >"$tmp/inode.after"
	if cmp -s "$f" "$tmp/rt/before" && cmp -s "$tmp/inode.before" "$tmp/inode.after"; then
		ok
	else
		not_ok "roundtrip $fixture: setting the same value rewrote the file"
	fi

	# The legacy list form.
	"$xlcfg" set -r "$f" cpuid "$list_mask"
	got=$("$xlcfg" get "$f" cpuid) || true
	if [ "$got" = 0x1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0 ]; then ok; else not_ok "roundtrip $fixture: list get says '$got'"; fi
	same_except_cpuid "$configs/$fixture" "$f" "roundtrip $fixture (list)"

	if ! "$xlcfg" unset "$f" cpuid 2>"$tmp/err"; then
		not_ok "roundtrip $fixture: unset failed: $(cat "$tmp/err")"
		return
	fi
	if "$xlcfg" get "$f" cpuid >/dev/null 2>&1; then
		not_ok "roundtrip $fixture: cpuid still set after unset"
	elif [ "$("$xlread" "$f" cpuid)" != "cpuid: unset" ]; then
		not_ok "roundtrip $fixture: libxlutil still reads a cpuid after unset"
	else
		ok
	fi
	same_except_cpuid "$configs/$fixture" "$f" "roundtrip $fixture (unset)"
}

roundtrips() {
	local f
	for f in "$configs"/*.cfg; do
		roundtrip "${f##*/}"
	done
}

backups() {
	local d=$tmp/backup
	local f=$d/pv.cfg
	local mode
	mkdir -p "$d"
	cp "$configs/pv.cfg" "$f"
	chmod 640 "$f"
	"$xlcfg" set "$f" cpuid "$mask"
	if cmp -s "$f.orig" "$configs/pv.cfg"; then ok; else not_ok "backup: FILE.orig is not the original"; fi
	mode=$(stat -c %a "$f")
	if [ "$mode" = 640 ] && [ "$(stat -c %a "$f.orig")" = 640 ]; then
		ok
	else
		not_ok "backup: modes $mode and $(stat -c %a "$f.orig") after the edit, want 640"
	fi
	"$xlcfg" set "$f" cpuid host,avx=0
	if cmp -s "$f.orig" "$configs/pv.cfg"; then ok; else not_ok "backup: FILE.orig overwritten by the second edit"; fi
	"$xlcfg" unset "$f" cpuid
	if cmp -s "$f.orig" "$configs/pv.cfg"; then ok; else not_ok "backup: FILE.orig overwritten by unset"; fi

	# -b SUFFIX: that backup instead, kept the same way.
	rm -f "$f" "$f.orig"
	cp "$configs/pv.cfg" "$f"
	"$xlcfg" set -b .before-hetmig "$f" cpuid "$mask"
	if [ -e "$f.orig" ]; then
		not_ok "backup -b: FILE.orig made as well"
	elif ! cmp -s "$f.before-hetmig" "$configs/pv.cfg"; then
		not_ok "backup -b: FILE.before-hetmig is not the original"
	else
		ok
	fi
	"$xlcfg" set -b .before-hetmig "$f" cpuid host,avx=0
	if cmp -s "$f.before-hetmig" "$configs/pv.cfg"; then ok; else not_ok "backup -b: overwritten by the second edit"; fi
	rm -f "$f" "$f".*
	cp "$configs/pv.cfg" "$f"
	"$xlcfg" set -b .orig~1+A_b-c "$f" cpuid "$mask"
	if cmp -s "$f.orig~1+A_b-c" "$configs/pv.cfg"; then ok; else not_ok "backup -b: a suffix of every allowed kind"; fi

	# Only a regular file is a backup: a link or a FIFO in its place is
	# refused, neither taken for one nor replaced.
	local what
	for what in dangling link fifo; do
		rm -rf "$f" "$f".* "$d/elsewhere"
		cp "$configs/pv.cfg" "$f"
		case $what in
		dangling) ln -s elsewhere "$f.orig" ;;
		link) cp "$configs/pv.cfg" "$d/elsewhere"; ln -s elsewhere "$f.orig" ;;
		fifo) mkfifo "$f.orig" ;;
		esac
		expect_error "backup: a $what in its place" \
			"^xlcfg: backup '$f.orig' is not a regular file: remove it, or give -b another suffix\$" \
			"$xlcfg" set "$f" cpuid "$mask"
		if cmp -s "$f" "$configs/pv.cfg" && { [ -L "$f.orig" ] || [ -p "$f.orig" ]; } &&
			{ [ "$what" != dangling ] || [ ! -e "$d/elsewhere" ]; }; then
			ok
		else
			not_ok "backup: a $what in its place: the file, the $what or its target changed"
		fi
	done

	# No change, no backup.
	rm -f "$f" "$f".*
	cp "$configs/pv.cfg" "$f"
	"$xlcfg" set "$f" cpuid host,aes=0,x2apic=0
	if [ -e "$f.orig" ] || ! cmp -s "$f" "$configs/pv.cfg"; then
		not_ok "backup: an edit that changes nothing wrote"
	else
		ok
	fi
	# -n shows the result and writes nothing.
	"$xlcfg" set -n "$f" cpuid "$mask" >"$tmp/out"
	if [ -e "$f.orig" ] || ! cmp -s "$f" "$configs/pv.cfg"; then
		not_ok "backup: -n wrote"
	elif ! diff -u "$golden_dir/set-pv.cfg" "$tmp/out" >&2; then
		not_ok "-n: the result shown is not the one set writes"
	else
		ok
	fi
}

# xlcfg_error NAME PATTERN FILE ARGS...: xlcfg ARGS exits 2 with one
# line on stderr matching PATTERN, nothing on stdout, and FILE (when it
# exists) untouched, with no backup and no temporary left.
xlcfg_error() {
	local name=$1
	local pattern=$2
	local file=$3
	local want_rc=${want_rc:-2}
	local rc=0
	shift 3
	if [ -e "$file" ]; then cp "$file" "$tmp/copy"; fi
	"$xlcfg" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		not_ok "$name: exit $rc, want $want_rc: $(head -c 300 "$tmp/err")"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
		not_ok "$name: stderr '$(head -c 300 "$tmp/err")' does not match '$pattern'"
	elif [ -s "$tmp/out" ]; then
		not_ok "$name: printed data on an error"
	elif [ -e "$file" ] && ! cmp -s "$file" "$tmp/copy"; then
		not_ok "$name: the file changed"
	elif compgen -G "$file.orig" >/dev/null ||
		compgen -G "$(dirname "$file")/.xlcfg-*" >/dev/null; then
		not_ok "$name: a backup or a temporary was left"
	else
		ok
	fi
}

# expect_usage NAME FILE ARGS...: exit 2 with the usage on stderr, no
# data, FILE untouched.
expect_usage() {
	local name=$1
	local file=${2:-}
	local rc=0
	shift
	[ "$#" -eq 0 ] || shift
	if [ -e "$file" ]; then cp "$file" "$tmp/copy"; fi
	"$xlcfg" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 2 ] || ! grep -q '^usage: xlcfg get' "$tmp/err" || [ -s "$tmp/out" ]; then
		not_ok "$name: exit $rc, want 2 and the usage"
	elif [ -e "$file" ] && ! cmp -s "$file" "$tmp/copy"; then
		not_ok "$name: the file changed"
	else
		ok
	fi
}

bad_input() {
	local d=$tmp/bad
	local f=$d/pvh.cfg
	local rc
	mkdir -p "$d"
	cp "$configs/pvh.cfg" "$f"

	xlcfg_error "missing file" "^xlcfg: cannot open '$d/nonexistent': " \
		"$d/nonexistent" set "$d/nonexistent" cpuid "$mask"
	xlcfg_error "missing file (get)" "^xlcfg: cannot open '$d/nonexistent': " \
		"$d/nonexistent" get "$d/nonexistent" cpuid
	# A read error names its cause, not EIO.
	mkdir -p "$d/dir.cfg"
	xlcfg_error "a directory (get)" "^xlcfg: cannot open '$d/dir.cfg': Is a directory\$" \
		"$d/unused" get "$d/dir.cfg" cpuid
	xlcfg_error "a directory (check)" "^xlcfg: cannot open '$d/dir.cfg': Is a directory\$" \
		"$d/unused" check "$d/dir.cfg"

	printf 'name = "x"\ndisk = [ "a",\n         "b" "c" ]\n' >"$d/syntax.cfg"
	xlcfg_error "unparsable" "^xlcfg: '$d/syntax.cfg' does not parse with libxlutil: line 3: " \
		"$d/syntax.cfg" set "$d/syntax.cfg" cpuid "$mask"
	xlcfg_error "unparsable (get)" "^xlcfg: '$d/syntax.cfg' does not parse with libxlutil: line 3: " \
		"$d/syntax.cfg" get "$d/syntax.cfg" name
	# Python, as xm configs had it.
	printf 'import os\nname = "x"\n' >"$d/python.cfg"
	xlcfg_error "python" "does not parse with libxlutil: line 1: " \
		"$d/python.cfg" set "$d/python.cfg" cpuid "$mask"
	# libxlutil asserts on a NUL byte in a string: refused first.
	printf 'name = "x"\nkernel = "a\0b"\n' >"$d/nul.cfg"
	xlcfg_error "NUL byte" "does not parse with libxlutil: line 2: a NUL byte" \
		"$d/nul.cfg" set "$d/nul.cfg" cpuid "$mask"
	xlcfg_error "NUL byte (get)" "does not parse with libxlutil: line 2: a NUL byte" \
		"$d/nul.cfg" get "$d/nul.cfg" name
	# libxlutil takes garbage on a last line without its newline; the
	# scanner does not, and nothing is written.
	printf 'name = "x"\n@' >"$d/garbage.cfg"
	xlcfg_error "garbage libxlutil takes" "^xlcfg: $d/garbage.cfg: line 2: not an xl config setting" \
		"$d/garbage.cfg" set "$d/garbage.cfg" cpuid "$mask"

	xlcfg_error "unknown feature" "^xlcfg: '$f' not written: cpuid item 'nosuchfeature=0' refused by libxl: unknown cpuid flag name" \
		"$f" set "$f" cpuid host,avx2=0,nosuchfeature=0
	xlcfg_error "bad flag value" "^xlcfg: '$f' not written: cpuid item 'avx2=q' refused by libxl: illegal cpuid value" \
		"$f" set "$f" cpuid host,avx2=q
	# libxl reads a value's first characters only: the rest must not ride
	# along into the file.
	xlcfg_error "trailing text after a value" "^xlcfg: '$f' not written: cpuid item 'avx2=0\"x': bad value: expected 0, 1, x, k or s$" \
		"$f" set "$f" cpuid 'host,avx2=0"x'
	xlcfg_error "a number libxl would cut" "^xlcfg: '$f' not written: cpuid item 'avx2=2': bad value" \
		"$f" set "$f" cpuid host,avx2=2
	xlcfg_error "a field too small for the number" "^xlcfg: '$f' not written: cpuid item 'family=16': bad value: expected x, k, s or a number from 0 to 15$" \
		"$f" set "$f" cpuid host,family=16
	xlcfg_error "a legacy register with a quote" "^xlcfg: '$f' not written: cpuid item '0x1:ecx=x+\"0': expected LEAF" \
		"$f" set -r "$f" cpuid '[ "0x1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"0" ]'
	xlcfg_error "a legacy register name libxl half reads" "^xlcfg: '$f' not written: cpuid item '0x1:ecxjunk=x+0': expected LEAF" \
		"$f" set -r "$f" cpuid '[ "0x1:ecxjunk=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0" ]'
	# libxl ends its list with leaf 0xffffffff: such an item would be lost
	# (and leak), so it is refused before libxl sees it.
	xlcfg_error "legacy leaf 0xffffffff" "^xlcfg: '$f' not written: cpuid item '0xffffffff:eax=x+': expected LEAF" \
		"$f" set -r "$f" cpuid '[ "0xffffffff:eax=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" ]'
	xlcfg_error "a negative legacy leaf" "^xlcfg: '$f' not written: cpuid item '-1:ecx=x+0': expected LEAF" \
		"$f" set -r "$f" cpuid '[ "-1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0" ]'
	xlcfg_error "no host" "^xlcfg: '$f' not written: cpuid value 'avx2=0': the first word must be 'host'" \
		"$f" set "$f" cpuid avx2=0
	xlcfg_error "bad legacy leaf" "^xlcfg: '$f' not written: cpuid item '0x1:ecx=x' refused by libxl: policy string must be exactly 32" \
		"$f" set -r "$f" cpuid '[ "0x1:ecx=x" ]'
	xlcfg_error "raw value that is not one" "^xlcfg: '1 2' is not an xl value" \
		"$f" set -r "$f" memory '1 2'
	# vcpus shares its line with maxvcpus: a comment in the value would
	# hide it, and the read-back check refuses.
	xlcfg_error "edit that would hide a key" "^xlcfg: '$f' not written: the edit would change key 'maxvcpus'" \
		"$f" set -r "$f" vcpus '4 #'
	xlcfg_error "control character" "^xlcfg: value holds a control character" \
		"$f" set "$f" name "$(printf 'a\tb')"
	xlcfg_error "bad key" "^xlcfg: bad key 'CPUID'" "$f" set "$f" CPUID "$mask"
	xlcfg_error "bad suffix" "^xlcfg: bad backup suffix '/x'" "$f" set -b /x "$f" cpuid "$mask"
	local suffix
	for suffix in '' ".a"$'\n'"b" ' x' '.a"b' ".a\$b" '.a*' ".a"$'\t'; do
		xlcfg_error "bad suffix '$suffix'" \
			"^xlcfg: bad backup suffix '.*': expected letters, digits and \\. _ - ~ \\+\$" \
			"$f" set -b "$suffix" "$f" cpuid "$mask"
	done
	expect_usage "unknown option" "$f" set -Q "$f" cpuid "$mask"
	expect_usage "unknown command" "$f" frob "$f"
	expect_usage "missing operand" "$f" set "$f" cpuid
	expect_usage "-b on get" "$f" get -b .x "$f" cpuid
	expect_usage "no command"

	# set and unset replace the file: only a regular file is edited, never
	# a FIFO or a device node (as root, /dev/null would become a file).
	mkfifo "$d/fifo.cfg"
	expect_error "set on a FIFO" "^xlcfg: cannot edit '$d/fifo.cfg': not a regular file\$" \
		timeout 10 "$xlcfg" set "$d/fifo.cfg" cpuid "$mask"
	expect_error "unset on a FIFO" "^xlcfg: cannot edit '$d/fifo.cfg': not a regular file\$" \
		timeout 10 "$xlcfg" unset -n "$d/fifo.cfg" cpuid
	if [ -p "$d/fifo.cfg" ] && [ ! -e "$d/fifo.cfg.orig" ]; then ok; else
		not_ok "set on a FIFO: the FIFO was replaced or backed up"
	fi
	ln -s fifo.cfg "$d/fifo-link.cfg"
	expect_error "set on a link to a FIFO" "^xlcfg: cannot edit '$d/fifo-link.cfg': not a regular file\$" \
		timeout 10 "$xlcfg" set "$d/fifo-link.cfg" cpuid "$mask"
	if [ "$(id -u)" -eq 0 ]; then
		mknod "$d/null.cfg" c 1 3
		expect_error "set on a device node" "^xlcfg: cannot edit '$d/null.cfg': not a regular file\$" \
			timeout 10 "$xlcfg" set "$d/null.cfg" cpuid "$mask"
		if [ -c "$d/null.cfg" ] && [ ! -e "$d/null.cfg.orig" ]; then ok; else
			not_ok "set on a device node: the node was replaced or backed up"
		fi
	fi

	# get: 1 and nothing said when the key is not set.
	rc=0
	"$xlcfg" get "$f" cpuid >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
		ok
	else
		not_ok "get of a key not set: exit $rc, want 1 and silence"
	fi

	# check: 0 on every fixture; 1 with file:line on a cpuid libxl refuses.
	local c
	for c in "$configs"/*.cfg; do
		if "$xlcfg" check "$c" 2>"$tmp/err"; then ok; else not_ok "check ${c##*/}: $(cat "$tmp/err")"; fi
	done
	printf 'name = "x"\n\ncpuid = "host,avx2=0,nosuchfeature=0"\n' >"$d/badcpuid.cfg"
	printf 'name = "x"\ncpuid = "host,0x1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"\n' >"$d/mixed.cfg"
	want_rc=1 xlcfg_error "check: a legacy item in the string form, which xl refuses" \
		"^$d/mixed.cfg:2: cpuid item '0x1:ecx=x+0': a legacy leaf item belongs in the list form" \
		"$d/mixed.cfg" check "$d/mixed.cfg"
	xlcfg_error "set: a legacy item in the string form" "^xlcfg: .*a legacy leaf item belongs in the list form" \
		"$d/badcpuid.cfg" set "$d/badcpuid.cfg" cpuid "host,0x1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"
	printf 'name = "x"\ncpuid = "host,avx2=0x"\n' >"$d/junkcpuid.cfg"
	want_rc=1 xlcfg_error "check: a value libxl reads only in part" \
		"^$d/junkcpuid.cfg:2: cpuid item 'avx2=0x': bad value" \
		"$d/junkcpuid.cfg" check "$d/junkcpuid.cfg"
	want_rc=1 xlcfg_error "check: refused cpuid" "^$d/badcpuid.cfg:3: cpuid item 'nosuchfeature=0' refused by libxl" \
		"$d/badcpuid.cfg" check "$d/badcpuid.cfg"
	if "$xlcfg" get "$configs/pv.cfg" name >/dev/full 2>/dev/null; then
		not_ok "a write error on stdout went unnoticed"
	else
		ok
	fi
}

# No space left for the new file once the backup is written: nothing is
# written, and the backup this run made goes too.  A tmpfs of 64 KiB,
# made in the test's directory (root only) and filled but for one page:
# the backup (under a page) takes it, the new file finds none.
enospc() {
	local d=$tmp/small
	local f=$d/vm.cfg
	if [ "$(id -u)" -ne 0 ]; then
		printf 'xlcfg: no ENOSPC test: not root\n' >&2
		return
	fi
	mkdir -p "$d"
	if ! mount -t tmpfs -o size=64k hetmig-test "$d"; then
		printf 'xlcfg: no ENOSPC test: cannot mount a tmpfs\n' >&2
		return
	fi
	mounted=$d
	cp "$configs/pv.cfg" "$f"
	dd if=/dev/zero of="$d/filler" bs=4096 2>/dev/null || true
	truncate -s -4096 "$d/filler"
	xlcfg_error "no space left" \
		"^xlcfg: '$f' not written: cannot write '$f': No space left on device\$" \
		"$f" set "$f" cpuid "$mask"
	if [ -e "$f.orig" ]; then not_ok "no space left: the run left a backup"; else ok; fi
	# With room again, the edit is whole and its backup the original.
	rm -f "$d/filler"
	if "$xlcfg" set "$f" cpuid "$mask" && cmp -s "$f.orig" "$configs/pv.cfg"; then
		ok
	else
		not_ok "no space left: the next run's backup is not the original"
	fi
	umount "$d"
	mounted=
}

# nap US: sleep US microseconds, in the shell (kills() opens napfd).
nap() {
	read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" \
		-u "$napfd" || true
}

# kill -9 at random points of xlcfg set: the file is always there, whole,
# either the old or the new text; the backup, once there, is the
# original; a later run leaves no temporary behind.
kills() {
	local d=$tmp/kill
	local f=$d/vm.cfg
	local tries=${XLCFG_KILL_TRIES:-250}
	local i
	local t0
	local us
	local max_us
	local pid
	local want
	local whole=0
	local done_runs=0
	local cut_runs=0
	local mid_write=0
	local tmps
	local t
	local start=$SECONDS
	local napfd
	local -a vals=('host,avx2=0,fma=0' 'host,aes=0,sse4-2=0')
	mkdir -p "$d"
	cp "$configs/pv.cfg" "$f"
	"$xlcfg" set -n "$f" cpuid "${vals[0]}" >"$tmp/kill-0"
	"$xlcfg" set -n "$f" cpuid "${vals[1]}" >"$tmp/kill-1"
	cp "$tmp/kill-0" "$f"
	cp "$f" "$tmp/kill-original"

	# A pipe nobody writes to: read -t on it sleeps without a fork.
	mkfifo "$tmp/nap"
	exec {napfd}<>"$tmp/nap"

	# Kill within 1.5 times the time the quickest whole run takes here,
	# so that some runs are cut and some finish.
	max_us=
	cp "$f" "$d/scratch.cfg"
	for i in 0 1 2 3 4 5; do
		t0=${EPOCHREALTIME/./}
		"$xlcfg" set "$d/scratch.cfg" cpuid "${vals[i % 2]}"
		us=$((${EPOCHREALTIME/./} - t0))
		[ -n "$max_us" ] && [ "$us" -ge "$max_us" ] || max_us=$us
	done
	rm -f "$d/scratch.cfg" "$d/scratch.cfg.orig"
	max_us=$((max_us * 3 / 2 + 1))

	want=1
	for ((i = 0; i < tries; i++)); do
		tmps=$(echo "$d"/.xlcfg-*)
		"$xlcfg" set "$f" cpuid "${vals[want]}" 2>/dev/null &
		pid=$!
		pids=("$pid")
		us=$(((RANDOM * 32768 + RANDOM) % max_us))
		nap "$us"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pids=()
		if [ ! -e "$f" ]; then
			not_ok "kill $i: the file is missing"
			return
		elif cmp -s "$f" "$tmp/kill-$want"; then
			done_runs=$((done_runs + 1))
			want=$((1 - want))
		elif cmp -s "$f" "$tmp/kill-$((1 - want))"; then
			cut_runs=$((cut_runs + 1))
			# Killed between mkstemp and rename: a new temporary.
			for t in "$d"/.xlcfg-*; do
				if [ -e "$t" ] && [[ " $tmps " != *" $t "* ]]; then
					mid_write=$((mid_write + 1))
					break
				fi
			done
		else
			not_ok "kill $i: the file is neither the old nor the new text ($(wc -c <"$f") bytes)"
			return
		fi
		if ! "$xlcfg" check "$f" 2>"$tmp/err" || ! "$xlread" "$f" >/dev/null 2>&1; then
			not_ok "kill $i: the file does not parse: $(cat "$tmp/err")"
			return
		fi
		if [ -e "$f.orig" ] && ! cmp -s "$f.orig" "$tmp/kill-original"; then
			not_ok "kill $i: the backup is not the original"
			return
		fi
		whole=$((whole + 1))
	done
	exec {napfd}<&-
	if [ "$whole" -eq "$tries" ]; then ok; else not_ok "kill: only $whole of $tries checked"; fi
	# Both outcomes happened, or the test proved nothing.
	if [ "$done_runs" -gt 0 ] && [ "$cut_runs" -gt 0 ]; then
		ok
	else
		not_ok "kill: $done_runs runs finished, $cut_runs were cut: no mix (kill within ${max_us}us)"
	fi
	# The next whole run removes what killed runs left (and one made
	# here, so that there is one).
	: >"$d/.xlcfg-AAAAAA"
	"$xlcfg" set "$f" cpuid host
	if compgen -G "$d/.xlcfg-*" >/dev/null; then
		not_ok "kill: temporaries left after a whole run: $(cd "$d" && echo .xlcfg-*)"
	else
		ok
	fi
	printf 'xlcfg: kill -9: %d tries (kill within %dus): %d finished, %d cut, %d of them while writing, in %ds\n' \
		"$tries" "$max_us" "$done_runs" "$cut_runs" "$mid_write" \
		$((SECONDS - start)) >&2
}

# Concurrent runs: every edit lands (none lost to another run that read
# the file before it was written), and a run waits for the lock.
concurrency() {
	local d=$tmp/conc
	local f=$d/vm.cfg
	local round
	local i
	local rc
	local n=8
	local lockfd
	local pid
	local -a jobs
	local -a keys
	mkdir -p "$d"
	for round in 1 2 3 4 5; do
		rm -f "$f" "$f.orig"
		cp "$configs/minimal.cfg" "$f"
		jobs=()
		for ((i = 0; i < n; i++)); do
			"$xlcfg" set "$f" "extra_$i" "value $round.$i" 2>"$tmp/conc-err.$i" &
			jobs+=("$!")
		done
		pids=("${jobs[@]}")
		rc=0
		for pid in "${jobs[@]}"; do
			wait "$pid" || rc=$?
		done
		pids=()
		if [ "$rc" -ne 0 ]; then
			not_ok "concurrent round $round: a run failed: $(cat "$tmp"/conc-err.*)"
			return
		fi
		keys=()
		for ((i = 0; i < n; i++)); do keys+=("extra_$i"); done
		"$xlread" "$f" "${keys[@]}" >"$tmp/conc-read" 2>&1 || true
		for ((i = 0; i < n; i++)); do
			printf 'extra_%d: "value %d.%d"\n' "$i" "$round" "$i"
		done >"$tmp/conc-want"
		if ! cmp -s "$tmp/conc-want" "$tmp/conc-read"; then
			not_ok "concurrent round $round: edits lost: $(diff "$tmp/conc-want" "$tmp/conc-read" | tr '\n' ' ')"
			return
		fi
		if [ "$(wc -l <"$f")" -ne $((n + 1)) ] || ! cmp -s "$f.orig" "$configs/minimal.cfg"; then
			not_ok "concurrent round $round: the file or its backup is not what $n appends make"
			return
		fi
	done
	ok

	# While another holds the directory's lock, set waits; -n does not.
	rm -f "$f" "$f.orig"
	cp "$configs/minimal.cfg" "$f"
	# The children must not inherit the lock: the lock goes only when
	# every descriptor of it is closed.
	exec {lockfd}<"$d"
	flock -x "$lockfd"
	"$xlcfg" set "$f" cpuid "$mask" {lockfd}<&- &
	pid=$!
	pids=("$pid")
	if ! timeout 5 "$xlcfg" set -n "$f" cpuid "$mask" >/dev/null {lockfd}<&-; then
		not_ok "lock: -n waited for the lock"
	else
		ok
	fi
	sleep 0.5
	if ! kill -0 "$pid" 2>/dev/null; then
		not_ok "lock: set did not wait for the lock"
	elif ! cmp -s "$f" "$configs/minimal.cfg"; then
		not_ok "lock: set wrote while the lock was held"
	else
		ok
	fi
	exec {lockfd}<&-
	rc=0
	wait "$pid" || rc=$?
	pids=()
	if [ "$rc" -eq 0 ] && [ "$("$xlcfg" get "$f" cpuid)" = "$mask" ]; then
		ok
	else
		not_ok "lock: set did not finish once the lock was free (exit $rc)"
	fi
}

main() {
	need
	build_xlread
	goldens
	roundtrips
	backups
	bad_input
	enospc
	kills
	concurrency
	summary xlcfg
}

main "$@"
