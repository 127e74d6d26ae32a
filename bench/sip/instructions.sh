#!/usr/bin/env bash
#
# Instructions per call on the UDP SIP path, counted by valgrind (callgrind),
# not timed: the figure does not move with whatever else the machine runs,
# so two builds compare to the instruction. The bench's sipp scenario (INVITE
# with SDP, 200, ACK, BYE, 200 through sipnatd to a sipp PBX, relay ports
# allocated) runs SMALL and then LARGE calls at RATE calls/s; the difference
# of sipnatd's totals over the difference in calls is its cost per call,
# start-up and shutdown left out.
#
# usage: bench/sip/instructions.sh SIPNATD_BINARY [MORE_GENERAL_KEYS]
#   e.g. instructions.sh build-bench-sip/sipnatd 'transport = "udp,tcp";'
# Environment: UAC_XML (uac.xml; uac-phone.xml sends the headers a softphone
# adds), SMALL (100), LARGE (400), RATE (20), BENCH_NET (9: addresses
# 127.0.N.x and the caller 127.0.N+1.5, as bench/sip/run.sh, so that two copies
# never collide). Loopback; prints "instructions per call: N". Needs valgrind.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIPNATD=${1:?usage: instructions.sh SIPNATD_BINARY [MORE_GENERAL_KEYS]}
EXTRA=${2:-}
SMALL=${SMALL:-100} LARGE=${LARGE:-400} RATE=${RATE:-20}
NET=${BENCH_NET:-9}
SN_IP=127.0.$NET.10 SN_PORT=29060 UAS_IP=127.0.$NET.20 UAS_PORT=29080 UAC_IP=127.0.$((NET + 1)).5 UAC_PORT=5070
WORK=$(mktemp -d /tmp/bench-instr.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

wait_udp() {
	local i
	for ((i = 0; i < 300; i++)); do
		ss -Hlun "src $1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# run CALLS: sipnatd's instruction total for CALLS calls, on stdout
run() {
	local calls=$1 dir=$WORK/$1 sn uas uac retrans
	mkdir -p "$dir"
	cat >"$dir/sipnatd.conf" <<EOF
general: {
  bindaddr = "$SN_IP"; bindport = $SN_PORT; externip = "$SN_IP";
  localnet = [ "127.0.$NET.0/24" ]; pbx = "$UAS_IP:$UAS_PORT";
  statefile = "$dir/registrations"; control = "$dir/control";
  $EXTRA
};
rtp: { rtpstart = 40000; rtpend = 60000; };
peers: ( { name = "bench"; host = "$UAC_IP:$UAC_PORT"; qualify = false; } );
logging: { level = "warning"; };
EOF
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$SIPNATD" -f -c "$dir/sipnatd.conf" \
		>"$dir/sipnatd.log" 2>&1 &
	sn=$!; PIDS+=("$sn")
	wait_udp "$SN_IP:$SN_PORT" || { echo "sipnatd did not start" >&2; exit 1; }
	sipp -sf "$HERE/uas.xml" -aa -nostdin -i $UAS_IP -p $UAS_PORT -mi $UAS_IP -trace_stat \
		-stf "$dir/uas.csv" -fd 1 >"$dir/uas.out" 2>&1 &
	uas=$!; PIDS+=("$uas")
	wait_udp "$UAS_IP:$UAS_PORT"
	timeout $((calls / RATE + 60)) sipp -sf "$HERE/${UAC_XML:-uac.xml}" -nostdin -i $UAC_IP -p $UAC_PORT -mi $UAC_IP \
		-m "$calls" -r "$RATE" -trace_stat -stf "$dir/uac.csv" "$SN_IP:$SN_PORT" >"$dir/uac.out" 2>&1 &
	uac=$!
	wait "$uac" || echo "warning: sipp uac exited with $? for $calls calls" >&2
	kill -TERM "$uas" 2>/dev/null || true
	kill -TERM "$sn"
	wait "$sn" 2>/dev/null || true
	wait "$uas" 2>/dev/null || true
	PIDS=()
	local ok
	read -r ok retrans < <(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) {
			if ($i == "Retransmissions(C)") r = i; if ($i == "SuccessfulCall(C)") s = i } }
		END { print $s + 0, $r + 0 }' "$dir/uac.csv")
	[ "$ok" = "$calls" ] && [ "$retrans" = 0 ] ||
		echo "warning: $ok of $calls calls done, $retrans retransmissions" >&2
	awk '/^(summary|totals):/ { print $2; exit }' "$dir/cg.out"
}

a=$(run "$SMALL")
b=$(run "$LARGE")
echo "instructions: $a for $SMALL calls, $b for $LARGE calls"
echo "instructions per call: $(( (b - a) / (LARGE - SMALL) ))"
