#!/bin/bash
# NAT test (design section 11): the real sipnatd behind a port-forwarding home
# router, a phone behind its own port-randomising NAT; the phone registers
# with digest, calls the PBX, and the PBX calls it back through the
# registration, with RTP both ways through sipnatd's relay and both NATs.
#
#   sn-phone            sn-phone-nat               sn-inet        sn-home                 sn-lan / sn-pbx
#   phone               phone's NAT                "Internet"     home router             sipnatd / PBX
#   198.51.100.5 ---- 198.51.100.1 | 203.0.113.50 --- br0 --- 203.0.113.1 | 192.0.2.1 ---- 192.0.2.10
#                     MASQUERADE --random                     DNAT 5060, 10000-11000  `-- 192.0.2.20
#                                                             to 192.0.2.10; MASQUERADE
#
# Only TEST-NET addresses, only veth pairs between the test's own namespaces
# (created from inside them: nothing is ever added to the host's namespace).
#
# sipnatd runs with allowguest = false and one peer, alice (qualifyfreq 5 s).
# Registration: REGISTER -> 401 -> REGISTER with digest -> 200 listing the
#         phone's own private Contact; sipnatd keeps the NAT address in the
#         binding and pings the phone there (OPTIONS, answered by sipp -aa).
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
# headers and SDP); this script adds the cross-checks (the rport both sides
# saw is the port the phone's NAT really chose, and it is where sipnatd sent
# the registration's pings and the PBX's call), the media counts against
# sipnatd's own, and, when tshark is there, what crossed the home router's WAN
# (wire_check.py).
#
# usage: nat_call.sh SIPNATD_BINARY [SCENARIO_DIR]
#        (NAT_TEST_KEEP=1 keeps the logs, the sipp message traces and the capture)
# exit:  0 pass, 1 fail, 77 skipped (not root, or a tool is missing).
set -euo pipefail

if (( EUID != 0 )); then
    echo "SKIP: the NAT test needs root (network namespaces)"
    exit 77
fi

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
sipnatd=${1:?usage: nat_call.sh SIPNATD_BINARY [SCENARIO_DIR]}
scen=${2:-$script_dir}

for tool in ip iptables sipp timeout python3 flock; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: the NAT test needs $tool"
        exit 77
    fi
done
if [[ ! -x $sipnatd ]]; then
    echo "FAIL: no sipnatd binary at $sipnatd" >&2
    exit 1
fi

readonly NAMESPACES=(sn-inet sn-home sn-lan sn-pbx sn-phone-nat sn-phone)
readonly PHONE=198.51.100.5 PHONE_NAT=203.0.113.50 PUBLIC=203.0.113.1
readonly SIPNATD_IP=192.0.2.10 PBX_IP=192.0.2.20
readonly RTPSTART=10000 RTPEND=11000 RTP_COUNT=100
pids=()
work=""
failed=0
started=$SECONDS

