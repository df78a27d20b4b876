# strata's build. Targets:
#   make               the CLI (build/strata), libstrata.a, libstrata.so,
#                      the manual pages (build/man) and shell completions
#   make install       all of them, and strata.h and libstrata.pc, under
#                      PREFIX (/usr/local), staged under DESTDIR; LIBDIR,
#                      MANDIR... as below; NO_BUILD=1 installs what BUILD
#                      holds without building anything
#   make uninstall     removes what install put there (same variables)
#   make test, test-unit, test-golden, test-shell, test-faults, valgrind
#   make asan test     the same, built with ASan and UBSan into build/asan
#   make format, format-check, fuzz, bench, bench-profile, bench-lock,
#        bench-latency, bench-gate, bench-tools, clean
# Dependencies come from Debian packages through pkg-config (see README).

CC      ?= cc
PKGS    := libpq sqlite3 libcrypto jansson zlib inih libprotobuf-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# libpq, libcrypto and SQLite only for their headers: each is loaded when
# first needed (src/drivers/pq.h, src/util/crypto.h, src/util/sqlite_lib.h).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libpq libcrypto sqlite3 libprotobuf-c,$(PKGS)))
# libpg_query ships no .pc file; its shared library carries protobuf-c too.
PG_QUERY_LIBS := -lpg_query

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread $(WARN) \
             $(if $(DEVELOPER),-Werror) -Iinclude -Isrc $(PKG_CFLAGS) \
             $(CFLAGS) $(SAN_FLAGS)
LDLIBS  := $(PG_QUERY_LIBS) $(PKG_LIBS) -lm -pthread -ldl

BUILD   := build
ifneq ($(filter asan,$(MAKECMDGOALS)),)
BUILD     := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
export ASAN_OPTIONS := detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif

# The version: include/strata.h defines it, once.
version_part = $(shell sed -n 's/^.define STRATA_VERSION_$(1) *\([0-9][0-9]*\)$$/\1/p' include/strata.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)

