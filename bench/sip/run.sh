#!/usr/bin/env bash
#
# SIP benchmark: calls per second through a NAT-fixing proxy, side by side in
# one run with the same sipp scenario (INVITE with SDP, 180, 200, ACK, BYE,
# 200; uac.xml and uas.xml beside this script):
#
#   sipnatd        relay ports allocated for every call (Release build)
#   kam-stateless  Kamailio 5.6: force_rport, fix_nated_contact, record_route
#   kam-stateful   the same through tm (t_relay)
#   kam-rtpengine  the stateful one anchoring media in rtpengine-daemon
#   direct         sipp uac straight to sipp uas: the machine's ceiling
#
# For each: the highest rate of the ladder that finishes CALLS calls with 0
# failed calls and 0 retransmissions on either side (a system leaves the
# ladder at its first failure; at each rate the systems take turns), and the
# proxy's CPU per call (utime+stime of every proxy process from /proc, before
# and after) at CPU_RATE calls/s for CPU_CALLS calls. The proxy runs on CPU 1,
# both sipps on CPU 0. Loopback only:
#
#   sipnatd 127.0.9.10:29060   Kamailio 127.0.9.40:29160   rtpengine ng 127.0.9.50:22222
#   PBX (sipp uas) 127.0.9.20:29080       caller (sipp uac, a trunk peer) 127.0.10.5:5070
#
# Every proxy and sipp is started fresh for each step, bounded in time, and
# stopped by its PID, also when the script fails or is interrupted.
#
# Other processes on the machine skew both figures; each step measures how
# much CPU they took ("other load", % of one CPU), a failed step is run once
# more when that was FOREIGN_RETRY % or more, and the CPU figure is the median
# of CPU_RUNS runs.
#
# Environment: SIPNATD_GENERAL (more keys for sipnatd's general group, e.g.
# 'transport = "udp,tcp";' to measure the UDP path with a TCP listener up),
# CALLS (20000), RATES ("1000 2000 ... 16000"), CPU_RATE (1000),
# CPU_CALLS (10000), CPU_RUNS (3), FOREIGN_RETRY (10), SYSTEMS (all five, in
# the order above), BUILD (build-bench-sip), KEEP=1 keeps the work directory
# with every log, BASELINE=/path/to/an/older/sipnatd adds it as system
# "sipnatd-base" (before/after in one run), RESULTS (bench/results) where the
# table and sipnatd's perf top 10 (the first sipnatd CPU run, perf record -g)
# are written.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/sip
BUILD=${BUILD:-$ROOT/build-bench-sip}
CALLS=${CALLS:-20000}
RATES=${RATES:-"1000 2000 3000 3500 4000 5000 6000 8000 12000 16000"}
CPU_RATE=${CPU_RATE:-1000}
CPU_CALLS=${CPU_CALLS:-10000}
CPU_RUNS=${CPU_RUNS:-3}
FOREIGN_RETRY=${FOREIGN_RETRY:-10}
SYSTEMS=${SYSTEMS:-"sipnatd kam-stateless kam-stateful kam-rtpengine direct"}
BASELINE=${BASELINE:-}
RESULTS=${RESULTS:-$ROOT/bench/results}
if [ -n "$BASELINE" ]; then
	case " $SYSTEMS " in *" sipnatd-base "*) ;; *) SYSTEMS="${SYSTEMS/sipnatd /sipnatd sipnatd-base }" ;; esac
fi

# BENCH_NET=N moves every address to 127.0.N.x and the caller to 127.0.N+1.5,
# so that two copies of this benchmark (two worktrees) never collide.
NET=${BENCH_NET:-9}
SN_ADDR=127.0.$NET.10:29060
KAM_ADDR=127.0.$NET.40:29160
NG_ADDR=127.0.$NET.50:22222
UAS_IP=127.0.$NET.20 UAS_PORT=29080
UAC_IP=127.0.$((NET + 1)).5 UAC_PORT=5070
PROXY_CPU=1 SIPP_CPU=0

WORK=$(mktemp -d /tmp/bench-sip.XXXXXX)
PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-sip: $*"; exit 1; }

