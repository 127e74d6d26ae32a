#!/bin/bash
# IPv6 when the IPv4 address is shared (issue 20): a site whose IPv4 is behind
# a carrier-grade NAT, reached over IPv6 by real phones, with a real Asterisk
# (IPv4 only) on the LAN behind sipnatd.
#
#   c6-phone6 (IPv6 phones, 2001:db8:ff::50) -- c6-inet -- c6-pub (IPv4 phone 203.0.113.80)
#   c6-isp (CGNAT 203.0.113.2; routes 2001:db8:1::/48) --
#   c6-home (MASQUERADE; ip6tables: NEW in only to [2001:db8:1::10] 5060/udp and
#            10000-11000/udp) -- c6-lan (sipnatd 192.0.2.10, 2001:db8:1::10,
#                                bindaddr "::"; externip none, or with
#                                CGNAT6_EXTERNIP=given its IPv6 address)
#                             `-- c6-pbx (Asterisk 20, chan_pjsip, 192.0.2.20 only)
#   (netns.sh, router kind cgnat6)
#
# What it shows, in order:
#   firewall   the IPv6 firewall drops a probe to another port of sipnatd's
#              address (its drop counter grows, the listener there hears
#              nothing, while the same listener answers the router itself)
#   ipv4       an IPv4 phone on the Internet (pjsua, 203.0.113.80) cannot
#              reach the site: its REGISTER to the site's only public IPv4
#              address (the carrier's) gets no answer, and sipnatd sees none
#   phones     pjsua (alice), linphonec (bob) and baresip (carol), one after
#              the other, on the IPv6 Internet (c6-phone6, 2001:db8:ff::50), each
#                - registers with digest at [2001:db8:1::10] (401, then 200,
#                  both seen on the WAN), sipnatd logs the binding at its
#                  IPv6 address and `sipnatctl registrations` lists it,
#                - calls Asterisk's 100 (Answer + Echo): audio both ways,
#                - is called by Asterisk (originate to the peer through
#                  sipnatd, Playback): audio both ways,
#              audio counted with tshark in a measured window of each call:
#              IPv6 RTP between the phone and sipnatd's relay on the home
#              router's WAN, IPv4 RTP between the relay and Asterisk on the
#              PBX's link; each of the four directions must carry at least
#              MIN_SHARE % of the 50 packets a second of 20 ms frames;
#              and sipnatd's qualify (OPTIONS) of the binding is answered
#   families   every SIP message sipnatd sent the phones names only IPv6 in
#              Via, Contact, Record-Route and the SDP's c=/o=, written as
#              RFC 5118 says; every one it sent Asterisk only IPv4
#              (sip_family_check.py)
#
# usage: cgnat6.sh SIPNATD SIPNATCTL
# env:   CGNAT6_PHONES "pjsua linphonec baresip" (default) or a part
#        NAT_TEST_KEEP=1 keeps the logs, configs and captures
# exit:  0 pass, 1 fail, 77 skipped (not root; Asterisk or pjsua missing
#        outside CI; with CI=true a missing part is a failure). A phone that
#        is not installed is skipped by name outside CI.
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
# shellcheck source=tests/nat/netns.sh
source "$script_dir/netns.sh"

sipnatd=${1:?usage: cgnat6.sh SIPNATD SIPNATCTL}
sipnatctl=${2:?usage: cgnat6.sh SIPNATD SIPNATCTL}
read -r -a phone_list <<<"${CGNAT6_PHONES:-pjsua linphonec baresip}"

readonly P=c6
readonly ASTERISK=/opt/asterisk/sbin/asterisk PJSUA=/opt/pjsua/bin/pjsua
readonly SN4=$NETNS_SIPNATD SN6=$NETNS6_SIPNATD PBX_IP=$NETNS_PBX
readonly PHONE6=$NETNS6_PHONE PHONE4=$NETNS_PUB_PHONE SITE4=$NETNS_ISP_PUBLIC
readonly RTPSTART=$NETNS_RTPSTART RTPEND=$NETNS_RTPEND
readonly PKT_RATE=50 MIN_SHARE=80 WINDOW_S=4
readonly SECRET=s3cret
declare -A peer_of=([pjsua]=alice [linphonec]=bob [baresip]=carol)

