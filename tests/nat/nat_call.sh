#!/bin/bash
# NAT test (design section 11; issue 10): the real sipnatd behind a
# port-forwarding home router, a phone behind its own NAT; the phone registers
# with digest, calls the PBX, and the PBX calls it back through the
# registration, with RTP both ways through sipnatd's relay and both NATs.
#
# The network is tests/nat/netns.sh's, under the prefix snat:
#   snat-phone           snat-phone-nat              snat-inet       snat-home                snat-lan / snat-pbx
#   phone               phone's NAT                "Internet"     home router             sipnatd / PBX
#   198.51.100.5 ---- 198.51.100.1 | 203.0.113.50 --- br0 --- 203.0.113.1 | 192.0.2.1 ---- 192.0.2.10
#                     MASQUERADE [--random]                   DNAT 5060, 10000-11000  `-- 192.0.2.20
#   snat-pub: a public phone, 203.0.113.80, on br0 (no NAT)    to 192.0.2.10; MASQUERADE
#
# The whole run is a matrix of variants, each with a fresh sipnatd, the same
# registration and the same two calls, and the same checks:
#   NAT kind     symmetric (MASQUERADE --random: a new port per flow) and
#                preserving (MASQUERADE: the phone's own port, replies only)
#   peer alice   written as the "Simple NAT Traversal" recipe writes it
#                (nat = "force_rport"; qualify = true; directmedia = false;),
#                with sipnatd's default nat, with "force_rport,comedia" and
#                with "auto" (Asterisk 13's auto_force_rport);
#                and, once, a public phone that tells the truth in its SDP
#                with nat = "no" (sipnatd -t must warn about that setting).
# A phone behind NAT must get audio both ways in every variant: sipnatd sees
# it is behind NAT (its Via, Contact and SDP are not where it sends from) and
# latches its media whatever nat says (issue 10). The public phone with
# nat = "no" gets its media sent where its SDP says.
#
# sipnatd runs with allowguest = false and one peer, alice.
# Registration: REGISTER -> 401 -> REGISTER with digest -> 200 listing the
#         phone's own Contact; sipnatd keeps the NAT address in the binding and
#         pings the phone there (OPTIONS, answered by sipp -aa).
# Call 1: the phone calls 203.0.113.1:5060: INVITE -> 407 -> ACK -> INVITE
#         with credentials -> 180/200 -> ACK; RTP both ways; a re-INVITE from
#         the PBX to the Contact sipnatd gave it (the PBX -> phone direction
#         in the dialog, through sipnatd's token); the phone hangs up.
# Call 2: the PBX sends INVITE sip:alice@192.0.2.10:5060 to sipnatd, which
#         sends it to the binding's NAT address with the registered Contact
#         as Request-URI; the phone answers; RTP both ways; the PBX hangs up.
# Media: rtp_peer.py on each side sends 100 RTP packets of 172 bytes (20 ms
#         apart) from the port its SDP names to the relay address that the
#         SDP it received names (its sipp scenario hands that over), the PBX
#         once the phone's first packet has arrived (the relay forwards to the
#         phone only once it has latched onto it), and counts what arrives.
# The sipp scenarios next to this script hold what each side checks (SIP
# headers and SDP), written for the phone behind the symmetric NAT; each
# variant gets a copy with its phone's addresses and rport. This script adds
# the cross-checks (the rport both sides saw is the port the phone's NAT
# really chose, and it is where sipnatd sent the registration's pings and the
# PBX's call), the media counts against sipnatd's own and its reason for any
# dropped packet, and what crossed the home router's WAN (tshark,
# wire_check.py): the media both ways, packet by packet.
#
# usage: nat_call.sh SIPNATD_BINARY [SCENARIO_DIR]
#        NAT_TEST_KEEP=1 keeps the logs, the sipp message traces and captures;
#        NAT_TEST_ONLY="KIND:PHONE:NAT ..." runs only those variants
#        (e.g. "symmetric:natted:recipe preserving:public:no");
#        NAT_TEST_PREFIX=P runs under namespace prefix P instead of snat;
#        NAT_TEST_PORTMAP=upnp|natpmp|pcp|auto: a home router without
#        forwards, running miniupnpd, and sipnatd with that general.portmap
#        and externip = "auto" (tests/nat/portmap.sh): everything from the
#        Internet reaches sipnatd through mappings it made itself, a
#        100-port pool; after SIGTERM miniupnpd must hold none of them.
# exit:  0 pass, 1 fail, 77 skipped (not root, or a tool is missing).
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
sipnatd=${1:?usage: nat_call.sh SIPNATD_BINARY [SCENARIO_DIR]}
scen_src=${2:-$script_dir}

# shellcheck source=SCRIPTDIR/netns.sh
. "$script_dir/netns.sh"
netns_require sipp timeout python3 tshark ss
if [[ ! -x $sipnatd ]]; then
    echo "FAIL: no sipnatd binary at $sipnatd" >&2
    exit 1
fi

readonly PREFIX=${NAT_TEST_PREFIX:-snat}
readonly PORTMAP=${NAT_TEST_PORTMAP:-}
readonly PUBLIC=$NETNS_PUBLIC SIPNATD_IP=$NETNS_SIPNATD PBX_IP=$NETNS_PBX
readonly RTPSTART=$NETNS_RTPSTART RTP_COUNT=100
if [[ -n $PORTMAP ]]; then
    readonly RTPEND=$((NETNS_RTPSTART + 99)) # mapped port by port
    netns_require miniupnpd iptables-legacy
else
    readonly RTPEND=$NETNS_RTPEND
fi
top=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-nat.XXXXXX")
work=$top
failed=0
failed_variants=()
summary=()
started=$SECONDS

