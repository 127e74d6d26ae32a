#!/bin/bash
# A real Asterisk behind sipnatd (issue 19): Asterisk 20.20.1 on the LAN as the
# PBX, configured as an admin writes it for a proxy in front (README "Putting
# sipnatd in front of Asterisk"), and a real softphone (pjsua) on the Internet
# behind a port-randomising NAT, registered at sipnatd's public address.
#
#   sast-phone (pjsua) -- sast-phone-nat (MASQUERADE --random) -- sast-inet --
#   sast-home (203.0.113.1, forwards 5060 and 10000-11000) -- sast-lan (sipnatd
#   192.0.2.10) / sast-pbx (Asterisk 192.0.2.20)
#
# Two rounds, the same scenarios in each: Asterisk with chan_pjsip (pjsip.conf:
# one endpoint identified by sipnatd's address, direct_media = no, qualify on
# the aor, session timers at their minimum of 90 s), then with chan_sip
# (sip.conf: a friend for sipnatd with host, nat=force_rport, qualify=yes,
# directmedia=no, session timers originated at 90 s).
#
#   register   alice registers (digest) through her NAT
#   in         phone -> Asterisk 100 (Answer + Echo): the echo comes back; the
#              phone holds and resumes (re-INVITEs), sipnatd reloads (SIGHUP)
#              in the call, the session timer's refresh goes through (whoever
#              sends it); the phone hangs up (BYE from the phone)
#   out        Asterisk -> phone (originate to alice through sipnatd, Playback),
#              the phone answers; chan_pjsip sends a re-INVITE (dialplan
#              PJSIP_SEND_SESSION_REFRESH); Asterisk's session refresh reaches
#              the phone and its answer reaches Asterisk; the phone holds and
#              resumes; Asterisk hangs up (BYE from Asterisk)
#   cancel     the phone calls 200 (Ringing, no answer) and gives up (CANCEL);
#              Asterisk calls the phone (Dial through sipnatd as the README
#              writes it), which only rings, and gives up after 4 s (CANCEL)
#   pool       sipnatd reloaded with two relay pairs: two calls hold them; a
#              third call from the phone and one from Asterisk get 503 and are
#              not forwarded; after the calls the pool is full again
#   qualify    Asterisk's OPTIONS to sipnatd were answered (contact Avail, peer
#              OK) and sipnatd's to Asterisk too
#
# Audio is counted on the wire: tshark on the home router's WAN (RTP between
# the relay and the phone's NAT, per direction, in measured windows while a
# call is up) and on the PBX's LAN link. Each direction must carry at least
# 80 % of the 50 packets a second the 20 ms codec frames make. The same WAN
# capture is searched for LAN addresses (wire_check.py). After every call
# `sipnatctl stats` must show the relay pool full again.
#
# usage: asterisk_call.sh SIPNATD SIPNATCTL [ROUNDS]
#        ROUNDS: "pjsip sip" (default) or one of them
#        NAT_TEST_KEEP=1 keeps the logs, configs and captures
#        NAT_TEST_SCENARIOS="in out cancel pool" (the default) or a part
# exit:  0 pass, 1 fail, 77 skipped (not root, Asterisk or pjsua missing
#        outside CI; with CI=true a missing Asterisk or pjsua is a failure)
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
# shellcheck source=tests/nat/netns.sh
source "$script_dir/netns.sh"

sipnatd=${1:?usage: asterisk_call.sh SIPNATD SIPNATCTL [ROUNDS]}
sipnatctl=${2:?usage: asterisk_call.sh SIPNATD SIPNATCTL [ROUNDS]}
read -r -a rounds <<<"${3:-pjsip sip}"
for r in "${rounds[@]}"; do
	if [[ $r != pjsip && $r != sip ]]; then
		echo "FAIL: unknown round '$r' (pjsip | sip)" >&2
		exit 1
	fi
done

readonly P=sast
readonly ASTERISK=/opt/asterisk/sbin/asterisk PJSUA=/opt/pjsua/bin/pjsua
readonly PHONE=$NETNS_PHONE PHONE_NAT=$NETNS_PHONE_NAT PUBLIC=$NETNS_PUBLIC
readonly SIPNATD_IP=$NETNS_SIPNATD PBX_IP=$NETNS_PBX
readonly RTPSTART=$NETNS_RTPSTART RTPEND=$NETNS_RTPEND
readonly PKT_RATE=50 MIN_SHARE=80 # packets a second (20 ms), % of them required
readonly SECRET=s3cret

# What is missing: skipped on a user's machine, a failure in CI.
missing_part() {
	if [[ ${CI:-} == true ]]; then
		echo "FAIL: $1 (CI=true: scripts/install-deps.sh --test installs it from ../shared)" >&2
		exit 1
	fi
	echo "SKIP: $1; run scripts/install-deps.sh --test with ../shared beside the repository"
	exit 77
}
netns_require tshark python3 timeout stdbuf
[[ -x $ASTERISK ]] || missing_part "no Asterisk at $ASTERISK (../shared/asterisk/install.sh)"
[[ -x $PJSUA ]] || missing_part "no pjsua at $PJSUA (../shared/pjsua/install.sh)"
for b in "$sipnatd" "$sipnatctl"; do
	if [[ ! -x $b ]]; then
		echo "FAIL: no binary at $b" >&2
		exit 1
	fi
