# crashwatch — see README.md.  `make run` and `make test` do all set-up on a fresh Debian 12.
BUILD      ?= build
V          ?= 0
Q           = $(if $(filter 1,$(V)),,@)
msg         = $(if $(filter 1,$(V)),,@printf '  %-8s %s\n' $(1) $(2);)

CC         ?= cc
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
PYTHON     ?= /usr/bin/python3
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# usdt.bpf.h includes <linux/errno.h>, whose <asm/errno.h> is in the multiarch directory.
MULTIARCH  := $(shell $(CC) -dumpmachine 2>/dev/null)

# Every Debian package the build, the tests and the benchmarks need.
DEB_PACKAGES := gcc make pkg-config clang llvm bpftool libbpf-dev libelf-dev libdw-dev \
	zlib1g-dev libjansson-dev libcmocka-dev libcurl4-openssl-dev libinih-dev python3 python3-pytest \
	bc strace gdb elfutils libclang-rt-14-dev golang-go libiberty-dev g++ debuginfod \
	systemtap-sdt-dev bpftrace iproute2 nodejs rustc debhelper dpkg-dev lintian python3-prometheus-client \
	chromium

PKGS       := libbpf libdw libelf jansson libcurl inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm -liberty

# The parts: the daemon, the snapshot tool, the core handler, upload, and what they share.
SRC_DIRS   := user/watch user/snapshot user/core user/upload user/lib user/client

CFLAGS     ?= -O2 -g
CW_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
	-Iinclude $(SRC_DIRS:%=-I%) -I$(BUILD) $(PKG_CFLAGS)
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Crash targets: frame pointers and no optimisation, so the crash happens where the source says.
TARGET_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -O0 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread

BPF_PROGS  := detect timeline
PROGRAMS   := crashwatch crashwatch-snapshot
MAINS      := user/watch/main.c user/snapshot/snapshot_main.c user/core/core_handler_main.c
LIB_SRCS   := $(filter-out $(MAINS),$(wildcard $(SRC_DIRS:%=%/*.c)))
# The core handler alone, static: the host's kernel may run it outside our container.
CORE_HANDLER_OBJS := $(addprefix core/,core_handler_main core_handler core_call_protocol core_pattern \
	core_install)
SKELS      := $(BPF_PROGS:%=$(BUILD)/%.skel.h)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
TARGETS    := $(patsubst tests/targets/%.c,$(BUILD)/tests/targets/%,$(wildcard tests/targets/*.c))
# Rust crash targets (tests/targets/rust/NAME.rs), built by Debian's rustc (1.63, no cargo):
# NAME with the default panic=unwind, NAME_abort with -C panic=abort, and both stripped;
# NAME_opt optimized (-C opt-level=3, no debug info), as release builds are.
# Debian's, not another rustc first on PATH: the tests know 1.63's panic messages.
RUSTC      ?= /usr/bin/rustc
RUST_FLAGS := --edition=2021 -C opt-level=0 -C debuginfo=1
RUST_SRCS  := $(wildcard tests/targets/rust/*.rs)
TARGETS    += $(patsubst tests/targets/rust/%.rs,$(BUILD)/tests/targets/%,$(RUST_SRCS)) \
	$(patsubst tests/targets/rust/%.rs,$(BUILD)/tests/targets/%_abort,$(RUST_SRCS)) \
	$(patsubst tests/targets/rust/%.rs,$(BUILD)/tests/targets/%_stripped,$(RUST_SRCS)) \
	$(patsubst tests/targets/rust/%.rs,$(BUILD)/tests/targets/%_abort_stripped,$(RUST_SRCS)) \
	$(patsubst tests/targets/rust/%.rs,$(BUILD)/tests/targets/%_opt,$(RUST_SRCS))
# Go crash targets (tests/targets/go/NAME/main.go), built by Debian's golang-go; go_panic again
# without symbols or DWARF (-s -w) and as PIE.
GO         ?= go
GO_TARGETS := $(patsubst tests/targets/go/%/main.go,$(BUILD)/tests/targets/%,\
	$(wildcard tests/targets/go/*/main.go)) $(BUILD)/tests/targets/go_panic_stripped \
	$(BUILD)/tests/targets/go_panic_pie
TARGETS    += $(GO_TARGETS)
# A library with a trace event of its own and a program that links it (by its run path):
# a library's probe no process maps when the watcher starts (tests/targets/lib).
TARGETS    += $(BUILD)/tests/targets/libcwlib_events.so $(BUILD)/tests/targets/usdt_lib_user
# C++ targets (tests/targets/cpp/NAME.cpp), for demangled names: built as cpp_NAME.
CXX        ?= g++
TARGETS    += $(patsubst tests/targets/cpp/%.cpp,$(BUILD)/tests/targets/cpp_%,$(wildcard tests/targets/cpp/*.cpp))
# Everything the go command writes stays under $(BUILD), nothing in $HOME; no network, no cgo.
GO_ENV     := GOCACHE=$(abspath $(BUILD))/go/cache GOPATH=$(abspath $(BUILD))/go/path GOENV=off \
	GOFLAGS= GOPROXY=off GO111MODULE=on CGO_ENABLED=0
# Small programs the integration tests drive a library module through.
HELPERS    := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(wildcard tests/helpers/*.c))
# Go targets of the snapshot tool's goroutine tests (a module of their own), plain, -s -w, PIE.
GOSNAP_DIR := $(BUILD)/tests/targets/go_snap
GOSNAP_BINS := $(GOSNAP_DIR)/parked $(GOSNAP_DIR)/parked-sw $(GOSNAP_DIR)/parked-pie
GOSNAP_ENV := $(GO_ENV)
# Real consumers of the timeline's trace format, for its tests, from npm (pinned), under
# $(BUILD)/node: the trace engine of Chrome DevTools' Performance panel, and playwright-core,
# which drives Debian's chromium headless to load the trace in the browser's own viewer.
TRACE_ENGINE := @paulirish/trace_engine@0.0.65
TRACE_VIEWER_DRIVER := playwright-core@1.65.1
TRACE_CONSUMER := $(BUILD)/node/node_modules/@paulirish/trace_engine/package.json \
	$(BUILD)/node/node_modules/playwright-core/package.json
# Programs built against libcrashwatch alone, as its users would: static and shared.
CLIENT_TESTS := $(patsubst tests/client/%.c,$(BUILD)/tests/client/%,$(wildcard tests/client/*.c))
CLIENT_TESTS += $(CLIENT_TESTS:%=%-shared) $(BUILD)/tests/client/go_trace
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(filter-out %.bpf.c,$(wildcard bench/*.c))) \
	$(BUILD)/bench/cxx_throw

# libFuzzer harnesses over every parser of outside input (tests/fuzz/), with the library
# built again by clang for them; `make fuzz` runs each for FUZZ_SECONDS.
FUZZERS      := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: deb all deps run test check test-build install-client bench bench-request bench-snapshot bench-storm bench-exec bench-hold bench-concurrent bench-go bench-usdt bench-timeline bench-build \
	bench-cxx bench-why fuzz fuzz-build format format-check clean
.DEFAULT_GOAL := all
.SECONDARY:

# libcrashwatch: the client library (include/crashwatch/client.h), static and shared, and its
# pkg-config file.  Only the crashwatch_* functions are exported.
CLIENT_SRCS  := user/client/client.c user/lib/request_protocol.c
CLIENT_OBJS  := $(CLIENT_SRCS:user/%.c=$(BUILD)/client/%.o)
CLIENT_SONAME := libcrashwatch.so.1
CLIENT_LIBS  := $(BUILD)/libcrashwatch.a $(BUILD)/libcrashwatch.so $(BUILD)/crashwatch.pc
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include

all: $(PROGRAMS:%=$(BUILD)/%) $(BUILD)/crashwatch-core-handler $(CLIENT_LIBS)

# ---- the Debian package ---------------------------------------------------
# Built by debhelper (debian/) from a copy of the tree, so dpkg-buildpackage's
# clean and its files beside the source touch nothing here.
VERSION    := $(shell sed -n 's/^#define CW_VERSION "\(.*\)"/\1/p' user/lib/version.h)
DEB        := $(BUILD)/crashwatch_$(VERSION)_amd64.deb
DEB_TREE   := $(BUILD)/deb/crashwatch-$(VERSION)

deb: deps
	$(call msg,DEB,$(DEB))
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_TREE)
	$(Q)tar --exclude=./.git --exclude=./build --exclude=./$(BUILD) -cf - . | tar -C $(DEB_TREE) -xf -
	$(Q)cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -40 $(BUILD)/deb/build.log; echo "crashwatch: the package build failed, its log: $(BUILD)/deb/build.log"; exit 1; }
	$(Q)mv $(BUILD)/deb/crashwatch_$(VERSION)_amd64.deb $(DEB)

# ---- set-up --------------------------------------------------------------
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done; command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "crashwatch: missing Debian packages:" $$missing; \
			echo "crashwatch: run 'make deps' as root, or: sudo apt-get install" $$missing; \
			exit 1; \
		fi; \
		echo "  APT      $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
			|| { echo "crashwatch: apt-get install failed for: $$missing"; exit 1; }; \
	fi

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/crashwatch watch

test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)$(MAKE) --no-print-directory deb
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests

check: test

test-build: all $(PROGRAMS:%=$(BUILD)/san/%) $(BUILD)/san/crashwatch-core-handler $(UNIT_TESTS) $(TARGETS) $(HELPERS) \
	$(CLIENT_TESTS) \
	$(GOSNAP_BINS) $(TRACE_CONSUMER) \
	format-check

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) bench/overhead.sh

bench-snapshot: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) bench/snapshot.sh

bench-storm: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/storm.py

bench-hold: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/hold.py

bench-go: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/go_hold.py

bench-request: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/request.py

bench-concurrent: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/concurrent.py

bench-usdt: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) bench/usdt_cost.sh

bench-why: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/why_hold.py

bench-cxx: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) bench/cxx_throw.sh

bench-timeline: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/timeline.py

bench-exec: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)CW_BUILD=$(abspath $(BUILD)) bench/exec_hook.sh

bench-build: all $(BENCHES) $(TARGETS)

# Not part of `make test`: minutes of CPU (FUZZ_SECONDS per harness, one after the other).
fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZERS)

fuzz-build: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

format-check:
	$(call msg,FORMAT,check)
	$(Q)out=$$(for f in $$(git ls-files '*.c' '*.h'); do \
		clang-format --dry-run -Werror $$f 2>&1 >/dev/null | head -3; done); \
	if [ -n "$$out" ]; then echo "$$out"; echo "crashwatch: run 'make format'"; exit 1; fi

clean:
	rm -rf $(BUILD)

# ---- BPF -----------------------------------------------------------------
$(BUILD)/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "crashwatch: /sys/kernel/btf/vmlinux missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y"; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

define compile_bpf
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(BUILD) -Iinclude -idirafter /usr/include/$(MULTIARCH) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@
endef

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h include/crashwatch/events.h \
	include/crashwatch/timeline.h bpf/scope.bpf.h
	$(compile_bpf)

# The benchmark's empty programs (bench/floor.bpf.c).
$(BUILD)/bpf/%.bpf.o: bench/%.bpf.c $(BUILD)/vmlinux.h
	$(compile_bpf)

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# ---- userspace -----------------------------------------------------------
$(BUILD)/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CW_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CW_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/libcw.a: $(LIB_SRCS:user/%.c=$(BUILD)/obj/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/san/libcw.a: $(LIB_SRCS:user/%.c=$(BUILD)/san/obj/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CW_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(BUILD)/fuzz/libcw.a: $(LIB_SRCS:user/%.c=$(BUILD)/fuzz/obj/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Each program is its main object and the library; the sanitized build links the same way.
$(BUILD)/crashwatch: $(BUILD)/obj/watch/main.o
$(BUILD)/crashwatch-snapshot: $(BUILD)/obj/snapshot/snapshot_main.o
$(BUILD)/san/crashwatch: $(BUILD)/san/obj/watch/main.o
$(BUILD)/san/crashwatch-snapshot: $(BUILD)/san/obj/snapshot/snapshot_main.o

$(PROGRAMS:%=$(BUILD)/%): $(BUILD)/libcw.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(PKG_LIBS)

$(PROGRAMS:%=$(BUILD)/san/%): $(BUILD)/san/libcw.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(PKG_LIBS)

$(BUILD)/crashwatch-core-handler: $(CORE_HANDLER_OBJS:%=$(BUILD)/obj/%.o)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $^

# Beside the sanitized watcher, which copies it from there (no sanitizer links statically).
$(BUILD)/san/crashwatch-core-handler: $(BUILD)/crashwatch-core-handler
	$(Q)mkdir -p $(@D) && cp $< $@

# ---- the client library --------------------------------------------------
$(BUILD)/client/%.o: user/%.c
	$(call msg,CC-LIB,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -Iinclude -fPIC \
		-fvisibility=hidden $(CFLAGS) -c $< -o $@

$(BUILD)/libcrashwatch.a: $(CLIENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/$(CLIENT_SONAME): $(CLIENT_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -shared -Wl,-soname,$(CLIENT_SONAME) -Wl,-z,defs -o $@ $^

$(BUILD)/libcrashwatch.so: $(BUILD)/$(CLIENT_SONAME)
	$(Q)ln -sf $(CLIENT_SONAME) $@

# The pkg-config file for libdir and includedir $(1), $(2) (the build's: PREFIX's).
write_pc = printf '%s\n' 'libdir=$(1)' 'includedir=$(2)' '' 'Name: crashwatch' \
	'Description: ask the crashwatch watcher for a snapshot of this process' \
	"Version: $$(sed -n 's/.*CW_VERSION *"\(.*\)".*/\1/p' user/lib/version.h)" \
	'Libs: -L$${libdir} -lcrashwatch' 'Cflags: -I$${includedir}'

$(BUILD)/crashwatch.pc: Makefile user/lib/version.h
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(call write_pc,$(LIBDIR),$(INCLUDEDIR)) > $@

# Headers, libraries and pkg-config file under PREFIX (default /usr/local).
install-client: $(CLIENT_LIBS)
	install -d $(DESTDIR)$(INCLUDEDIR)/crashwatch $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/crashwatch/client.h include/crashwatch/request.h \
		$(DESTDIR)$(INCLUDEDIR)/crashwatch/
	install -m 644 $(BUILD)/libcrashwatch.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/$(CLIENT_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(CLIENT_SONAME) $(DESTDIR)$(LIBDIR)/libcrashwatch.so
	$(call write_pc,$(LIBDIR),$(INCLUDEDIR)) > $(DESTDIR)$(LIBDIR)/pkgconfig/crashwatch.pc

# ---- tests and benchmarks ------------------------------------------------
# One install of both: npm drops from node_modules what the install it runs did not name.
$(TRACE_CONSUMER) &:
	$(call msg,NPM,"$(TRACE_ENGINE) $(TRACE_VIEWER_DRIVER)")
	$(Q)command -v npm >/dev/null || { echo "crashwatch: npm is missing: apt-get install npm"; exit 1; }
	$(Q)mkdir -p $(BUILD)/node && npm install --prefix $(BUILD)/node --no-audit --no-fund --no-save \
		--loglevel=error $(TRACE_ENGINE) $(TRACE_VIEWER_DRIVER) >/dev/null

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/san/libcw.a
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CW_CFLAGS) -Itests/unit $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libcw.a \
		$(PKG_LIBS) -lcmocka

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(BUILD)/san/libcw.a
	$(call msg,CC-HELP,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CW_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libcw.a $(PKG_LIBS)

$(BUILD)/tests/client/%: tests/client/%.c $(BUILD)/libcrashwatch.a
	$(call msg,CC-CLNT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread -Iinclude -o $@ $< \
		$(BUILD)/libcrashwatch.a

$(BUILD)/tests/client/%-shared: tests/client/%.c $(BUILD)/libcrashwatch.so
	$(call msg,CC-CLNT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread -Iinclude -o $@ $< \
		-L$(BUILD) -lcrashwatch -Wl,-rpath,$(abspath $(BUILD))

# The Go package (clients/go) as a program imports it: its own module, replaced by the directory.
$(BUILD)/tests/client/go_trace: $(wildcard tests/client/go/* clients/go/*)
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D) && cd tests/client/go && $(GO_ENV) $(GO) build -o $(abspath $@) .

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libcw.a
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CW_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(BUILD)/fuzz/libcw.a $(PKG_LIBS)

$(BUILD)/tests/targets/%: tests/targets/%.c
	$(call msg,CC-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TARGET_CFLAGS) -MMD -MP -o $@ $<

$(BUILD)/tests/targets/libcwlib_events.so: tests/targets/lib/cwlib_events.c
	$(call msg,CC-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TARGET_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/tests/targets/usdt_lib_user: tests/targets/lib/usdt_lib_user.c \
	$(BUILD)/tests/targets/libcwlib_events.so
	$(call msg,CC-TGT,$@)
	$(Q)$(CC) $(TARGET_CFLAGS) -o $@ $< -L$(@D) -lcwlib_events -Wl,-rpath,'$$ORIGIN'

$(BUILD)/tests/targets/cpp_%: tests/targets/cpp/%.cpp
	$(call msg,CXX-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O0 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -MMD -MP -o $@ $<

# rustc writes beside -o only what it is told to (no incremental dir): into $(BUILD).
$(BUILD)/tests/targets/rust_%_abort_stripped: tests/targets/rust/rust_%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) $(RUST_FLAGS) -C panic=abort -C strip=symbols -o $@ $<

$(BUILD)/tests/targets/rust_%_abort: tests/targets/rust/rust_%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) $(RUST_FLAGS) -C panic=abort -o $@ $<

$(BUILD)/tests/targets/rust_%_opt: tests/targets/rust/rust_%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) --edition=2021 -C opt-level=3 -o $@ $<

$(BUILD)/tests/targets/rust_%_stripped: tests/targets/rust/rust_%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) $(RUST_FLAGS) -C strip=symbols -o $@ $<

$(BUILD)/tests/targets/rust_%: tests/targets/rust/rust_%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) $(RUST_FLAGS) -o $@ $<

# One file, no go.mod: built as command-line-arguments, the standard library only.
$(BUILD)/tests/targets/go_%: tests/targets/go/go_%/main.go
	$(call msg,GO-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GO_ENV) $(GO) build -o $@ $<

$(BUILD)/tests/targets/go_panic_stripped: tests/targets/go/go_panic/main.go
	$(call msg,GO-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GO_ENV) $(GO) build -ldflags='-s -w' -o $@ $<

$(BUILD)/tests/targets/go_panic_pie: tests/targets/go/go_panic/main.go
	$(call msg,GO-TGT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GO_ENV) $(GO) build -buildmode=pie -o $@ $<

$(GOSNAP_DIR)/parked: $(wildcard tests/targets/go_snap/parked/*)
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D) && cd tests/targets/go_snap/parked && $(GOSNAP_ENV) $(GO) build -o $(abspath $@) .

$(GOSNAP_DIR)/parked-sw: $(wildcard tests/targets/go_snap/parked/*)
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D) && cd tests/targets/go_snap/parked && $(GOSNAP_ENV) $(GO) build -ldflags='-s -w' \
		-o $(abspath $@) .

$(GOSNAP_DIR)/parked-pie: $(wildcard tests/targets/go_snap/parked/*)
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D) && cd tests/targets/go_snap/parked && $(GOSNAP_ENV) $(GO) build -buildmode=pie \
		-o $(abspath $@) .

$(BUILD)/bench/%: bench/%.c
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Iinclude -O2 -Wall -Wextra -Werror -MMD -MP -o $@ $<

# Built against libcrashwatch, as a program asking for its own snapshot would be.
$(BUILD)/bench/request_pause: bench/request_pause.c $(BUILD)/libcrashwatch.a
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -MMD -MP -pthread -Iinclude -o $@ $< \
		$(BUILD)/libcrashwatch.a

$(BUILD)/bench/cxx_throw: bench/cxx_throw.cpp
	$(call msg,CXX-BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/bench/floor: bench/floor.c $(BUILD)/floor.skel.h
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -MMD -MP -I$(BUILD) $(PKG_CFLAGS) \
		-o $@ $< $(PKG_LIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
