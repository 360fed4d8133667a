# gen-features.awk: turn Xen's public cpufeatureset.h and hetmig's
# dependency and enforcement data into C tables.
#
#   awk -f gen-features.awk cpufeatureset.h cpudeps.txt cpuenforce.txt \
#	> feat-gen.c
#
# From cpufeatureset.h it takes every XEN_CPUFEATURE(NAME, W*32+B) line with
# the attribute letters that open its comment, and every word header of the
# form "CPUID level 0xLEAF[:SUB].REG, word N" or "MSR_NAME 0xIDX.REG, word N".
# It fails (exit 1) on a header line it does not understand, on a feature in
# a word without a header, and on a dependency or an enforcement line naming
# an unknown feature that is not listed as absent from this Xen version.
# From cpuenforce.txt it takes the control bits that enforce features
# ("BIT: enforces FEATURE ...") and the dependencies that carry no state
# ("not-state: PARENT CHILD"); "BIT: allows FEATURE ..." lines are checked
# and kept out of the tables.

function fail(msg) {
	printf "gen-features.awk: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

function cname(name) {
	name = tolower(name)
	gsub(/_/, "-", name)
	return name
}

function regno(r) {
	if (r == "eax") return 0
	if (r == "ebx") return 1
	if (r == "ecx") return 2
	if (r == "edx") return 3
	fail("unknown register '" r "'")
}

FNR == 1 { file++ }

# cpufeatureset.h: word headers.
file == 1 && /^\/\*.*, word [0-9]+/ {
	line = $0
	if (!match(line, /word [0-9]+/))
		fail("no word number")
	w = substr(line, RSTART + 5, RLENGTH - 5) + 0
	if (match(line, /CPUID level 0x[0-9A-Fa-f]+(:[0-9]+)?\.e[abcd]x/)) {
		spec = substr(line, RSTART + 12, RLENGTH - 12)
		split(spec, a, ".")
		leafpart = a[1]; reg = a[2]
		sub_ = 0
		if (index(leafpart, ":")) {
			split(leafpart, b, ":")
			leafpart = b[1]; sub_ = b[2] + 0
			anysub[w] = 0
		} else {
			anysub[w] = 1
		}
		wkind[w] = "HM_SRC_CPUID"; wleaf[w] = leafpart; wsub[w] = sub_
		wreg[w] = regno(reg)
	} else if (match(line, /MSR_[A-Z_]+ 0x[0-9A-Fa-f]+\.e[ad]x/)) {
		spec = substr(line, RSTART, RLENGTH)
		split(spec, a, " ")
		split(a[2], b, ".")
		wkind[w] = "HM_SRC_MSR"; wleaf[w] = b[1]; wsub[w] = 0
		anysub[w] = 0
		wreg[w] = regno(b[2])
	} else {
		fail("word header not understood: " line)
	}
	if (w + 1 > nwords)
		nwords = w + 1
	next
}

file == 1 && /^XEN_CPUFEATURE\(/ {
	line = $0
	if (!match(line, /\([A-Z0-9_]+, *[0-9]+\*32\+ *[0-9]+\)/))
		fail("feature line not understood: " line)
	spec = substr(line, RSTART + 1, RLENGTH - 2)
	gsub(/ /, "", spec)
	split(spec, a, ",")
	name = a[1]
	split(a[2], b, /[*+]/)
	value = b[1] * 32 + b[3]
	attrs = ""
	if (match(line, /\/\*[^ ]*/))
		attrs = substr(line, RSTART + 2, RLENGTH - 2)
	if (attrs ~ /[^ASHash!|]/)
		fail("unknown attribute letters '" attrs "' for " name)
	w = int(value / 32)
	if (!(w in wkind))
		fail("feature " name " in word " w " which has no header")
	nfeat++
	fname[nfeat] = cname(name); fval[nfeat] = value; fattr[nfeat] = attrs
	byname[cname(name)] = nfeat - 1
	next
}

# cpudeps.txt: "xen-version: V", "absent: name ...", "parent: child ...".
file == 2 && /^[ \t]*(#|$)/ { next }
file == 2 && /^xen-version:/ { depsver = $2; next }
file == 2 && /^absent:/ {
	for (i = 2; i <= NF; i++)
		absent[$i] = 1
	next
}
file == 2 {
	parent = $1
	sub(/:$/, "", parent)
	if ($1 !~ /:$/)
		fail("expected 'feature: dependent ...'")
	if (!(parent in byname)) {
		if (parent in absent) next
		fail("unknown feature '" parent "'")
	}
	for (i = 2; i <= NF; i++) {
		child = $i
		if (child ~ /^word[0-9]+$/) {
			cw = substr(child, 5) + 0
			for (j = 1; j <= nfeat; j++)
				if (int(fval[j] / 32) == cw) {
					ndeps++
					dp[ndeps] = byname[parent]; dc[ndeps] = j - 1
				}
			continue
		}
		if (!(child in byname)) {
			if (child in absent) continue
			fail("unknown feature '" child "'")
		}
		ndeps++
		dp[ndeps] = byname[parent]; dc[ndeps] = byname[child]
		depno[byname[parent], byname[child]] = ndeps
	}
	next
}

# cpuenforce.txt: "xen-version: V", "absent: name ...",
# "BIT: enforces|allows feature ...", "not-state: parent child".
file == 3 && /^[ \t]*(#|$)/ { next }
file == 3 && /^xen-version:/ {
	if ($2 != depsver)
		fail("xen-version " $2 " differs from cpudeps.txt's " depsver)
	next
}
file == 3 && /^absent:/ {
	for (i = 2; i <= NF; i++)
		eabsent[$i] = 1
	next
}
file == 3 && /^not-state:/ {
	if (NF != 3)
		fail("expected 'not-state: parent child'")
	if (!($2 in byname) || !($3 in byname) ||
	    !((byname[$2], byname[$3]) in depno))
		fail("'" $2 " " $3 "' is not a dependency of cpudeps.txt")
	stateless[depno[byname[$2], byname[$3]]] = 1
	next
}
file == 3 {
	if ($1 !~ /^[a-z0-9]+\.[a-z0-9]+:$/ || ($2 != "enforces" && $2 != "allows") || NF < 3)
		fail("expected 'reg.bit: enforces|allows feature ...'")
	bit = $1
	sub(/:$/, "", bit)
	n = 0
	for (i = 3; i <= NF; i++) {
		if (!($i in byname)) {
			if ($i in eabsent) continue
			fail("unknown feature '" $i "'")
		}
		owner[ngates + 1, ++n] = byname[$i]
	}
	if (n > 4)
		fail("more than 4 features guard " bit)
	if ($2 == "allows" || n == 0)
		next
	ngates++
	gbit[ngates] = bit
	nowners[ngates] = n
	next
}

END {
	if (failed)
		exit 1
	if (nfeat == 0)
		fail("no XEN_CPUFEATURE lines found")
	if (depsver == "")
		fail("cpudeps.txt lacks 'xen-version:'")
	if (ngates == 0)
		fail("cpuenforce.txt names no control bit")
	for (w = 0; w < nwords; w++)
		if (!(w in wkind)) {
			printf "gen-features.awk: word %d has no header\n", w > "/dev/stderr"
			exit 1
		}
	print "/* Generated by gen-features.awk from cpufeatureset.h and cpudeps.txt. */"
	print "#include \"feat.h\""
	print ""
	printf "const char hm_deps_version[] = \"%s\";\n\n", depsver
	printf "const struct hm_word hm_words[HM_NR_WORDS] = {\n"
	for (w = 0; w < nwords; w++)
		printf "\t{ %s, %s, %d, %d, %d },\n", wkind[w], wleaf[w], wsub[w], anysub[w], wreg[w]
	print "};\n"
	printf "const struct hm_feature hm_features[HM_NR_FEATURES] = {\n"
	for (i = 1; i <= nfeat; i++)
		printf "\t{ \"%s\", %d, \"%s\" },\n", fname[i], fval[i], fattr[i]
	print "};\n"
	printf "const struct hm_dep hm_deps[HM_NR_DEPS] = {\n"
	for (i = 1; i <= ndeps; i++)
		printf "\t{ %d, %d, %d },\n", dp[i], dc[i], (i in stateless)
	print "};\n"
	printf "const struct hm_gate hm_gates[HM_NR_GATES] = {\n"
	for (g = 1; g <= ngates; g++) {
		printf "\t{ \"%s\", {", gbit[g]
		for (j = 1; j <= nowners[g]; j++)
			printf " %d,", owner[g, j]
		print " -1 } },"
	}
	print "};"
	# The sizes go to a second file so that the header can use them.
	printf "#define HM_NR_WORDS %d\n#define HM_NR_FEATURES %d\n#define HM_NR_DEPS %d\n#define HM_NR_GATES %d\n", nwords, nfeat, ndeps, ngates > SIZES
}