done

work=""
failed=0
round_failed=0
round=""
results=() # "round|scenario|figures" lines for the summary

say() { netns_say "${round:+$round: }$*"; }
fail() {
	echo "FAIL: ${round:+$round: }$*" >&2
	failed=1
	round_failed=1
}

# ok "SCENARIO: what passed": said, and kept for the summary.
ok() {
	say "$*"
	results+=("$round|${1%%: *}|${1#*: }")
}

show_logs() {
	local f
	for f in "$work"/*/sipnatd.log "$work"/*/pjsua-*.log "$work"/*/ast/log/full "$work"/*/ast/console.log; do
		[[ -s $f ]] || continue
		echo "----- ${f#"$work"/} (last 200 lines)"
		tail -n 200 "$f"
	done
}

netns_cleanup_hook() {
	local rc=$1
	ast_stop
	((rc == 0 || rc == 77)) || show_logs
	if [[ -z $work ]]; then
		return 0
	elif [[ ${NAT_TEST_KEEP:-0} == 1 ]]; then
		echo "logs kept in $work"
	else
		rm -rf -- "$work"
	fi
}

# ns_bg NS CMD... &: like nsx_bg, and the pjsua pipe's descriptor (8) stays here.
ns_bg() {
	local ns=$1
	shift
	exec ip netns exec "$ns" "$@" 8>&- 9>&-
}

now() { date +%s.%N; }