LIB_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
# bench/relay's delaying TCP relay, for bench/latency, bench/fleet and tests
RELAY_BIN := $(BUILD)/bench/relay
TOOL_BIN := $(BUILD)/tests/split-dump $(BUILD)/tests/lint-dump $(RELAY_BIN)
LIB     := $(BUILD)/libstrata.a
BIN     := $(BUILD)/strata
# The shared library: the same sources compiled again with -fPIC.
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
SONAME  := libstrata.so.$(VERSION_MAJOR)
SHLIB   := $(BUILD)/libstrata.so.$(VERSION)
SHLIB_LINKS := $(BUILD)/$(SONAME) $(BUILD)/libstrata.so
MAN_SRC := $(sort $(wildcard docs/man/*.scd))
MAN_STAMP := $(BUILD)/man/.made
COMPLETIONS := $(BUILD)/completions/strata.bash $(BUILD)/completions/_strata
INSTALLABLE := $(BIN) $(LIB) $(SHLIB) $(MAN_STAMP) $(COMPLETIONS)

.PHONY: all asan test test-unit test-golden test-shell test-faults \
        golden-update format format-check valgrind clean install bench \
        bench-profile bench-lock bench-latency bench-gate fuzz fuzz-build uninstall man completions
all: $(INSTALLABLE)
asan: $(BIN)

# Header dependencies come from the compiler (-MMD), beside each object.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The library exports only what strata.h marks STRATA_API: the rest stays
# internal to it, also when the static library goes into a shared object.
$(LIB_OBJ): ALL_CFLAGS += -fvisibility=hidden

$(PIC_OBJ): $(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# libstrata.so.MAJOR.MINOR.PATCH, its soname libstrata.so.MAJOR, and
# libstrata.so for the linker; -z defs: every symbol found at link time.
$(SHLIB): $(PIC_OBJ)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs \
		-o $@ $(PIC_OBJ) $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libstrata.so

# Manual pages: strata(1) and strata-COMMAND(1) from the help data that
# --help prints (strata help --scdoc), the others from docs/man/*.scd.
man: $(MAN_STAMP)
$(MAN_STAMP): $(BIN) $(MAN_SRC)
	@mkdir -p $(dir $@)
	rm -f $(BUILD)/man/*.[1-9] $(BUILD)/man/*.scd
	$(BIN) help --scdoc >$(BUILD)/man/strata.1.scd
	for c in $$($(BIN) help --scdoc --commands); do \
		$(BIN) help --scdoc $$c >$(BUILD)/man/strata-$$c.1.scd || exit 1; \
	done
	for f in $(BUILD)/man/*.scd $(MAN_SRC); do \
		scdoc <$$f >$(BUILD)/man/$$(basename $$f .scd) || exit 1; \
	done
	@touch $@

# Shell completions from the command and option tables.
completions: $(COMPLETIONS)
$(BUILD)/completions/strata.bash: $(BIN)
	@mkdir -p $(dir $@)
	$(BIN) help --completion bash >$@.tmp && mv $@.tmp $@
$(BUILD)/completions/_strata: $(BIN)
	@mkdir -p $(dir $@)
	$(BIN) help --completion zsh >$@.tmp && mv $@.tmp $@

# The binary takes libpg_query (and the protobuf-c it calls) statically:
# its relocations were a tenth of every command's start-up.
PG_QUERY_STATIC := -Wl,-Bstatic -lpg_query -lprotobuf-c -Wl,-Bdynamic
# Its ten thousand pointers to relocate (protobuf's descriptors, the
# parser's tables) as a bitmap: 3 kB read at start, not 230 kB (glibc 2.36
# and binutils 2.38 on); elsewhere the usual table.
RELR_LDFLAGS := $(shell printf 'int main(void){return 0;}\n' | \
	$(CC) -x c - -o /dev/null -Wl,-z,pack-relative-relocs 2>/dev/null && \
	echo -Wl,-z,pack-relative-relocs)
$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(RELR_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) \
		$(PG_QUERY_STATIC) $(filter-out $(PG_QUERY_LIBS),$(LDLIBS))

# The command line's modules but main(), for unit tests of its own
# parsers (strata.conf, .env): a test links only those it calls.
CLI_LIB := $(BUILD)/libstrata-cli.a
$(CLI_LIB): $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
	@rm -f $@
	ar rcs $@ $^

# strata serve's HTTP server belongs to the command line, not to libstrata.
CLI_PKGS        := libmicrohttpd libcrypt
CLI_PKG_CFLAGS  := $(shell pkg-config --cflags $(CLI_PKGS))
# libmicrohttpd only for its headers: serve loads it (src/cli/serve_mhd.h).
CLI_PKG_LIBS    := $(shell pkg-config --libs $(filter-out libmicrohttpd,$(CLI_PKGS)))
$(CLI_OBJ): ALL_CFLAGS += $(CLI_PKG_CFLAGS)
$(BIN): LDLIBS += $(CLI_PKG_LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(CLI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(CLI_LIB) $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/%-dump: tests/golden/%-dump.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

# One prove run, one summary: unit (cmocka TAP), golden, shell (bats).
TEST_ENV = STRATA_BIN=$(abspath $(BIN)) STRATA_BUILD=$(abspath $(BUILD)) \
           STRATA_SAN_FLAGS="$(SAN_FLAGS)" CMOCKA_MESSAGE_OUTPUT=TAP
PROVE   ?= prove
# --failures --comments: a failing test's own words reach the log
PROVE_FLAGS ?= -j2 --failures --comments
test: $(INSTALLABLE) $(UNIT_BIN) $(TOOL_BIN)
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) --exec tests/run-one \
		$(UNIT_BIN) tests/golden/golden.t $(sort $(wildcard tests/t/*.bats))

test-unit: $(UNIT_BIN)
	$(TEST_ENV) $(PROVE) --exec tests/run-one $(UNIT_BIN)
test-golden: $(TOOL_BIN)
	$(TEST_ENV) $(PROVE) --exec tests/run-one tests/golden/golden.t
test-shell: $(INSTALLABLE)
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) --exec tests/run-one \
		$(sort $(wildcard tests/t/*.bats))
# Heavier, randomized fault tests (kill -9, terminated sessions, restarts,
# concurrency, lock holders, password canary): tests/faults/*.bats.
# Verbose: the seeds and what each run did show up in the log;
# STRATA_FAULT_SEED=N replays a run.
test-faults: $(BIN)
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) -v --exec tests/run-one \
		$(sort $(wildcard tests/faults/*.bats))
golden-update: $(TOOL_BIN)
	$(TEST_ENV) STRATA_GOLDEN_UPDATE=1 tests/golden/golden.t

# The shell tests again with every strata call under valgrind.
valgrind: $(INSTALLABLE)
	$(TEST_ENV) STRATA_VALGRIND=1 $(PROVE) --exec tests/run-one \
		$(sort $(wildcard tests/t/*.bats))

# bench/README.md: strata against psql on a throwaway server (BENCH_FLAGS,
# for example -n "100 1000" -r 7), and where strata's time goes
# (PROFILE_FLAGS, for example -n 500 -s 2000); the application's latency
# while a migration waits for its lock (BENCH_LOCK_FLAGS, for example -r 5);
# applying over a slow network (BENCH_LATENCY_FLAGS, for example -n 100).
bench: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/run $(BENCH_FLAGS)
bench-profile: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/profile $(PROFILE_FLAGS)
bench-lock: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/lock-latency $(BENCH_LOCK_FLAGS)
bench-latency: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/latency $(BENCH_LATENCY_FLAGS)
bench-gate: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/gate $(BENCH_GATE_FLAGS)
# The relay bench/relay runs (it builds it itself when missing): no
# library, and none of the sanitizers, whose cost would be the network's.
.PHONY: bench-tools
bench-tools: $(RELAY_BIN)
$(RELAY_BIN): bench/relay.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -g $(WARN) $(if $(DEVELOPER),-Werror) -o $@ $<

# libFuzzer targets (README, Fuzzing): the library again, with clang's
# coverage and sanitizers, into its own directory; each target runs for
# FUZZ_SECONDS on a copy of its seed corpus and a crash fails the make.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_BUILD   := build/fuzz
FUZZ_CFLAGS   = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) \
                $(if $(DEVELOPER),-Werror) -Iinclude -Isrc $(PKG_CFLAGS) \
                -O1 -g -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_LIB_OBJ): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libstrata.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The .env reader belongs to the command line.
FUZZ_CLI_OBJ := $(FUZZ_BUILD)/src/cli/dotenv.o
$(FUZZ_CLI_OBJ): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_BUILD)/dotenv: $(FUZZ_CLI_OBJ)
# The URL target checks strata's parse against libpq's own, called directly.
$(FUZZ_BUILD)/url: LDLIBS += $(shell pkg-config --libs libpq)

$(FUZZ_BIN): $(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_BUILD)/libstrata.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer -o $@ $< \
		$(filter $(FUZZ_CLI_OBJ),$^) $(FUZZ_BUILD)/libstrata.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BIN)

FORMAT_FILES = $(wildcard include/*.h src/*/*.[ch] tests/unit/*.h \
               tests/unit/*.c tests/golden/*.c tests/fuzz/*.c bench/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
D = $(DESTDIR)

install: $(if $(NO_BUILD),,$(INSTALLABLE))
	install -d $(D)$(BINDIR) $(D)$(LIBDIR) $(D)$(INCLUDEDIR) \
		$(D)$(PKGCONFIGDIR) $(D)$(MANDIR)/man1 $(D)$(MANDIR)/man3 \
		$(D)$(MANDIR)/man5 $(D)$(BASHCOMPDIR) $(D)$(ZSHCOMPDIR)
	install -m 755 $(BIN) $(D)$(BINDIR)/strata
	install -m 755 $(SHLIB) $(D)$(LIBDIR)/$(notdir $(SHLIB))
	ln -sf $(notdir $(SHLIB)) $(D)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(D)$(LIBDIR)/libstrata.so
	install -m 644 $(LIB) $(D)$(LIBDIR)/libstrata.a
	install -m 644 include/strata.h $(D)$(INCLUDEDIR)/strata.h
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(LIBDIR)|' \
		-e 's|@includedir@|$(INCLUDEDIR)|' -e 's|@version@|$(VERSION)|' \
		libstrata.pc.in >$(D)$(PKGCONFIGDIR)/libstrata.pc
	install -m 644 $(BUILD)/man/*.1 $(D)$(MANDIR)/man1/
	install -m 644 $(BUILD)/man/*.3 $(D)$(MANDIR)/man3/
	install -m 644 $(BUILD)/man/*.5 $(D)$(MANDIR)/man5/
	install -m 644 $(BUILD)/completions/strata.bash $(D)$(BASHCOMPDIR)/strata
	install -m 644 $(BUILD)/completions/_strata $(D)$(ZSHCOMPDIR)/_strata

# Every page install puts is strata.1, strata-*.1 or one of docs/man's.
uninstall:
	rm -f $(D)$(BINDIR)/strata $(D)$(LIBDIR)/$(notdir $(SHLIB)) \
		$(D)$(LIBDIR)/$(SONAME) $(D)$(LIBDIR)/libstrata.so \
		$(D)$(LIBDIR)/libstrata.a $(D)$(INCLUDEDIR)/strata.h \
		$(D)$(PKGCONFIGDIR)/libstrata.pc \
		$(D)$(MANDIR)/man1/strata.1 $(D)$(MANDIR)/man1/strata-*.1 \
		$(foreach f,$(MAN_SRC:docs/man/%.scd=%),\
		  $(D)$(MANDIR)/man$(subst .,,$(suffix $(f)))/$(f)) \
		$(D)$(BASHCOMPDIR)/strata $(D)$(ZSHCOMPDIR)/_strata

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
