#!/bin/bash
# SIP over TCP and TLS through sipnatd (issue 15), on the namespace network of
# netns.sh (phone 198.51.100.5 behind its NAT 203.0.113.50; the home router
# 203.0.113.1 forwarding 5060/udp, 5060/tcp and 5061/tcp to sipnatd
# 192.0.2.10; the PBX 192.0.2.20 on UDP).
#
#   1. Real phones, baresip and linphonec, over TCP and over TLS: each
#      registers with digest, calls the PBX and is called by it, with audio
#      both ways counted on the wire (RTP on the phone NAT's WAN, and what
#      reached the phone on its LAN) and in sipnatd's call summary. What
#      sipnatd sent the phone must have gone over the phone's own connection
#      ("siptrace out (tcp|tls) to" the registered NAT address), its Via
#      naming that transport and its Contact ;transport=. The PBX only ever
#      sees UDP.
#   2. The TLS listener with an OpenSSL client: TLS 1.0 and 1.1 refused by the
#      server (a protocol_version alert, the client allowing them), TLS 1.2
#      and 1.3 accepted.
#   3. A 3 000-byte INVITE over TCP from the public phone (203.0.113.80),
#      digest-authenticated, with SDES a=crypto lines that must reach the PBX
#      untouched; its final response comes back over the connection.
#   4. A connection flood and a slowloris from the phone's address, while a
#      UDP phone (pjsua, 203.0.113.80) calls the PBX: at most tcpmaxperaddr
#      connections stay open, every slow one is closed at tcpmsgtimeout, the
#      UDP call carries its audio, and sipnatd is still there.
#
# The PBX is pjsua (../shared/pjsua), as in softphones.sh, whose notes on each
# phone's quirks apply here too. Test certificates are made at run time.
#
# usage: transports.sh SIPNATD_BINARY [SIPNATCTL_BINARY]
#        (with sipnatctl, sipnatd's own stream counters are checked too)
# env:   TRANSPORTS_CLIENTS  phones (default "baresip linphonec")
#        TRANSPORTS_LIST     transports (default "tcp tls")
#        PJSUA               the pjsua binary (default /opt/pjsua/bin/pjsua)
#        NAT_TEST_KEEP=1     keep the logs and captures
#        CI=true             a missing phone fails instead of being skipped
# exit:  0 pass, 1 fail, 77 skipped (not root, or tools missing).
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
# shellcheck source=tests/nat/netns.sh
source "$script_dir/netns.sh"

sipnatd=${1:?usage: transports.sh SIPNATD_BINARY [SIPNATCTL_BINARY]}
sipnatctl=${2:-}
PJSUA=${PJSUA:-/opt/pjsua/bin/pjsua}
read -r -a clients <<<"${TRANSPORTS_CLIENTS:-baresip linphonec}"
read -r -a transports <<<"${TRANSPORTS_LIST:-tcp tls}"
readonly PREFIX=stcp
readonly CALL_S=4 MIN_RTP=100 TONE_S=30
readonly REG_WAIT_S=15 CALL_WAIT_S=$((CALL_S + 15))
readonly SECRET=s3cret
readonly OUT_URI=sip:100@$NETNS_PUBLIC IN_URI=sip:alice@$NETNS_SIPNATD:5060
readonly MAXPERADDR=4 MSGTIMEOUT=3

netns_require timeout python3 tshark openssl
if [[ ! -x $sipnatd ]]; then
	echo "FAIL: no sipnatd binary at $sipnatd" >&2
	exit 1
fi
if [[ ! -x $PJSUA ]]; then
	echo "SKIP: the PBX side is pjsua, not found at $PJSUA (../shared/pjsua/install.sh)"
	exit 77
