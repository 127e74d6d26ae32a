#!/bin/bash
# NAT test (design section 11): the real sipnatd behind a port-forwarding home
# router, a phone behind its own port-randomising NAT, two calls played by sipp
# through both NATs.
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
# Call 1: the phone calls 203.0.113.1:5060, the PBX answers, the phone hangs up.
# Call 2: the phone calls again; the PBX sends a re-INVITE and then the BYE to
#         the Contact sipnatd gave it: the PBX -> phone direction, through
#         sipnatd's token (which carries the phone's NAT mapping) and both NATs.
# The sipp scenarios next to this script hold what each side checks; this
# script adds the cross-checks (the rport both sides saw is the port the
# phone's NAT really chose) and, when tshark is there, what crossed the home
# router's WAN.
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

for tool in ip iptables sipp timeout; do
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
    exec ip netns exec "$ns" "$@"
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

cat >"$work/sipnatd.conf" <<EOF
general: {
  bindaddr = "$SIPNATD_IP"; bindport = 5060;
  externip = "$PUBLIC";
  localnet = [ "192.0.2.0/24" ];
  pbx = "$PBX_IP:5060";
  allowguest = true;
  statefile = "$work/registrations"; control = "$work/control";
};
rtp: { rtpstart = 10000; rtpend = 11000; };
logging: { level = "debug"; siptrace = true; };
EOF
if ! "$sipnatd" -t -c "$work/sipnatd.conf" >"$work/conftest.out" 2>&1; then
    cat "$work/conftest.out" >&2
    echo "FAIL: sipnatd rejects the test configuration" >&2
    exit 1
fi

capture=""
if command -v tshark >/dev/null 2>&1; then
    nsx_bg sn-home timeout 50 tshark -q -i wan -f "udp port 5060" -w "$work/home-wan.pcapng" \
        >"$work/tshark.log" 2>&1 &
    pids+=("$!")
    if wait_for "$work/tshark.log" "Capturing on" 10 "$!"; then
        capture=$work/home-wan.pcapng
    else
        say "note: tshark did not start; no capture of the home router's WAN"
    fi
fi

# sipnatd qualifies the PBX with OPTIONS from its first moment; the PBX answers
# that ping before the calls (the next one is due 30 s later).
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
nsx_bg sn-lan timeout 55 "$sipnatd" -f -c "$work/sipnatd.conf" >"$work/sipnatd.log" 2>&1 &
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
if ((rc != 0)); then
    fail "the PBX did not get (or did not like) sipnatd's qualify ping (sipp exit $rc)"
elif wait_for "$work/sipnatd.log" "PBX at $PBX_IP:5060 is reachable" 3 "$sipnatd_pid"; then
    say "sipnatd pinged the PBX, which answered; sipnatd marked it reachable"
else
    fail "sipnatd did not take the PBX's 200 to its qualify OPTIONS: $(grep -m1 'response from' "$work/sipnatd.log" || echo 'no log line about it')"
fi
if ((failed)); then
    # sipnatd keeps retransmitting that ping (T1 doubling, for 32 s); a sipp
    # UAS takes each as a new, failed call. Drop them at the PBX so that the
    # calls can still be checked (the test fails all the same).
    nsx sn-pbx iptables -A INPUT -p udp -s "$SIPNATD_IP" --dport 5060 \
        -m string --algo bm --string "OPTIONS sip:$PBX_IP:5060 SIP/2.0" -j DROP
    say "note: further qualify OPTIONS to the PBX are dropped at the PBX for the calls"
fi

# wait_pair PID_A PID_B: wait for both, setting pair_rc; when one fails the
# other is stopped (it would only wait for its timeout).
wait_pair() {
    local pair=("$1" "$2") i rc
    pair_rc=("" "")
    while [[ -z ${pair_rc[0]} || -z ${pair_rc[1]} ]]; do
        for i in 0 1; do
            [[ -z ${pair_rc[i]} ]] || continue
            kill -0 "${pair[i]}" 2>/dev/null && continue
            rc=0
            wait "${pair[i]}" || rc=$?
            pair_rc[i]=$rc
            forget_pid "${pair[i]}"
            if ((rc != 0)) && [[ -z ${pair_rc[1 - i]} ]]; then
                kill -TERM "${pair[1 - i]}" 2>/dev/null || true
            fi
        done
        sleep 0.1
    done
}