missing_part() {
	if [[ ${CI:-} == true ]]; then
		echo "FAIL: $1 (CI=true: scripts/install-deps.sh --test installs it)" >&2
		exit 1
	fi
	echo "SKIP: $1; run scripts/install-deps.sh --test with ../shared beside the repository"
	exit 77
}
netns_require tshark python3 timeout stdbuf ip6tables
[[ -x $ASTERISK ]] || missing_part "no Asterisk at $ASTERISK (../shared/asterisk/install.sh)"
[[ -x $PJSUA ]] || missing_part "no pjsua at $PJSUA (../shared/pjsua/install.sh)"
for b in "$sipnatd" "$sipnatctl"; do
	if [[ ! -x $b ]]; then
		echo "FAIL: no binary at $b" >&2
		exit 1
	fi
done
# A phone that is not installed: skipped by name (a failure with CI=true).
phones=()
for c in "${phone_list[@]}"; do
	why=""
	case $c in
	pjsua) ;;
	linphonec) command -v linphonec >/dev/null || why="linphonec is not installed (Debian: linphone-cli)" ;;
	baresip)
		if ! command -v baresip >/dev/null; then
			why="baresip is not installed (Debian: baresip-core)"
		elif [[ ! -e /usr/lib/baresip/modules/cons.so || ! -e /usr/lib/baresip/modules/aufile.so ]]; then
			why="baresip's cons/aufile modules are missing"
		fi
		;;
	*)
		echo "FAIL: unknown phone '$c' in CGNAT6_PHONES" >&2
		exit 1
		;;
	esac
	if [[ -z $why ]]; then
		phones+=("$c")
	elif [[ ${CI:-} == true ]]; then
		missing_part "$why"
	else
		echo "SKIP $c: $why (scripts/install-deps.sh --test)"
	fi
done

work=""
failed=0
results=() # "what|figures" for the summary

say() { netns_say "$*"; }
fail() {
	echo "FAIL: $*" >&2
	failed=1
}
ok() {
	say "$*"
	results+=("${1%%: *}|${1#*: }")
}