# Stop one process we started: TERM, up to 5 s, then KILL.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	PIDS=()
	if [ "${KEEP:-0}" = 1 ]; then
		log "bench-sip: logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Forget PIDs that have been stopped.
forget() {
	local keep=() pid gone
	for pid in "${PIDS[@]}"; do
		for gone in "$@"; do [ "$pid" = "$gone" ] && continue 2; done
		keep+=("$pid")
	done
	PIDS=("${keep[@]}")
}

# Wait (up to 10 s) until a UDP socket listens on ADDR:PORT and PID still runs.
wait_udp() {
	local addr=$1 pid=$2 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		ss -Hlun "src $addr" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# CPU ticks (utime+stime, every thread) of the given PIDs.
cpu_ticks() {
	local pid files=()
	for pid in "$@"; do files+=("/proc/$pid/stat"); done
	awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }' "${files[@]}" 2>/dev/null
}

# user+nice+system ticks of the whole machine (interrupt time left out: the
# proxies' own loopback traffic lands there).
busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat
}

# CPU seconds of every child this shell has reaped (bash's times, second line).
reaped_secs() {
	times >"$WORK/times"
	awk 'NR == 2 { n = split($0, f, /[ ms]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$WORK/times"
}

# Value of column NAME in the last line of sipp statistics file FILE.
stat_col() {
	awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
		END { if (c) print $c + 0; else print -1 }' "$1" 2>/dev/null || echo -1
}

# "pid comm cpu-seconds" of every process (its children's reaped time
# included, so that a build's compilers count for the make that ran them).
proc_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	for f in /proc/[0-9]*/stat; do
		cat "$f" 2>/dev/null
		echo
	done | awk -v hz="$hz" 'NF {
		l = index($0, "("); r = 0
		for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { r = i; break }
		if (!l || !r) next
		name = substr($0, l + 1, r - l - 1); gsub(/ /, "_", name)
		n = split(substr($0, r + 2), f, " ")
		printf "%s %s %.2f\n", $1, name, (f[12] + f[13] + f[14] + f[15]) / hz }'
}

# The noise line: load average at start and end, and the five process names
# that took the most CPU meanwhile (this script and its children left out).
noise_line() {
	local now
	now=$(date +%s.%N)
	proc_cpu >"$WORK/noise.end"
	awk -v self=$$ -v wall="$(awk -v a="$NOISE_T0" -v b="$now" 'BEGIN { print b - a }')" \
		'NR == FNR { c0[$1] = $3; next }
		 $1 != self { d = $3 - c0[$1]; if (d > 0) by[$2] += d; tot += d > 0 ? d : 0 }
		 END { printf "others took %.0f %% of a core over %.0f min; top:", tot / wall * 100, wall / 60
		       for (k = 0; k < 5; k++) { best = ""; for (n in by) if (best == "" || by[n] > by[best]) best = n
		           if (best == "") break; printf " %s %.0f %%", best, by[best] / wall * 100; delete by[best] }
		       print "" }' "$WORK/noise.start" "$WORK/noise.end"
}