# ---------------------------------------------------------------- media file
# make_tones: a 440 Hz tone, 8 kHz mono 16-bit: tone.wav long enough for the
# longest call (pjsua loops it; Asterisk plays it once), tone5.wav 5 s.
make_tones() {
	python3 - "$work" <<'EOF'
import math, struct, sys, wave
for name, secs in (("tone", 120), ("tone5", 5)):
    w = wave.open("%s/%s.wav" % (sys.argv[1], name), "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                           for i in range(8000 * secs)))
    w.close()
EOF
}

# ---------------------------------------------------------------- sipnatd
# sipnatd_conf FILE RTPEND: alice, the PBX, the relay pool up to RTPEND.
sipnatd_conf() {
	cat >"$1" <<EOF
general: {
  bindaddr = "$SIPNATD_IP"; bindport = 5060;
  externip = "$PUBLIC";
  localnet = [ "$NETNS_LAN_NET" ];
  pbx = "$PBX_IP:5060";
  allowguest = false;
  statefile = "$rdir/registrations"; control = "$rdir/control";
};
rtp: { rtpstart = $RTPSTART; rtpend = $2; };
peers: (
  { name = "alice"; secret = "$SECRET"; qualifyfreq = 10; }
);
logging: { level = "debug"; siptrace = true; };
EOF
}

sipnatd_start() {
	sipnatd_conf "$rdir/sipnatd.conf" "$RTPEND"
	if ! "$sipnatd" -t -c "$rdir/sipnatd.conf" >"$rdir/conftest.out" 2>&1; then
		fail "sipnatd rejects the test configuration: $(cat "$rdir/conftest.out")"
		return 1
	fi
	ns_bg "$P-lan" "$sipnatd" -f -c "$rdir/sipnatd.conf" >"$rdir/sipnatd.log" 2>&1 &
	sipnatd_pid=$!
	pids+=("$sipnatd_pid")
	if ! wait_for "$rdir/sipnatd.log" "listening on" 10 "$sipnatd_pid"; then
		fail "sipnatd did not start"
		return 1
	fi
}

ctl() { "$sipnatctl" -s "$rdir/control" "$@"; }

# sipnatd_reload RTPEND: rewrite the file with another pool, SIGHUP, wait for
# the log line.
sipnatd_reload() {
	local done_before failed_before n
	done_before=$(grep -c "configuration reloaded" "$rdir/sipnatd.log" || true)
	failed_before=$(grep -c "reload failed" "$rdir/sipnatd.log" || true)
	sipnatd_conf "$rdir/sipnatd.conf" "$1"
	kill -HUP "$sipnatd_pid"
	for ((n = 0; n < 50; n++)); do
		(($(grep -c "configuration reloaded" "$rdir/sipnatd.log" || true) > done_before)) && return 0
		if (($(grep -c "reload failed" "$rdir/sipnatd.log" || true) > failed_before)); then
			fail "sipnatd refused the reloaded file: $(grep "reload failed" "$rdir/sipnatd.log" | tail -n 1)"
			return 1
		fi
		sleep 0.1
	done
	fail "sipnatd did not log a reload within 5 s of SIGHUP"
	return 1
}

# pool_figures: "in_use free pairs active_calls" (sipnatctl --json stats).
pool_figures() {
	ctl --json stats | python3 -c 'import json, sys
d = json.load(sys.stdin)
p = d["pool"]
print(p["in_use"], p["free"], p["pairs"], d["calls"]["active"])'
}

# pool_full WHAT: no relay pair in use, all free, no call active (a bounded
# wait: sipnatd frees a call's pair on the final response, BYE or CANCEL).
pool_full() {
	local what=$1 n use free pairs active
	for ((n = 0; n < 30; n++)); do
		read -r use free pairs active <<<"$(pool_figures)"
		[[ $use == 0 && $active == 0 && $free == "$pairs" ]] && break
		sleep 0.1
	done
	if [[ $use != 0 || $active != 0 || $free != "$pairs" ]]; then
		fail "$what: relay pairs leaked: sipnatctl stats: pool $use in use, $free of $pairs free; $active calls active"
		ctl calls >&2 || true
		return 1
	fi
	ok "$what: relay pool full again ($free of $pairs pairs free, no call active)"
	pool_free=$free
}

# ---------------------------------------------------------------- Asterisk
adir=""
ast_pid=""

# ast_config KIND: a config dir for chan_pjsip (pjsip) or chan_sip (sip).
ast_config() {
	local kind=$1 d=$adir m
	mkdir -p "$d"/{etc,lib,spool,run,log,cache,agi}
	cat >"$d/etc/asterisk.conf" <<EOF
[directories]
astetcdir => $d/etc
astmoddir => /opt/asterisk/lib/asterisk/modules
astvarlibdir => $d/lib
astdbdir => $d/lib
astkeydir => $d/lib
astdatadir => /opt/asterisk/var/lib/asterisk
astspooldir => $d/spool
astrundir => $d/run
astlogdir => $d/log
astcachedir => $d/cache
astagidir => $d/agi
astsbindir => /opt/asterisk/sbin

[options]
verbose = 3
EOF
	{
		echo "[modules]"
		echo "autoload = yes"
		if [[ $kind == pjsip ]]; then
			echo "noload = chan_sip.so"
		else
			echo "noload = chan_pjsip.so"
			for m in /opt/asterisk/lib/asterisk/modules/res_pjsip*.so; do
				echo "noload = ${m##*/}"
			done
		fi
	} >"$d/etc/modules.conf"
	cat >"$d/etc/logger.conf" <<EOF
[general]
dateformat = %F %T.%3q

[logfiles]
full => notice,warning,error,verbose,dtmf
console => warning,error
EOF
	cat >"$d/etc/rtp.conf" <<EOF
[general]
rtpstart = 10000
rtpend = 20000
EOF
	# The README's dialplan: calls from sipnatd's phones arrive in
	# from-sipnatd; a remote phone is dialled at sipnatd.
	cat >"$d/etc/extensions.conf" <<EOF
[from-sipnatd]
exten => 100,1,Answer()
 same => n,Echo()
exten => 200,1,Ringing()
 same => n,Wait(30)
 same => n,Hangup()

[internal]
exten => 201,1,Dial($(ast_dial_string))
exten => 202,1,Dial($(ast_dial_string),4)

; what Asterisk's leg to the phone runs once the phone answers (sc_out):
; 5 s of tone, then (chan_pjsip) a re-INVITE from Asterisk, then more tone
[phone-answered]
exten => s,1,Playback($work/tone5)
$(if [[ $kind == pjsip ]]; then
		echo " same => n,Set(PJSIP_SEND_SESSION_REFRESH()=invite)"
	fi)
 same => n,Playback($work/tone)
EOF
	if [[ $kind == pjsip ]]; then
		cat >"$d/etc/pjsip.conf" <<EOF
[transport-udp]
type = transport
protocol = udp
bind = $PBX_IP:5060

[sipnatd]
type = endpoint
context = from-sipnatd
disallow = all
allow = ulaw,alaw
direct_media = no
rtp_symmetric = no
force_rport = no
rewrite_contact = no
trust_id_inbound = yes
aors = sipnatd
timers_min_se = 90
timers_sess_expires = 90

[sipnatd]
type = aor
contact = sip:$SIPNATD_IP:5060
qualify_frequency = 30

[sipnatd]
type = identify
endpoint = sipnatd
match = $SIPNATD_IP
EOF
	else
		cat >"$d/etc/sip.conf" <<EOF
[general]
context = default
udpbindaddr = $PBX_IP:5060
allowguest = no
alwaysauthreject = yes
disallow = all
allow = ulaw
allow = alaw
session-timers = originate
session-expires = 90
session-minse = 90

[sipnatd]
type = friend
host = $SIPNATD_IP
insecure = invite
nat = force_rport
qualify = yes
directmedia = no
context = from-sipnatd
EOF
	fi
}

ast_dial_string() {
	if [[ $kind == pjsip ]]; then
		echo "PJSIP/sipnatd/sip:alice@$SIPNATD_IP:5060"
	else
		echo "SIP/sipnatd/alice"
	fi
}

ast() { nsx "$P-pbx" "$ASTERISK" -C "$adir/etc/asterisk.conf" -rx "$1" 2>&1; }

ast_start() {
	ns_bg "$P-pbx" "$ASTERISK" -f -n -C "$adir/etc/asterisk.conf" >"$adir/console.log" 2>&1 &
	ast_pid=$!
	pids+=("$ast_pid")
	local n
	for ((n = 0; n < 100; n++)); do
		ast "core show version" 2>/dev/null | grep -q "Asterisk 20" && break
		kill -0 "$ast_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ast "core show version" | grep -q "Asterisk 20"; then
		fail "Asterisk did not come up"
		return 1
	fi
	if ! wait_udp "$P-pbx" "$PBX_IP:5060" 10; then
		fail "Asterisk does not listen on $PBX_IP:5060"
		return 1
	fi
	if [[ $kind == pjsip ]]; then
		ast "pjsip set logger on" >/dev/null
	else
		ast "sip set debug on" >/dev/null
	fi
	say "Asterisk $(ast "core show version" | awk '{print $2}') up in $P-pbx ($(ast "core show channeltypes" | grep -oE '^(PJSIP|SIP) ' | tr -d ' '))"
}

# ast_stop: by its PID file; KILL after 5 s.
ast_stop() {
	[[ -n $adir && -s $adir/run/asterisk.pid ]] || return 0
	local pid n
	pid=$(<"$adir/run/asterisk.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for ((n = 0; n < 50; n++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$adir/run/asterisk.pid"
	if [[ -n $ast_pid ]]; then
		wait "$ast_pid" 2>/dev/null || true
		forget_pid "$ast_pid"
	fi
	ast_pid=""
}

# ast_channels: the number of active channels.
ast_channels() {
	ast "core show channels count" | sed -nE 's/^([0-9]+) active channels?.*/\1/p'
}

# ---------------------------------------------------------------- pjsua
pj_pid=""
pjlog=""

# pjsua_start [ARGS...]: the phone, registered as alice at sipnatd's public
# address, answering every call (or what ARGS say instead); commands on its
# stdin (a pipe on descriptor 8), its log (SIP messages too) in pjsua.log.
pjsua_start() {
	local n=$((++pj_runs))
	pjlog=$rdir/pjsua-$n.log
	rm -f "$rdir/pjsua.in"
	mkfifo "$rdir/pjsua.in"
	# its log goes to stdout: line-buffered (stdbuf), so that every line is
	# in the file when pjsua has written it
	ns_bg "$P-phone" stdbuf -oL -eL "$PJSUA" --null-audio --no-tcp --no-color --no-vad \
		--local-port 5060 --bound-addr "$PHONE" --ip-addr "$PHONE" --rtp-port 4000 \
		--id "sip:alice@$PUBLIC" --registrar "sip:$PUBLIC" \
		--realm '*' --username alice --password "$SECRET" \
		--play-file "$work/tone.wav" --auto-play --max-calls 4 \
		--timer-se 90 --timer-min-se 90 --auto-answer 200 "$@" \
		<"$rdir/pjsua.in" >"$pjlog" 2>&1 &
	pj_pid=$!
	pids+=("$pj_pid")
	exec 8>"$rdir/pjsua.in"
	pj_mark=0
	for ((n = 0; n < 100; n++)); do
		[[ -s $pjlog ]] && break
		sleep 0.1
	done
	if ! pj_wait "registration success|Registration successful" 10; then
		fail "pjsua did not register at $PUBLIC within 10 s"
		return 1
	fi
}
pj_runs=0
# how pjsua logs a new incoming call (a re-INVITE is logged differently)
readonly PJ_NEW_CALL="pjsua_call.c +[.]+Incoming Request msg INVITE"

pj() { printf '%s\n' "$@" >&8; }

pjsua_stop() {
	[[ -n $pj_pid ]] || return 0
	pj q 2>/dev/null || true
	exec 8>&-
	local n
	for ((n = 0; n < 50; n++)); do
		kill -0 "$pj_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pj_pid" 2>/dev/null || true
	wait "$pj_pid" 2>/dev/null || true
	forget_pid "$pj_pid"
	pj_pid=""
}

# Marks in the pjsua log: waits look only at what came after the mark. (awk
# reads the file itself: a grep -q at the end of a pipe would make the
# pipeline fail with SIGPIPE under pipefail.)
pj_mark=0
mark() { pj_mark=$(wc -l <"$pjlog"); }
since_mark() { awk -v m="$pj_mark" 'NR > m' "$pjlog"; }

# pj_seen REGEX: the pjsua log holds REGEX after the mark.
pj_seen() { awk -v m="$pj_mark" -v re="$1" 'NR > m && $0 ~ re { f = 1; exit } END { exit !f }' "$pjlog"; }

# pj_wait REGEX SECONDS: until the pjsua log holds REGEX after the mark.
pj_wait() {
	local re=$1 tenths=$(($2 * 10)) n
	for ((n = 0; n < tenths; n++)); do
		pj_seen "$re" && return 0
		kill -0 "$pj_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# pj_first REGEX: the first text matching REGEX after the mark.
pj_first() { awk -v m="$pj_mark" -v re="$1" 'NR > m && match($0, re) { print substr($0, RSTART, RLENGTH); exit }' "$pjlog"; }

pj_count() { awk -v m="$pj_mark" -v re="$1" 'NR > m && $0 ~ re { n++ } END { print n + 0 }' "$pjlog"; }

# pj_wait_count REGEX N SECONDS: until REGEX is in N lines after the mark.
pj_wait_count() {
	local n
	for ((n = 0; n < $3 * 10; n++)); do
		(($(pj_count "$1") >= $2)) && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- audio windows
windows=() # "name|t0|t1|calls"

# window NAME SECONDS [CALLS]: a measured interval of SECONDS while one call
# (or CALLS calls) is up.
window() {
	local t0
	t0=$(now)
	sleep "$2"
	windows+=("$1|$t0|$(now)|${3:-1}")
}

# RTP packets per window on the captures: phone -> relay and relay -> phone on
# the WAN, relay -> PBX and PBX -> relay on the LAN (even ports: RTP, not RTCP).
check_windows() {
	local w name t0 t1 calls line
	tshark -r "$rdir/wan.pcapng" -Y "udp && !(udp.port == 5060)" -T fields -E separator=' ' \
		-e frame.time_epoch -e ip.src -e udp.srcport -e ip.dst -e udp.dstport >"$rdir/wan-rtp.txt" 2>/dev/null || true
	tshark -r "$rdir/lan.pcapng" -Y "udp && !(udp.port == 5060)" -T fields -E separator=' ' \
		-e frame.time_epoch -e ip.src -e udp.srcport -e ip.dst -e udp.dstport >"$rdir/lan-rtp.txt" 2>/dev/null || true
	for w in "${windows[@]}"; do
		IFS='|' read -r name t0 t1 calls <<<"$w"
		line=$(awk -v t0="$t0" -v t1="$t1" -v pub="$PUBLIC" -v s="$RTPSTART" -v e="$RTPEND" '
			$1 >= t0 && $1 < t1 {
				if ($4 == pub && $5 >= s && $5 <= e && $5 % 2 == 0) from++
				if ($2 == pub && $3 >= s && $3 <= e && $3 % 2 == 0) to++
			}
			END { printf "%d %d", from, to }' "$rdir/wan-rtp.txt")
		local from to lan_in lan_out
		read -r from to <<<"$line"
		line=$(awk -v t0="$t0" -v t1="$t1" -v sn="$SIPNATD_IP" -v pbx="$PBX_IP" -v s="$RTPSTART" -v e="$RTPEND" '
			$1 >= t0 && $1 < t1 {
				if ($2 == sn && $4 == pbx && $3 % 2 == 0 && $3 >= s && $3 <= e) tolan++
				if ($2 == pbx && $4 == sn && $5 % 2 == 0 && $5 >= s && $5 <= e) fromlan++
			}
			END { printf "%d %d", tolan, fromlan }' "$rdir/lan-rtp.txt")
		read -r lan_in lan_out <<<"$line"
		local secs expect
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		expect=$(awk -v a="$t0" -v b="$t1" -v r="$PKT_RATE" -v m="$MIN_SHARE" -v c="$calls" 'BEGIN { printf "%d", (b - a) * r * c * m / 100 }')
		local per=""
		((calls == 1)) || per=" ($calls calls)"
		local fig="${secs}s$per: WAN phone->relay $from, relay->phone $to; LAN relay->PBX $lan_in, PBX->relay $lan_out (need >= $expect each)"
		results+=("$round|$name|$fig")
		case $name in
		*held*)
			# on hold (the phone's re-INVITE made it sendonly) the phone keeps
			# sending; whether Asterisk sends is its choice: only shown
			if ((from >= expect && lan_in >= expect)); then
				say "audio $name: $fig (on hold: the phone's direction checked)"
			else
				fail "audio $name: too few RTP packets from the phone while on hold: $fig"
			fi
			continue
			;;
		esac
		if ((from >= expect && to >= expect && lan_in >= expect && lan_out >= expect)); then
			say "audio $name: $fig"
		else
			fail "audio $name: too few RTP packets: $fig"
		fi
	done
}

# ---------------------------------------------------------------- scenarios
sc_register() {
	local nat
	nat=$(grep -oE "alice registered from $PHONE_NAT:[0-9]+" "$rdir/sipnatd.log" | tail -n 1 || true)
	if [[ -z $nat ]]; then
		fail "register: sipnatd logged no registration of alice from $PHONE_NAT"
		return 1
	fi
	say "register: pjsua registered (digest); sipnatd: ${nat}"
	results+=("$round|register|${nat#alice }")
}

# Asterisk's qualify of sipnatd (OPTIONS to 192.0.2.10 answered), checked
# after the calls: Asterisk sends its first one at a random moment within
# qualify_frequency (pjsip) or at start (chan_sip).
sc_qualify() {
	local n st=""
	for ((n = 0; n < 300; n++)); do
		if [[ $kind == pjsip ]]; then
			st=$(ast "pjsip show contacts" | grep -E "sipnatd/sip:$SIPNATD_IP" | grep -oE '\b(Avail|Unavail|Unknown|NonQual)\b' | head -n 1 || true)
			[[ $st == Avail ]] && break
		else
			st=$(ast "sip show peers" | awk '$1 ~ /^sipnatd/ { print $(NF-2), $(NF-1), $NF }' || true)
			[[ $st == OK* ]] && break
		fi
		sleep 0.1
	done
	if [[ $st == Avail || $st == OK* ]]; then
		say "qualify: Asterisk's qualify of sipnatd answered: $st"
		results+=("$round|qualify|Asterisk's OPTIONS to sipnatd answered: $st")
	else
		fail "qualify: Asterisk's qualify of sipnatd not answered (status: ${st:-none})"
	fi
	if grep -qF "PBX at $PBX_IP:5060 is reachable" "$rdir/sipnatd.log"; then
		say "qualify: sipnatd's qualify of Asterisk answered"
	else
		fail "qualify: sipnatd did not mark Asterisk reachable"
	fi
}

# The current call's state in pjsua's log since the mark.
pj_confirmed() { pj_wait "Call [0-9]+ state changed to CONFIRMED" "$1"; }
pj_disconnected() { pj_wait "Call [0-9]+ is DISCONNECTED" "$1"; }

sc_in() {
	say "in: phone -> Asterisk 100 (Echo)"
	mark
	pj m "sip:100@$PUBLIC"
	if ! pj_confirmed 10; then
		fail "in: the call to 100 was not answered (confirmed) within 10 s: $(since_mark | grep -E 'DISCONNECTED|Response msg [3-6][0-9][0-9]' | tail -n 2)"
		pj ha
		return 1
	fi
	pj_wait "media 0 .type=audio., status is Active" 5 || true
	window in-answered 4

	# hold from the phone: re-INVITE sendonly, then resume
	mark
	pj H
	if pj_wait "RX [0-9]+ bytes Response msg 200/INVITE" 5; then
		ok "in: hold re-INVITE answered 200"
	else
		fail "in: the phone's hold re-INVITE got no 200"
	fi
	window in-held 2
	mark
	pj v
	if pj_wait "RX [0-9]+ bytes Response msg 200/INVITE" 5; then
		ok "in: resume re-INVITE answered 200"
	else
		fail "in: the phone's resume re-INVITE got no 200"
	fi
	window in-resumed 4

	# sipnatd reloads during the call
	sipnatd_reload "$RTPEND" && ok "in: sipnatd reloaded (SIGHUP) during the call"
	window in-after-reload 4

	# the session timer's refresh (Session-Expires 90: at 45 s at the latest)
	mark
	if pj_wait "(TX|RX) [0-9]+ bytes Request msg (INVITE|UPDATE)/" 50; then
		local req dir
		req=$(pj_first "(TX|RX) [0-9]+ bytes Request msg (INVITE|UPDATE)/")
		dir=${req%% *}
		if [[ $dir == TX ]] && pj_wait "RX [0-9]+ bytes Response msg 200/(INVITE|UPDATE)" 5; then
			say "in: session refresh by the phone (${req##*msg }) answered 200 by Asterisk"
			results+=("$round|in-refresh|the phone refreshed (${req##*msg }), Asterisk's 200 reached it")
		elif [[ $dir == RX ]] && pj_wait "TX [0-9]+ bytes Response msg 200/(INVITE|UPDATE)" 5; then
			say "in: session refresh by Asterisk (${req##*msg }) reached the phone, answered 200"
			results+=("$round|in-refresh|Asterisk refreshed (${req##*msg }), the phone answered 200")
		else
			fail "in: the session refresh (${req}) got no 200"
		fi
	else
		fail "in: no session refresh within 50 s"
	fi
	window in-after-refresh 3

	mark
	pj h
	if pj_wait "Call [0-9]+ is DISCONNECTED .reason=200" 5; then
		ok "in: the phone hung up (BYE answered 200)"
	else
		fail "in: the phone's BYE was not answered: $(since_mark | grep DISCONNECTED | tail -n 1)"
	fi
	wait_no_channels in
	pool_full in
}

wait_no_channels() {
	local n c
	for ((n = 0; n < 50; n++)); do
		c=$(ast_channels)
		[[ $c == 0 ]] && return 0
		sleep 0.1
	done
	fail "$1: Asterisk still has ${c:-?} channels"
}

sc_out() {
	say "out: Asterisk -> phone (originate through sipnatd, Playback)"
	mark
	ast "channel originate $(ast_dial_string) extension s@phone-answered" >/dev/null
	if ! pj_wait "$PJ_NEW_CALL" 10; then
		fail "out: Asterisk's call did not reach the phone within 10 s"
		return 1
	fi
	if ! pj_confirmed 10; then
		fail "out: the phone's 200 did not confirm the call (no ACK?)"
		ast "channel request hangup all" >/dev/null
		return 1
	fi
	window out-answered 4

	if [[ $kind == pjsip ]]; then
		# a re-INVITE from Asterisk (PJSIP_SEND_SESSION_REFRESH in the dialplan
		# once the first 5 s of tone are over)
		mark
		if pj_wait "RX [0-9]+ bytes Request msg INVITE/" 5 &&
			pj_wait "TX [0-9]+ bytes Response msg 200/INVITE" 3; then
			ok "out: Asterisk's re-INVITE reached the phone, answered 200"
		else
			fail "out: Asterisk's re-INVITE did not reach the phone or was not answered"
		fi
		window out-after-reinvite 3
	fi

	# Asterisk's session refresh (it is the caller, the refresher)
	mark
	if pj_wait "RX [0-9]+ bytes Request msg (INVITE|UPDATE)/" 50; then
		local req
		req=$(pj_first "RX [0-9]+ bytes Request msg (INVITE|UPDATE)/")
		if pj_wait "TX [0-9]+ bytes Response msg 200/(INVITE|UPDATE)" 3; then
			say "out: Asterisk's session refresh (${req##*msg }) reached the phone, answered 200"
			results+=("$round|out-refresh|Asterisk refreshed (${req##*msg }), the phone answered 200")
		else
			fail "out: the phone did not answer Asterisk's refresh ${req##*msg }"
		fi
	elif pj_wait "TX [0-9]+ bytes Request msg (INVITE|UPDATE)/" 1; then
		if pj_wait "RX [0-9]+ bytes Response msg 200/(INVITE|UPDATE)" 5; then
			say "out: session refresh by the phone answered 200"
			results+=("$round|out-refresh|the phone refreshed, Asterisk's 200 reached it")
		else
			fail "out: the phone's session refresh got no 200"
		fi
	else
		fail "out: no session refresh within 50 s"
	fi
	window out-after-refresh 3

	# hold from the phone in this direction too
	mark
	pj H
	pj_wait "RX [0-9]+ bytes Response msg 200/INVITE" 5 || fail "out: the phone's hold re-INVITE got no 200"
	mark
	pj v
	if pj_wait "RX [0-9]+ bytes Response msg 200/INVITE" 5; then
		ok "out: the phone held and resumed (re-INVITEs answered 200)"
	else
		fail "out: the phone's resume re-INVITE got no 200"
	fi
	window out-resumed 3

	# Asterisk hangs up: BYE from Asterisk
	mark
	ast "channel request hangup all" >/dev/null
	if pj_wait "RX [0-9]+ bytes Request msg BYE/" 5 && pj_wait "Call [0-9]+ is DISCONNECTED" 3; then
		ok "out: Asterisk hung up (BYE reached the phone)"
	else
		fail "out: Asterisk's BYE did not reach the phone"
	fi
	wait_no_channels out
	pool_full out
}

sc_cancel() {
	say "cancel: phone -> 200 (rings), the phone gives up"
	mark
	pj m "sip:200@$PUBLIC"
	if ! pj_wait "RX [0-9]+ bytes Response msg 18[03]/INVITE" 10; then
		fail "cancel: no 180/183 from Asterisk's Ringing()"
		pj ha
	else
		pj h
		if pj_wait "RX [0-9]+ bytes Response msg 487/INVITE" 5; then
			ok "cancel: the phone's CANCEL ended the call (487)"
		else
			fail "cancel: the phone's CANCEL got no 487: $(since_mark | grep -E 'DISCONNECTED|Response msg' | tail -n 2)"
		fi
	fi
	wait_no_channels cancel-in
	pool_full cancel-in

	say "cancel: Asterisk -> phone, which only rings (180), Dial gives up after 4 s"
	pjsua_stop
	pjsua_start --auto-answer 180 || return 1
	mark
	ast "channel originate Local/202@internal application Playback ${work}/tone" >/dev/null
	if ! pj_wait "$PJ_NEW_CALL" 10; then
		fail "cancel: Asterisk's call did not reach the phone"
		return 1
	fi
	if pj_wait "RX [0-9]+ bytes Request msg CANCEL/" 8 && pj_disconnected 3; then
		ok "cancel: Asterisk's CANCEL reached the phone"
	else
		fail "cancel: Asterisk's CANCEL did not reach the phone"
		pj h
	fi
	wait_no_channels cancel-out
	pool_full cancel-out
	pjsua_stop
	pjsua_start
}

sc_pool() {
	say "pool: sipnatd reloaded with two relay pairs ($RTPSTART-$((RTPSTART + 3)))"
	sipnatd_reload $((RTPSTART + 3)) || return 1
	pool_full pool-reloaded
	if [[ ${pool_free:-} != 2 ]]; then
		fail "pool: after the reload the pool has ${pool_free:-?} pairs, not 2"
	fi
	local i
	for i in 1 2; do
		mark
		pj m "sip:100@$PUBLIC"
		if ! pj_confirmed 10; then
			fail "pool: call $i of 2 was not answered"
			pj ha
			return 1
		fi
	done
	local use free pairs active
	read -r use free pairs active <<<"$(pool_figures)"
	((use == 2 && free == 0 && active == 2)) ||
		fail "pool: two calls up, but sipnatctl stats says: pool $use in use, $free of $pairs free; $active calls active"
	# a third call from the phone: 503 from sipnatd, Asterisk sees nothing
	local ast_inv
	ast_inv=$(ast_received INVITE)
	mark
	pj m "sip:100@$PUBLIC"
	if pj_wait "RX [0-9]+ bytes Response msg 503/INVITE" 10; then
		ok "pool: the phone's third call got 503 from sipnatd"
	else
		fail "pool: the phone's third call got no 503: $(since_mark | grep -E 'DISCONNECTED|Response msg' | tail -n 2)"
	fi
	pj_disconnected 5 || true
	if (($(ast_received INVITE) != ast_inv)); then
		fail "pool: the phone's third INVITE reached Asterisk although no relay pair was free"
	else
		ok "pool: the third INVITE did not reach Asterisk"
	fi
	# a call from Asterisk: 503 from sipnatd, the phone sees nothing
	local ast_503 n got=""
	ast_503=$(ast_received 503)
	mark
	ast "channel originate Local/201@internal application Playback ${work}/tone" >/dev/null
	for ((n = 0; n < 50; n++)); do
		if (($(ast_received 503) > ast_503)); then
			got=1
			break
		fi
		sleep 0.1
	done
	if [[ -n $got ]]; then
		ok "pool: Asterisk's call to the phone got 503"
	else
		fail "pool: Asterisk's call to the phone got no 503"
	fi
	if pj_seen "$PJ_NEW_CALL"; then
		fail "pool: Asterisk's call reached the phone although no relay pair was free"
	else
		ok "pool: Asterisk's INVITE did not reach the phone"
	fi
	window pool-two-calls 3 2
	mark
	pj ha
	pj_wait_count "Call [0-9]+ is DISCONNECTED" 2 5 || fail "pool: the two calls did not both end"
	wait_no_channels pool
	pool_full pool
	sipnatd_reload "$RTPEND" || true
}

# ast_received WHAT: how many SIP requests (INVITE, ...) or responses (503,
# ...) Asterisk received so far, from its SIP logger's lines.
ast_received() {
	awk -v w="$1" '
		/Received SIP (request|response)|^<--- SIP read from|SIP read from/ { rx = 1; next }
		rx && NF { if ($1 == w || ($1 == "SIP/2.0" && $2 == w)) n++; rx = 0 }
		END { print n + 0 }' "$adir/log/full"
}

# no LAN address reached the phone: the WAN capture, SIP and SDP and media
check_wire() {
	tshark -r "$rdir/wan.pcapng" -T fields -E separator='|' \
		-e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.payload \
		>"$rdir/wire-raw.txt" 2>/dev/null || true
	local rc=0
	python3 "$script_dir/wire_check.py" "$PUBLIC" "$PHONE_NAT" "192.0.2." "$RTPSTART" "$RTPEND" \
		<"$rdir/wire-raw.txt" >"$rdir/wire-check.txt" || rc=$?
	grep -vE '^(FLOW |    RTP )' "$rdir/wire-check.txt" | sed "s/^/    /" || true
	# every SDP sipnatd sent toward the phone names the public address
	local sdps bad
	tshark -r "$rdir/wan.pcapng" -Y "sdp && ip.src == $PUBLIC" -T fields -E separator=' ' \
		-E occurrence=a -E aggregator=' ' -e sdp.connection_info.address -e sdp.owner.address \
		>"$rdir/wire-sdp.txt" 2>/dev/null || true
	sdps=$(grep -c . "$rdir/wire-sdp.txt" || true)
	bad=$(tr ' ' '\n' <"$rdir/wire-sdp.txt" | grep -v -x -F -e "$PUBLIC" -e '' | sort -u | tr '\n' ' ' || true)
	if ((sdps == 0)); then
		fail "no SDP from sipnatd toward the phone in the WAN capture"
	elif [[ -n $bad ]]; then
		fail "sipnatd's SDP toward the phone names $bad, not only $PUBLIC"
	else
		say "wire: all $sdps SDP bodies toward the phone name only $PUBLIC (c=, o=)"
	fi
	if ((rc != 0)); then
		fail "LAN addresses or strange datagrams on the home router's WAN (above)"
	else
		say "wire: no LAN address in SIP, SDP or media on the home router's WAN"
		results+=("$round|wire|$(grep -m1 'SIP datagrams' "$rdir/wire-check.txt" | sed 's/^ *//'), no LAN address")
	fi
}

# ---------------------------------------------------------------- a round
run_round() {
	kind=$1
	round=$kind
	round_failed=0
	rdir=$work/$kind
	adir=$rdir/ast
	windows=()
	mkdir -p "$rdir"
	local t_start=$SECONDS
	say "---- round with chan_$kind"
	netns_capture "$P-home" wan "$rdir/wan.pcapng" 200 "udp" || fail "tshark did not start on the WAN"
	netns_capture "$P-pbx" eth0 "$rdir/lan.pcapng" 200 "udp" || fail "tshark did not start on the PBX's link"
	# sipnatd first: Asterisk qualifies it the moment it starts
	if ! sipnatd_start; then
		return 0
	fi
	ast_config "$kind"
	if ! ast_start; then
		return 0
	fi
	if pjsua_start && sc_register; then
		for sc in ${NAT_TEST_SCENARIOS:-in out cancel pool}; do
			"sc_$sc" || true
		done
		sc_qualify
	fi
	pjsua_stop
	ast_stop
	kill -TERM "$sipnatd_pid" 2>/dev/null || true
	local rc=0
	wait "$sipnatd_pid" 2>/dev/null || rc=$?
	forget_pid "$sipnatd_pid"
	((rc == 0)) || fail "sipnatd exited with status $rc on SIGTERM"
	stop_pids # the captures
	check_windows
	check_wire
	local errs='^[0-9-]+ [0-9:.]+ error:|AddressSanitizer|LeakSanitizer|runtime error'
	if grep -qE "$errs" "$rdir/sipnatd.log"; then
		fail "sipnatd logged errors: $(grep -m3 -E "$errs" "$rdir/sipnatd.log")"
	fi
	say "---- round with chan_$kind: $( ((round_failed)) && echo FAILED || echo passed) in $((SECONDS - t_start)) s"
	round=""
}

netns_setup "$P" symmetric
work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-asterisk.XXXXXX")
make_tones
for r in "${rounds[@]}"; do
	run_round "$r"
done

echo "summary:"
for r in "${results[@]}"; do
	IFS='|' read -r a b c <<<"$r"
	printf '  %-6s %-20s %s\n' "$a" "$b" "$c"
done
if ((failed)); then
	exit 1
fi
say "PASS"
