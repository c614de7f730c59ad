# edp — build, test, bench, install, demo.  See README.md.
VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/vendor-completions

CC ?= cc
WERROR ?= $(if $(CI),-Werror,)
OPT ?= -O2 -g
WARN = -Wall -Wextra -Wshadow -Wvla -Wmissing-prototypes $(WERROR)
# -MMD -MP: each object's header dependencies, from the compiler
CFLAGS_BASE = -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -DEDP_VERSION='"$(VERSION)"' -Ilibcore
LIBS = -lpcap -lxdp -lbpf -lyaml -lnuma -lpthread -lm

# BUILD selects the flavour: build/ (optimised) or build-asan/ (sanitizers).
BUILD ?= build
ifeq ($(BUILD),build-asan)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT = -O1 -g
endif
CFLAGS_ALL = $(CFLAGS_BASE) $(OPT) $(SAN) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

LIB_SRC = $(wildcard libcore/*.c)
LIB_OBJ = $(LIB_SRC:libcore/%.c=$(BUILD)/obj/%.o)
LIB = $(BUILD)/libedp.a
CMDS = edp-run edp-replay edp-top edp-assign edp-migrate
BINS = $(CMDS:%=$(BUILD)/%)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOLS = $(BUILD)/tests/edp-gen $(BUILD)/tests/edp-fastpath $(BUILD)/tests/edp-iofloor $(BUILD)/tests/edp-c2c $(BUILD)/tests/edp-ctl-attack

.PHONY: all deps test check bench demo install clean fuzz fuzz-build
all: $(BINS) $(TOOLS) $(UNIT_BINS)

deps:
	@scripts/install-deps

$(BUILD)/obj/%.o: libcore/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# cmd/common: output shared by the binaries (not a binary itself)
CMD_COMMON_OBJ = $(patsubst cmd/common/%.c,$(BUILD)/obj/cmd_%.o,$(wildcard cmd/common/*.c))
$(BUILD)/obj/cmd_%.o: cmd/common/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# a binary's dependency list goes beside the objects' (-MF): the build
# directories hold binaries only
$(BUILD)/%: cmd/%.c $(CMD_COMMON_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d -Icmd $< -o $@ $(CMD_OBJ) $(CMD_COMMON_OBJ) $(LIB) $(LDFLAGS_ALL) $(LIBS) $(CMD_LIBS)

# only edp-top draws on a terminal: its screen (cmd/edp-top/) and ncurses
TOP_OBJ = $(patsubst cmd/edp-top/%.c,$(BUILD)/obj/top_%.o,$(wildcard cmd/edp-top/*.c))
$(BUILD)/obj/top_%.o: cmd/edp-top/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -Icmd -c $< -o $@
$(BUILD)/edp-top: $(TOP_OBJ)
$(BUILD)/edp-top: CMD_OBJ = $(TOP_OBJ)
$(BUILD)/edp-top: CMD_LIBS = -lncurses

# edp-run's questions to a running instance (--stats, ctl): cmd/edp-run/
RUN_OBJ = $(patsubst cmd/edp-run/%.c,$(BUILD)/obj/run_%.o,$(wildcard cmd/edp-run/*.c))
$(BUILD)/obj/run_%.o: cmd/edp-run/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -Icmd -c $< -o $@
$(BUILD)/edp-run: $(RUN_OBJ)
$(BUILD)/edp-run: CMD_OBJ = $(RUN_OBJ)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d $< -o $@ $(LIB) $(LDFLAGS_ALL) $(LIBS) -lcmocka

$(BUILD)/tests/edp-gen: tests/tools/edp-gen.c $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d $< -o $@ $(LIB) $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/edp-fastpath $(BUILD)/tests/edp-iofloor: $(BUILD)/tests/edp-%: tests/bench/%.c $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d $< -o $@ $(LIB) $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/edp-c2c: tests/bench/c2c.c | $(BUILD)/tests $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d $< -o $@ $(LDFLAGS_ALL) -pthread

$(BUILD)/tests/edp-ctl-attack: tests/bench/ctl-attack.c | $(BUILD)/tests $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -MF $(BUILD)/obj/$(@F).d $< -o $@ $(LDFLAGS_ALL)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# Fuzz targets (tests/fuzz): libcore built with clang, ASan, UBSan and
# libFuzzer's coverage, one binary a target, in build-fuzz/.
FUZZ_CC ?= clang
FUZZ_CFLAGS = -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -DEDP_VERSION='"$(VERSION)"' -Ilibcore -g -O1 \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ = $(LIB_SRC:libcore/%.c=build-fuzz/obj/%.o)
FUZZ_BINS = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

build-fuzz/obj/%.o: libcore/%.c | build-fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/libedp.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libedp.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MF build-fuzz/obj/$(@F).d -fsanitize=fuzzer $< -o $@ build-fuzz/libedp.a $(LIBS)

build-fuzz/obj:
	mkdir -p $@

fuzz-build: $(FUZZ_BINS)

# make fuzz FUZZ_SECONDS=N: each target for N seconds on its corpus; a line
# a target (NAME: EXECS execs, N crashes), then "N passed, N failed".
fuzz: deps
	$(MAKE) fuzz-build
	@scripts/run-fuzz $(FUZZ_SECONDS)

# make test: dependencies (scripts/install-deps), then make check.
# make check: both builds, unit + CLI tests on each, the fuzz targets once
# over their corpora, one summary line; it installs nothing.
test: deps
	$(MAKE) check

check:
	$(MAKE) all BUILD=build
	$(MAKE) all BUILD=build-asan
	$(MAKE) fuzz-build
	@scripts/run-tests build build-asan

bench: deps
	$(MAKE) all BUILD=build
	@tests/bench/run

demo: deps
	@$(MAKE) --no-print-directory -s all BUILD=build
	@mkdir -p build/demo
	@build/tests/edp-gen flows=50,packets=2000,size=64-512,proto=mix,v6=0.25,seed=42 build/demo/demo.pcap
	@printf "%s\n" "\$$ edp-run -c examples/demo.yaml -r build/demo/demo.pcap -w uplink=build/demo/uplink.pcap -w vm1=build/demo/vm1.pcap"
	@build/edp-run -c examples/demo.yaml -r build/demo/demo.pcap -w uplink=build/demo/uplink.pcap -w vm1=build/demo/vm1.pcap

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 completions/edp-common.bash $(DESTDIR)$(BASHCOMPDIR)/edp-common.bash
	for c in $(CMDS); do install -m 644 completions/$$c.bash $(DESTDIR)$(BASHCOMPDIR)/$$c; \
		install -m 644 completions/_$$c $(DESTDIR)$(ZSHCOMPDIR)/_$$c; done

clean:
	rm -rf build build-asan build-fuzz

# the compiler's dependency lists (-MMD -MP) of every object built so far
-include $(wildcard $(BUILD)/obj/*.d build-fuzz/obj/*.d)