say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
    echo "FAIL: [${variant:-setup}] $*" >&2
    failed=1
}

show_logs() {
    local d f
    for d in "$@"; do
        [[ -d $d ]] || continue
        for f in "$d"/*.err "$d"/*.out "$d"/*.msg "$d"/sipnatd.log; do
            [[ -s $f ]] || continue
            echo "----- ${d##*/}/${f##*/} (last 150 lines)"
            tail -n 150 "$f"
        done
    done
}

# Called by netns_cleanup (EXIT) before the processes and namespaces go.
netns_cleanup_hook() {
    local rc=$1
    stop_pids
    ((rc == 0)) || show_logs "${failed_variants[@]}"
    if [[ ${NAT_TEST_KEEP:-0} == 1 ]]; then
        echo "logs kept in $top"
    else
        rm -rf -- "$top"
    fi
    say "cleaned up"
}

# The printable text of a base32 token (sipnatd's snt= and sealed branches).
b32_text() {
    local t=${1^^} pad
    printf -v pad '%*s' $(((8 - ${#t} % 8) % 8)) ''
    printf '%s%s' "$t" "${pad// /=}" | base32 -d 2>/dev/null | tr -c '[:print:]' '.' || true
}

# sipp_verdict NAME RC: the verdict on one sipp run, as an exit status. A
# UAS scenario ends with sipp's stop_now, whose exit status is 97: that counts
# as success here (such a side is started without -m, so that a qualify ping,
# which a sipp UAS takes for a new call, cannot take the place of the call).
# But a failed check does not stop a sipp call, it only marks it failed, and
# stop_now does not look: so for every sipp, a check that failed in its error
# file is a failure whatever its exit status.
sipp_verdict() {
    local name=$1 rc=$2
    ((rc != 97)) || rc=0
    if ((rc == 0)) && grep -qE 'Failed regexp match|Regexp matched but should not|regexp match failure|regexp matched, but|regexp header not found|with check_it' \
        "$work/$name.err" 2>/dev/null; then
        rc=1
    fi
    echo "$rc"
}

# wait_pair PID_A NAME_A PID_B NAME_B: wait for both sipps, setting pair_rc
# (their verdicts); when one fails the other is stopped (it would only wait
# for its timeout).
wait_pair() {
    local pair=("$1" "$3") names=("$2" "$4") i rc
    pair_rc=("" "")
    while [[ -z ${pair_rc[0]} || -z ${pair_rc[1]} ]]; do
        for i in 0 1; do
            [[ -z ${pair_rc[i]} ]] || continue
            kill -0 "${pair[i]}" 2>/dev/null && continue
            rc=0
            wait "${pair[i]}" || rc=$?
            rc=$(sipp_verdict "${names[i]}" "$rc")
            pair_rc[i]=$rc
            forget_pid "${pair[i]}"
            if ((rc != 0)) && [[ -z ${pair_rc[1 - i]} ]]; then
                kill -TERM "${pair[1 - i]}" 2>/dev/null || true
            fi
        done
        sleep 0.1
    done
}

# sipp_run NS IP NAME SCENARIO [ARGS...]: one sipp in the background
# (sipp_pid), its traces under NAME in $work. -aa answers sipnatd's pings.
sipp_run() {
    local ns=$1 ip=$2 name=$3 sf=$4
    shift 4
    nsx_bg "$ns" timeout 25 sipp -sf "$scen/$sf" -i "$ip" -p 5060 -aa "${common_sipp[@]}" \
        -error_file "$work/$name.err" -message_file "$work/$name.msg" "$@" \
        >"$work/$name.out" 2>&1 &
    sipp_pid=$!
    pids+=("$sipp_pid")
}

# media_start CALL SIDE NS BIND PEER_SIDE FIRST_SEQ PEER_FIRST_SEQ [ARGS...]:
# rtp_peer.py for one side of a call, listening before the call starts; its
# target comes from the sipp scenario through $work/CALL-SIDE.target.
media_start() {
    local call=$1 side=$2 ns=$3 bind=$4 peer=$5 seq=$6 peer_seq=$7 pid
    shift 7
    nsx_bg "$ns" timeout 20 python3 "$script_dir/rtp_peer.py" --name "$side" --peer "$peer" \
        --bind "$bind" --target-file "$work/$call-$side.target" --result "$work/$call-$side.result" \
        --count "$RTP_COUNT" --first-seq "$seq" --peer-first-seq "$peer_seq" --max-time 15 "$@" \
        >"$work/$call-$side-rtp.out" 2>&1 &
    pid=$!
    pids+=("$pid")
    media_pids+=("$pid")
    if ! wait_for "$work/$call-$side-rtp.out" "listening on" 5 "$pid"; then
        fail "$call: the $side's media sender did not start: $(cat "$work/$call-$side-rtp.out")"
    fi
}

# media_wait: wait for the media senders of the call (they stop by themselves).
media_wait() {
    local pid
    for pid in "${media_pids[@]}"; do
        wait "$pid" || fail "the media sender $pid failed (exit $?)"
        forget_pid "$pid"
    done
    media_pids=()
}

# media_check CALL SIDE FROM_SIDE EXPECTED_TARGET_IP: what SIDE got from FROM_SIDE.
# At least 90 % of the packets; the phone's first 3 feed the relay's latch
# (it locks on the 4th of a run with consecutive sequence numbers and
# forwards from there on), so the PBX sees 97 of them when nothing is lost.
declare -A media_got
media_check() {
    local call=$1 side=$2 from=$3 want_ip=$4 r fields
    r=$work/$call-$side.result
    if [[ ! -s $r ]]; then
        fail "$call: no media result from the $side's side"
        return 0
    fi
    fields=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("|".join(str(r[k]) for k in ("sent", "received", "first_index", "duplicates", "foreign", "target")))
print(" ".join(map(str, r["missing"])) or "none")
print(r["foreign_examples"])' "$r" 2>&1) || {
        fail "$call: unreadable media result from the $side's side: $fields"
        return 0
    }
    local sent received first dups foreign target missing examples
    {
        IFS='|' read -r sent received first dups foreign target
        read -r missing
        read -r examples
    } <<<"$fields"
    media_got[$call-$side]=$received
    say "$call: $from -> $side: $received of $RTP_COUNT RTP packets (first: #$first; $side sent $sent to $target; duplicates $dups, strangers $foreign)"
    ((sent == RTP_COUNT)) || fail "$call: the $side sent $sent of $RTP_COUNT packets (no target in time?)"
    [[ ${target%:*} == "$want_ip" ]] || fail "$call: the $side was told to send its media to $target, not to $want_ip"
    ((received * 10 >= RTP_COUNT * 9)) ||
        fail "$call: the $side got only $received of the $from's $RTP_COUNT packets (missing: $missing)"
    ((foreign == 0)) || fail "$call: the $side got $foreign packets that were not the $from's from $target: $examples"
    ((dups == 0)) || fail "$call: the $side got $dups duplicate packets"
    return 0
}

# relay_log CALL_ID: "port in out dropped" from sipnatd's line at the call's end.
relay_log() {
    sed -nE "s/.*call $1 ended \([A-Z]+\): relay port ([0-9]+), packets ([0-9]+) in \/ ([0-9]+) out, ([0-9]+) dropped.*/\1 \2 \3 \4/p" \
        "$work/sipnatd.log" | head -n 1
}

# call_id_of MSG_LOG: the Call-ID of the first INVITE in a sipp message log.
call_id_of() {
    awk '/^INVITE / { inv = 1 } inv && tolower($0) ~ /^call-id:/ { sub(/^[^:]*: */, ""); sub(/\r$/, ""); print; exit }' "$1"
}

# The value of a Via parameter in the first message of a sipp message log that
# matches FIRST_LINE_RE, on the Via line that matches VIA_RE.
sip_via_param() {
    local log=$1 first_line=$2 via_re=$3 param=$4
    awk -v first="$first_line" -v via="$via_re" -v p="$param" '
        /^(UDP message received|UDP message sent)/ { inmsg = 1; start = 1; next }
        inmsg && start && NF { start = 0; cur = ($0 ~ first) }
        cur && tolower($0) ~ /^via:/ && $0 ~ via {
            if (match($0, ";" p "=[^;, \r]*")) { print substr($0, RSTART + length(p) + 2, RLENGTH - length(p) - 2); exit }
        }' "$log"
}

# The m=audio ports in the messages a side received, in order.
sdp_ports() {
    awk '/^(UDP message received)/ { rx = 1; next } /^(UDP message sent)/ { rx = 0; next }
         rx && /^m=audio / { print $2 }' "$1" | tr '\n' ' '
}

# first_challenge MSG_LOG HEADER WHAT: the first challenge the phone got is
# MD5's (most phones speak nothing else; sipp answers the first one).
first_challenge() {
    local line
    line=$(grep -m1 -i "^$2:" "$1" || true)
    if [[ $line =~ algorithm=\"?MD5\"?(,|[[:space:]]*$) ]]; then
        say "$3: the first challenge ($2) is MD5's"
    else
        fail "$3: the first $2 is not an MD5 challenge: ${line:-none}"
    fi
}

media_pids=()

# make_scenarios DIR: the sipp scenarios for this variant's phone: its own
# address and its NAT's in every check, and the rport it must be told (a new
# port of a symmetric NAT; its own port 5060 behind a port-preserving NAT or
# without NAT).
make_scenarios() {
    local dir=$1 f phone_re nat_re
    mkdir -p "$dir"
    phone_re=${PHONE//./\\\\.}
    nat_re=${PHONE_NAT//./\\\\.}
    for f in "$scen_src"/*.xml; do
        if ((RPORT_ASKED_ONLY)); then
            # the INVITE's Via has no rport, so none comes back (the
            # REGISTER asks for it and gets it)
            sed -e '/assign_to="v3"/s/regexp="rport=[^"]*"/regexp="^([^r]|r[^p]|rp[^o]|rpo[^r]|rpor[^t])*$"/' \
                -e '/assign_to="v3"/s/\[\[:print:\]\]\*rport=\[0-9\]+/([^r[:cntrl:]]|r[^p])*[[:cntrl:]]/' \
                "$f" >"$dir/${f##*/}.tmp"
        else
            cp "$f" "$dir/${f##*/}.tmp"
        fi
        sed -e "s/198\\\\\.51\\\\\.100\\\\\.5:/$phone_re:/g" \
            -e "s/received=203\\\\\.0\\\\\.113\\\\\.50/received=$nat_re/g" \
            -e "s/rport=(\[1-46-9\]\[0-9\]\*|5|5\[1-9\]\[0-9\]\*|50|50\[0-57-9\]\[0-9\]\*|506|506\[1-9\]\[0-9\]\*|5060\[0-9\]+)/$RPORT_RE/g" \
            "$dir/${f##*/}.tmp" >"$dir/${f##*/}"
        rm -f "$dir/${f##*/}.tmp"
    done
}

# peer_line NAT: alice's entry in sipnatd.conf for this variant.
peer_line() {
    case $1 in
    recipe) echo '{ name = "alice"; secret = "s3cret"; nat = "force_rport"; qualify = true; directmedia = false; }' ;;
    default) echo '{ name = "alice"; secret = "s3cret"; qualifyfreq = 5; }' ;;
    both) echo '{ name = "alice"; secret = "s3cret"; nat = "force_rport,comedia"; qualifyfreq = 5; }' ;;
    auto) echo '{ name = "alice"; secret = "s3cret"; nat = "auto"; qualifyfreq = 5; }' ;;
    no) echo '{ name = "alice"; secret = "s3cret"; nat = "no"; qualifyfreq = 5; }' ;;
    esac
}

# run_variant KIND PHONE NAT: one sipnatd, the registration and both calls.
run_variant() {
    local kind=$1 phone_kind=$2 natv=$3 ns
    variant="$kind:$phone_kind:$natv"
    local failed_before=$failed
    failed=0
    work=$top/${variant//:/-}
    mkdir -p "$work"
    if [[ $phone_kind == public ]]; then
        PHONE=$NETNS_PUB_PHONE PHONE_NAT=$NETNS_PUB_PHONE PHONE_NS=$PREFIX-pub
    else
        PHONE=$NETNS_PHONE PHONE_NAT=$NETNS_PHONE_NAT PHONE_NS=$PREFIX-phone
    fi
    # A phone that does not ask for rport (the call's INVITE) is told it
    # only when its nat forces it: nat = "no" answers on its Via port.
    RPORT_ASKED_ONLY=0
    if [[ $kind == symmetric && $phone_kind == natted ]]; then
        RPORT_RE='rport=([1-46-9][0-9]*|5|5[1-9][0-9]*|50|50[0-57-9][0-9]*|506|506[1-9][0-9]*|5060[0-9]+)'
    else
        RPORT_RE='rport=5060'
    fi
    [[ $natv != no ]] || RPORT_ASKED_ONLY=1
    scen=$work/scen
    make_scenarios "$scen"
    say "==== variant $variant: phone $PHONE (seen as $PHONE_NAT), alice: $(peer_line "$natv")"

    if [[ -n $PORTMAP ]]; then
        public_side="externip = \"auto\"; portmap = \"$PORTMAP\"; portmaplease = 60;"
    else
        public_side="externip = \"$PUBLIC\";"
    fi
    cat >"$work/sipnatd.conf" <<EOF
general: {
  bindaddr = "$SIPNATD_IP"; bindport = 5060;
  $public_side
  localnet = [ "192.0.2.0/24" ];
  pbx = "$PBX_IP:5060";
  allowguest = false;
  statefile = "$work/registrations"; control = "$work/control";
};
rtp: { rtpstart = $RTPSTART; rtpend = $RTPEND; };
peers: (
  $(peer_line "$natv")
);
logging: { level = "debug"; siptrace = true; };
EOF
    if ! "$sipnatd" -t -c "$work/sipnatd.conf" >"$work/conftest.out" 2>&1; then
        cat "$work/conftest.out" >&2
        echo "FAIL: sipnatd rejects the test configuration" >&2
        exit 1
    fi
    # sipnatd -t says which peer settings cannot work behind NAT (issue 10)
    if [[ $natv == no ]]; then
        if grep -q "peers.alice: warning: nat without force_rport" "$work/conftest.out"; then
            say "sipnatd -t warns: $(grep -m1 'warning:' "$work/conftest.out")"
        else
            fail "sipnatd -t gave no warning for nat = \"no\": $(cat "$work/conftest.out")"
        fi
    elif grep -q "warning:" "$work/conftest.out"; then
        fail "sipnatd -t warns about a setting that works behind NAT: $(grep -m1 'warning:' "$work/conftest.out")"
    fi

    capture=""
    if netns_capture "$PREFIX-home" wan "$work/home-wan.pcapng" 60 \
        "udp port 5060 or udp portrange $RTPSTART-$RTPEND"; then
        capture=$work/home-wan.pcapng
    else
        fail "tshark did not start on the home router's WAN"
    fi

    # sipnatd qualifies the PBX with OPTIONS from its first moment; the PBX answers
    # that ping before the calls (the next one is due 30 s later, after the test;
    # should it come earlier, the PBX's sipp answers it with -aa).
    common_sipp=(-timeout 15s -nostdin -trace_err -trace_msg)
    nsx_bg "$PREFIX-pbx" timeout 20 sipp -sf "$scen/pbx_qualify_uas.xml" -i "$PBX_IP" -p 5060 -m 1 "${common_sipp[@]}" \
        -error_file "$work/qualify-pbx.err" -message_file "$work/qualify-pbx.msg" \
        >"$work/qualify-pbx.out" 2>&1 &
    qualify_uas=$!
    pids+=("$qualify_uas")
    if ! wait_udp "$PREFIX-pbx" "$PBX_IP:5060" 5; then
        echo "FAIL: the PBX's sipp did not start" >&2
        exit 1
    fi

    say "starting sipnatd in $PREFIX-lan"
    # --foreground: timeout passes a SIGTERM on to sipnatd once (without it, it
    # also signals its process group, so sipnatd would get a second SIGTERM while
    # it shuts down).
    nsx_bg "$PREFIX-lan" timeout --foreground 60 "$sipnatd" -f -c "$work/sipnatd.conf" >"$work/sipnatd.log" 2>&1 &
    sipnatd_pid=$!
    pids+=("$sipnatd_pid")
    if ! wait_for "$work/sipnatd.log" "listening on" 10 "$sipnatd_pid"; then
        cat "$work/sipnatd.log" >&2
        echo "FAIL: sipnatd did not start" >&2
        exit 1
    fi
    if [[ -n $PORTMAP ]]; then
        # nothing from the Internet gets in before sipnatd's own mappings
        if wait_for "$work/sipnatd.log" "portmap: mapped UDP 5060" 15 "$sipnatd_pid"; then
            rules=$(netns_miniupnpd_rules)
            n=$(awk -v to="$SIPNATD_IP" -v lo="$RTPSTART" -v hi="$RTPEND" \
                '$2 == to && ($1 == 5060 || ($1 >= lo && $1 <= hi))' <<<"$rules" | wc -l)
            if ((n == RTPEND - RTPSTART + 2)); then
                say "portmap: sipnatd mapped 5060 and $RTPSTART-$RTPEND on the router (miniupnpd holds $n forwards to $SIPNATD_IP)"
            else
                fail "portmap: miniupnpd holds $n of the $((RTPEND - RTPSTART + 2)) forwards sipnatd asked for: $(tr '\n' ' ' <<<"$rules")"
            fi
        else
            fail "portmap: sipnatd did not map its ports on the router: $(grep -m3 'portmap' "$work/sipnatd.log" | tr '\n' ' ')"
        fi
        grep -qF "external address from the router: $PUBLIC" "$work/sipnatd.log" ||
            fail "portmap: sipnatd did not take $PUBLIC from the router as its external address"
    fi
    rc=0
    wait "$qualify_uas" || rc=$?
    forget_pid "$qualify_uas"
    rc=$(sipp_verdict qualify-pbx "$rc")
    if ((rc != 0)); then
        fail "the PBX did not get (or did not like) sipnatd's qualify ping (sipp exit $rc)"
    elif wait_for "$work/sipnatd.log" "PBX at $PBX_IP:5060 is reachable" 3 "$sipnatd_pid"; then
        say "sipnatd pinged the PBX, which answered; sipnatd marked it reachable"
    else
        fail "sipnatd did not take the PBX's 200 to its qualify OPTIONS: $(grep -m1 'response from' "$work/sipnatd.log" || echo 'no log line about it')"
    fi
    if ((failed)); then
        # sipnatd keeps retransmitting that ping (T1 doubling, for 32 s). Drop
        # them at the PBX so that the calls can still be checked (the test fails
        # all the same).
        nsx "$PREFIX-pbx" iptables -A INPUT -p udp -s "$SIPNATD_IP" --dport 5060 \
            -m string --algo bm --string "OPTIONS sip:$PBX_IP:5060 SIP/2.0" -j DROP
        say "note: further qualify OPTIONS to the PBX are dropped at the PBX for the calls"
    fi

    # ---------------------------------------------------------------- registration
    say "registration: alice registers from behind her NAT with digest"
    sipp_run "$PHONE_NS" "$PHONE" register phone_register.xml -m 1 -au alice -ap s3cret "$PUBLIC:5060"
    reg_pid=$sipp_pid
    rc=0
    wait "$reg_pid" || rc=$?
    forget_pid "$reg_pid"
    rc=$(sipp_verdict register "$rc")
    nat_port=$(sip_via_param "$work/register.msg" '^SIP/2\.0 200' "$PHONE:5060" rport || true)
    if ((rc != 0)); then
        fail "registration: the phone's side failed (sipp exit $rc; see register.err)"
    elif [[ -z $nat_port ]]; then
        fail "registration: the 200 gave no rport"
    elif [[ $RPORT_RE == rport=5060 && $nat_port != 5060 ]]; then
        fail "registration: the 200 gave rport=$nat_port, but the phone's port 5060 is kept (no NAT, or a port-preserving one)"
    elif [[ $RPORT_RE != rport=5060 && $nat_port == 5060 ]]; then
        fail "registration: the 200 gave rport=5060, not a randomised port of the phone's NAT"
    else
        say "registration: 401, then 200 with the phone's own Contact; its NAT mapped $PHONE:5060 to $PHONE_NAT:$nat_port"
        first_challenge "$work/register.msg" WWW-Authenticate registration
        if grep -qF "alice registered from $PHONE_NAT:$nat_port" "$work/sipnatd.log"; then
            say "registration: sipnatd bound alice at the NAT address $PHONE_NAT:$nat_port"
        else
            fail "registration: no 'alice registered from $PHONE_NAT:$nat_port' in sipnatd's log: $(grep -m1 'registered from' "$work/sipnatd.log" || echo none)"
        fi
        # sipnatd pings the new binding at once: through the phone's NAT, to
        # the registered Contact; sipp -aa answered it.
        if grep -q "^OPTIONS sip:alice@${PHONE//./\\.}:5060;line=abc SIP/2\\.0" "$work/register.msg" &&
            wait_for "$work/sipnatd.log" "alice at $PHONE_NAT:$nat_port is reachable" 3 "$sipnatd_pid"; then
            say "registration: sipnatd pinged alice's Contact through her NAT; the phone answered; marked reachable"
        else
            fail "registration: no qualify ping reached the phone at its Contact, or sipnatd did not mark alice reachable at $PHONE_NAT:$nat_port"
        fi
    fi

    variant_media=""
    # ---------------------------------------------------------------- call 1
    say "call 1: phone -> PBX with digest, RTP both ways, PBX re-INVITE, phone hangs up"
    media_start call1 phone "$PHONE_NS" "$PHONE:4000" pbx 65534 1000
    media_start call1 pbx "$PREFIX-pbx" "$PBX_IP:20000" phone 1000 65534 --wait-first
    sipp_run "$PREFIX-pbx" "$PBX_IP" call1-pbx call1_pbx_uas.xml -key media "$work/call1-pbx.target"
    uas=$sipp_pid
    if wait_udp "$PREFIX-pbx" "$PBX_IP:5060" 5; then
        # sipp's digest uri= is remote_ip:remote_port unless told; sipnatd
        # wants the Request-URI there (RFC 7616 3.4.6), as real phones send
        sipp_run "$PHONE_NS" "$PHONE" call1-phone call1_phone_uac.xml -m 1 -au alice -ap s3cret \
            -auth_uri "100@$PUBLIC:5060" -key media "$work/call1-phone.target" "$PUBLIC:5060"
        uac=$sipp_pid
        wait_pair "$uas" call1-pbx "$uac" call1-phone
        ((pair_rc[1] == 0)) || fail "call1: the phone's side failed (sipp exit ${pair_rc[1]}; see call1-phone.err)"
        ((pair_rc[0] == 0)) || fail "call1: the PBX's side failed (sipp exit ${pair_rc[0]}; see call1-pbx.err)"
        ((pair_rc[0] || pair_rc[1])) || say "call1: both sides passed their checks (SIP and SDP)"
    else
        fail "call1: the PBX's sipp did not start"
    fi
    media_wait
    first_challenge "$work/call1-phone.msg" Proxy-Authenticate call1
    media_check call1 pbx phone "$SIPNATD_IP"
    media_check call1 phone pbx "$PUBLIC"

    # ---------------------------------------------------------------- call 2
    say "call 2: PBX -> alice through her registration, RTP both ways, PBX hangs up"
    media_start call2 phone "$PHONE_NS" "$PHONE:4010" pbx 30000 2000
    media_start call2 pbx "$PREFIX-pbx" "$PBX_IP:20010" phone 2000 30000 --wait-first
    sipp_run "$PHONE_NS" "$PHONE" call2-phone call2_phone_uas.xml -key media "$work/call2-phone.target"
    uas=$sipp_pid
    if wait_udp "$PHONE_NS" "$PHONE:5060" 5; then
        sipp_run "$PREFIX-pbx" "$PBX_IP" call2-pbx call2_pbx_uac.xml -m 1 -key media "$work/call2-pbx.target" "$SIPNATD_IP:5060"
        uac=$sipp_pid
        wait_pair "$uas" call2-phone "$uac" call2-pbx
        ((pair_rc[0] == 0)) || fail "call2: the phone's side failed (sipp exit ${pair_rc[0]}; see call2-phone.err)"
        ((pair_rc[1] == 0)) || fail "call2: the PBX's side failed (sipp exit ${pair_rc[1]}; see call2-pbx.err)"
        ((pair_rc[0] || pair_rc[1])) || say "call2: both sides passed their checks (SIP and SDP)"
    else
        fail "call2: the phone's sipp did not start"
    fi
    media_wait
    media_check call2 pbx phone "$SIPNATD_IP"
    media_check call2 phone pbx "$PUBLIC"

    # ---------------------------------------------------------------- cross-checks
    # The port the phone's NAT chose, as both ends were told it in call 1.
    seen_phone=$(sip_via_param "$work/call1-phone.msg" '^SIP/2\.0 200' "$PHONE:5060" rport || true)
    seen_pbx=$(sip_via_param "$work/call1-pbx.msg" '^INVITE ' "$PHONE:5060" rport || true)
    if ((RPORT_ASKED_ONLY)); then
        # (the phone's scenario checked the 200 to its INVITE: no rport;
        # its BYE, in the dialog, is answered by the global rule)
        if [[ -n $seen_pbx ]]; then
            fail "call1: nat = \"no\" and an INVITE without rport, yet the PBX saw rport=$seen_pbx in its Via"
        else
            say "call1: nat = \"no\": the INVITE asked no rport and got none (answers to its Via port)"
        fi
        seen_phone=$nat_port
    elif [[ -z $seen_phone || -z $seen_pbx ]]; then
        fail "call1: no rport found (phone saw '${seen_phone}', PBX saw '${seen_pbx}')"
    elif [[ $seen_phone != "$seen_pbx" ]]; then
        fail "call1: the phone was told rport=$seen_phone, the PBX rport=$seen_pbx"
    elif [[ $seen_phone == 5060 && $RPORT_RE != rport=5060 ]]; then
        fail "call1: rport=5060: the phone's NAT did not randomise the port, or sipnatd did not look"
    elif [[ -n $nat_port && $seen_phone != "$nat_port" ]]; then
        fail "call1: rport=$seen_phone, but the registration's was $nat_port (the NAT mapping changed?)"
    else
        say "call1: the phone's NAT mapped $PHONE:5060 to $PHONE_NAT:$seen_phone (rport at both ends, as at the registration)"
    fi
    [[ -n $nat_port ]] || nat_port=$seen_phone

    # Call 2 went to the binding's NAT address.
    if grep -qE "INVITE [^ ]+ from $PBX_IP:5060 forwarded to $PHONE_NAT:$nat_port\$" "$work/sipnatd.log"; then
        say "call2: sipnatd sent the PBX's INVITE to alice's binding, $PHONE_NAT:$nat_port"
    else
        fail "call2: sipnatd's log does not show the PBX's INVITE forwarded to $PHONE_NAT:$nat_port: $(grep -m1 -E "INVITE [^ ]+ from $PBX_IP:5060 forwarded" "$work/sipnatd.log" || echo none)"
    fi

    # The relay: each side keeps the port it was told, through the re-INVITE too
    # (today one port serves both legs, so both sides see the same one);
    # sipnatd's own counts against what arrived.
    for c in call1 call2; do
        ports_phone=$(sdp_ports "$work/$c-phone.msg")
        ports_pbx=$(sdp_ports "$work/$c-pbx.msg")
        read -r -a pp <<<"$ports_phone"
        read -r -a pb <<<"$ports_pbx"
        say "$c: relay port in the SDP the phone got: ${ports_phone:-none}; the PBX got: ${ports_pbx:-none}"
        if ((${#pp[@]} == 0 || ${#pb[@]} == 0)); then
            fail "$c: no relay port in the SDP of one side"
            continue
        fi
        for p in "${pp[@]}"; do
            [[ $p == "${pp[0]}" ]] || fail "$c: the relay port the phone was told changed within the call (${ports_phone})"
        done
        for p in "${pb[@]}"; do
            [[ $p == "${pb[0]}" ]] || fail "$c: the relay port the PBX was told changed within the call (${ports_pbx})"
        done
        cid=$(call_id_of "$work/$c-pbx.msg")   # the PBX's own: the phone may see it sealed (sip_hide)
        read -r port in out dropped <<<"$(relay_log "$cid")"
        if [[ -z ${port:-} ]]; then
            fail "$c: no 'call $cid ended' line in sipnatd's log"
            continue
        fi
        say "$c: sipnatd's count: relay port $port, $in packets in from the phone, $out out from the PBX, $dropped dropped"
        [[ $port == "${pp[0]}" || $port == "${pb[0]}" ]] ||
            fail "$c: sipnatd logged relay port $port, the SDPs said ${pp[0]} (phone) and ${pb[0]} (PBX)"
        [[ $in == "${media_got[$c-pbx]:-}" ]] || fail "$c: sipnatd forwarded $in packets from the phone, the PBX got ${media_got[$c-pbx]:-?}"
        [[ $out == "${media_got[$c-phone]:-}" ]] || fail "$c: sipnatd forwarded $out packets from the PBX, the phone got ${media_got[$c-phone]:-?}"
        # a dropped packet is explained: from where, and why (issue 10)
        why=$(sed -nE "s/.*call $cid ended .* dropped \((.*)\)$/\1/p" "$work/sipnatd.log" | head -n 1)
        if ((dropped > 0)) && [[ -z $why ]]; then
            fail "$c: sipnatd dropped $dropped packets and did not say why: $(grep -m1 "call $cid ended" "$work/sipnatd.log")"
        elif ((dropped > 0)); then
            say "$c: sipnatd says of its drops: $why"
        fi
        variant_media+="$c ${media_got[$c-pbx]:-?} in/${media_got[$c-phone]:-?} out; "
    done

    # alice stayed reachable: sipnatd's pings (every 5 s) got their answers.
    pings=$(grep -c "OPTIONS sip:alice@$PHONE:5060;line=abc SIP/2.0" "$work/sipnatd.log" || true)
    if grep -qF "alice at $PHONE_NAT:$nat_port is UNREACHABLE" "$work/sipnatd.log"; then
        fail "sipnatd marked alice UNREACHABLE during the test"
    else
        say "sipnatd sent ${pings:-0} qualify OPTIONS datagrams to alice (every 5 s, and retransmissions; answered by whichever sipp was the phone)"
    fi

    # SIGTERM: stop, drain, exit 0 (design section 4).
    kill -TERM "$sipnatd_pid" 2>/dev/null || true
    rc=0
    wait "$sipnatd_pid" || rc=$?
    forget_pid "$sipnatd_pid"
    if ((rc == 0)); then
        say "sipnatd stopped on SIGTERM with status 0"
    else
        fail "sipnatd exited with status $rc on SIGTERM"
    fi
    if [[ -n $PORTMAP ]]; then
        rules=$(netns_miniupnpd_rules)
        if [[ -z $rules ]]; then
            say "portmap: after SIGTERM miniupnpd holds no forwards ($(grep -m1 -oE 'removed [0-9]+ mappings' "$work/sipnatd.log" || echo '?') said sipnatd)"
        else
            fail "portmap: miniupnpd still forwards after sipnatd stopped: $(tr '\n' ' ' <<<"$rules")"
        fi
    fi

    # ---------------------------------------------------------------- the wire
    if [[ -n $capture ]]; then
        stop_pids
        if [[ ! -s $capture ]]; then
            fail "the capture of the home router's WAN is empty"
        else
            tshark -r "$capture" -Y sip -T fields -E separator='|' -E occurrence=a -E aggregator=', ' \
                -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
                -e sip.Request-Line -e sip.Status-Line -e sip.Via -e sip.Contact \
                -e sdp.owner.address -e sdp.connection_info.address -e sdp.media.port \
                >"$work/wire.txt" 2>/dev/null || true
            say "on the home router's WAN ($(wc -l <"$work/wire.txt") SIP datagrams):"
            while IFS='|' read -r src sport dst dport req status via contact sdp_o sdp_c sdp_m; do
                sdp=""
                [[ -z $sdp_c ]] || sdp="  [SDP c=$sdp_c o=$sdp_o m=$sdp_m]"
                printf '    %s:%s -> %s:%s  %s%s\n' "$src" "$sport" "$dst" "$dport" "${req:-$status}" "$sdp"
                if [[ "$req|$via|$contact|$sdp_o|$sdp_c" == *192.0.2.* ]]; then
                    fail "a LAN address crossed the home router's WAN: $src:$sport -> $dst:$dport ${req:-$status}; Via: $via; Contact: $contact; SDP o=$sdp_o c=$sdp_c"
                fi
                if [[ $src == "$PUBLIC" && -n $sdp_c ]]; then
                    for a in ${sdp_c//,/ } ${sdp_o//,/ }; do
                        [[ $a == "$PUBLIC" ]] ||
                            fail "sipnatd's SDP toward the Internet names $a, not $PUBLIC (${req:-$status}: c=$sdp_c o=$sdp_o)"
                    done
                fi
                if [[ $src == "$PUBLIC" && $sport != 5060 ]]; then
                    fail "the home router sent SIP from port $sport, not 5060 ($dst:$dport ${req:-$status})"
                fi
                if [[ $src == "$PHONE_NAT" && -n $nat_port && $sport != "$nat_port" ]]; then
                    fail "the phone's NAT sent from port $sport, the rport said $nat_port"
                fi
                if [[ $dst == "$PHONE_NAT" && -n $nat_port && $dport != "$nat_port" ]]; then
                    fail "sipnatd sent ${req:-$status} to the phone's NAT at port $dport, the mapping is $nat_port"
                fi
                if [[ $src != "$PUBLIC" && $src != "$PHONE_NAT" ]]; then
                    fail "unexpected source on the WAN: $src:$sport"
                fi
                # what sipnatd's tokens carry across (MAC + text, base32)
                for tok in $(grep -oE 'snt=[a-z2-7]+|branch=z9hG4bKsnh[a-z2-7]+' <<<"$req|$via|$contact" || true); do
                    tok=${tok#snt=}
                    tok=${tok#branch=z9hG4bKsnh}
                    text=$(b32_text "$tok" | grep -oE '(sips?:|SIP/2\.0/).*' || true)
                    if [[ $text == *192.0.2.* ]]; then
                        printf '%s\n' "$text" >>"$work/token-leaks.txt"
                    fi
                done
            done <"$work/wire.txt"
            [[ -s $work/wire.txt ]] || fail "no SIP datagram decoded from the capture"
            if [[ -s $work/token-leaks.txt ]]; then
                echo "WARNING: LAN addresses cross the WAN in clear inside sipnatd's base32 tokens" \
                    "(snt= in Contact/Request-URI, sealed branch in Via); decoded:"
                sort -u "$work/token-leaks.txt" | sed 's/^/    /'
            fi
            # Every datagram, raw: the LAN prefix anywhere in SIP or in media
            # fails; RTP counted per flow.
            say "raw datagrams on the home router's WAN:"
            tshark -r "$capture" -T fields -E separator='|' \
                -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.payload \
                >"$work/wire-raw.txt" 2>/dev/null || true
            rc=0
            python3 "$script_dir/wire_check.py" "$PUBLIC" "$PHONE_NAT" "192.0.2." "$RTPSTART" "$RTPEND" \
                <"$work/wire-raw.txt" >"$work/wire-check.txt" || rc=$?
            grep -v '^FLOW ' "$work/wire-check.txt" || true
            ((rc == 0)) || fail "wire_check.py found LAN addresses or strange datagrams on the WAN (above)"
            # one flow per call: the relay port the phone was told, all 100 of
            # the phone's packets in, what the phone got out
            for c in call1 call2; do
                read -r -a pp <<<"$(sdp_ports "$work/$c-phone.msg")"
                flow=$(awk -v p="${pp[0]:-x}" '$1 == "FLOW" && $2 == p' "$work/wire-check.txt")
                if [[ -z $flow ]]; then
                    fail "$c: no media on the WAN for relay port ${pp[0]:-?}"
                    continue
                fi
                read -r _ _ natp to_phone from_phone <<<"$flow"
                ((from_phone == RTP_COUNT)) || fail "$c: $from_phone of the phone's $RTP_COUNT packets crossed the WAN"
                [[ $to_phone == "${media_got[$c-phone]:-}" ]] ||
                    fail "$c: $to_phone packets went to the phone's NAT, the phone got ${media_got[$c-phone]:-?}"
                ((from_phone > 0 && to_phone > 0)) || fail "$c: media did not cross the WAN both ways ($from_phone in, $to_phone out)"
                say "$c: on the WAN, the phone's media came from its NAT's port $natp: $from_phone packets in, $to_phone out"
                variant_media+="wire $c: $from_phone in/$to_phone out; "
            done
        fi
    fi

    stop_pids
    if ((failed)); then
        failed_variants+=("$work")
        summary+=("FAIL $variant")
    else
        summary+=("pass $variant: $variant_media")
    fi
    ((failed_before == 0)) || failed=1
}

kinds=(symmetric preserving)
for kind in "${kinds[@]}"; do
    want=()
    for v in "natted:recipe" "natted:default" "natted:both" "natted:auto" "public:no"; do
        # the public phone has no NAT in front of it: once is enough
        [[ $v != public:* || $kind == symmetric ]] || continue
        if [[ -n ${NAT_TEST_ONLY:-} && " $NAT_TEST_ONLY " != *" $kind:$v "* ]]; then
            continue
        fi
        want+=("$v")
    done
    ((${#want[@]})) || continue
    say "building the namespaces ($PREFIX-*), the phone's NAT $kind${PORTMAP:+, a home router without forwards (miniupnpd)}"
    if [[ -n $PORTMAP ]]; then
        netns_setup "$PREFIX" "$kind" portmap
        netns_stun_start "$top" || { echo "FAIL: the STUN server did not start: $(cat "$top/stun.out")" >&2; exit 1; }
        netns_miniupnpd_start "$top" || { echo "FAIL: miniupnpd did not start or does not forward:" >&2; cat "$top/miniupnpd.log" >&2; exit 1; }
    else
        netns_setup "$PREFIX" "$kind"
    fi
    for v in "${want[@]}"; do
        run_variant "$kind" "${v%%:*}" "${v#*:}"
    done
done
variant=""

say "summary:"
for line in "${summary[@]}"; do
    echo "    $line"
done
((${#summary[@]})) || fail "no variant ran (NAT_TEST_ONLY='${NAT_TEST_ONLY:-}')"
if ((failed)); then
    exit 1
fi
say "PASS"