show_logs() {
	local f
	for f in "$work"/sipnatd.log "$work"/*/phone.log "$work"/ast/log/full; do
		[[ -s $f ]] || continue
		echo "----- ${f#"$work"/} (last 60 lines)"
		tail -n 60 "$f" | tr -d '\033'
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

# ns_bg NS CMD... &: like nsx_bg; the phone's command pipe (6) stays here.
ns_bg() {
	local ns=$1
	shift
	exec ip netns exec "$ns" "$@" 6>&- 9>&-
}

now() { date +%s.%N; }

# ---------------------------------------------------------------- sipnatd
# The configuration a user of such a line writes (README "IPv6 when the IPv4
# address is shared"): bindaddr "::" (both families) and nothing else: the
# site has no public IPv4 address of its own, and IPv6 has no NAT, so
# sipnatd advertises the address the kernel gives it toward each phone. With
# CGNAT6_EXTERNIP=given (the second ctest entry) externip names that IPv6
# address instead, as a user with a fixed prefix may write.
sipnatd_start() {
	local externip=""
	[[ ${CGNAT6_EXTERNIP:-none} == given ]] && externip="externip = \"$SN6\";"
	cat >"$work/sipnatd.conf" <<EOF
general: {
  bindaddr = "::"; bindport = 5060;
  $externip
  localnet = [ "$NETNS_LAN_NET" ];
  pbx = "$PBX_IP:5060";
  allowguest = false;
  statefile = "$work/registrations"; control = "$work/control";
};
rtp: { rtpstart = $RTPSTART; rtpend = $RTPEND; };
peers: (
  { name = "alice"; secret = "$SECRET"; },
  { name = "bob"; secret = "$SECRET"; },
  { name = "carol"; secret = "$SECRET"; }
);
logging: { level = "debug"; siptrace = true; };
EOF
	if ! "$sipnatd" -t -c "$work/sipnatd.conf" >"$work/conftest.out" 2>&1; then
		fail "sipnatd rejects the configuration (bindaddr \"::\"): $(cat "$work/conftest.out")"
		return 1
	fi
	ns_bg "$P-lan" "$sipnatd" -f -c "$work/sipnatd.conf" >"$work/sipnatd.log" 2>&1 &
	sipnatd_pid=$!
	pids+=("$sipnatd_pid")
	if ! wait_for "$work/sipnatd.log" "listening on" 10 "$sipnatd_pid"; then
		fail "sipnatd did not start: $(tail -n 3 "$work/sipnatd.log")"
		return 1
	fi
	# IPv6 on 5060: [::] (bindaddr "::") or the address itself
	local n
	for ((n = 0; n < 50; n++)); do
		nsx "$P-lan" ss -Hlun | awk -v a="[$SN6]:5060" '$4 == "[::]:5060" || $4 == a { f = 1 } END { exit !f }' && break
		sleep 0.1
	done
	if ((n == 50)); then
		fail "sipnatd (bindaddr \"::\") has no IPv6 UDP socket on 5060 (UDP sockets: $(nsx "$P-lan" ss -Hlun | awk '{print $4}' | tr '\n' ' '))"
		return 1
	fi
	say "sipnatd listens on $(nsx "$P-lan" ss -Hlun | awk '$4 ~ /:5060$/ {print $4}' | tr '\n' ' ')"
	# what it says it advertises toward IPv6 phones
	local want="External IPv6 address: this host's own, toward each party"
	[[ ${CGNAT6_EXTERNIP:-none} == given ]] && want="External IPv6 address: $SN6 (externip)"
	local status
	status=$(ctl status 2>&1)
	if ! grep -qF "$want" <<<"$status"; then
		fail "sipnatctl status does not say \"$want\": $(tr '\n' ' ' <<<"$status")"
		return 1
	fi
	say "sipnatctl status: $(grep -F "IPv6" <<<"$status")"
	sipnatd_ok=1
}

ctl() { "$sipnatctl" -s "$work/control" "$@"; }

# ---------------------------------------------------------------- Asterisk
adir=""
ast_pid=""

ast_config() {
	local d=$adir
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
	printf '%s\n' "[modules]" "autoload = yes" "noload = chan_sip.so" >"$d/etc/modules.conf"
	cat >"$d/etc/logger.conf" <<EOF
[general]
dateformat = %F %T.%3q

[logfiles]
full => notice,warning,error,verbose
console => warning,error
EOF
	printf '%s\n' "[general]" "rtpstart = 10000" "rtpend = 20000" >"$d/etc/rtp.conf"
	cat >"$d/etc/extensions.conf" <<EOF
[from-sipnatd]
exten => 100,1,Answer()
 same => n,Echo()
EOF
	# The README's endpoint for sipnatd (section "Putting sipnatd in front of
	# Asterisk"): Asterisk on IPv4 only, as a home PBX is.
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

[sipnatd]
type = aor
contact = sip:$SN4:5060

[sipnatd]
type = identify
endpoint = sipnatd
match = $SN4
EOF
}

ast() { nsx "$P-pbx" "$ASTERISK" -C "$adir/etc/asterisk.conf" -rx "$1" 2>&1; }

ast_start() {
	ast_config
	ns_bg "$P-pbx" "$ASTERISK" -f -n -C "$adir/etc/asterisk.conf" >"$adir/console.log" 2>&1 &
	ast_pid=$!
	pids+=("$ast_pid")
	local n
	for ((n = 0; n < 100; n++)); do
		ast "core show version" 2>/dev/null | grep -q "Asterisk 20" && break
		kill -0 "$ast_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ast "core show version" | grep -q "Asterisk 20" || ! wait_udp "$P-pbx" "$PBX_IP:5060" 10; then
		fail "Asterisk did not come up on $PBX_IP:5060"
		return 1
	fi
	ast "pjsip set logger on" >/dev/null
	say "Asterisk $(ast "core show version" | awk '{print $2}') up in $P-pbx on $PBX_IP (IPv4 only)"
}

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

# ast_up SECONDS: until Asterisk has a channel that is Up (answered).
ast_up() {
	local n
	for ((n = 0; n < $1 * 10; n++)); do
		ast "core show channels concise" | grep -q '!Up!' && return 0
		sleep 0.1
	done
	return 1
}

# ast_hangup: hang up every channel, until none is left (5 s).
ast_hangup() {
	local n c
	ast "channel request hangup all" >/dev/null
	for ((n = 0; n < 50; n++)); do
		c=$(ast "core show channels count" | sed -nE 's/^([0-9]+) active channels?.*/\1/p')
		[[ $c == 0 ]] && return 0
		sleep 0.1
	done
	fail "Asterisk still has ${c:-?} channels 5 s after hanging up"
}