fi
declare -A skip_reason
phones=()
for c in "${clients[@]}"; do
	case $c in
	baresip) command -v baresip >/dev/null || skip_reason[$c]="not installed (Debian: baresip-core)" ;;
	linphonec) command -v linphonec >/dev/null || skip_reason[$c]="not installed (Debian: linphone-cli)" ;;
	*)
		echo "FAIL: unknown phone '$c'" >&2
		exit 1
		;;
	esac
	if [[ -n ${skip_reason[$c]:-} ]]; then
		if [[ ${CI:-} == true ]]; then
			echo "FAIL: $c ${skip_reason[$c]} (CI=true: every phone must run)" >&2
			exit 1
		fi
		echo "SKIP $c: ${skip_reason[$c]}"
	else
		phones+=("$c")
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-transports.XXXXXX")
failed=0
declare -A verdict row
started=$SECONDS
say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
	echo "FAIL: $*" >&2
	failed=1
}
netns_cleanup_hook() {
	if [[ ${NAT_TEST_KEEP:-0} == 1 || $1 != 0 ]]; then
		echo "logs kept in $work"
	else
		rm -rf -- "$work"
	fi
}

python3 - "$work/tone.wav" "$TONE_S" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
n = 8000 * int(sys.argv[2])
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(n)))
w.close()
EOF

# sipnatd's certificate, for the router's public address (test-only, made now)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=$NETNS_PUBLIC" \
	-addext "subjectAltName=IP:$NETNS_PUBLIC" 2>/dev/null

count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
wait_count() {
	local file=$1 re=$2 n=$3 tenths=$(($4 * 10)) i
	for ((i = 0; i < tenths; i++)); do
		(($(count_lines "$file" "$re") >= n)) && return 0
		sleep 0.1
	done
	return 1
}
now() { date +%s.%N; }

# The messages of sipnatd's SIP trace whose first line matches REGEX, each
# message's lines up to the next log line.
trace_blocks() {
	awk -v re="$2" '/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { p = ($0 ~ re) } p' "$1"
}

# ---------------------------------------------------------------- the phones
# PHONE_start DIR TRANSPORT (PID in phone_pid), PHONE_dial DIR URI, PHONE_quit.

baresip_start() {
	local dir=$1 t=$2
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
	echo "<sip:alice@$NETNS_PUBLIC;transport=$t>;auth_pass=$SECRET;regint=300;answermode=auto" >"$dir/accounts"
	nsx_bg "$PREFIX-phone" timeout 90 baresip -f "$dir" </dev/null >"$dir/phone.log" 2>&1 &
	phone_pid=$!
}
baresip_cons() {
	nsx "$PREFIX-phone" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[1].encode() + b"\n", ("127.0.0.1", 5555))' "$1"
}
baresip_dial() { baresip_cons "/dial $2"; }
baresip_quit() { baresip_cons "/quit"; }

