#!/bin/sh
# `make fuzz`: run every libFuzzer target of BUILD/fuzz for SECONDS each, on
# a copy of its seed corpus (fuzz/corpus/<target>) in a temporary directory,
# so that a run never grows the committed corpus. Prints, per target, the
# executions, the coverage (libFuzzer's cov/ft) and the time; a crash, leak,
# sanitizer report, timeout or broken invariant fails the run, and the input
# that caused it is kept under CRASH_DIR and its path printed.
#
#   fuzz/run.sh [BUILD [SECONDS]]     (defaults: build-fuzz 60)
#   FUZZ_TARGETS="fuzz_sdp fuzz_conf" fuzz/run.sh ...   runs only those
#   FUZZ_CRASH_DIR=dir                where crashes and logs go (BUILD/fuzz-crashes)
set -u

build=${1:-build-fuzz}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
crash_dir=${FUZZ_CRASH_DIR:-$build/fuzz-crashes}
failed=0
failed_count=0
ran=0

mkdir -p "$crash_dir"
crash_dir=$(cd "$crash_dir" && pwd)

targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
	for bin in "$build"/fuzz/fuzz_*; do
		[ -x "$bin" ] && targets="$targets $(basename "$bin")"
	done
fi
if [ -z "$targets" ]; then
	echo "fuzz: no targets in $build/fuzz (configure with -DSIPNATD_FUZZ=ON)" >&2
	exit 1
fi

printf '%-16s %12s %8s %8s %8s %6s  %s\n' target execs exec/s cov ft time result
for name in $targets; do
	bin="$build/fuzz/$name"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-$name.XXXXXX")
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$work/"
	fi
	set --
	[ -f "$here/$name.dict" ] && set -- "-dict=$here/$name.dict"
	mkdir -p "$crash_dir/$name"
	log="$crash_dir/$name.log"
	start=$(date +%s)
	# leak checks use LSan inside libFuzzer; lsan.supp says what is
	# suppressed and why. A fixed seed (FUZZ_SEED, default 1; 0 = random)
	# makes a run repeatable: the same inputs, in the same order, as far as
	# the time allows.
	ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1" \
	LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
		"$bin" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -print_final_stats=1 -timeout=25 \
		-rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$crash_dir/$name/" "$@" \
		"$work" >"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	ran=$((ran + 1))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc)"
		failed=1
		failed_count=$((failed_count + 1))
	fi
	printf '%-16s %12s %8s %8s %8s %5ss  %s\n' "$name" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "$took" "$result"
	findings=$(grep -c 'sip_path invariant finding' "$log" || true)
	if [ "${findings:-0}" -gt 0 ]; then
		echo "  $findings invariant finding(s), reported, not fatal (FUZZ_INVARIANTS=report); see $log"
	fi
	if [ "$rc" -ne 0 ]; then
		found=$(ls -t "$crash_dir/$name"/* 2>/dev/null | head -n 1)
		echo "  log:   $log"
		if [ -n "$found" ]; then
			echo "  input: $found"
			echo "  again: $bin $found"
		fi
		grep -E 'ERROR: |SUMMARY: |invariant|runtime error' "$log" | head -n 5 | sed 's/^/  /'
	fi
	rm -rf "$work"
done

# the closing line in the form CI reads: one target is one test
if [ "$failed" -ne 0 ]; then
	echo "fuzz: the failing inputs are kept in $crash_dir"
	echo "fuzz: $((ran - failed_count)) passed, $failed_count failed"
	exit 1
fi
echo "fuzz: $ran passed, 0 failed"
