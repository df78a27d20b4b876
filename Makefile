# strata: `make`, `make test`, `make asan test`, `make format-check`,
# `make fuzz`.
# Dependencies come from Debian packages through pkg-config (see README).

CC      ?= cc
PKGS    := libpq sqlite3 libcrypto jansson zlib inih libprotobuf-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libprotobuf-c,$(PKGS)))
# libpg_query ships no .pc file; its shared library carries protobuf-c too.
PG_QUERY_LIBS := -lpg_query

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread $(WARN) \
             $(if $(DEVELOPER),-Werror) -Iinclude -Isrc $(PKG_CFLAGS) \
             $(CFLAGS) $(SAN_FLAGS)
LDLIBS  := $(PG_QUERY_LIBS) $(PKG_LIBS) -lm -pthread

BUILD   := build
ifneq ($(filter asan,$(MAKECMDGOALS)),)
BUILD     := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
export ASAN_OPTIONS := detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif

LIB_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_BIN := $(BUILD)/tests/split-dump $(BUILD)/tests/lint-dump
LIB     := $(BUILD)/libstrata.a
BIN     := $(BUILD)/strata

.PHONY: all asan test test-unit test-golden test-shell test-faults \
        golden-update format format-check valgrind clean install bench \
        bench-profile bench-lock fuzz fuzz-build
all: $(BIN)
asan: $(BIN)

# Header dependencies come from the compiler (-MMD), beside each object.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

# strata serve's HTTP server belongs to the command line, not to libstrata.
CLI_PKGS        := libmicrohttpd
CLI_PKG_CFLAGS  := $(shell pkg-config --cflags $(CLI_PKGS))
CLI_PKG_LIBS    := $(shell pkg-config --libs $(CLI_PKGS))
$(CLI_OBJ): ALL_CFLAGS += $(CLI_PKG_CFLAGS)
$(BIN): LDLIBS += $(CLI_PKG_LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/%-dump: tests/golden/%-dump.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

# One prove run, one summary: unit (cmocka TAP), golden, shell (bats).
TEST_ENV = STRATA_BIN=$(abspath $(BIN)) STRATA_BUILD=$(abspath $(BUILD)) \
           CMOCKA_MESSAGE_OUTPUT=TAP
PROVE   ?= prove
PROVE_FLAGS ?= -j2
test: $(BIN) $(UNIT_BIN) $(TOOL_BIN)
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) --exec tests/run-one \
		$(UNIT_BIN) tests/golden/golden.t $(sort $(wildcard tests/t/*.bats))

test-unit: $(UNIT_BIN)
	$(TEST_ENV) $(PROVE) --exec tests/run-one $(UNIT_BIN)
test-golden: $(TOOL_BIN)
	$(TEST_ENV) $(PROVE) --exec tests/run-one tests/golden/golden.t
test-shell: $(BIN)
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
valgrind: $(BIN)
	$(TEST_ENV) STRATA_VALGRIND=1 $(PROVE) --exec tests/run-one \
		$(sort $(wildcard tests/t/*.bats))

# bench/README.md: strata against psql on a throwaway server (BENCH_FLAGS,
# for example -n "100 1000" -r 7), and where strata's time goes
# (PROFILE_FLAGS, for example -n 500 -s 2000); the application's latency
# while a migration waits for its lock (BENCH_LOCK_FLAGS, for example -r 5).
bench: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/run $(BENCH_FLAGS)
bench-profile: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/profile $(PROFILE_FLAGS)
bench-lock: $(BIN)
	STRATA_BIN=$(abspath $(BIN)) bench/lock-latency $(BENCH_LOCK_FLAGS)

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

$(FUZZ_BIN): $(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_BUILD)/libstrata.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libstrata.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BIN)

FORMAT_FILES = $(wildcard include/*.h src/*/*.[ch] tests/unit/*.h \
               tests/unit/*.c tests/golden/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

PREFIX ?= /usr/local
install: $(BIN)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/strata

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