# ---------------------------------------------------------------- tones
make_tone() {
	python3 - "$work/tone.wav" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                       for i in range(8000 * 60)))
w.close()
EOF
}

# ---------------------------------------------------------------- the phones
# PHONE_start DIR PEER: in $P-phone6 on [2001:db8:ff::50]:5060, IPv6 only,
# registering PEER at sipnatd's IPv6 address, answering calls, playing the
# tone into every call; commands on descriptor 6. PHONE_dial URI, PHONE_quit.

pjsua_start() {
	local dir=$1 peer=$2
	mkfifo "$dir/in"
	exec 6<>"$dir/in"
	ns_bg "$P-phone6" timeout 90 stdbuf -oL -eL "$PJSUA" --ipv6 --null-audio --no-tcp --no-color --no-vad \
		--local-port 5060 --bound-addr "$PHONE6" --ip-addr "$PHONE6" --rtp-port 4000 \
		--id "sip:$peer@[$SN6]" --registrar "sip:[$SN6]" \
		--realm '*' --username "$peer" --password "$SECRET" --auto-update-nat 0 \
		--play-file "$work/tone.wav" --auto-play --auto-answer 200 \
		<&6 >"$dir/phone.log" 2>&1 &
	phone_pid=$!
}
pjsua_dial() { printf 'm\n%s\n' "$1" >&6; }
pjsua_quit() { echo q >&6; }

linphonec_start() {
	local dir=$1 peer=$2
	mkdir -p "$dir/home/.local/share/linphone"
	cat >"$dir/rc" <<EOF
[sip]
sip_port=5060
sip_tcp_port=0
sip_tls_port=0
use_ipv6=1
default_proxy=0
[net]
nat_policy_ref=
[rtp]
audio_rtp_port=4000
[sound]
echocancellation=0
[proxy_0]
reg_proxy=<sip:[$SN6];transport=udp>
reg_identity="$peer" <sip:$peer@[$SN6]>
reg_expires=300
reg_sendregister=1
publish=0
[auth_info_0]
username=$peer
passwd=$SECRET
realm=sipnatd
EOF
	mkfifo "$dir/in"
	exec 6<>"$dir/in"
	HOME=$dir/home ns_bg "$P-phone6" timeout 90 linphonec -a -c "$dir/rc" -d 6 -l "$dir/linphone.log" \
		<&6 >"$dir/phone.log" 2>&1 &
	phone_pid=$!
	printf 'soundcard use files\nplay %s\n' "$work/tone.wav" >&6
}
linphonec_dial() { echo "call $1" >&6; }
linphonec_quit() { echo quit >&6; }

