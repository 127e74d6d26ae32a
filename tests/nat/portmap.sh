#!/bin/bash
# The router as a source (issue 14): a home router with no hand-made port
# forwards, running miniupnpd (the Debian package, iptables backend) with
# UPnP-IGD and NAT-PMP on its LAN side; sipnatd with general.portmap opens its
# own ports there and takes its public address from it (externip = "auto").
#
# The network is tests/nat/netns.sh's under the prefix spm, built with
# `netns_setup spm KIND portmap`: the home router forwards nothing by itself;
# a STUN server on the "Internet" lets miniupnpd forward from its TEST-NET WAN
# address (see netns.sh).
#
# 1. calls (nat_call.sh with NAT_TEST_PORTMAP): a phone behind a second NAT
#    registers and calls both ways with RTP counted on the wire, through the
#    mappings sipnatd made (UPnP-IGD, then NAT-PMP, one variant each); after
#    SIGTERM miniupnpd holds none of them.
# 2. leases (NAT-PMP, 10 s leases): all 21 ports mapped, renewed at half the
#    lease (seen in sipnatd's log and in miniupnpd's), the router restarted
#    with its rules lost (as a reboot does) -> the mappings made again, a
#    reload to "off" -> gone, back -> made again, then SIGTERM -> every
#    forward gone from miniupnpd's chains; the router's restart once more
#    with UPnP-IGD, which has no epoch to tell it.
# 3. a router whose UPnP and NAT-PMP are off (no miniupnpd): one clear log
#    line, and sipnatd serves (answers an OPTIONS from the LAN).
# 4. a router behind a carrier's NAT (its STUN says 100.64.0.7, so miniupnpd
#    reports that address): sipnatd says plainly that it does not advertise a
#    CGNAT address, and does not.
#
# usage: portmap.sh SIPNATD_BINARY SIPNATCTL_BINARY
#        NAT_TEST_KEEP=1 keeps the logs.
# exit:  0 pass, 1 fail, 77 skipped (not root, or a tool is missing; with
#        CI=true a missing miniupnpd fails).
set -euo pipefail

script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
sipnatd=${1:?usage: portmap.sh SIPNATD_BINARY SIPNATCTL_BINARY}
sipnatctl=${2:?usage: portmap.sh SIPNATD_BINARY SIPNATCTL_BINARY}

# shellcheck source=SCRIPTDIR/netns.sh
. "$script_dir/netns.sh"
if [[ ${CI:-} == true && $EUID -eq 0 ]] && ! command -v miniupnpd >/dev/null 2>&1; then
    echo "FAIL: miniupnpd is not installed (scripts/install-deps.sh --test installs miniupnpd-iptables)" >&2
    exit 1
fi
netns_require miniupnpd iptables-legacy python3 timeout ss
for bin in "$sipnatd" "$sipnatctl"; do
    if [[ ! -x $bin ]]; then
        echo "FAIL: no binary at $bin" >&2
        exit 1
    fi
done

readonly PREFIX=spm
readonly SIPNATD_IP=$NETNS_SIPNATD PUBLIC=$NETNS_PUBLIC
readonly RTPSTART=10000 RTPEND=10019 LEASE=10
top=$(mktemp -d "${TMPDIR:-/tmp}/sipnatd-portmap.XXXXXX")
failed=0
started=$SECONDS

say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
    echo "FAIL: [${part:-setup}] $*" >&2
    failed=1
}

netns_cleanup_hook() {
    local rc=$1 f
    stop_pids
    if ((rc != 0)); then
        for f in "$top"/*/sipnatd.log "$top"/*/miniupnpd.log*; do
            [[ -s $f ]] || continue
            echo "----- ${f#"$top"/} (last 60 lines)"
            tail -n 60 "$f"
        done
    fi
    if [[ ${NAT_TEST_KEEP:-0} == 1 ]]; then
        echo "logs kept in $top"
    else
        rm -rf -- "$top"
    fi
    say "cleaned up"
}

