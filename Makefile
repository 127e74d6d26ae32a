# A thin layer over CMake: the two commands of the README, and a few helpers.
#   make run    install missing build dependencies, build, run sipnatd -f on conf/
#   make test   build and run every test (also under ASan+UBSan)
#   make bench  relay benchmark: sipnatd, rtpengine, a bare forwarder (bench/)
#   make deb    build the Debian package (build-deb/sipnatd_*.deb)
#   make fuzz   run each libFuzzer target FUZZ_SECONDS (default 60; clang, build-fuzz)
#   make soak   100 000 calls through sipnatd with sipp (SOAK_CALLS, SOAK_RATE)

BUILD    ?= build
ASAN_BUILD ?= build-asan
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CONF     ?= conf/sipnatd.conf
CMAKE_FLAGS ?=

DEB_BUILD ?= build-deb
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all build deps run test test-plain test-asan clean install deb

all: build

deps:
	@scripts/install-deps.sh $(DEPS_FLAGS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	./$(BUILD)/sipnatd -f -c $(CONF)

test:
	@scripts/install-deps.sh --test
	$(MAKE) test-plain
	$(MAKE) test-asan

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j 1

# The sanitizer build uses clang, the plain one gcc: both compilers build
# the tree with -Werror on every run.
$(ASAN_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIPNATD_SANITIZE=ON $(CMAKE_FLAGS)

test-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 1

install: build
	cmake --install $(BUILD)

# The Debian package: a build of its own for /usr, /etc and /lib/systemd/system,
# packed by CPack into $(DEB_BUILD)/sipnatd_VERSION_ARCH.deb.
deb: deps
	cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPNATD_TESTS=OFF \
		-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
		-DSIPNATD_SYSTEMD_UNITDIR=/lib/systemd/system $(CMAKE_FLAGS)
	cmake --build $(DEB_BUILD) -j $(JOBS)
	cd $(DEB_BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_BUILD) $(FUZZ_BUILD)

# The relay benchmark of issue 5 (figures printed, not a test): sipnatd beside
# rtpengine and a bare epoll forwarder; BENCH_ARGS go to bench/run.py.
.PHONY: bench
bench:
	@scripts/install-deps.sh --bench
	bench/run.sh $(BENCH_ARGS)

# The libFuzzer targets of fuzz/ (R45): a clang build of their own with
# ASan+UBSan, each target run FUZZ_SECONDS on a copy of its seed corpus. Any
# crash, leak or broken invariant fails, and its input is kept and named.
.PHONY: fuzz
$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPNATD_SANITIZE=ON \
		-DSIPNATD_FUZZ=ON -DSIPNATD_TESTS=OFF $(CMAKE_FLAGS)

fuzz: deps
	$(MAKE) $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The soak of issue 7 (tests/soak/soak.py): SOAK_CALLS calls with SDP and a
# relay pair each, at SOAK_RATE calls/s, sipp as a trunk and as the PBX; 0
# failed calls, the pool whole, VmRSS flat after 20 %, no descriptor growth.
# The suite runs the same driver with 3 000 calls (integration/test_soak).
SOAK_CALLS ?= 100000
SOAK_RATE ?= 300
.PHONY: soak
soak: build
	@scripts/install-deps.sh --test
	python3 tests/soak/soak.py --sipnatd $(BUILD)/sipnatd --sipnatctl $(BUILD)/sipnatctl \
		--calls $(SOAK_CALLS) --rate $(SOAK_RATE)

# The SIP benchmark of issues 7 and 13 (bench/sip/run.sh): sipnatd with relay
# allocation beside Kamailio (stateless, stateful, with rtpengine) and sipp
# direct; the highest clean rate and the proxy's CPU per call, one table.
.PHONY: bench-sip
bench-sip:
	@scripts/install-deps.sh --bench
	bench/sip/run.sh