baresip_start() {
	local dir=$1 peer=$2
	cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		[$PHONE6]:5060
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
	echo "<sip:$peer@[$SN6]>;auth_pass=$SECRET;regint=300;answermode=auto" >"$dir/accounts"
	# -6: IPv6 only (baresip 1.0 has no net_prefer_ipv6 yet)
	ns_bg "$P-phone6" timeout 90 baresip -6 -f "$dir" </dev/null >"$dir/phone.log" 2>&1 &
	phone_pid=$!
	exec 6>/dev/null
}
baresip_cons() {
	nsx "$P-phone6" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[1].encode() + b"\n", ("127.0.0.1", 5555))' "$1"
}
baresip_dial() { baresip_cons "/dial $1"; }
baresip_quit() { baresip_cons "/quit"; }

# ---------------------------------------------------------------- windows
windows=() # "phone|call|t0|t1"

window() {
	local t0
	t0=$(now)
	sleep "$WINDOW_S"
	windows+=("$1|$2|$t0|$(now)")
}

# ---------------------------------------------------------------- parts
part_firewall() {
	local before after got
	nsx_bg "$P-lan" python3 "$script_dir/udp_probe.py" echo "$SN6" 5999 "$work/probe.log" 15 \
		>/dev/null 2>&1 &
	pids+=("$!")
	wait_for "$work/probe.log" "listening on" 5 "$!" || {
		fail "firewall: the probe listener did not start"
		return 1
	}
	before=$(netns_firewall6_dropped)
	got=$(nsx "$P-phone6" python3 "$script_dir/udp_probe.py" send "$SN6" 5999 from-internet 2 || true)
	after=$(netns_firewall6_dropped)
	if [[ $got != "no answer" ]] || grep -q "from-internet" "$work/probe.log"; then
		fail "firewall: a probe from the Internet to [$SN6]:5999/udp got through ($got)"
	elif ((after <= before)); then
		fail "firewall: the probe got no answer but the firewall dropped nothing ($before -> $after)"
	else
		# the listener is there: the router itself (not forwarded) reaches it
		got=$(nsx "$P-home" python3 "$script_dir/udp_probe.py" send "$SN6" 5999 from-router 2 || true)
		if [[ $got == answer* ]]; then
			ok "firewall: a probe from the Internet to [$SN6]:5999/udp was dropped (IPv6 FORWARD drops $before -> $after), the listener there answers the router itself"
		else
			fail "firewall: the probe listener on [$SN6]:5999 does not answer the router ($got): the firewall check proves nothing"
		fi
	fi
}

part_ipv4() {
	local dir=$work/ipv4 n
	mkdir -p "$dir"
	mkfifo "$dir/in"
	exec 6<>"$dir/in"
	ns_bg "$P-pub" timeout 30 stdbuf -oL -eL "$PJSUA" --null-audio --no-tcp --no-color \
		--local-port 5060 --bound-addr "$PHONE4" --ip-addr "$PHONE4" --rtp-port 4000 \
		--id "sip:alice@$SITE4" --registrar "sip:$SITE4" \
		--realm '*' --username alice --password "$SECRET" <&6 >"$dir/phone.log" 2>&1 &
	phone_pid=$!
	pids+=("$phone_pid")
	wait_for "$dir/phone.log" "Request msg REGISTER" 10 "$phone_pid" || true
	sleep 4 # the time a reply would take many times over (pjsua retransmits meanwhile)
	n=$(grep -c "TX [0-9]* bytes Request msg REGISTER" "$dir/phone.log" || true)
	echo q >&6
	exec 6>&-
	stop_phone
	if ((n == 0)); then
		fail "ipv4: the IPv4 phone sent no REGISTER to $SITE4"
	elif grep -q "RX [0-9]* bytes Response msg" "$dir/phone.log"; then
		fail "ipv4: the IPv4 phone's REGISTER to $SITE4 got an answer: $(grep -m1 'RX [0-9]* bytes Response msg' "$dir/phone.log")"
	elif grep -qE "siptrace in from 203\.0\.113\." "$work/sipnatd.log"; then
		fail "ipv4: sipnatd saw the IPv4 phone's REGISTER through the CGNAT"
	else
		ok "ipv4: an IPv4 phone on the Internet cannot reach the site: $n REGISTERs to $SITE4 (the carrier's address), no answer, none reached sipnatd"
	fi
}