# ---------------------------------------------------------------- 1. calls
# nat_call.sh builds and removes its own namespaces under the same prefix
# (one at a time: netns_setup's lock), so it runs before this script's own.
for run in "upnp symmetric:natted:default" "natpmp preserving:natted:recipe"; do
    part="calls ${run%% *}"
    say "==== $part: nat_call.sh, variant ${run#* }, sipnatd with portmap = \"${run%% *}\""
    rc=0
    NAT_TEST_PREFIX=$PREFIX NAT_TEST_PORTMAP=${run%% *} NAT_TEST_ONLY=${run#* } \
        "$script_dir/nat_call.sh" "$sipnatd" "$script_dir" >"$top/calls-${run%% *}.out" 2>&1 || rc=$?
    grep -E 'portmap:|: (phone|pbx) -> (phone|pbx):|on the WAN|PASS|FAIL' "$top/calls-${run%% *}.out" |
        sed 's/^/    /' || true
    ((rc == 0)) || { fail "nat_call.sh failed (exit $rc):"; tail -n 80 "$top/calls-${run%% *}.out" >&2; }
done

# ---------------------------------------------------------------- helpers
# start_sipnatd DIR PORTMAP: sipnatd in $PREFIX-lan with that portmap and
# externip = "auto" (sipnatd_pid).
start_sipnatd() {
    local dir=$1 mode=$2
    mkdir -p "$dir"
    cat >"$dir/sipnatd.conf" <<EOC
general: {
  bindaddr = "$SIPNATD_IP"; bindport = 5060;
  externip = "auto"; portmap = "$mode"; portmaplease = $LEASE;
  localnet = [ "192.0.2.0/24" ];
  pbx = "$NETNS_PBX:5060";
  statefile = "$dir/registrations"; control = "$dir/control";
};
rtp: { rtpstart = $RTPSTART; rtpend = $RTPEND; };
logging: { level = "info"; };
EOC
    "$sipnatd" -t -c "$dir/sipnatd.conf" >"$dir/conftest.out" 2>&1 ||
        { cat "$dir/conftest.out" >&2; echo "FAIL: sipnatd rejects the test configuration" >&2; exit 1; }
    nsx_bg "$PREFIX-lan" timeout --foreground 120 "$sipnatd" -f -c "$dir/sipnatd.conf" >"$dir/sipnatd.log" 2>&1 &
    sipnatd_pid=$!
    pids+=("$sipnatd_pid")
    wait_for "$dir/sipnatd.log" "listening on" 10 "$sipnatd_pid" ||
        { cat "$dir/sipnatd.log" >&2; echo "FAIL: sipnatd did not start" >&2; exit 1; }
}

# stop_sipnatd DIR: SIGTERM, status 0 expected.
stop_sipnatd() {
    local rc=0
    kill -TERM "$sipnatd_pid" 2>/dev/null || true
    wait "$sipnatd_pid" || rc=$?
    forget_pid "$sipnatd_pid"
    ((rc == 0)) || fail "sipnatd exited with status $rc on SIGTERM"
}

# forwards_to_sipnatd: how many of sipnatd's ports miniupnpd forwards to it.
forwards_to_sipnatd() {
    netns_miniupnpd_rules | awk -v to="$SIPNATD_IP" -v lo="$RTPSTART" -v hi="$RTPEND" \
        '$2 == to && ($1 == 5060 || ($1 >= lo && $1 <= hi))' | wc -l
}

# wait_forwards N SECONDS: until miniupnpd forwards exactly N of them.
wait_forwards() {
    local want=$1 tenths=$(($2 * 10)) n
    for ((n = 0; n < tenths; n++)); do
        (($(forwards_to_sipnatd) == want)) && return 0
        sleep 0.1
    done
    return 1
}

# status_shows DIR TEXT SECONDS: until sipnatctl status (in DIR/status.txt)
# holds TEXT; the worker's copy of its state follows its log by a moment.
status_shows() {
    local dir=$1 text=$2 tenths=$(($3 * 10)) n
    for ((n = 0; n < tenths; n++)); do
        "$sipnatctl" -s "$dir/control" status >"$dir/status.txt" 2>&1 || true
        grep -qF -- "$text" "$dir/status.txt" && return 0
        sleep 0.1
    done
    return 1
}

# count FILE TEXT: lines of FILE holding TEXT.
count() { grep -cF -- "$2" "$1" 2>/dev/null || true; }

readonly PORTS=$((RTPEND - RTPSTART + 2))

# ---------------------------------------------------------------- 2. leases
part=leases
say "==== $part: building the namespaces ($PREFIX-*), a home router without forwards"
netns_setup "$PREFIX" symmetric portmap
d=$top/leases
mkdir -p "$d"
netns_stun_start "$d" || { echo "FAIL: the STUN server did not start: $(cat "$d/stun.out")" >&2; exit 1; }
netns_miniupnpd_start "$d" || { cat "$d/miniupnpd.log" >&2; echo "FAIL: miniupnpd did not start or does not forward" >&2; exit 1; }
((($(forwards_to_sipnatd)) == 0)) || fail "miniupnpd forwards before sipnatd asked"
start_sipnatd "$d" natpmp
t0=$SECONDS
if wait_for "$d/sipnatd.log" "portmap: mapped UDP 5060" 10 "$sipnatd_pid" && wait_forwards "$PORTS" 3; then
    say "$part: sipnatd mapped its $PORTS ports through NAT-PMP in $((SECONDS - t0)) s; miniupnpd forwards them to $SIPNATD_IP"
else
    fail "sipnatd's $PORTS ports are not all forwarded: $(forwards_to_sipnatd) are; $(grep -m3 portmap "$d/sipnatd.log" | tr '\n' ' ')"
fi
grep -qF "external address from the router: $PUBLIC" "$d/sipnatd.log" ||
    fail "sipnatd did not take $PUBLIC from the router"
"$sipnatctl" -s "$d/control" status >"$d/status.txt" 2>&1 || fail "sipnatctl status failed: $(cat "$d/status.txt")"
sed 's/^/    /' "$d/status.txt"
grep -qF "External address: $PUBLIC (from the router" "$d/status.txt" ||
    fail "sipnatctl status does not name the router as the address source"
grep -qE "^Port mapping: portmap = \"natpmp\": mapped, NAT-PMP at gateway 192\.0\.2\.1:5351; $PORTS of $PORTS ports mapped, lease $LEASE s" "$d/status.txt" ||
    fail "sipnatctl status does not show the $PORTS mappings"
grep -qE "^$RTPSTART-$RTPEND +mapped +same +[0-9]+(-[0-9]+)? s$" "$d/status.txt" ||
    fail "sipnatctl status has no row for the pool with its lease time left"

# renewal at half the lease: sipnatd says so, and miniupnpd saw the requests
if wait_for "$d/sipnatd.log" "portmap: renewed $PORTS leases" $((LEASE)) "$sipnatd_pid"; then
    asked=$(count "$d/miniupnpd.log" "NAT-PMP port mapping request : 5060->$SIPNATD_IP:5060 udp lifetime=${LEASE}s")
    say "$part: leases renewed at half their $LEASE s: $(grep -m1 -oE 'renewed [0-9]+ leases.*' "$d/sipnatd.log"); miniupnpd got $asked requests for 5060"
    ((asked >= 2)) || fail "miniupnpd saw $asked mapping requests for 5060, not a renewal"
else
    fail "no renewal within $LEASE s"
fi
sleep $((LEASE + 1))   # longer than a lease: the forwards must still be there
n=$(forwards_to_sipnatd)
((n == PORTS)) || fail "after a whole lease only $n of $PORTS forwards are left (renewals did not hold)"
say "$part: after $((LEASE + 1)) s more (beyond the first lease) all $n forwards are still there"

# the router reboots: miniupnpd stops, its rules are lost, it starts again
say "$part: restarting the router (miniupnpd stopped, its chains flushed, started again)"
netns_miniupnpd_stop
netns_miniupnpd_flush
((($(forwards_to_sipnatd)) == 0)) || fail "the flushed router still forwards"
t0=$SECONDS
netns_miniupnpd_start "$d" || { cat "$d/miniupnpd.log" >&2; fail "miniupnpd did not start again"; }
if wait_forwards "$PORTS" 20; then
    say "$part: sipnatd made its $PORTS mappings again $((SECONDS - t0)) s after the router came back: $(grep -oE 'portmap: the router (lost its mappings|no longer has|\(NAT-PMP at [^)]*\) stopped answering)[^;]*' "$d/sipnatd.log" | tail -n 1)"
else
    fail "after the router's restart only $(forwards_to_sipnatd) of $PORTS forwards came back: $(grep portmap "$d/sipnatd.log" | tail -n 3 | tr '\n' ' ')"
fi

# a reload to "off" removes the mappings; back to "natpmp" makes them again
sed -i 's/portmap = "natpmp"/portmap = "off"/; s/externip = "auto"/externip = "'"$PUBLIC"'"/' "$d/sipnatd.conf"
"$sipnatctl" -s "$d/control" reload >/dev/null 2>&1 || fail "reload to portmap = \"off\" refused"
if wait_forwards 0 5; then
    say "$part: reload to portmap = \"off\": miniupnpd holds no forwards ($(grep -oE 'portmap turned off: removed [0-9]+ mappings' "$d/sipnatd.log" | tail -n 1))"
else
    fail "after the reload to \"off\" miniupnpd still holds $(forwards_to_sipnatd) forwards"
fi
sed -i 's/portmap = "off"/portmap = "natpmp"/; s/externip = "'"$PUBLIC"'"/externip = "auto"/' "$d/sipnatd.conf"
"$sipnatctl" -s "$d/control" reload >/dev/null 2>&1 || fail "reload back to portmap = \"natpmp\" refused"
wait_forwards "$PORTS" 10 && say "$part: reload back to \"natpmp\": all $PORTS forwards made again" ||
    fail "after the reload back to \"natpmp\" only $(forwards_to_sipnatd) forwards"

# SIGTERM: every mapping removed
bulk="NAT-PMP port mapping request : 0->$SIPNATD_IP:0 udp lifetime=0s"
one_by_one="NAT-PMP port mapping request : [0-9]+->$SIPNATD_IP:[1-9][0-9]* udp lifetime=0s"
removals_before=$(count "$d/miniupnpd.log" "$bulk")
singles_before=$(grep -cE -- "$one_by_one" "$d/miniupnpd.log" 2>/dev/null || true)
say "$part: (before the stop miniupnpd saw $singles_before single removals)"
stop_sipnatd
if [[ -z $(netns_miniupnpd_rules) ]]; then
    say "$part: after SIGTERM miniupnpd holds no forwards ($(grep -oE 'removed [0-9]+ mappings[^(]*' "$d/sipnatd.log" | tail -n 1))"
else
    fail "miniupnpd still forwards after sipnatd stopped: $(netns_miniupnpd_rules | tr '\n' ' ')"
fi
# NAT-PMP's removal of all of a host's mappings at once (RFC 6886 3.4), not
# one request per port. The request may come more than once: a client
# retransmits it from 250 ms on until answered (RFC 6886 3.1), which a slow
# (sanitizer) build can need.
n=$(($(count "$d/miniupnpd.log" "$bulk") - removals_before))
singles=$(($(grep -cE -- "$one_by_one" "$d/miniupnpd.log" 2>/dev/null || true) - singles_before))
((n >= 1 && n <= 4)) || fail "at the stop miniupnpd saw $n requests to remove all of sipnatd's mappings, not 1 (up to 3 retransmissions)"
((singles == 0)) || fail "at the stop sipnatd removed $singles mappings one by one instead of all at once"

# the same restart with UPnP-IGD, whose answers carry no epoch: sipnatd
# notices its SIP port's mapping is gone (or the device moved) and maps again
part="leases upnp"
d=$top/upnp
mkdir -p "$d"
start_sipnatd "$d" upnp
wait_forwards "$PORTS" 15 || fail "UPnP-IGD: only $(forwards_to_sipnatd) of $PORTS forwards"
netns_miniupnpd_stop
netns_miniupnpd_flush
t0=$SECONDS
netns_miniupnpd_start "$d" || { cat "$d/miniupnpd.log" >&2; fail "miniupnpd did not start again"; }
if wait_forwards "$PORTS" 20; then
    say "$part: after the router's restart sipnatd made its $PORTS mappings again in $((SECONDS - t0)) s: $(grep -oE "portmap: the router .*(no longer has sipnatd's mapping of UDP [0-9]+|stopped answering)" "$d/sipnatd.log" | tail -n 1)"
else
    fail "UPnP-IGD: after the router's restart only $(forwards_to_sipnatd) of $PORTS forwards came back: $(grep portmap "$d/sipnatd.log" | tail -n 3 | tr '\n' ' ')"
fi
stop_sipnatd
[[ -z $(netns_miniupnpd_rules) ]] || fail "UPnP-IGD: miniupnpd still forwards after sipnatd stopped: $(netns_miniupnpd_rules | tr '\n' ' ')"

# ---------------------------------------------------------------- 3. router off
part="router off"
d=$top/off
mkdir -p "$d"
netns_miniupnpd_stop
say "==== $part: no UPnP-IGD or NAT-PMP on the router; sipnatd with portmap = \"auto\""
start_sipnatd "$d" auto
if wait_for "$d/sipnatd.log" "portmap: no router answered" 10 "$sipnatd_pid"; then
    say "$part: sipnatd says: $(grep -m1 -oE 'portmap: no router answered.*' "$d/sipnatd.log")"
    grep -q "UPnP-IGD: .*; NAT-PMP: " "$d/sipnatd.log" || fail "the log line does not say what each protocol got"
else
    fail "no clear log line about the missing router: $(grep portmap "$d/sipnatd.log" | tr '\n' ' ')"
fi
# the service goes on: an OPTIONS from the LAN is answered
reply=$(nsx "$PREFIX-pbx" timeout 5 python3 - "$SIPNATD_IP" <<'PY' || true
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.20", 5070))
s.settimeout(3)
msg = ("OPTIONS sip:%s:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bKspm1\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:probe@192.0.2.20>;tag=1\r\nTo: <sip:%s>\r\n"
       "Call-ID: spm-probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (sys.argv[1], sys.argv[1])
s.sendto(msg.encode(), (sys.argv[1], 5060))
print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
PY
)
if [[ $reply == "SIP/2.0 200"* ]]; then
    say "$part: sipnatd goes on: an OPTIONS from the LAN got \"$reply\""
else
    fail "sipnatd did not answer an OPTIONS from the LAN: '${reply:-nothing}'"
fi
status_shows "$d" 'Port mapping: portmap = "auto": no router' 3 ||
    fail "sipnatctl status does not say there is no router: $(cat "$d/status.txt")"
grep -qF "External address: - (none yet)" "$d/status.txt" ||
    fail "sipnatctl status claims an external address without a router: $(head -n1 "$d/status.txt")"
stop_sipnatd

# ---------------------------------------------------------------- 4. CGNAT
part=cgnat
d=$top/cgnat
mkdir -p "$d"
say "==== $part: the router is behind a carrier's NAT (it reports 100.64.0.7)"
kill -TERM "$netns_stun_pid" 2>/dev/null || true
wait "$netns_stun_pid" 2>/dev/null || true
forget_pid "$netns_stun_pid"
netns_stun_start "$d" 100.64.0.7 || fail "the STUN server did not start again"
netns_miniupnpd_start "$d" || { cat "$d/miniupnpd.log" >&2; fail "miniupnpd did not start behind the carrier's NAT"; }
start_sipnatd "$d" natpmp
if wait_for "$d/sipnatd.log" "reports the external address 100.64.0.7" 10 "$sipnatd_pid"; then
    say "$part: sipnatd says: $(grep -m1 -oE 'portmap: the router reports.*' "$d/sipnatd.log")"
    grep -q "carrier-grade NAT address" "$d/sipnatd.log" || fail "the log line does not say what the address is"
else
    fail "no log line about the CGNAT address: $(grep portmap "$d/sipnatd.log" | tr '\n' ' ')"
fi
status_shows "$d" "Router's external address: 100.64.0.7 (private or shared: not advertised)" 3 ||
    fail "sipnatctl status does not show the router's CGNAT address as not advertised: $(cat "$d/status.txt")"
grep -qF "External address: - (none yet)" "$d/status.txt" ||
    fail "sipnatd advertises an address it should not: $(head -n1 "$d/status.txt")"
stop_sipnatd

part=""
if ((failed)); then
    exit 1
fi
say "PASS"
