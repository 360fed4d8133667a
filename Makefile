# hetmig: make builds every binary into build/bin; make check runs every test.
#
# Knobs: PREFIX, DESTDIR, SYSCONFDIR (install); SANITIZE=address,undefined
# (instrumented build); FUZZ_SECONDS (make check's fuzz run; make fuzz runs
# longer).

VERSION    = 0.1.0
PREFIX    ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR     = $(PREFIX)/bin
SBINDIR    = $(PREFIX)/sbin
# migrate-prep in SBINDIR links to its script here: "../lib/hetmig".
LIBEXECDIR = $(PREFIX)/lib/hetmig
MANDIR     = $(PREFIX)/share/man

CC        ?= cc
WARNINGS   = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Werror=implicit-function-declaration
CFLAGS    ?= -O2 -g
XEN_HEADER ?= /usr/include/xen/arch-x86/cpufeatureset.h
PKGS       = xentoollog xencontrol xenguest xenstore xenlight xlutil jansson
ifneq ($(SANITIZE),)
SANFLAGS   = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD     ?= build-san
else
BUILD     ?= build
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALLCFLAGS  = $(STD) -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(SANFLAGS) \
             -Isrc/lib -I$(BUILD)/gen $(PKG_CFLAGS)
LDLIBS     = $(PKG_LIBS)
# ISO C11 everywhere, except where Xen's public headers are included: they
# use anonymous unions and refuse to compile without GNU extensions.
STD        = -std=c11
XEN_USERS  = $(BUILD)/lib/xen.o $(BUILD)/lib/xlcpuid.o $(BUILD)/bin/featcmp $(BUILD)/bin/xlcfg

BINS      := $(filter-out lib,$(notdir $(patsubst %/,%,$(wildcard src/*/))))
LIB_SRC   := $(wildcard src/lib/*.c)
LIB_OBJ   := $(patsubst src/lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC)) \
             $(BUILD)/lib/feat-gen.o
LIB        = $(BUILD)/libhetmig.a
UNIT_SRC  := $(wildcard tests/unit/test-*.c)
UNITS     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
MANS      := $(wildcard man/*.[178])
SCRIPTS   := $(wildcard scripts/*.sh) migrate-prep.sh

$(XEN_USERS): private STD = -std=gnu11

all: $(addprefix $(BUILD)/bin/,$(BINS))

$(BUILD)/gen/feat-gen.c $(BUILD)/gen/feat-sizes.h &: \
		src/lib/gen-features.awk src/lib/cpudeps.txt \
		src/lib/cpuenforce.txt $(XEN_HEADER)
	@mkdir -p $(BUILD)/gen
	awk -v SIZES=$(BUILD)/gen/feat-sizes.h.tmp -f src/lib/gen-features.awk \
		$(XEN_HEADER) src/lib/cpudeps.txt src/lib/cpuenforce.txt \
		> $(BUILD)/gen/feat-gen.c.tmp
	mv $(BUILD)/gen/feat-sizes.h.tmp $(BUILD)/gen/feat-sizes.h
	mv $(BUILD)/gen/feat-gen.c.tmp $(BUILD)/gen/feat-gen.c

$(BUILD)/lib/%.o: src/lib/%.c src/lib/*.h $(BUILD)/gen/feat-sizes.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

$(BUILD)/lib/feat-gen.o: $(BUILD)/gen/feat-gen.c src/lib/feat.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/%: src/%/*.c $(LIB) src/lib/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Isrc/$* -o $@ $(filter %.c,$^) $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# --- tests -----------------------------------------------------------------

FUZZ_SECONDS ?= 60

deps:
	@tools/install-deps.sh

check: deps
	$(MAKE) all units
	tests/run.sh $(BUILD)

units: $(UNITS)

check-lab: deps all
	tests/lab/lab.sh run-all

fuzz: deps
	FUZZ_SECONDS=600 tests/fuzz/run.sh

bench: deps all
	tests/bench/run.sh $(BUILD)

bench-lab: deps all
	tests/lab/bench.sh

demo: deps all
	tests/lab/lab.sh demo

# make deb: build/deb/hetmig_$(VERSION)_amd64.deb, checked by lintian;
# make check-deb installs it in a Debian 12 chroot (root, slow: not in check).
deb: deps
	debian/make-deb.sh $(VERSION)

check-deb: deb
	tests/deb/run.sh build/deb/hetmig_$(VERSION)_amd64.deb

.PHONY: deb check-deb

# --- install ----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(LIBEXECDIR)/lib \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/hetmig
	install -m 755 $(addprefix $(BUILD)/bin/,$(BINS)) $(DESTDIR)$(BINDIR)
	install -m 644 scripts/lib/common.sh $(DESTDIR)$(LIBEXECDIR)/lib
	for s in $(SCRIPTS); do install -m 755 $$s $(DESTDIR)$(LIBEXECDIR); done
	ln -sf ../lib/hetmig/migrate-prep.sh $(DESTDIR)$(SBINDIR)/migrate-prep
	install -D -m 755 scripts/workloads/pgbench \
		$(DESTDIR)$(LIBEXECDIR)/workloads/pgbench
	for m in $(MANS); do \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}; done
	for c in $(wildcard configs/*.conf); do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/hetmig/$${c##*/} ] || \
		install -m 644 $$c $(DESTDIR)$(SYSCONFDIR)/hetmig; done
	install -D -m 644 completions/hetmig.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hetmig
	for c in $(BINS) migrate-prep migrate-prep.sh; do ln -sf hetmig \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$c; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(BINS))
	rm -f $(DESTDIR)$(SBINDIR)/migrate-prep
	for c in hetmig $(BINS) migrate-prep migrate-prep.sh; do \
		rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$c; done
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	for m in $(MANS); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done

clean:
	rm -rf build build-san

.PHONY: all deps check units check-lab fuzz bench bench-lab demo install \
	uninstall clean
.SECONDARY:
