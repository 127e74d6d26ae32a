#!/bin/bash
# Real softphones through sipnatd (issue 16): baresip, linphonec and pjsua, each
# as the remote phone behind its own NAT (netns.sh: 198.51.100.5 behind
# 203.0.113.50), once behind a port-randomising NAT (MASQUERADE --random) and
# once behind a port-preserving one (MASQUERADE). Each phone
#   1. registers with digest (REGISTER -> 401 -> REGISTER with credentials),
#   2. calls out: INVITE sip:100@203.0.113.1 -> 407 -> INVITE with credentials,
#      sipnatd forwards it to the PBX, which answers and hangs up after
#      CALL_S seconds,
#   3. is called: the PBX sends INVITE sip:alice@192.0.2.10 to sipnatd, which
#      sends it to the registration's NAT address; the phone answers itself;
#      the PBX hangs up after CALL_S seconds,
# with audio both ways: every phone plays a tone file into each call, and so
# does the PBX. The audio is counted on the wire, on the phone NAT's WAN
# (tshark): RTP from the phone's NAT to sipnatd's relay port and from the relay
# to the phone's NAT, in each call's time window; and sipnatd's own counts of
# the call (packets in from the phone, out from the PBX) show the PBX leg.
#
# The PBX is pjsua (../shared/pjsua) at 192.0.2.20: a real RTP stack that
# answers, calls and hangs up by itself (--auto-answer, --duration), playing a
# tone. sipnatd, the PBX, the capture and the phone are started afresh for
# every phone, so that one phone's binding or calls never meet the next one's.
#
# A phone that is not installed is skipped, with the reason, never silently;
# with none installed the test is skipped (77).
#
# The quirks of each phone, found running them (Debian 12 packages, pjsua 2.17):
#   baresip 1.0.0 (libre 1.1.0): gives up on a REGISTER whose 401 holds any
#     SHA-256 challenge, first or second ("Register: Function not
#     implemented"), hence sipnatd's default digestalgs = "md5". Its stdio UI
#     wants a terminal; commands go to its `cons` module over UDP instead
#     ("/dial URI", "/quit"). The `ausine` source only works at 48 kHz, so a
#     PCMU call gets its tone from `aufile` (an 8 kHz WAV); received audio goes
#     to a WAV through `aufile` too. answermode=auto in the account answers.
#   linphonec 5.1: reads commands from a pipe. Without $HOME/.local/share/
#     linphone it cannot open its database, the core never starts its network
#     and it has no listening point ("No listening point matching"): it never
#     registers. "soundcard use files" alone sends no RTP at all: "play FILE"
#     gives it a source. It rewrites its rc on exit, replacing the password by
#     the HA1 of the algorithm it last used (so the next run could not answer
#     another algorithm): every run gets a fresh rc. -a answers calls.
#     It answers the first challenge it supports, SHA-256 when offered.
#   pjsua 2.17: reads commands from stdin and exits at end of file, so its
#     stdin is a FIFO held open; "m" then the URI places a call. It answers
#     the first challenge (SHA-256 when that comes first).
#
# usage: softphones.sh SIPNATD_BINARY
# env:   SOFTPHONES_CLIENTS   which phones (default "baresip linphonec pjsua")
#        SOFTPHONES_NATS      which NAT kinds (default "symmetric preserving")
#        SOFTPHONES_DIGESTALGS  general.digestalgs for sipnatd (default: unset,
#                             sipnatd's own default); to measure the others
#        PJSUA                the pjsua binary (default /opt/pjsua/bin/pjsua)
#        NAT_TEST_KEEP=1      keep the logs and captures
# exit:  0 pass, 1 fail, 77 skipped (not root, tools or every phone missing).
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
# shellcheck source=tests/nat/netns.sh
source "$script_dir/netns.sh"

sipnatd=${1:?usage: softphones.sh SIPNATD_BINARY}
PJSUA=${PJSUA:-/opt/pjsua/bin/pjsua}
read -r -a clients <<<"${SOFTPHONES_CLIENTS:-baresip linphonec pjsua}"
read -r -a nat_kinds <<<"${SOFTPHONES_NATS:-symmetric preserving}"
digestalgs=${SOFTPHONES_DIGESTALGS:-}
readonly PREFIX=ssph
readonly CALL_S=4         # the PBX hangs up each call after this long
readonly MIN_RTP=100      # RTP packets each way per call (50/s over CALL_S s: ~200)
readonly TONE_S=30        # the tone files: longer than any call
readonly REG_WAIT_S=15 CALL_WAIT_S=$((CALL_S + 15))
readonly PHONE_URI=sip:alice@$NETNS_PUBLIC SECRET=s3cret
readonly OUT_URI=sip:100@$NETNS_PUBLIC IN_URI=sip:alice@$NETNS_SIPNATD:5060

netns_require timeout python3 tshark
if [[ ! -x $sipnatd ]]; then
	echo "FAIL: no sipnatd binary at $sipnatd" >&2
	exit 1
fi
if [[ ! -x $PJSUA ]]; then
	echo "SKIP: the PBX side is pjsua, not found at $PJSUA (../shared/pjsua/install.sh, or scripts/install-deps.sh --test)"
	exit 77
fi

# Which phones are there; the others are skipped with the reason.
declare -A skip_reason
phones=()
for c in "${clients[@]}"; do
	case $c in
	baresip)
		if ! command -v baresip >/dev/null; then
			skip_reason[$c]="not installed (Debian: baresip-core)"
		elif [[ ! -e /usr/lib/baresip/modules/cons.so || ! -e /usr/lib/baresip/modules/aufile.so ]]; then
			skip_reason[$c]="its cons/aufile modules are missing from /usr/lib/baresip/modules"
		fi
		;;
	linphonec)
		command -v linphonec >/dev/null || skip_reason[$c]="not installed (Debian: linphone-cli)"
		;;
	pjsua)
		[[ -x $PJSUA ]] || skip_reason[$c]="not found at $PJSUA"
		;;
	*)
		echo "FAIL: unknown phone '$c' in SOFTPHONES_CLIENTS" >&2
		exit 1
		;;
	esac
	if [[ -n ${skip_reason[$c]:-} ]]; then
		echo "SKIP $c: ${skip_reason[$c]}"
	else
		phones+=("$c")
	fi
done
if ((${#phones[@]} == 0)); then
	echo "SKIP: none of the phones (${clients[*]}) is installed"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-softphones.XXXXXX")
failed=0
declare -A verdict row
started=$SECONDS
say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
	echo "FAIL: $*" >&2
	failed=1
}

netns_cleanup_hook() {
	local rc=$1
	if [[ ${NAT_TEST_KEEP:-0} == 1 || $rc != 0 ]]; then
		echo "logs kept in $work"
	else
		rm -rf -- "$work"
	fi
}

# A tone to play into every call: 440 Hz, 8 kHz mono 16-bit, TONE_S seconds
# (baresip's aufile and linphonec's file player stop at its end).
python3 - "$work/tone.wav" "$TONE_S" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
n = 8000 * int(sys.argv[2])
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(n)))
w.close()
EOF

# ---------------------------------------------------------------- the phones
# Each phone: PHONE_start DIR (in the background, its PID in phone_pid),
# PHONE_dial DIR URI, PHONE_quit DIR. They run in $PREFIX-phone, SIP on
# 198.51.100.5:5060, RTP from port 4000.

baresip_start() {
	local dir=$1
	cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		$NETNS_PHONE:5060
audio_player		aufile,$dir/received.wav
audio_source		aufile,$work/tone.wav
audio_alert		aufile,$dir/alert.wav
rtp_ports		4000-4019
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			cons.so
cons_listen		127.0.0.1:5555
module_app		account.so
module_app		menu.so
EOF
	echo "<$PHONE_URI>;auth_pass=$SECRET;regint=300;answermode=auto" >"$dir/accounts"
	nsx_bg "$PREFIX-phone" timeout 90 baresip -f "$dir" </dev/null >"$dir/phone.log" 2>&1 &
	phone_pid=$!
}

# One line to baresip's cons module (UDP, inside the phone's namespace).
baresip_cons() {
	nsx "$PREFIX-phone" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[1].encode() + b"\n", ("127.0.0.1", 5555))' "$1"
}
baresip_dial() { baresip_cons "/dial $2"; }
baresip_quit() { baresip_cons "/quit"; }

linphonec_start() {
	local dir=$1
	mkdir -p "$dir/home/.local/share/linphone"
	cat >"$dir/rc" <<EOF
[sip]
sip_port=5060
sip_tcp_port=0
sip_tls_port=0
default_proxy=0
[rtp]
audio_rtp_port=4000
[sound]
echocancellation=0
[proxy_0]
reg_proxy=<sip:$NETNS_PUBLIC;transport=udp>
reg_identity="alice" <$PHONE_URI>
reg_expires=300
reg_sendregister=1
publish=0
[auth_info_0]
username=alice
passwd=$SECRET
realm=sipnatd
EOF
	mkfifo "$dir/in"
	exec 6<>"$dir/in"
	HOME=$dir/home nsx_bg "$PREFIX-phone" timeout 90 linphonec -a -c "$dir/rc" -d 6 -l "$dir/linphone.log" \
		<&6 >"$dir/phone.log" 2>&1 &
	phone_pid=$!
	printf 'soundcard use files\nplay %s\nrecord %s\n' "$work/tone.wav" "$dir/received.wav" >&6
}
linphonec_dial() { echo "call $2" >&6; }
linphonec_quit() {
	echo quit >&6
	exec 6>&-
}

pjsua_start() {
	local dir=$1
	mkfifo "$dir/in"
	exec 6<>"$dir/in"
	nsx_bg "$PREFIX-phone" timeout 90 "$PJSUA" --null-audio --no-vad --no-tcp --no-color \
		--local-port 5060 --rtp-port 4000 --id "$PHONE_URI" --registrar "sip:$NETNS_PUBLIC" \
		--realm '*' --username alice --password "$SECRET" \
		--play-file "$work/tone.wav" --auto-play --auto-answer 200 <&6 >"$dir/phone.log" 2>&1 &
	phone_pid=$!
}
pjsua_dial() { printf 'm\n%s\n' "$2" >&6; }
pjsua_quit() {
	echo q >&6
	exec 6>&-
}

# ---------------------------------------------------------------- one run
# The PBX: pjsua answering every call, calling when told (FIFO on fd 7),
# hanging up every call after CALL_S seconds, playing the tone.
pbx_start() {
	local dir=$1
	mkfifo "$dir/pbx.in"
	exec 7<>"$dir/pbx.in"
	nsx_bg "$PREFIX-pbx" timeout 90 "$PJSUA" --null-audio --no-vad --no-tcp --no-color \
		--id "sip:pbx@$NETNS_PBX" --local-port 5060 --bound-addr "$NETNS_PBX" --ip-addr "$NETNS_PBX" \
		--rtp-port 20000 --play-file "$work/tone.wav" --auto-play --auto-answer 200 \
		--duration "$CALL_S" <&7 >"$dir/pbx.log" 2>&1 &
	pids+=("$!")
	wait_udp "$PREFIX-pbx" "$NETNS_PBX:5060" 5
}

sipnatd_start() {
	local dir=$1
	{
		echo "general: {"
		echo "  bindaddr = \"$NETNS_SIPNATD\"; bindport = 5060; externip = \"$NETNS_PUBLIC\";"
		echo "  localnet = [ \"$NETNS_LAN_NET\" ]; pbx = \"$NETNS_PBX:5060\"; allowguest = false;"
		[[ -z $digestalgs ]] || echo "  digestalgs = \"$digestalgs\";"
		echo "  statefile = \"$dir/registrations\"; control = \"$dir/control\";"
		echo "};"
		echo "rtp: { rtpstart = $NETNS_RTPSTART; rtpend = $NETNS_RTPEND; };"
		echo "peers: ( { name = \"alice\"; secret = \"$SECRET\"; } );"
		echo "logging: { level = \"debug\"; siptrace = true; };"
	} >"$dir/sipnatd.conf"
	"$sipnatd" -t -c "$dir/sipnatd.conf" >"$dir/conftest.out" 2>&1 || {
		cat "$dir/conftest.out" >&2
		return 1
	}
	# --foreground: timeout passes one SIGTERM on to sipnatd, not to its group.
	nsx_bg "$PREFIX-lan" timeout --foreground 90 "$sipnatd" -f -c "$dir/sipnatd.conf" >"$dir/sipnatd.log" 2>&1 &
	sipnatd_pid=$!
	pids+=("$sipnatd_pid")
	wait_for "$dir/sipnatd.log" "listening on" 10 "$sipnatd_pid"
}

# count_lines FILE REGEX: how many lines of FILE match.
count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# wait_count FILE REGEX N SECONDS: until FILE holds N lines matching REGEX.
wait_count() {
	local file=$1 re=$2 n=$3 tenths=$(($4 * 10)) i
	for ((i = 0; i < tenths; i++)); do
		(($(count_lines "$file" "$re") >= n)) && return 0
		sleep 0.1
	done
	return 1
}

now() { date +%s.%N; }