linphonec_start() {
	local dir=$1 t=$2 port=5060 tcp=0 tls=0
	[[ $t == tcp ]] && tcp=-1
	[[ $t == tls ]] && tls=-1 port=5061
	mkdir -p "$dir/home/.local/share/linphone"
	cat >"$dir/rc" <<EOF
[sip]
sip_port=5060
sip_tcp_port=$tcp
sip_tls_port=$tls
default_proxy=0
verify_server_certs=0
verify_server_cn=0
[rtp]
audio_rtp_port=4000
[sound]
echocancellation=0
[proxy_0]
reg_proxy=<sip:$NETNS_PUBLIC:$port;transport=$t>
reg_identity="alice" <sip:alice@$NETNS_PUBLIC>
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

# ---------------------------------------------------------------- sipnatd, PBX
pbx_start() {
	local dir=$1
	mkfifo "$dir/pbx.in"
	exec 7<>"$dir/pbx.in"
	nsx_bg "$PREFIX-pbx" timeout 120 "$PJSUA" --null-audio --no-vad --no-tcp --no-color \
		--id "sip:pbx@$NETNS_PBX" --local-port 5060 --bound-addr "$NETNS_PBX" --ip-addr "$NETNS_PBX" \
		--rtp-port 20000 --play-file "$work/tone.wav" --auto-play --auto-answer 200 \
		--duration "$CALL_S" <&7 >"$dir/pbx.log" 2>&1 &
	pids+=("$!")
	wait_udp "$PREFIX-pbx" "$NETNS_PBX:5060" 5
}

sipnatd_start() {
	local dir=$1
	cat >"$dir/sipnatd.conf" <<EOF
general: {
  bindaddr = "$NETNS_SIPNATD"; bindport = 5060; externip = "$NETNS_PUBLIC";
  localnet = [ "$NETNS_LAN_NET" ]; pbx = "$NETNS_PBX:5060"; allowguest = false;
  statefile = "$dir/registrations"; control = "$dir/control";
  transport = "udp,tcp,tls";
  tlscertfile = "$work/cert.pem";
  tlsprivatekey = "$work/key.pem";
  tcpmaxperaddr = $MAXPERADDR; tcpmsgtimeout = $MSGTIMEOUT;
};
rtp: { rtpstart = $NETNS_RTPSTART; rtpend = $NETNS_RTPEND; };
peers: ( { name = "alice"; secret = "$SECRET"; },
         { name = "bob"; secret = "$SECRET"; },
         { name = "carol"; secret = "$SECRET"; } );
logging: { level = "debug"; siptrace = true; };
EOF
	"$sipnatd" -t -c "$dir/sipnatd.conf" >"$dir/conftest.out" 2>&1 || {
		cat "$dir/conftest.out" >&2
		return 1
	}
	nsx_bg "$PREFIX-lan" timeout --foreground 120 "$sipnatd" -f -c "$dir/sipnatd.conf" >"$dir/sipnatd.log" 2>&1 &
	sipnatd_pid=$!
	pids+=("$sipnatd_pid")
	wait_for "$dir/sipnatd.log" "/tls" 10 "$sipnatd_pid"
}

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

# relay_counts LINE: "IN OUT" of sipnatd's "call ... ended" line.
relay_counts() { sed -nE 's/.*packets ([0-9]+) in \/ ([0-9]+) out.*/\1 \2/p' <<<"$1"; }

call_check() {
	local t=$1 phone=$2 what=$3 dir=$4 from=$5 to=$6 line=$7 up down sent got sn_in sn_out
	read -r up down <<<"$(rtp_counts "$dir/phone-nat-wan.pcapng" "$from" "$to" "$NETNS_PHONE_NAT")"
	read -r sent got <<<"$(rtp_counts "$dir/phone-nat-lan.pcapng" "$from" "$to" "$NETNS_PHONE")"
	read -r sn_in sn_out <<<"$(relay_counts "$line")"
	row[$t-$phone-$what]="$up/$down, $got in (relay ${sn_in:-?}/${sn_out:-?})"
	say "$phone over $t, $what: RTP on the phone NAT's WAN $up up / $down down, $got reached the phone; sipnatd ${sn_in:-?} in / ${sn_out:-?} out"
	if ((up < MIN_RTP || down < MIN_RTP || got < MIN_RTP || ${sn_in:-0} < MIN_RTP || ${sn_out:-0} < MIN_RTP)); then
		fail "$phone over $t, $what: fewer than $MIN_RTP RTP packets one way"
		return 1
	fi
}

# The wire rules for a phone on a stream: everything toward its NAT address
# went over its connection; sipnatd's Via toward it names the transport, its
# Contact carries ;transport=; the PBX got UDP only, with no ;transport=.
stream_check() {
	local t=$1 phone=$2 dir=$3 nat=$4 T=${1^^} udp_out
	local log=$dir/sipnatd.log in_t out_t to_pbx
	# whole blocks first: grep -q would cut a pipeline short (pipefail)
	in_t=$(trace_blocks "$log" "siptrace in [(]$t[)] from $nat ")
	out_t=$(trace_blocks "$log" "siptrace out [(]$t[)] to $nat ")
	to_pbx=$(trace_blocks "$log" "siptrace out to $NETNS_PBX:")
	if ! grep -q '^REGISTER ' <<<"$in_t"; then
		fail "$phone over $t: no REGISTER came in over $t from $nat"
		return 1
	fi
	udp_out=$(count_lines "$log" "siptrace out to $nat ")
	if ((udp_out > 0)); then
		fail "$phone over $t: $udp_out message(s) to $nat went out over UDP instead of its connection"
		return 1
	fi
	if ! grep -qE "^Via: SIP/2.0/$T $NETNS_PUBLIC:" <<<"$out_t"; then
		fail "$phone over $t: sipnatd's INVITE to the phone lacks a Via SIP/2.0/$T $NETNS_PUBLIC"
		return 1
	fi
	if ! grep -qiE "^Contact: .*$NETNS_PUBLIC:[0-9]+;.*transport=$t" <<<"$out_t"; then
		fail "$phone over $t: sipnatd's Contact toward the phone lacks ;transport=$t"
		return 1
	fi
	# toward the PBX: Request-URIs and Contacts without the phone's
	# transport, and sipnatd's own Via (the top one of its requests) on UDP
	if grep -iE "^[A-Z]+ sip:[^ ]*transport=|^(Contact|m): .*transport=(tcp|tls)" <<<"$to_pbx" >"$dir/pbx-transport.txt"; then
		fail "$phone over $t: the PBX was told of the phone's transport: $(head -n 1 "$dir/pbx-transport.txt")"
		return 1
	fi
	if awk '/siptrace out/ { top = 1; next } top && /^SIP\/2.0 / { top = 0 } top && /^Via:/ { print; top = 0 }' \
		<<<"$to_pbx" | grep -v "^Via: SIP/2.0/UDP $NETNS_SIPNATD:" >"$dir/pbx-via.txt"; then
		fail "$phone over $t: sipnatd's own Via toward the PBX is not UDP from its LAN address: $(head -n 1 "$dir/pbx-via.txt")"
		return 1
	fi
	say "$phone over $t: REGISTER in over $t, every message to $nat over its connection, Via SIP/2.0/$T and ;transport=$t toward it, UDP only toward the PBX"
}

run_phone() {
	local t=$1 phone=$2 dir=$work/$1-$2 ok=1 nat=""
	local ended='notice: call .* ended \('
	mkdir -p "$dir"
	verdict[$t-$phone]=FAIL
	row[$t-$phone-reg]="-" row[$t-$phone-out]="-" row[$t-$phone-in]="-"
	if ! netns_capture "$PREFIX-phone-nat" wan "$dir/phone-nat-wan.pcapng" 80 "udp or tcp" ||
		! netns_capture "$PREFIX-phone-nat" lan "$dir/phone-nat-lan.pcapng" 80 udp; then
		fail "$phone over $t: tshark did not start"
		return 0
	fi
	pbx_start "$dir" || { fail "$phone over $t: the PBX did not start"; return 0; }
	sipnatd_start "$dir" || { fail "$phone over $t: sipnatd did not start"; return 0; }
	"${phone}_start" "$dir" "$t"
	pids+=("$phone_pid")
	if wait_for "$dir/sipnatd.log" "alice registered from $NETNS_PHONE_NAT:" "$REG_WAIT_S" "$phone_pid"; then
		nat=$(sed -nE "s/.*alice registered from ($NETNS_PHONE_NAT:[0-9]+).*/\1/p" "$dir/sipnatd.log" | head -n 1)
		row[$t-$phone-reg]="ok from $nat"
		say "$phone over $t: registered from $nat"
	else
		row[$t-$phone-reg]=FAIL
		fail "$phone over $t: no registration within $REG_WAIT_S s"
		ok=0
	fi
	local out_from="" out_to="" out_line="" in_from="" in_to="" in_line=""
	if ((ok)); then
		out_from=$(now)
		"${phone}_dial" "$dir" "$OUT_URI"
		if wait_count "$dir/sipnatd.log" "$ended" 1 "$CALL_WAIT_S"; then
			out_to=$(now)
			out_line=$(grep -E -- "$ended" "$dir/sipnatd.log" | sed -n 1p)
		else
			fail "$phone over $t: the call to the PBX did not end within $CALL_WAIT_S s"
			ok=0
		fi
		in_from=$(now)
		printf 'm\n%s\n' "$IN_URI" >&7
		if wait_count "$dir/sipnatd.log" "$ended" 2 "$CALL_WAIT_S"; then
			in_to=$(now)
			in_line=$(grep -E -- "$ended" "$dir/sipnatd.log" | sed -n 2p)
		else
			fail "$phone over $t: the PBX's call to alice did not end within $CALL_WAIT_S s"
			ok=0
		fi
	fi
	"${phone}_quit" "$dir" 2>/dev/null || true
	local i
	for ((i = 0; i < 30; i++)); do
		kill -0 "$phone_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo q >&7 2>/dev/null || true
	exec 7>&-
	stop_pids
	[[ -z $out_line ]] || call_check "$t" "$phone" out "$dir" "$out_from" "$out_to" "$out_line" || ok=0
	[[ -z $in_line ]] || call_check "$t" "$phone" in "$dir" "$in_from" "$in_to" "$in_line" || ok=0
	[[ -z $nat || -z $in_line ]] || stream_check "$t" "$phone" "$dir" "$nat" || ok=0
	((ok)) && verdict[$t-$phone]=PASS
	return 0
}

# ---------------------------------------------------------------- specials
# openssl s_client from the public phone; the client allows every version
# (SECLEVEL=0), so a refusal is the server's.
tls_versions() {
	local dir=$1 v out
	for v in tls1 tls1_1 tls1_2 tls1_3; do
		out=$(nsx "$PREFIX-pub" timeout 10 openssl s_client -connect "$NETNS_PUBLIC:5061" -"$v" \
			-cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1 || true)
		echo "$out" >"$dir/s_client-$v.out"
		case $v in
		tls1 | tls1_1)
			if grep -q "alert protocol version" <<<"$out"; then
				say "TLS: $v refused by the server (protocol_version alert)"
			else
				fail "TLS: $v was not refused with a protocol_version alert: $(grep -m1 -E 'Protocol|error' <<<"$out")"
			fi
			;;
		*)
			if grep -qE "^New, TLSv1\.[23], Cipher is" <<<"$out"; then
				say "TLS: $v accepted ($(grep -m1 -E '^New, TLSv1' <<<"$out"))"
			else
				fail "TLS: $v not accepted: $(grep -m1 -iE 'error|alert' <<<"$out")"
			fi
			;;
		esac
	done
}

