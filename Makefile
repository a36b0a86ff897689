# framefarm: one Makefile, out-of-tree builds.
#   make            build (build/bin/; test binaries in build/test-bin/)
#   make demo       install missing packages, build, make a sample zip, render it
#   make test       unit + integration tests
#   make SANITIZER=asan test   ASan+UBSan build in build-asan/
#   make SANITIZER=tsan test   TSan build in build-tsan/
#   make bench      render vs ffmpeg, makespan, 1,000 nodes, 100,000 sets, a queue
#                   (BENCH="render scale" for some)
#   make fuzz       libFuzzer harnesses (clang, build-fuzz/), FUZZ_SECONDS each
#   make lab        the lab in a box (root): namespaces, sshfs, faults; one table

CC ?= gcc
SANITIZER ?=
ifeq ($(SANITIZER),)
BUILD ?= build
SANFLAGS :=
else ifeq ($(SANITIZER),asan)
BUILD ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
else ifeq ($(SANITIZER),tsan)
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else
$(error SANITIZER must be empty, asan or tsan)
endif

PKGS := libavformat libavcodec libavutil libswscale libavfilter libzip \
	libcjson libcrypto libturbojpeg zlib libmicrohttpd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wcast-qual -Wpointer-arith -Wformat=2 -Wvla \
	-Wimplicit-fallthrough -Wnull-dereference -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -pthread \
	-MMD -MP -I. $(PKG_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm -pthread

COMMON_SRC := $(wildcard common/*.c)
MEDIA_SRC := $(wildcard media/*.c)
COORD_SRC := $(wildcard coordinator/*.c)
NODE_SRC := $(wildcard gpu-node/*.c)
CLI_SRC := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)
BENCH_SRC := $(wildcard bench/*.c)
SIM_SRC := $(wildcard tests/sim/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# The git commit for --version (common/version.c), "unknown" outside a
# checkout. Only version.o sees it, and it is rebuilt only when the stamp
# changes: the recipe runs on every make but rewrites the stamp only when
# the commit differs, so an unchanged commit rebuilds nothing.
GIT_HASH := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION_OBJ := $(BUILD)/obj/common/version.o
VERSION_STAMP := $(BUILD)/obj/common/version.git
$(VERSION_OBJ): ALL_CFLAGS += -DFF_GIT_HASH='"$(GIT_HASH)"'
$(VERSION_OBJ): $(VERSION_STAMP)
$(VERSION_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(GIT_HASH)' | cmp -s - $@ || echo '$(GIT_HASH)' >$@
.PHONY: FORCE
FORCE:

LIBCOMMON := $(BUILD)/lib/libffcommon.a
LIBMEDIA := $(BUILD)/lib/libffmedia.a
LIBCOORD := $(BUILD)/lib/libffcoord.a
LIBNODE := $(BUILD)/lib/libffnode.a

BINS := $(BUILD)/bin/framefarm $(BUILD)/bin/framefarm-coordinator \
	$(BUILD)/bin/framefarm-node
# Test hooks (common/fault.h): only common/fault.c is compiled twice. The
# release binaries ($(BUILD)/bin/) get fault.o from libffcommon.a; the test
# binaries ($(BUILD)/test-bin/, what tests/ runs) and the unit tests link
# fault-test.o (-DFF_TEST_HOOKS) ahead of the archives, so the archive's
# fault.o is never pulled in. Everything else is the same objects.
FAULT_TEST_OBJ := $(BUILD)/obj/common/fault-test.o
TEST_BINS := $(patsubst $(BUILD)/bin/%,$(BUILD)/test-bin/%,$(BINS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
SIM_BINS := $(patsubst tests/sim/%.c,$(BUILD)/tests/%,$(SIM_SRC))

.PHONY: all deps demo test test-unit test-integration test-gpu bench \
	format format-check clean
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory binaries

deps:
	@sh scripts/deps.sh

.PHONY: binaries
binaries: $(BINS) $(TEST_BINS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS) \
	$(SIM_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(FAULT_TEST_OBJ): common/fault.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFF_TEST_HOOKS -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBMEDIA): $(call obj,$(MEDIA_SRC))
$(LIBCOORD): $(call obj,$(filter-out coordinator/prog.c,$(COORD_SRC)))
# The dashboard page (web/dashboard.html) as a C array (coordinator/web.h).
WEB_GEN := $(BUILD)/gen/web_dashboard.c
WEB_OBJ := $(BUILD)/obj/gen/web_dashboard.o
$(WEB_GEN): web/dashboard.html scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh web_dashboard web/dashboard.html coordinator/web.h \
		>$@.tmp && mv $@.tmp $@
$(WEB_OBJ): $(WEB_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(LIBCOORD): $(WEB_OBJ)
$(LIBNODE): $(call obj,$(filter-out gpu-node/prog.c,$(NODE_SRC)))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/framefarm-coordinator $(BUILD)/test-bin/framefarm-coordinator: \
		$(BUILD)/obj/coordinator/prog.o $(LIBCOORD) $(LIBMEDIA) $(LIBCOMMON)
$(BUILD)/bin/framefarm-node $(BUILD)/test-bin/framefarm-node: \
		$(BUILD)/obj/gpu-node/prog.o $(LIBNODE) $(LIBMEDIA) $(LIBCOMMON)
# framefarm render runs the ambassador's and the nodes' mains in processes
# it forks (coordinator/main.h, gpu-node/main.h): framefarm has them too.
$(BUILD)/bin/framefarm $(BUILD)/test-bin/framefarm: $(call obj,$(CLI_SRC)) \
		$(LIBCOORD) $(LIBNODE) $(LIBMEDIA) $(LIBCOMMON)
$(BINS):
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(TEST_BINS): $(FAULT_TEST_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(FAULT_TEST_OBJ) \
		$(filter-out $(FAULT_TEST_OBJ),$^) $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(FAULT_TEST_OBJ) $(LIBCOORD) \
		$(LIBNODE) $(LIBMEDIA) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL) -lcmocka
$(TOOL_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(LIBMEDIA) \
		$(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(SIM_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/sim/%.o $(LIBCOORD) \
		$(LIBMEDIA) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BENCH_BINS): $(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBCOORD) $(LIBMEDIA) \
		$(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

demo: all
	@sh scripts/demo.sh $(BUILD)

test: all
	@BUILD=$(BUILD) sh tests/run.sh

test-unit: all
	@BUILD=$(BUILD) sh tests/run.sh unit

test-integration: all
	@BUILD=$(BUILD) sh tests/run.sh integration

test-gpu: all
	@BUILD=$(BUILD) sh tests/gpu/run.sh

# BENCH picks the parts: render (against ffmpeg, bench/run.sh), makespan
# (many nodes, backups), scale (1,000 nodes), sets (100,000 sets), queue
# (a service's queue of 10 jobs of 10,000 sets).
BENCH ?= render makespan scale sets queue
bench: all
	@sh scripts/deps.sh bench
	@for b in $(BENCH); do \
	    case $$b in \
	    render) bash bench/run.sh $(BUILD) ;; \
	    makespan) bash bench/makespan.sh $(BUILD) ;; \
	    scale) bash bench/scale.sh $(BUILD) ;; \
	    sets) sh bench/sets.sh $(BUILD) ;; \
	    queue) sh bench/queue.sh $(BUILD) ;; \
	    *) echo "make bench: unknown part $$b" >&2; exit 2 ;; \
	    esac || exit 1; \
	done

# Fuzzing: one libFuzzer harness per decoder of untrusted bytes
# (tests/fuzz/fuzz_*.c), built with clang and ASan+UBSan in its own tree
# together with the sources the decoders need (nothing that links libav),
# then run JOBS at a time on a copy of tests/fuzz/corpus/ (see
# docs/architecture.md, "Fuzzing"). Only this target needs clang.
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -pthread -MMD -MP -I. $(PKG_CFLAGS)
FUZZ_LIBS = $(shell pkg-config --libs libzip libcjson libcrypto zlib \
	2>/dev/null) -lm -pthread
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_LIB_SRC := $(COMMON_SRC) coordinator/jrec.c coordinator/sets.c \
	coordinator/journal.c media/zipframes.c
FUZZ_LIB := $(FUZZ_BUILD)/lib/libfffuzz.a

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

.PHONY: fuzz fuzz-binaries
fuzz: deps
	@FUZZ_CC=$(FUZZ_CC) sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-binaries
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS)
fuzz-binaries: $(FUZZ_BINS)

# The lab in a box (tests/lab/, docs/operations.md): the share, the
# ambassador and the nodes in network namespaces, the share over sshfs,
# cables pulled and paths cut; needs root. LAB_PROFILE short (what make
# test runs), medium (every fault once, soft mounts) or full; LAB_RUNS
# runs of each fault; the table goes to $(BUILD)/lab-$(LAB_PROFILE)/.
LAB_PROFILE ?= full
.PHONY: lab
lab: all
	@sh scripts/deps.sh lab
	@BUILD=$(BUILD) bash tests/lab/lab.sh $(LAB_PROFILE)

FORMAT_FILES = $(wildcard common/*.[ch] media/*.[ch] coordinator/*.[ch] \
	gpu-node/*.[ch] cli/*.[ch] tests/unit/*.[ch] tests/tools/*.[ch] \
	bench/*.[ch] tests/sim/*.[ch] tests/fuzz/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