# call NAME PBX_SCENARIO PHONE_SCENARIO: one call, the PBX as sipp UAS on
# 192.0.2.20:5060, the phone as sipp UAC on 198.51.100.5:5060 calling the
# router's public address. Both must pass.
call() {
    local name=$1 uas uac
    local common=(-m 1 "${common_sipp[@]}")
    nsx_bg sn-pbx timeout 25 sipp -sf "$scen/$2" -i "$PBX_IP" -p 5060 "${common[@]}" \
        -error_file "$work/$name-pbx.err" -message_file "$work/$name-pbx.msg" \
        >"$work/$name-pbx.out" 2>&1 &
    uas=$!
    pids+=("$uas")
    if ! wait_udp sn-pbx "$PBX_IP:5060" 5; then
        fail "$name: the PBX's sipp did not start"
        return 0
    fi
    nsx_bg sn-phone timeout 25 sipp -sf "$scen/$3" -i "$PHONE" -p 5060 "${common[@]}" \
        -error_file "$work/$name-phone.err" -message_file "$work/$name-phone.msg" \
        "$PUBLIC:5060" >"$work/$name-phone.out" 2>&1 &
    uac=$!
    pids+=("$uac")
    wait_pair "$uas" "$uac"
    ((pair_rc[1] == 0)) || fail "$name: the phone's side failed (sipp exit ${pair_rc[1]}; see $name-phone.err)"
    ((pair_rc[0] == 0)) || fail "$name: the PBX's side failed (sipp exit ${pair_rc[0]}; see $name-pbx.err)"
    ((pair_rc[0] || pair_rc[1])) || say "$name: both sides passed their checks"
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

say "call 1: phone -> PBX through both NATs, the phone hangs up"
call call1 call1_pbx_uas.xml call1_phone_uac.xml
say "call 2: phone -> PBX, then re-INVITE and BYE PBX -> phone through both NATs"
call call2 call2_pbx_uas.xml call2_phone_uac.xml

# The port the phone's NAT chose, as both ends were told it.
for c in call1 call2; do
    seen_phone=$(via_param "$work/$c-phone.msg" '^SIP/2\.0 200' "$PHONE:5060" rport || true)
    seen_pbx=$(via_param "$work/$c-pbx.msg" '^INVITE ' "$PHONE:5060" rport || true)
    if [[ -z $seen_phone || -z $seen_pbx ]]; then
        fail "$c: no rport found (phone saw '${seen_phone}', PBX saw '${seen_pbx}')"
    elif [[ $seen_phone != "$seen_pbx" ]]; then
        fail "$c: the phone was told rport=$seen_phone, the PBX rport=$seen_pbx"
    elif [[ $seen_phone == 5060 ]]; then
        fail "$c: rport=5060: the phone's NAT did not randomise the port, or sipnatd did not look"
    else
        say "$c: the phone's NAT mapped $PHONE:5060 to $PHONE_NAT:$seen_phone (rport at both ends)"
    fi
done
nat_port=${seen_phone:-}

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
            >"$work/wire.txt" 2>/dev/null || true
        say "on the home router's WAN ($(wc -l <"$work/wire.txt") SIP datagrams):"
        while IFS='|' read -r src sport dst dport req status via contact; do
            printf '    %s:%s -> %s:%s  %s\n' "$src" "$sport" "$dst" "$dport" "${req:-$status}"
            if [[ "$req|$via|$contact" == *192.0.2.* ]]; then
                fail "a LAN address crossed the home router's WAN: $src:$sport -> $dst:$dport ${req:-$status}; Via: $via; Contact: $contact"
            fi
            if [[ $src == "$PUBLIC" && $sport != 5060 ]]; then
                fail "the home router sent SIP from port $sport, not 5060 ($dst:$dport ${req:-$status})"
            fi
            if [[ $src == "$PHONE_NAT" && -n $nat_port && $sport != "$nat_port" ]]; then
                fail "the phone's NAT sent from port $sport, the rport said $nat_port"
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
    fi
fi

if ((failed)); then
    exit 1
fi
say "PASS"
