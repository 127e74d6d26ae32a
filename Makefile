# A thin layer over CMake: the two commands of the README, and a few helpers.
#   make run    install missing build dependencies, build, run sipnatd -f on conf/
#   make test   build and run every test (also under ASan+UBSan)
#   make bench  relay benchmark: sipnatd, rtpengine, a bare forwarder (bench/)
#   make deb    build the Debian package (build-deb/sipnatd_*.deb)

BUILD    ?= build
ASAN_BUILD ?= build-asan
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CONF     ?= conf/sipnatd.conf
CMAKE_FLAGS ?=

DEB_BUILD ?= build-deb

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_BUILD)

# The relay benchmark of issue 5 (figures printed, not a test): sipnatd beside
# rtpengine and a bare epoll forwarder; BENCH_ARGS go to bench/run.py.
.PHONY: bench
bench: deps
	bench/run.sh $(BENCH_ARGS)