# sipnatd_heard: what sipnatd's siptrace shows of the IPv6 phone: datagrams
# in from it, and the first lines of what went out to it.
sipnatd_heard() {
	local in out
	in=$(grep -cF "siptrace in from [$PHONE6]" "$work/sipnatd.log" || true)
	out=$(awk -v a="siptrace out to [$PHONE6]" 'index($0, a) { getline; print }' "$work/sipnatd.log" |
		sort | uniq -c | tr -s ' \n' ' ')
	echo "$in datagrams in from [$PHONE6], out to it: ${out:-nothing}"
}

stop_phone() {
	local i
	for ((i = 0; i < 30; i++)); do
		kill -0 "$phone_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$phone_pid" 2>/dev/null || true
	wait "$phone_pid" 2>/dev/null || true
	forget_pid "$phone_pid"
}

# run_phone PHONE: register, call Asterisk, be called.
run_phone() {
	local phone=$1 peer=${peer_of[$1]} dir=$work/$1 line
	mkdir -p "$dir"
	say "$phone as $peer on [$PHONE6]:5060"
	"${phone}_start" "$dir" "$peer"
	pids+=("$phone_pid")
	if wait_for "$work/sipnatd.log" "$peer registered from" 15 "$phone_pid"; then
		line=$(grep -m1 -oE "$peer registered from [^ ]+" "$work/sipnatd.log")
		if [[ $line == *"[$PHONE6]:"* ]]; then
			ok "$phone: registered: sipnatd: $line"
			if ctl registrations | grep -F "$peer" | grep -qF "[$PHONE6]:"; then
				say "$phone: sipnatctl registrations: $(ctl registrations | grep -F "$peer" | tr -s ' ')"
			else
				fail "$phone: sipnatctl registrations does not show $peer at [$PHONE6]: $(ctl registrations 2>&1 | tr '\n' ' ')"
			fi
		else
			fail "$phone: registered, but not from [$PHONE6]: $line"
		fi
	else
		fail "$phone: $peer did not register within 15 s; sipnatd's log: $(sipnatd_heard) (the phone's log: $dir/phone.log)"
		"${phone}_quit" 2>/dev/null || true
		exec 6>&-
		stop_phone
		return 0
	fi

	# the phone calls Asterisk's Echo
	"${phone}_dial" "sip:100@[$SN6]"
	if ast_up 10; then
		window "$phone" "call-out"
		say "$phone: its call to Asterisk's 100 answered, measured ${WINDOW_S} s"
	else
		fail "$phone: its call to 100 was not answered within 10 s"
	fi
	ast_hangup

	# Asterisk calls the phone through sipnatd
	ast "channel originate PJSIP/sipnatd/sip:$peer@$SN4:5060 application Playback $work/tone" >/dev/null
	if ast_up 10; then
		window "$phone" "call-in"
		say "$phone: Asterisk's call to $peer answered, measured ${WINDOW_S} s"
	else
		fail "$phone: Asterisk's call to $peer through sipnatd was not answered within 10 s"
	fi
	ast_hangup

	# sipnatd qualifies the binding (OPTIONS at once, then every
	# qualifyfreq): the phone must have answered
	if wait_for "$work/sipnatd.log" "$peer at [$PHONE6]:5060 is reachable" 3 "$sipnatd_pid"; then
		ok "$phone qualify: $(grep -m1 -oF "$peer at [$PHONE6]:5060 is reachable" "$work/sipnatd.log") (sipnatd's OPTIONS answered)"
	else
		fail "$phone qualify: sipnatd's OPTIONS to $peer at [$PHONE6]:5060 got no answer; what sipnatd sent: $(awk -v a="siptrace out to [$PHONE6]" 'index($0, a) { getline; if ($1 == "OPTIONS") { getline; print; exit } }' "$work/sipnatd.log")"
	fi

	"${phone}_quit" 2>/dev/null || true
	exec 6>&-
	stop_phone
}