say() { printf '[%2ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

# Run a command inside one of the test's namespaces.
nsx() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# The same for a background job (`nsx_bg NS CMD... &`): the job's subshell
# becomes the command, so that $! is the command's PID, to stop it by.
nsx_bg() {
    local ns=$1
    shift
    exec ip netns exec "$ns" "$@" 9>&-
}

ns_exists() {
    local ns=$1 name
    while read -r name _; do
        [[ $name == "$ns" ]] && return 0
    done < <(ip netns list)
    return 1
}

# Delete every namespace of this test, including ones a killed earlier run left
# behind. Whatever still runs inside one was started by this test (now or in
# that earlier run): it is killed by PID first, so that the namespace goes.
remove_namespaces() {
    local ns pid
    for ns in "${NAMESPACES[@]}"; do
        ns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" || echo "warning: could not delete namespace $ns" >&2
    done
}

forget_pid() {
    local pid=$1 i
    for i in "${!pids[@]}"; do
        [[ ${pids[$i]} == "$pid" ]] && unset 'pids[i]'
    done
    return 0
}

# Stop the processes this run started, by PID: TERM, then KILL after 3 s.
stop_pids() {
    local pid n
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((n = 0; n < 30; n++)); do
        local alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

show_logs() {
    local f
    [[ -n $work && -d $work ]] || return 0
    for f in "$work"/*.err "$work"/*.out "$work"/*.msg "$work"/sipnatd.log; do
        [[ -s $f ]] || continue
        echo "----- ${f##*/} (last 150 lines)"
        tail -n 150 "$f"
    done
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    stop_pids
    ((rc == 0)) || show_logs
    remove_namespaces
    if [[ -n $work && ${NAT_TEST_KEEP:-0} == 1 ]]; then
        echo "logs kept in $work"
    elif [[ -n $work ]]; then
        rm -rf -- "$work"
    fi
    say "cleaned up"
    exit "$rc"
}

if ! ip netns add sn-probe-$$ 2>/dev/null; then
    echo "SKIP: the NAT test cannot create network namespaces here"
    exit 77
fi
ip netns del sn-probe-$$

# One NAT test at a time on this machine (the namespaces have fixed names,
# and another build tree's ctest may run this script too): wait for the lock.
# Its descriptor is not passed on to what the test starts (nsx_bg), so a
# killed run's leftovers do not hold it.
lock=/run/lock
[[ -d $lock && -w $lock ]] || lock=/tmp
exec 9>"$lock/sipnatd-nat-test.lock"
flock -n 9 || say "waiting for another NAT test to finish ($lock/sipnatd-nat-test.lock)"
if ! flock -w 150 9; then
    echo "FAIL: another NAT test held $lock/sipnatd-nat-test.lock for 150 s" >&2
    exit 1
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

remove_namespaces
work=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-nat.XXXXXX")

# ---------------------------------------------------------------- the network
say "building namespaces"
for ns in "${NAMESPACES[@]}"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
done

# veth NS1 IF1 NS2 IF2: a pair created inside NS1, its peer moved to NS2.
veth() {
    nsx "$1" ip link add name "$2" type veth peer name "$4" netns "$3"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

# The Internet: one bridge, no addresses of its own.
nsx sn-inet ip link add name br0 type bridge forward_delay 0
nsx sn-inet ip link set br0 up
veth sn-inet home sn-home wan
veth sn-inet pnat sn-phone-nat wan
nsx sn-inet ip link set home master br0
nsx sn-inet ip link set pnat master br0

# The home router: WAN 203.0.113.1, LAN bridge 192.0.2.1/24 with sipnatd and the PBX.
nsx sn-home ip addr add "$PUBLIC/24" dev wan
nsx sn-home ip link add name lan type bridge forward_delay 0
nsx sn-home ip link set lan up
nsx sn-home ip addr add 192.0.2.1/24 dev lan
veth sn-home lan-sn sn-lan eth0
veth sn-home lan-pbx sn-pbx eth0
nsx sn-home ip link set lan-sn master lan
nsx sn-home ip link set lan-pbx master lan
nsx sn-lan ip addr add "$SIPNATD_IP/24" dev eth0
nsx sn-lan ip route add default via 192.0.2.1
nsx sn-pbx ip addr add "$PBX_IP/24" dev eth0
nsx sn-pbx ip route add default via 192.0.2.1
nsx sn-home sysctl -qw net.ipv4.ip_forward=1
# Port forwards to sipnatd (SIP and the relay range); the LAN goes out masqueraded;
# from the Internet only forwarded ports and replies get in (the PBX is unreachable).
nsx sn-home iptables -t nat -A PREROUTING -i wan -p udp --dport 5060 -j DNAT --to-destination "$SIPNATD_IP"
nsx sn-home iptables -t nat -A PREROUTING -i wan -p udp --dport 10000:11000 -j DNAT --to-destination "$SIPNATD_IP"
nsx sn-home iptables -t nat -A POSTROUTING -o wan -s 192.0.2.0/24 -j MASQUERADE
nsx sn-home iptables -P FORWARD DROP
# (bridged LAN traffic passes FORWARD too where br_netfilter is on)
nsx sn-home iptables -A FORWARD -i lan -o lan -j ACCEPT
nsx sn-home iptables -A FORWARD -i lan -o wan -j ACCEPT
nsx sn-home iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED,DNAT -j ACCEPT

# The phone's NAT: WAN 203.0.113.50, LAN 198.51.100.1/24, port-randomising
# MASQUERADE, nothing gets in that is not a reply to what the phone sent.
nsx sn-phone-nat ip addr add "$PHONE_NAT/24" dev wan
veth sn-phone-nat lan sn-phone eth0
nsx sn-phone-nat ip addr add 198.51.100.1/24 dev lan
nsx sn-phone ip addr add "$PHONE/24" dev eth0
nsx sn-phone ip route add default via 198.51.100.1
nsx sn-phone-nat sysctl -qw net.ipv4.ip_forward=1
nsx sn-phone-nat iptables -t nat -A POSTROUTING -o wan -s 198.51.100.0/24 -j MASQUERADE --random
nsx sn-phone-nat iptables -P FORWARD DROP
nsx sn-phone-nat iptables -A FORWARD -i lan -o wan -j ACCEPT
nsx sn-phone-nat iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

# ---------------------------------------------------------------- processes
# wait_for FILE TEXT SECONDS PID: until FILE holds TEXT; false if PID died or time ran out.
wait_for() {
    local file=$1 text=$2 tenths=$(($3 * 10)) pid=$4 n
    for ((n = 0; n < tenths; n++)); do
        grep -qF -- "$text" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# wait_udp NS ADDR:PORT SECONDS: until something listens there.
wait_udp() {
    local ns=$1 addr=$2 tenths=$(($3 * 10)) n
    for ((n = 0; n < tenths; n++)); do
        [[ -n $(nsx "$ns" ss -Hlun "src $addr") ]] && return 0
        sleep 0.1
    done
    return 1
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

cat >"$work/sipnatd.conf" <<EOF
general: {
  bindaddr = "$SIPNATD_IP"; bindport = 5060;
  externip = "$PUBLIC";
  localnet = [ "192.0.2.0/24" ];
  pbx = "$PBX_IP:5060";
  allowguest = false;
  statefile = "$work/registrations"; control = "$work/control";
};
rtp: { rtpstart = $RTPSTART; rtpend = $RTPEND; };
peers: (
  { name = "alice"; secret = "s3cret"; qualifyfreq = 5; }
);
logging: { level = "debug"; siptrace = true; };
EOF
if ! "$sipnatd" -t -c "$work/sipnatd.conf" >"$work/conftest.out" 2>&1; then
    cat "$work/conftest.out" >&2
    echo "FAIL: sipnatd rejects the test configuration" >&2
    exit 1
fi

capture=""
if command -v tshark >/dev/null 2>&1; then
    nsx_bg sn-home timeout 55 tshark -q -i wan -f "udp port 5060 or udp portrange $RTPSTART-$RTPEND" \
        -w "$work/home-wan.pcapng" >"$work/tshark.log" 2>&1 &
    pids+=("$!")
    if wait_for "$work/tshark.log" "Capturing on" 10 "$!"; then
        capture=$work/home-wan.pcapng
    else
        say "note: tshark did not start; no capture of the home router's WAN"
    fi
fi

# sipnatd qualifies the PBX with OPTIONS from its first moment; the PBX answers
# that ping before the calls (the next one is due 30 s later, after the test;
# should it come earlier, the PBX's sipp answers it with -aa).
common_sipp=(-timeout 15s -nostdin -trace_err -trace_msg)
nsx_bg sn-pbx timeout 20 sipp -sf "$scen/pbx_qualify_uas.xml" -i "$PBX_IP" -p 5060 -m 1 "${common_sipp[@]}" \
    -error_file "$work/qualify-pbx.err" -message_file "$work/qualify-pbx.msg" \
    >"$work/qualify-pbx.out" 2>&1 &
qualify_uas=$!
pids+=("$qualify_uas")
if ! wait_udp sn-pbx "$PBX_IP:5060" 5; then
    echo "FAIL: the PBX's sipp did not start" >&2
    exit 1
fi

say "starting sipnatd in sn-lan"
# --foreground: timeout passes a SIGTERM on to sipnatd once (without it, it
# also signals its process group, so sipnatd would get a second SIGTERM while
# it shuts down).
nsx_bg sn-lan timeout --foreground 55 "$sipnatd" -f -c "$work/sipnatd.conf" >"$work/sipnatd.log" 2>&1 &
sipnatd_pid=$!
pids+=("$sipnatd_pid")
if ! wait_for "$work/sipnatd.log" "listening on" 10 "$sipnatd_pid"; then
    cat "$work/sipnatd.log" >&2
    echo "FAIL: sipnatd did not start" >&2
    exit 1
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
    nsx sn-pbx iptables -A INPUT -p udp -s "$SIPNATD_IP" --dport 5060 \
        -m string --algo bm --string "OPTIONS sip:$PBX_IP:5060 SIP/2.0" -j DROP
    say "note: further qualify OPTIONS to the PBX are dropped at the PBX for the calls"
fi

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
via_param() {
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

# ---------------------------------------------------------------- registration
say "registration: alice registers from behind her NAT with digest"
sipp_run sn-phone "$PHONE" register phone_register.xml -m 1 -au alice -ap s3cret "$PUBLIC:5060"
reg_pid=$sipp_pid
rc=0
wait "$reg_pid" || rc=$?
forget_pid "$reg_pid"
rc=$(sipp_verdict register "$rc")
nat_port=$(via_param "$work/register.msg" '^SIP/2\.0 200' "$PHONE:5060" rport || true)
if ((rc != 0)); then
    fail "registration: the phone's side failed (sipp exit $rc; see register.err)"
elif [[ -z $nat_port || $nat_port == 5060 ]]; then
    fail "registration: the 200 gave rport='$nat_port', not a randomised port of the phone's NAT"
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
    if grep -q '^OPTIONS sip:alice@198\.51\.100\.5:5060;line=abc SIP/2\.0' "$work/register.msg" &&
        wait_for "$work/sipnatd.log" "alice at $PHONE_NAT:$nat_port is reachable" 3 "$sipnatd_pid"; then
        say "registration: sipnatd pinged alice's Contact through her NAT; the phone answered; marked reachable"
    else
        fail "registration: no qualify ping reached the phone at its Contact, or sipnatd did not mark alice reachable at $PHONE_NAT:$nat_port"
    fi
fi

# ---------------------------------------------------------------- call 1
say "call 1: phone -> PBX with digest, RTP both ways, PBX re-INVITE, phone hangs up"
media_start call1 phone sn-phone "$PHONE:4000" pbx 65534 1000
media_start call1 pbx sn-pbx "$PBX_IP:20000" phone 1000 65534 --wait-first
sipp_run sn-pbx "$PBX_IP" call1-pbx call1_pbx_uas.xml -key media "$work/call1-pbx.target"
uas=$sipp_pid
if wait_udp sn-pbx "$PBX_IP:5060" 5; then
    sipp_run sn-phone "$PHONE" call1-phone call1_phone_uac.xml -m 1 -au alice -ap s3cret \
        -key media "$work/call1-phone.target" "$PUBLIC:5060"
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
media_start call2 phone sn-phone "$PHONE:4010" pbx 30000 2000
media_start call2 pbx sn-pbx "$PBX_IP:20010" phone 2000 30000 --wait-first
sipp_run sn-phone "$PHONE" call2-phone call2_phone_uas.xml -key media "$work/call2-phone.target"
uas=$sipp_pid
if wait_udp sn-phone "$PHONE:5060" 5; then
    sipp_run sn-pbx "$PBX_IP" call2-pbx call2_pbx_uac.xml -m 1 -key media "$work/call2-pbx.target" "$SIPNATD_IP:5060"
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
seen_phone=$(via_param "$work/call1-phone.msg" '^SIP/2\.0 200' "$PHONE:5060" rport || true)
seen_pbx=$(via_param "$work/call1-pbx.msg" '^INVITE ' "$PHONE:5060" rport || true)
if [[ -z $seen_phone || -z $seen_pbx ]]; then
    fail "call1: no rport found (phone saw '${seen_phone}', PBX saw '${seen_pbx}')"
elif [[ $seen_phone != "$seen_pbx" ]]; then
    fail "call1: the phone was told rport=$seen_phone, the PBX rport=$seen_pbx"
elif [[ $seen_phone == 5060 ]]; then
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
    cid=$(call_id_of "$work/$c-phone.msg")
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
done

# alice stayed reachable: sipnatd's pings (every 5 s) got their answers.
pings=$(grep -c "OPTIONS sip:alice@198.51.100.5:5060;line=abc SIP/2.0" "$work/sipnatd.log" || true)
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

# ---------------------------------------------------------------- the wire
# The printable text of a base32 token (sipnatd's snt= and sealed branches).
b32_text() {
    local t=${1^^} pad
    printf -v pad '%*s' $(((8 - ${#t} % 8) % 8)) ''
    printf '%s%s' "$t" "${pad// /=}" | base32 -d 2>/dev/null | tr -c '[:print:]' '.' || true
}

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
        # Every datagram, raw: the LAN prefix anywhere in SIP (but From, To,
        # Call-ID) or in media fails; RTP counted per flow.
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
            say "$c: on the WAN, the phone's media came from its NAT's port $natp: $from_phone packets in, $to_phone out"
        done
    fi
fi

if ((failed)); then
    exit 1
fi
say "PASS"