# rtp_counts CAPTURE FROM TO ADDR: "UP DOWN" RTP packets in the window: UP from
# ADDR (the phone's NAT on its WAN, the phone itself on its LAN) to an even
# port of the relay range, DOWN from there to ADDR (odd ports are RTCP).
rtp_counts() {
	tshark -r "$1" -T fields -e frame.time_epoch -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
		-Y udp 2>/dev/null |
		awk -v from="$2" -v to="$3" -v addr="$4" -v pub="$NETNS_PUBLIC" \
			-v lo="$NETNS_RTPSTART" -v hi="$NETNS_RTPEND" '
			$1 < from || $1 > to { next }
			$2 == addr && $4 == pub && $5 >= lo && $5 <= hi && $5 % 2 == 0 { up++ }
			$2 == pub && $4 == addr && $3 >= lo && $3 <= hi && $3 % 2 == 0 { down++ }
			END { print up + 0, down + 0 }'
}

# call_check KIND PHONE WHAT DIR FROM TO ENDED_LINE: the verdict on one call,
# from the captures on both sides of the phone's NAT and sipnatd's count.
call_check() {
	local kind=$1 phone=$2 what=$3 dir=$4 from=$5 to=$6 line=$7
	local up down sent got sn_in sn_out
	read -r up down <<<"$(rtp_counts "$dir/phone-nat-wan.pcapng" "$from" "$to" "$NETNS_PHONE_NAT")"
	read -r sent got <<<"$(rtp_counts "$dir/phone-nat-lan.pcapng" "$from" "$to" "$NETNS_PHONE")"
	sn_in=$(sed -nE 's/.*packets ([0-9]+) in \/ ([0-9]+) out.*/\1/p' <<<"$line")
	sn_out=$(sed -nE 's/.*packets ([0-9]+) in \/ ([0-9]+) out.*/\2/p' <<<"$line")
	row[$kind-$phone-$what]="$up/$down, $got in (relay $sn_in/$sn_out)"
	say "$phone, $kind NAT, $what: RTP on the phone NAT's WAN: $up phone -> relay, $down relay -> phone, of which $got reached the phone (its LAN: $sent sent); sipnatd: ${sn_in:-?} in from the phone, ${sn_out:-?} out from the PBX (RTP and RTCP)"
	if ((up < MIN_RTP || down < MIN_RTP || got < MIN_RTP)); then
		fail "$phone, $kind NAT, $what: fewer than $MIN_RTP RTP packets one way ($up up and $down down on the NAT's WAN, $got delivered to the phone)"
		return 1
	fi
	if ((${sn_in:-0} < MIN_RTP || ${sn_out:-0} < MIN_RTP)); then
		fail "$phone, $kind NAT, $what: sipnatd relayed fewer than $MIN_RTP packets one way (${sn_in:-?} in, ${sn_out:-?} out)"
		return 1
	fi
	return 0
}

