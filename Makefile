# Portico: one GNU Makefile for the gateway, its tests, benchmarks and sanitizer builds.
#
#   make run     install what is missing, build, start the demo gateway
#   make test    build and run every test (unit, integration); ends with "N passed, N failed"
#   make asan    the same suite under AddressSanitizer and UBSan
#   make fuzz    run every fuzz target for a bounded time (clang, libFuzzer)
#   make bench   side-by-side benchmark against nginx; writes build/release/bench/results.md
#
# Libraries come from pkg-config only; `make deps` installs Debian packages when pkg-config (or a
# tool the tests need) is missing. Every target that builds runs `deps` first, then re-enters make
# so that the pkg-config flags are read after the install.

PKGS      := libevent libevent_openssl libevent_pthreads openssl libxml-2.0 libxslt jansson rdkafka libisal \
             hiredis xmlsec1-openssl
TEST_PKGS := cmocka
# Debian packages: libraries, test and benchmark tools.
APT_PKGS  := pkg-config build-essential libevent-dev libssl-dev libxml2-dev libxslt1-dev \
             libjansson-dev librdkafka-dev libisal-dev libcmocka-dev openssl curl python3 \
             python3-jsonschema nginx-light haproxy wrk kcat iproute2 prometheus \
             clang libclang-rt-14-dev libhiredis-dev redis-server libxmlsec1-dev
TOOLS     := pkg-config cc openssl curl python3 nginx haproxy wrk kcat clang ss promtool redis-server
# Packages neither pkg-config nor a command on PATH reveals: libFuzzer's runtime for `make fuzz`.
RUNTIME_PKGS := libclang-rt-14-dev

BUILD  ?= build/release
BINDIR ?= bin
SAN    ?=
PYTHON ?= /usr/bin/python3

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEFS    := -D_GNU_SOURCE -DPORTICO_VERSION=\"$(VERSION)\"
INCS    := -I. -Ibase -Igateway -Ipartners -Itransforms -Iconnectors -Iaudit
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread -ldl -lm
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) $(DEFS) $(INCS) $(PKG_CFLAGS) -MMD -MP

LIB_SRCS  := $(filter-out gateway/main.c,$(wildcard base/*.c gateway/*.c partners/*.c transforms/*.c \
                                                   connectors/*.c audit/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/gateway/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# Example external transform plugins: shared objects that use transforms/transform.h alone.
PLUGIN_SRCS := $(wildcard transforms/examples/*.c)
PLUGIN_SOS  := $(PLUGIN_SRCS:transforms/examples/%.c=$(BUILD)/plugins/%.so)
TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGIN_SOS  := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/test-plugins/%.so)
PORTICO   := $(BINDIR)/portico

.PHONY: all deps build run test test-run asan fuzz fuzz-build bench clean format FORCE
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@missing=""; \
	for p in $(PKGS) $(TEST_PKGS); do pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; done; \
	for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	[ -x $(PYTHON) ] || missing="$$missing python3"; \
	$(PYTHON) -c "import jsonschema" 2>/dev/null || missing="$$missing python3-jsonschema"; \
	dpkg -s $(RUNTIME_PKGS) >/dev/null 2>&1 || missing="$$missing $(RUNTIME_PKGS)"; \
	if [ -n "$$missing" ]; then \
	    echo "deps: missing:$$missing; installing Debian packages"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PKGS) \
	        >/dev/null || exit 1; \
	fi

build: $(PORTICO) $(UNIT_BINS) $(TOOL_BINS) $(EXAMPLE_BINS) $(PLUGIN_SOS) $(TEST_PLUGIN_SOS)

$(PORTICO): $(MAIN_OBJ) $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

# The objects that print the version are rebuilt when it changes (the stamp holds the last one).
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $@
$(BUILD)/obj/gateway/main.o $(BUILD)/obj/gateway/server.o $(BUILD)/obj/gateway/admin.o: \
    $(BUILD)/version.stamp
FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tools/%: tests/tools/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

$(BUILD)/plugins/%.so: transforms/examples/%.c transforms/transform.h transforms/threat_types.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -fPIC -o $@ $< $(shell pkg-config --libs openssl jansson)

$(BUILD)/test-plugins/%.so: tests/plugins/%.c transforms/transform.h transforms/threat_types.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -fPIC -o $@ $<

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(PKG_LIBS)

# The demo: certificates generated at first run into build/demo (never committed), the demo
# upstream and the gateway with the example config, until Ctrl-C.
run: all
	@PORTICO=$(abspath $(PORTICO)) BUILD=$(abspath $(BUILD)) sh examples/run-demo.sh

test: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory test-run

test-run:
	@PORTICO=$(abspath $(PORTICO)) BUILD=$(abspath $(BUILD)) PYTHON=$(PYTHON) sh tests/run.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin SAN=1 CFLAGS="-O1 -g" build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin SAN=1 test-run

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@for f in $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%); do \
	    mkdir -p build/fuzz/corpus/$$(basename $$f); \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=build/fuzz/ \
	        build/fuzz/corpus/$$(basename $$f) \
	        tests/fuzz/corpus/$$(basename $$f) 2>build/fuzz/$$(basename $$f).log \
	        || { tail -40 build/fuzz/$$(basename $$f).log; exit 1; }; \
	done; echo "fuzz: no crash"

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build/fuzzobj BINDIR=build/fuzzobj/bin CC=clang \
	    CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	    $(LIB_SRCS:%.c=build/fuzzobj/obj/%.o)
	@mkdir -p build/fuzz
	@for s in $(FUZZ_SRCS); do \
	    n=$$(basename $$s .c); \
	    clang $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(DEFS) $(INCS) $(PKG_CFLAGS) \
	        -o build/fuzz/$$n $$s $(LIB_SRCS:%.c=build/fuzzobj/obj/%.o) $(PKG_LIBS) || exit 1; \
	done

bench: all
	@PORTICO=$(abspath $(PORTICO)) BUILD=$(abspath $(BUILD)) PYTHON=$(PYTHON) sh tests/bench/run.sh

format:
	clang-format -i $(wildcard base/*.[ch] gateway/*.[ch] partners/*.[ch] transforms/*.[ch] connectors/*.[ch] \
	    audit/*.[ch] tests/unit/*.c tests/fuzz/*.c tests/tools/*.c tests/bench/*.c examples/*.c)

clean:
	rm -rf build bin

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/tools/*.d $(BUILD)/examples/*.d)