# count_windows: the RTP of every window, per direction, from the captures
count_windows() {
	local w phone call t0 t1 f4 expect secs
	tshark -r "$work/wan.pcapng" -Y "ipv6 && udp && !(udp.port == 5060)" -T fields -E separator=' ' \
		-e frame.time_epoch -e ipv6.src -e udp.srcport -e ipv6.dst -e udp.dstport >"$work/wan-rtp.txt" 2>/dev/null || true
	tshark -r "$work/lan.pcapng" -Y "ip && udp && !(udp.port == 5060)" -T fields -E separator=' ' \
		-e frame.time_epoch -e ip.src -e udp.srcport -e ip.dst -e udp.dstport >"$work/lan-rtp.txt" 2>/dev/null || true
	for w in "${windows[@]}"; do
		IFS='|' read -r phone call t0 t1 <<<"$w"
		local up down tolan fromlan
		read -r up down <<<"$(awk -v t0="$t0" -v t1="$t1" -v ph="$PHONE6" -v sn="$SN6" -v s="$RTPSTART" -v e="$RTPEND" '
			$1 >= t0 && $1 < t1 {
				if ($2 == ph && $4 == sn && $5 >= s && $5 <= e && $5 % 2 == 0) up++
				if ($2 == sn && $4 == ph && $3 >= s && $3 <= e && $3 % 2 == 0) down++
			}
			END { printf "%d %d", up, down }' "$work/wan-rtp.txt")"
		read -r tolan fromlan <<<"$(awk -v t0="$t0" -v t1="$t1" -v sn="$SN4" -v pbx="$PBX_IP" -v s="$RTPSTART" -v e="$RTPEND" '
			$1 >= t0 && $1 < t1 {
				if ($2 == sn && $4 == pbx && $3 >= s && $3 <= e && $3 % 2 == 0) tolan++
				if ($2 == pbx && $4 == sn && $5 >= s && $5 <= e && $5 % 2 == 0) fromlan++
			}
			END { printf "%d %d", tolan, fromlan }' "$work/lan-rtp.txt")"
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		expect=$(awk -v a="$t0" -v b="$t1" -v r="$PKT_RATE" -v m="$MIN_SHARE" 'BEGIN { printf "%d", (b - a) * r * m / 100 }')
		f4="${secs}s: WAN (IPv6) phone->relay $up, relay->phone $down; LAN (IPv4) relay->Asterisk $tolan, Asterisk->relay $fromlan (need >= $expect each)"
		if ((up >= expect && down >= expect && tolan >= expect && fromlan >= expect)); then
			ok "$phone $call: audio: $f4"
		else
			fail "$phone $call: too few RTP packets: $f4"
			results+=("$phone $call|FAILED: $f4")
		fi
	done
}

# check_digest: on the WAN, each phone's REGISTER was challenged (401) and,
# sent again with its Authorization, accepted (200)
check_digest() {
	local phone peer c401 c200 cauth
	tshark -r "$work/wan.pcapng" -Y 'sip.CSeq.method == "REGISTER"' -T fields -E separator='|' \
		-e sip.from.user -e sip.Status-Code -e sip.Authorization >"$work/wan-register.txt" 2>/dev/null || true
	for phone in "${phones[@]}"; do
		peer=${peer_of[$phone]}
		c401=$(awk -F'|' -v u="$peer" '$1 == u && $2 == 401' "$work/wan-register.txt" | wc -l)
		c200=$(awk -F'|' -v u="$peer" '$1 == u && $2 == 200' "$work/wan-register.txt" | wc -l)
		cauth=$(awk -F'|' -v u="$peer" '$1 == u && $2 == "" && $3 ~ /Digest/' "$work/wan-register.txt" | wc -l)
		if ((c401 > 0 && c200 > 0 && cauth > 0)); then
			ok "$phone digest: on the WAN: $c401 REGISTER challenged 401, $cauth sent with Digest credentials, $c200 answered 200"
		else
			fail "$phone digest: on the WAN: $c401 REGISTER challenged 401, $cauth with Digest credentials, $c200 answered 200"
		fi
	done
}