# run_phone KIND PHONE: one phone through one NAT kind; sets verdict[].
run_phone() {
	local kind=$1 phone=$2
	local dir=$work/$kind-$phone ok=1 nat_port alg
	local ended='notice: call .* ended \('
	mkdir -p "$dir"
	verdict[$kind-$phone]=FAIL
	row[$kind-$phone-reg]="-"
	row[$kind-$phone-out]="-"
	row[$kind-$phone-in]="-"
	# both sides of the phone's NAT: what crossed the Internet, what the phone got
	if ! netns_capture "$PREFIX-phone-nat" wan "$dir/phone-nat-wan.pcapng" 80 udp ||
		! netns_capture "$PREFIX-phone-nat" lan "$dir/phone-nat-lan.pcapng" 80 udp; then
		fail "$phone, $kind NAT: tshark did not start on the phone NAT's WAN and LAN"
		return 0
	fi
	if ! pbx_start "$dir"; then
		fail "$phone, $kind NAT: the PBX's pjsua did not start"
		return 0
	fi
	if ! sipnatd_start "$dir"; then
		fail "$phone, $kind NAT: sipnatd did not start"
		return 0
	fi

	"${phone}_start" "$dir"
	pids+=("$phone_pid")
	if wait_for "$dir/sipnatd.log" "alice registered from $NETNS_PHONE_NAT:" "$REG_WAIT_S" "$phone_pid"; then
		nat_port=$(sed -nE "s/.*alice registered from $NETNS_PHONE_NAT:([0-9]+).*/\1/p" "$dir/sipnatd.log" | head -n 1)
		# the algorithm of the REGISTER's digest; none named is MD5 (RFC 7616 3.4)
		alg=$(grep -m1 -iE '^Authorization: *Digest' "$dir/sipnatd.log" || true)
		if [[ $alg =~ algorithm=\"?([A-Za-z0-9-]+) ]]; then
			alg=${BASH_REMATCH[1]}
		elif [[ -n $alg ]]; then
			alg="MD5 (unnamed)"
		fi
		row[$kind-$phone-reg]="ok ${alg:-?}, NAT port $nat_port"
		say "$phone, $kind NAT: registered with a ${alg:-?} digest; its NAT mapped $NETNS_PHONE:5060 to $NETNS_PHONE_NAT:$nat_port"
		if [[ $kind == symmetric && $nat_port == 5060 ]]; then
			say "note: the port-randomising NAT kept port 5060 this time"
		fi
	else
		row[$kind-$phone-reg]="FAIL"
		fail "$phone, $kind NAT: no registration within $REG_WAIT_S s ($(grep -m1 -E 'SIP/2.0 (4|5)[0-9][0-9]' "$dir/sipnatd.log" || echo 'no refusal logged'))"
		ok=0
	fi

	# The calls; their wire counts are read once the capture has ended.
	local out_from="" out_to="" out_line="" in_from="" in_to="" in_line=""
	if ((ok)); then
		out_from=$(now)
		"${phone}_dial" "$dir" "$OUT_URI"
		if wait_count "$dir/sipnatd.log" "$ended" 1 "$CALL_WAIT_S"; then
			out_to=$(now)
			out_line=$(grep -E -- "$ended" "$dir/sipnatd.log" | sed -n 1p)
		else
			fail "$phone, $kind NAT: the call to the PBX did not end within $CALL_WAIT_S s (never set up?)"
			ok=0
		fi
		in_from=$(now)
		printf 'm\n%s\n' "$IN_URI" >&7
		if wait_count "$dir/sipnatd.log" "$ended" 2 "$CALL_WAIT_S"; then
			in_to=$(now)
			in_line=$(grep -E -- "$ended" "$dir/sipnatd.log" | sed -n 2p)
		else
			fail "$phone, $kind NAT: the PBX's call to alice did not end within $CALL_WAIT_S s (never set up?)"
			ok=0
		fi
	fi

	# The phone leaves (unregistering); then the rest stops.
	"${phone}_quit" "$dir" 2>/dev/null || true
	local i
	for ((i = 0; i < 30; i++)); do
		kill -0 "$phone_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo q >&7 2>/dev/null || true
	exec 7>&-
	stop_pids
	if [[ -n $out_line ]]; then
		call_check "$kind" "$phone" out "$dir" "$out_from" "$out_to" "$out_line" || ok=0
	fi
	if [[ -n $in_line ]]; then
		call_check "$kind" "$phone" in "$dir" "$in_from" "$in_to" "$in_line" || ok=0
	fi
	if ((ok)); then
		verdict[$kind-$phone]=PASS
	fi
	return 0
}

# ---------------------------------------------------------------- main
for kind in "${nat_kinds[@]}"; do
	say "network: phone behind a $kind NAT (prefix $PREFIX)"
	netns_setup "$PREFIX" "$kind"
	for phone in "${phones[@]}"; do
		say "$phone behind the $kind NAT: register, call the PBX, be called"
		run_phone "$kind" "$phone"
		if [[ ${verdict[$kind-$phone]} != PASS ]]; then
			for f in sipnatd.log phone.log pbx.log; do
				[[ -s $work/$kind-$phone/$f ]] || continue
				echo "----- $kind-$phone/$f (last 40 lines)"
				tail -n 40 "$work/$kind-$phone/$f" | tr -d '\033'
			done
		fi
	done
	stop_pids
	netns_remove
done

echo
echo "digestalgs: ${digestalgs:-unset, the default of sipnatd}. Per call: RTP packets on the phone"
echo "NAT's WAN up/down (phone -> relay / relay -> phone), how many of those reached the phone"
echo "behind its NAT, and sipnatd's own count (in from the phone / out from the PBX, RTCP included)"
printf '%-10s %-11s %-6s %-33s %-33s %s\n' phone nat result register "call out (to PBX)" "call in (from PBX)"
for kind in "${nat_kinds[@]}"; do
	for c in "${clients[@]}"; do
		if [[ -n ${skip_reason[$c]:-} ]]; then
			printf '%-10s %-11s %-6s %s\n' "$c" "$kind" SKIP "${skip_reason[$c]}"
			continue
		fi
		printf '%-10s %-11s %-6s %-33s %-33s %s\n' "$c" "$kind" "${verdict[$kind-$c]}" \
			"${row[$kind-$c-reg]}" "${row[$kind-$c-out]}" "${row[$kind-$c-in]}"
	done
done
if ((failed)); then
	exit 1
fi
say "PASS"
