#!/bin/sh
# The relay benchmark (issue 5): builds a Release sipnatd in build-bench, the
# load generator and the bare forwarder, installs rtpengine-daemon if it is
# missing, then runs bench/run.py, which prints the table. `make bench` runs
# this; arguments are passed on to run.py (see bench/run.py --help).
# Needs root (rtpengine's package; taskset on any CPU) and 2 CPUs.
set -eu

cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-build-bench}
TOOLS=$BUILD/bench-tools
CC=${CC:-cc}

if [ "$(nproc)" -lt 2 ]; then
	echo "bench: needs 2 CPUs (relay on CPU 1, generator on CPU 0)" >&2
	exit 1
fi
if ! command -v rtpengine >/dev/null 2>&1; then
	echo "bench: installing rtpengine-daemon" >&2
	apt-get install -y --no-install-recommends rtpengine-daemon >&2
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIPNATD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target sipnatd -j "$(nproc)" >/dev/null
mkdir -p "$TOOLS"
for tool in rtpgen udpfwd; do
	$CC -O2 -Wall -Wextra -Werror -o "$TOOLS/$tool" "bench/$tool.c"
done

# run.py stops what it started; if it is killed before it can, stop it and
# what it started here, by pid.
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

# the table and sipnatd's perf top 10 go to bench/results unless --results says elsewhere
python3 bench/run.py --sipnatd "$BUILD/sipnatd" --tools "$TOOLS" --results "${RESULTS:-bench/results}" "$@" &
pid=$!
status=0
wait "$pid" || status=$?
pid=""
exit $status