large_invite() {
	local dir=$1 out
	out=$(nsx "$PREFIX-pub" timeout 30 python3 "$script_dir/stream_client.py" invite "$NETNS_PUBLIC" 5060 \
		bob "$SECRET" "sip:100@$NETNS_PUBLIC" 3000 2>&1) || true
	echo "$out" >"$dir/invite.out"
	local sent final
	sent=$(sed -nE 's/^sent ([0-9]+) bytes \(INVITE, CSeq 2\).*/\1/p' <<<"$out")
	final=$(sed -nE 's/^final ([0-9]+)/\1/p' <<<"$out")
	if [[ -z $sent || ${sent:-0} -lt 3000 || -z $final || $final == 0 ]]; then
		fail "3000-byte INVITE over TCP: no final answer over the connection: $(tr '\n' ' ' <<<"$out")"
		return
	fi
	if ! grep -qF 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz' \
		<<<"$(trace_blocks "$dir/sipnatd.log" "siptrace out to $NETNS_PBX:")"; then
		fail "3000-byte INVITE: the SDES a=crypto line did not reach the PBX untouched"
		return
	fi
	say "3000-byte INVITE over TCP: $sent bytes sent with credentials, final $final back over the connection; a=crypto reached the PBX untouched"
}

# A UDP phone's call to the PBX while the phone's address floods and
# trickles; the call's relay counts must show audio both ways.
flood_with_udp_call() {
	local dir=$1 out slow line sn_in sn_out kept n_slow closed_ok timed_out open_now
	mkfifo "$dir/carol.in"
	exec 8<>"$dir/carol.in"
	nsx_bg "$PREFIX-pub" timeout 60 "$PJSUA" --null-audio --no-vad --no-tcp --no-color \
		--local-port 5060 --rtp-port 4000 --id "sip:carol@$NETNS_PUBLIC" --registrar "sip:$NETNS_PUBLIC" \
		--realm '*' --username carol --password "$SECRET" \
		--play-file "$work/tone.wav" --auto-play --auto-answer 200 <&8 >"$dir/carol.log" 2>&1 &
	pids+=("$!")
	if ! wait_for "$dir/sipnatd.log" "carol registered from $NETNS_PUB_PHONE:" "$REG_WAIT_S" "$!"; then
		fail "flood: the UDP phone did not register"
		return
	fi
	local ended_before
	ended_before=$(count_lines "$dir/sipnatd.log" 'notice: call .* ended \(')
	# slowloris and flood start, then the UDP call runs through them
	nsx_bg "$PREFIX-phone" timeout 30 python3 -u "$script_dir/stream_client.py" slowloris "$NETNS_PUBLIC" 5060 \
		2 $((MSGTIMEOUT * 3)) >"$dir/slowloris.out" 2>&1 &
	slow=$!
	pids+=("$slow")
	if ! wait_for "$dir/slowloris.out" "connected" 10 "$slow"; then
		fail "slowloris: could not connect"
		return
	fi
	printf 'm\n%s\n' "$OUT_URI" >&8
	out=$(nsx "$PREFIX-phone" timeout 30 python3 "$script_dir/stream_client.py" flood "$NETNS_PUBLIC" 5060 200 5 2>&1) || true
	echo "$out" >"$dir/flood.out"
	wait "$slow" 2>/dev/null || true
	forget_pid "$slow"
	if ! wait_count "$dir/sipnatd.log" 'notice: call .* ended \(' $((ended_before + 1)) "$CALL_WAIT_S"; then
		fail "flood: the UDP phone's call did not end within $CALL_WAIT_S s"
		return
	fi
	line=$(grep -E 'notice: call .* ended \(' "$dir/sipnatd.log" | sed -n "$((ended_before + 1))p")
	read -r sn_in sn_out <<<"$(relay_counts "$line")"
	say "flood: $out"
	say "slowloris: $(tr '\n' ';' <"$dir/slowloris.out")"
	say "UDP phone's call during both: sipnatd relayed ${sn_in:-?} in / ${sn_out:-?} out"
	kept=$(sed -nE 's/.* ([0-9]+) kept open.*/\1/p' <<<"$out")
	# the slowloris' connections count toward the address's limit too
	n_slow=$(grep -cE '^slowloris [0-9]+:' "$dir/slowloris.out" || true)
	if [[ -z $kept ]] || ((kept > MAXPERADDR - n_slow)); then
		fail "flood: ${kept:-?} connections stayed open beside $n_slow slow ones (limit $MAXPERADDR per address)"
	fi
	# closed at the message timeout: not at once, not left open
	closed_ok=$(awk -v lo=$((MSGTIMEOUT - 1)) -v hi=$((MSGTIMEOUT + 2)) \
		'/^slowloris [0-9]+: closed after/ && $5 >= lo && $5 <= hi { n++ } END { print n + 0 }' "$dir/slowloris.out")
	if ((n_slow == 0 || closed_ok != n_slow)); then
		fail "slowloris: $closed_ok of $n_slow slow connections closed at the ${MSGTIMEOUT} s message timeout"
	fi
	if ((${sn_in:-0} < MIN_RTP || ${sn_out:-0} < MIN_RTP)); then
		fail "flood: the UDP phone's call carried fewer than $MIN_RTP packets one way"
	fi
	if ! kill -0 "$sipnatd_pid" 2>/dev/null; then
		fail "flood: sipnatd is gone"
	fi
	# sipnatd's own view: every refused flood connection counted, the slow
	# ones closed as too slow
	if [[ -n $sipnatctl ]]; then
		local counts connected refused
		counts=$("$sipnatctl" -s "$dir/control" --json stats | python3 -c 'import json, sys
s = json.load(sys.stdin)["streams"]
print(s["refused_per_addr"], s["timed_out"], s["open"])')
		read -r refused timed_out open_now <<<"$counts"
		connected=$(sed -nE 's/^flood: ([0-9]+) connected.*/\1/p' <<<"$out")
		say "sipnatctl stats: streams refused per address $refused, closed as too slow $timed_out, open now $open_now"
		if ((refused < connected - kept || timed_out < n_slow)); then
			fail "flood: sipnatd counted $refused refused (want >= $((connected - kept))) and $timed_out too slow (want >= $n_slow)"
		fi
	fi
	echo q >&8 2>/dev/null || true
	exec 8>&-
}

# The certificate served now, as its SHA-256 fingerprint.
served_cert() {
	nsx "$PREFIX-pub" timeout 10 openssl s_client -connect "$NETNS_PUBLIC:5061" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null || true
}

# SIGHUP reads the certificate files again: a renewed pair serves the next
# connection; a broken key fails the reload and the renewed one stays.
tls_reload() {
	local dir=$1 before after broken want child reloads
	child=$(ps -o pid= --ppid "$sipnatd_pid" | tr -d ' ')
	before=$(served_cert)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=$NETNS_PUBLIC" \
		-addext "subjectAltName=IP:$NETNS_PUBLIC" 2>/dev/null
	want=$(openssl x509 -noout -fingerprint -sha256 -in "$work/cert.pem")
	reloads=$(count_lines "$dir/sipnatd.log" "configuration reloaded")
	kill -HUP "$child"
	if ! wait_count "$dir/sipnatd.log" "configuration reloaded" $((reloads + 1)) 10; then
		fail "TLS reload: sipnatd did not reload"
		return
	fi
	after=$(served_cert)
	if [[ -z $before || $after != "$want" || $after == "$before" ]]; then
		fail "TLS reload: served ${after:-nothing} after SIGHUP, want the renewed $want (was ${before:-nothing})"
		return
	fi
	echo "not a key" >"$work/key.pem"
	kill -HUP "$child"
	if ! wait_for "$dir/sipnatd.log" "reload failed" 10; then
		fail "TLS reload: a broken key did not fail the reload"
		return
	fi
	broken=$(grep -m1 "reload failed" "$dir/sipnatd.log")
	after=$(served_cert)
	if [[ $broken != *"sipnatd.conf:7: general.tlsprivatekey: $work/key.pem"* || $after != "$want" ]]; then
		fail "TLS reload: after a broken key: '$broken', serving ${after:-nothing}"
		return
	fi
	say "TLS reload: SIGHUP served the renewed certificate; a broken key failed the reload (${broken#*reload failed, }) and the renewed one stayed"
}

# ---------------------------------------------------------------- main
say "network: phone behind a port-preserving NAT (prefix $PREFIX); 5060/tcp and 5061/tcp forwarded"
netns_setup "$PREFIX" preserving
netns_forward_tcp 5060 5061
for t in "${transports[@]}"; do
	for phone in "${phones[@]}"; do
		say "$phone over $t: register, call the PBX, be called"
		run_phone "$t" "$phone"
		if [[ ${verdict[$t-$phone]} != PASS ]]; then
			for f in sipnatd.log phone.log; do
				[[ -s $work/$t-$phone/$f ]] || continue
				echo "----- $t-$phone/$f (last 30 lines)"
				tail -n 30 "$work/$t-$phone/$f" | tr -d '\033'
			done
		fi
	done
done

dir=$work/specials
mkdir -p "$dir"
if pbx_start "$dir" && sipnatd_start "$dir"; then
	tls_versions "$dir"
	large_invite "$dir"
	flood_with_udp_call "$dir"
	tls_reload "$dir"
	echo q >&7 2>/dev/null || true
	exec 7>&-
else
	fail "specials: sipnatd or the PBX did not start"
fi
stop_pids

echo
printf '%-10s %-5s %-6s %-28s %-36s %s\n' phone via result register "call out (WAN up/down, in)" "call in"
for t in "${transports[@]}"; do
	for c in "${clients[@]}"; do
		if [[ -n ${skip_reason[$c]:-} ]]; then
			printf '%-10s %-5s %-6s %s\n' "$c" "$t" SKIP "${skip_reason[$c]}"
			continue
		fi
		printf '%-10s %-5s %-6s %-28s %-36s %s\n' "$c" "$t" "${verdict[$t-$c]}" \
			"${row[$t-$c-reg]}" "${row[$t-$c-out]}" "${row[$t-$c-in]}"
	done
done
for t in "${transports[@]}"; do
	for c in "${phones[@]}"; do
		[[ ${verdict[$t-$c]} == PASS ]] || failed=1
	done
done
if ((failed)); then
	exit 1
fi
say "PASS"