# check_families: what sipnatd wrote toward each side
check_families() {
	local rc=0 out
	tshark -r "$work/wan.pcapng" -Y "ipv6.src == $SN6 && udp.srcport == 5060" -T fields -E separator='|' \
		-e ipv6.src -e udp.srcport -e ipv6.dst -e udp.dstport -e udp.payload >"$work/wan-sip.txt" 2>/dev/null || true
	tshark -r "$work/lan.pcapng" -Y "ip.src == $SN4 && ip.dst == $PBX_IP && udp.dstport == 5060" -T fields -E separator='|' \
		-e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.payload >"$work/lan-sip.txt" 2>/dev/null || true
	out=$(python3 "$script_dir/sip_family_check.py" 6 "toward the IPv6 phones" <"$work/wan-sip.txt") || rc=1
	printf '%s\n' "$out" | sed 's/^/    /'
	if ((rc)); then
		fail "families: sipnatd wrote IPv4 (or nothing) toward the IPv6 phones (above)"
	else
		ok "families: toward the IPv6 phones: $(printf '%s\n' "$out" | tail -n 1)"
	fi
	rc=0
	out=$(python3 "$script_dir/sip_family_check.py" 4 "toward Asterisk" <"$work/lan-sip.txt") || rc=1
	printf '%s\n' "$out" | sed 's/^/    /'
	if ((rc)); then
		fail "families: sipnatd wrote IPv6 (or nothing) toward Asterisk (above)"
	else
		ok "families: toward Asterisk: $(printf '%s\n' "$out" | tail -n 1)"
	fi
}

# ---------------------------------------------------------------- main
netns_setup "$P" preserving cgnat6
netns_firewall6_open udp 5060 "$RTPSTART:$RTPEND"
work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-cgnat6.XXXXXX")
adir=$work/ast
make_tone
say "network: site IPv4 behind the home NAT and the carrier's ($SITE4), IPv6 $NETNS6_SITE routed, firewall open to [$SN6] 5060/udp and $RTPSTART-$RTPEND/udp"
netns_capture "$P-home" wan "$work/wan.pcapng" 170 "udp" || fail "tshark did not start on the home router's WAN"
netns_capture "$P-pbx" eth0 "$work/lan.pcapng" 170 "udp" || fail "tshark did not start on the PBX's link"

part_firewall || true
if sipnatd_start && ast_start; then
	part_ipv4 || true
	for phone in "${phones[@]}"; do
		run_phone "$phone"
	done
fi
ast_stop
if [[ -n ${sipnatd_pid:-} ]]; then
	kill -TERM "$sipnatd_pid" 2>/dev/null || true
	rc=0
	wait "$sipnatd_pid" 2>/dev/null || rc=$?
	forget_pid "$sipnatd_pid"
	((rc == 0)) || fail "sipnatd exited with status $rc on SIGTERM"
fi
stop_pids # the captures
if ((${#windows[@]})); then
	count_windows
fi
if [[ -s $work/wan.pcapng && -n ${sipnatd_ok:-} ]]; then
	check_digest
	check_families
fi
errs='^[0-9-]+ [0-9:.]+ error:|AddressSanitizer|LeakSanitizer|runtime error'
if [[ -s $work/sipnatd.log ]] && grep -qE "$errs" "$work/sipnatd.log"; then
	fail "sipnatd logged errors: $(grep -m3 -E "$errs" "$work/sipnatd.log")"
fi
# every phone made both calls
for phone in "${phones[@]}"; do
	for call in call-out call-in; do
		printf '%s\n' "${windows[@]}" | grep -q "^$phone|$call|" || fail "$phone $call: no call, no audio measured"
	done
done

echo "summary:"
for r in "${results[@]}"; do
	IFS='|' read -r a b <<<"$r"
	printf '  %-22s %s\n' "$a" "$b"
done
if ((failed)); then
	exit 1
fi
say "PASS"