install_deps() {
	local missing=()
	command -v sipp >/dev/null || missing+=(sip-tester)
	command -v kamailio >/dev/null || missing+=(kamailio)
	command -v rtpengine >/dev/null || missing+=(rtpengine-daemon)
	[ ${#missing[@]} -eq 0 ] && return 0
	log "bench-sip: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
		{ apt-get update >>"$WORK/apt.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
		die "cannot install ${missing[*]} (see $WORK/apt.log)"
}

build_sipnatd() {
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIPNATD_TESTS=OFF \
			>"$WORK/cmake.log" 2>&1 || die "cmake failed (see $WORK/cmake.log)"
	fi
	cmake --build "$BUILD" -j "$(nproc)" --target sipnatd >>"$WORK/cmake.log" 2>&1 ||
		die "build failed (see $WORK/cmake.log)"
}

write_sipnatd_conf() {
	cat >"$1/sipnatd.conf" <<EOF
general: {
  bindaddr = "${SN_ADDR%:*}"; bindport = ${SN_ADDR#*:};
  externip = "${SN_ADDR%:*}";
  localnet = [ "127.0.$NET.0/24" ];
  pbx = "$UAS_IP:$UAS_PORT";
  statefile = "$1/registrations"; control = "$1/control";
  ${SIPNATD_GENERAL:-}
};
rtp: { rtpstart = 40000; rtpend = 60000; };
peers: ( { name = "bench"; host = "$UAC_IP:$UAC_PORT"; qualify = false; } );
logging: { level = "warning"; };
EOF
}

# Start the proxy of system $1 in directory $2. Sets PROXY_PIDS (whose CPU
# counts) and TARGET (where the uac sends); returns 1 if it did not come up.
start_proxy() {
	local sys=$1 dir=$2 pid
	PROXY_PIDS=()
	case $sys in
	direct)
		TARGET=$UAS_IP:$UAS_PORT
		return 0 ;;
	sipnatd | sipnatd-base)
		TARGET=$SN_ADDR
		write_sipnatd_conf "$dir"
		local bin=$BUILD/sipnatd
		[ "$sys" = sipnatd-base ] && bin=$BASELINE
		taskset -c $PROXY_CPU "$bin" -f -c "$dir/sipnatd.conf" >"$dir/proxy.log" 2>&1 &
		pid=$!; PIDS+=("$pid")
		wait_udp "$SN_ADDR" "$pid" || return 1
		PROXY_PIDS=("$pid")
		return 0 ;;
	kam-rtpengine)
		taskset -c $PROXY_CPU rtpengine --config-file=none --foreground --log-stderr \
			--log-level=4 --table=-1 --num-threads=1 --interface="${NG_ADDR%:*}" \
			--listen-ng="$NG_ADDR" --port-min=20000 --port-max=39999 --delete-delay=0 \
			>"$dir/rtpengine.log" 2>&1 &
		pid=$!; PIDS+=("$pid")
		wait_udp "$NG_ADDR" "$pid" || return 1
		PROXY_PIDS=("$pid") ;;
	esac
	# kam-*
	TARGET=$KAM_ADDR
	sed "s/127\.0\.9\./127.0.$NET./g" "$HERE/kamailio-${sys#kam-}.cfg" >"$dir/kamailio.cfg"
	taskset -c $PROXY_CPU kamailio -DD -E -m 1024 -M 64 -Y "$dir" -w "$dir" \
		-f "$dir/kamailio.cfg" >"$dir/proxy.log" 2>&1 &
	pid=$!; PIDS+=("$pid")
	wait_udp "$KAM_ADDR" "$pid" || return 1
	sleep 0.5	# every child forked and settled
	PROXY_PIDS+=("$pid" $(pgrep -P "$pid"))
	# the workers too, should the main process die without them
	PIDS+=($(pgrep -P "$pid"))
	return 0
}

# One step: system $1 at rate $2 for $3 calls. Runs in the main shell (not
# in $(...)) so that the EXIT trap knows every PID. Sets STEP to
#   "clean|FAIL successful failed retrans_uac retrans_uas achieved_rate cpu_us_per_call foreign%"
# foreign% is the CPU that processes other than this benchmark's used during
# the step, in % of one CPU: other work on the machine skews the figures.
run_step() {
	local sys=$1 rate=$2 calls=$3 dir uas uac t0 t1 limit b0 r0 w0
	STEP="FAIL 0 0 0 0 0 0 0"
	dir=$WORK/$sys-$rate-$calls
	rm -rf "$dir"; mkdir -p "$dir"
	b0=$(busy_ticks); r0=$(reaped_secs); w0=$(date +%s.%N)
	if ! start_proxy "$sys" "$dir"; then
		log "bench-sip: $sys did not start; its log:"; tail -5 "$dir"/*.log >&2
		stop_step; return
	fi
	taskset -c $SIPP_CPU sipp -sf "$HERE/uas.xml" -aa -nostdin -i $UAS_IP -p $UAS_PORT -mi $UAS_IP \
		-buff_size 1048576 -trace_stat -stf "$dir/uas.csv" -fd 1 \
		-trace_screen -screen_file "$dir/uas.screen" >"$dir/uas.out" 2>&1 &
	uas=$!; PIDS+=("$uas")
	if ! wait_udp "$UAS_IP:$UAS_PORT" "$uas"; then
		log "bench-sip: sipp uas did not start"; stop_step; return
	fi
	# bounded: the calls' own time plus 20 s for the last retransmissions
	limit=$(( (calls + rate - 1) / rate + 20 ))
	t0=$(cpu_ticks "${PROXY_PIDS[@]}")
	taskset -c $SIPP_CPU timeout -k 5 $((limit + 10)) sipp -sf "$HERE/uac.xml" -nostdin \
		-i $UAC_IP -p $UAC_PORT -mi $UAC_IP -buff_size 1048576 \
		-m "$calls" -r "$rate" -l "$calls" -timeout "$limit" -timeout_error \
		-trace_stat -stf "$dir/uac.csv" -trace_err -trace_screen -screen_file "$dir/uac.screen" \
		"$TARGET" >"$dir/uac.out" 2>&1 &
	uac=$!; PIDS+=("$uac")
	# the profiling run (PROFILE_STEP=1, after the CPU runs, not counted in them)
	local perf=""
	if [ "${PROFILE_STEP:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q ${PERF_CALLGRAPH:--g} -F 999 -o "$PERF_DIR/perf.data" -p "${PROXY_PIDS[0]}" \
			>"$dir/perf.log" 2>&1 &
		perf=$!; PIDS+=("$perf")
	fi
	wait "$uac"; forget "$uac"
	t1=$(cpu_ticks "${PROXY_PIDS[@]}")
	if [ -n "$perf" ]; then
		kill -INT "$perf" 2>/dev/null
		wait "$perf" 2>/dev/null; forget "$perf"
	fi
	# the uas finishes its last calls (1 s timewait), then quits on SIGUSR1
	sleep 1.5
	kill -USR1 "$uas" 2>/dev/null
	local i
	for ((i = 0; i < 50; i++)); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
	stop_step

	local ok fail rtc rts crate cpu foreign verdict=FAIL
	foreign=$(awk -v b0="$b0" -v b1="$(busy_ticks)" -v r0="$r0" -v r1="$(reaped_secs)" \
		-v w0="$w0" -v w1="$(date +%s.%N)" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { f = ((b1 - b0) / hz - (r1 - r0)) / (w1 - w0) * 100; printf "%.0f", f < 0 ? 0 : f }')
	ok=$(stat_col "$dir/uac.csv" 'SuccessfulCall(C)')
	fail=$(stat_col "$dir/uac.csv" 'FailedCall(C)')
	rtc=$(stat_col "$dir/uac.csv" 'Retransmissions(C)')
	rts=$(stat_col "$dir/uas.csv" 'Retransmissions(C)')
	crate=$(stat_col "$dir/uac.csv" 'CallRate(C)')
	cpu=$(awk -v a="$t0" -v b="$t1" -v n="$calls" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }')
	[ "$ok" = "$calls" ] && [ "$fail" = 0 ] && [ "$rtc" = 0 ] && [ "$rts" = 0 ] && verdict=clean
	STEP="$verdict $ok $fail $rtc $rts $crate $cpu $foreign"
}

# Stop every process of the current step (all that are still in PIDS).
stop_step() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
}

target_of() {
	case $1 in
	sipnatd) echo ">=5000 c/s, <=100 us" ;;
	sipnatd-base) echo "(before this branch)" ;;
	kam-stateless) echo "3500 c/s, ~206 us" ;;
	kam-stateful) echo "2750 c/s, ~310 us" ;;
	kam-rtpengine) echo "1000 c/s, ~630 us" ;;
	direct) echo ">16000 c/s" ;;
	esac
}

# Log one step's result line.
log_step() {
	local v ok fail rtc rts crate cpu foreign
	read -r v ok fail rtc rts crate cpu foreign <<<"$4"
	log "$(printf '%-14s %6s calls/s x %-6s %-5s ok %-6s failed %-4s retrans %s/%s  rate %-8s cpu %4s us/call  other load %s%%%s' \
		"$1" "$2" "$3" "$v" "$ok" "$fail" "$rtc" "$rts" "$crate" "$cpu" "$foreign" "${5:-}")"
	[ "$foreign" -le "$FOREIGN_MAX_SEEN" ] || FOREIGN_MAX_SEEN=$foreign
}

main() {
	local sys rate r i alive still
	install_deps
	case " $SYSTEMS " in *" sipnatd "*) build_sipnatd ;; esac
	[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (proxy on CPU $PROXY_CPU, sipp on CPU $SIPP_CPU)"
	declare -A BEST CPU CPUS
	FOREIGN_MAX_SEEN=0
	NOISE_LA0=$(cut -d' ' -f1-3 /proc/loadavg) NOISE_T0=$(date +%s.%N)
	proc_cpu >"$WORK/noise.start"
	mkdir -p "$RESULTS"
	rm -f "$RESULTS/perf.data"
	PERF_DIR=${PERF_DIR:-$RESULTS}
	log "bench-sip: $SYSTEMS; $CALLS calls per step at $RATES calls/s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	# Rate by rate, every system still clean takes its turn: whatever else
	# the machine does at the time falls on all of them alike.
	alive=$SYSTEMS
	for sys in $SYSTEMS; do BEST[$sys]="<${RATES%% *}"; done
	for rate in $RATES; do
		[ -n "$alive" ] || break
		still=""
		for sys in $alive; do
			run_step "$sys" "$rate" "$CALLS"; r=$STEP
			log_step "$sys" "$rate" "$CALLS" "$r"
			# a failure while something else loaded the machine is tried again
			if [ "${r%% *}" != clean ] && [ "${r##* }" -ge "$FOREIGN_RETRY" ]; then
				run_step "$sys" "$rate" "$CALLS"; r=$STEP
				log_step "$sys" "$rate" "$CALLS" "$r" " (again: the machine was busy)"
			fi
			[ "${r%% *}" = clean ] || continue
			BEST[$sys]=$rate
			still="$still $sys"
		done
		alive=$still
	done
	for sys in $alive; do BEST[$sys]="${BEST[$sys]}+"; done
	# CPU per call: CPU_RUNS rounds over the systems, the median of each
	for ((i = 0; i < CPU_RUNS; i++)); do
		for sys in $SYSTEMS; do
			[ "$sys" = direct ] && continue
			run_step "$sys" "$CPU_RATE" "$CPU_CALLS"; r=$STEP
			log_step "$sys" "$CPU_RATE" "$CPU_CALLS" "$r" " (CPU run)"
			set -- $r
			[ "$1" = clean ] && CPUS[$sys]="${CPUS[$sys]:-} $7"
		done
	done
	# one more sipnatd run under perf record, for the top 10 beside the table
	PROFILE_STEP=1
	case " $SYSTEMS " in *" sipnatd "*) run_step sipnatd "$CPU_RATE" "$CPU_CALLS"
		log_step sipnatd "$CPU_RATE" "$CPU_CALLS" "$STEP" " (profiled, not counted)" ;; esac
	PROFILE_STEP=0
	for sys in $SYSTEMS; do
		CPU[$sys]="-"
		[ "$sys" = direct ] && continue
		set -- ${CPUS[$sys]:-}
		if [ $# -eq 0 ]; then
			CPU[$sys]="no clean run"
			continue
		fi
		CPU[$sys]=$(printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
		[ $# -lt "$CPU_RUNS" ] && CPU[$sys]="${CPU[$sys]} ($# of $CPU_RUNS clean)"
	done

	report | tee "$RESULTS/sip-table.txt"
	if [ -s "$PERF_DIR/perf.data" ]; then
		{
			echo "perf record -g of sipnatd at $CPU_RATE calls/s x $CPU_CALLS calls, $(date -u '+%F %H:%M UTC')"
			echo "(perf report --no-children: self time; kernel symbols are the loopback delivery and wakeups)"
			perf report -i "$PERF_DIR/perf.data" --stdio --no-children -g none --percent-limit 0.5 2>/dev/null |
				grep -E '^ +[0-9]' | head -10
		} >"$RESULTS/sip-perf-top10.txt"
		printf 'perf top 10 of sipnatd: %s\n' "$RESULTS/sip-perf-top10.txt"
	fi
}

# us/call of a system as a number, or empty.
cpu_num() {
	case ${CPU[$1]:-} in
	'' | - | no*) echo "" ;;
	*) echo "${CPU[$1]%% *}" ;;
	esac
}

# "0.45x", or "-" when either figure is missing.
ratio() {
	local a b
	a=$(cpu_num "$1"); b=$(cpu_num "$2")
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" != 0 ] || { echo "-"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }'
}

# "met" / "MISSED (by how much)" for sipnatd's us/call <= LIMIT x the figure of $2.
verdict() {
	local a b limit=$1 other=$2
	a=$(cpu_num sipnatd); b=$(cpu_num "$other")
	[ -n "$a" ] && [ -n "$b" ] || { echo "not measured"; return; }
	awk -v a="$a" -v b="$b" -v l="$limit" 'BEGIN { t = l * b
		if (a <= t) printf "met (%.2fx)", a / b; else printf "MISSED: %.2fx, %.0f us over %.0f", a / b, a - t, t }'
}

report() {
	local sys best
	printf '\nSIP benchmark (issue 13): %s calls per step, clean = 0 failed calls, 0 retransmissions;\n' "$CALLS"
	printf 'proxy CPU = utime+stime per call, median of %s runs at %s calls/s x %s calls; one run, side by side\n' \
		"$CPU_RUNS" "$CPU_RATE" "$CPU_CALLS"
	printf '%-14s | %-21s | %-22s | %-12s | %s\n' system "highest clean calls/s" "proxy CPU us/call" \
		"x kam-stl" "x kam+rtpe"
	printf '%-14s-+-%-21s-+-%-22s-+-%-12s-+-%s\n' -------------- --------------------- \
		---------------------- ------------ ----------
	for sys in $SYSTEMS; do
		printf '%-14s | %-21s | %-22s | %-12s | %s\n' "$sys" "${BEST[$sys]}" "${CPU[$sys]}" \
			"$(ratio "$sys" kam-stateless)" "$(ratio "$sys" kam-rtpengine)"
	done
	printf '(kam-rtpengine CPU is Kamailio plus rtpengine; "N+": the top of the ladder was clean;\n'
	printf ' direct = sipp to sipp, the ceiling of this machine and generator)\n'
	printf '\nTargets for sipnatd (issue 13):\n'
	if [ -n "$(cpu_num sipnatd)" ]; then
		printf '  <= 100 us of CPU per call: %s us -> %s\n' "$(cpu_num sipnatd)" \
			"$(awk -v a="$(cpu_num sipnatd)" 'BEGIN { if (a <= 100) print "met"; else printf "MISSED by %.0f us\n", a - 100 }')"
	fi
	printf '  <= 0.45x Kamailio stateless: %s\n' "$(verdict 0.45 kam-stateless)"
	printf '  <= 0.15x Kamailio + rtpengine: %s\n' "$(verdict 0.15 kam-rtpengine)"
	best=${BEST[sipnatd]:-0}; best=${best%+}; best=${best#<}
	printf '  clean at >= 5000 calls/s (%s calls): %s -> %s\n' "$CALLS" "${BEST[sipnatd]:-}" \
		"$(case ${BEST[sipnatd]:-} in '<'*) echo MISSED ;; *) [ "$best" -ge 5000 ] && echo met || echo MISSED ;; esac)"
	if [ -n "$(cpu_num sipnatd-base)" ]; then
		printf '  (baseline sipnatd: %s us/call; new/old = %s)\n' "$(cpu_num sipnatd-base)" "$(ratio sipnatd sipnatd-base)"
	fi
	printf '\nNoise: load average %s at start, %s at end; %s\n' "$NOISE_LA0" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$(noise_line)"
	if [ "$FOREIGN_MAX_SEEN" -ge "$FOREIGN_RETRY" ]; then
		printf 'warning: other processes used up to %s%% of a CPU during a step; figures may be skewed\n' \
			"$FOREIGN_MAX_SEEN"
	fi
}

main "$@"
