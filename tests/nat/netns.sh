# netns.sh - the network of the namespace tests, to be sourced by bash scripts
# in tests/nat (nat_call.sh, asterisk_call.sh, softphones.sh).
#
#   P-phone            P-phone-nat               P-inet        P-home                  P-lan / P-pbx
#   phone               phone's NAT              "Internet"     home router             sipnatd / PBX
#   198.51.100.5 ---- 198.51.100.1 | 203.0.113.50 --- br0 --- 203.0.113.1 | 192.0.2.1 ---- 192.0.2.10
#                     MASQUERADE [--random]                    DNAT 5060, 10000-11000  `-- 192.0.2.20
#                                                              to 192.0.2.10; MASQUERADE
#   P-pub: a phone with a public address of its own, 203.0.113.80, on the bridge
#
# With the router kind cgnat6 (netns_setup P KIND cgnat6) the home router is
# not on the bridge: a carrier's router P-isp is, and the home router sits
# behind it (IPv4 behind two NATs, no forward anywhere; IPv6 routed):
#
#   P-pub             P-inet           P-isp                       P-home                  P-lan
#   203.0.113.80 ---- br0 ---- 203.0.113.2 | 198.51.100.129 ---- 198.51.100.130 | 192.0.2.1 -- 192.0.2.10
#   P-phone6 ------'       2001:db8:ff::2 | 2001:db8:ee::1 ----- 2001:db8:ee::2 | 2001:db8:1::1 -- 2001:db8:1::10
#   2001:db8:ff::50 (IPv6 only)
#                          MASQUERADE (CGNAT), routes      MASQUERADE; ip6tables: NEW in only
#                          2001:db8:1::/48 to the home     to [2001:db8:1::10] 5060/udp and
#                                                          10000-11000/udp (netns_firewall6_open)
#   The carrier's link to the home router stands in for the shared address
#   space (100.64.0.0/10) with 198.51.100.128/25, a TEST-NET range no other
#   namespace routes (the phone's NAT LAN uses 198.51.100.0/24 behind its own
#   NAT and never reaches it). The PBX (192.0.2.20) has no IPv6 address.
#   P-phone6 is a phone on the IPv6 Internet with no IPv4 address at all (so
#   that a phone that picks its media family from the host's addresses, as
#   pjsua does for an offer, picks IPv6), default route to the carrier.
#
# P is the caller's prefix (netns_setup PREFIX KIND): each script has its own,
# so that two of them never share a namespace. Only TEST-NET addresses, only
# veth pairs between the test's own namespaces, created from inside them:
# nothing is ever added to the host's namespace.
#
# KIND is the phone's NAT:
#   symmetric   MASQUERADE --random: a new random public port for every flow
#               (what the port-randomising routers of carriers do)
#   preserving  MASQUERADE: the phone's own port where it is free, and
#               replies only (a port-restricted cone as most home routers are)
#
# What a script gets: the addresses below, nsx/nsx_bg to run inside a
# namespace, wait_for/wait_udp, pids+=() with stop_pids, and netns_cleanup
# (stops the PIDs, deletes the namespaces), which netns_setup arms on EXIT.

readonly NETNS_PHONE=198.51.100.5 NETNS_PHONE_NAT=203.0.113.50 NETNS_PUBLIC=203.0.113.1
readonly NETNS_PUB_PHONE=203.0.113.80
readonly NETNS_SIPNATD=192.0.2.10 NETNS_PBX=192.0.2.20 NETNS_LAN_NET=192.0.2.0/24
readonly NETNS_RTPSTART=10000 NETNS_RTPEND=11000
# A STUN server on the "Internet" (addresses of the bridge in P-inet), for
# miniupnpd (netns_miniupnpd_start)
readonly NETNS_STUN=203.0.113.90 NETNS_STUN_ALT=203.0.113.91
# cgnat6: the carrier's public address, its link to the home router, the
# IPv6 networks (the Internet's, the carrier's link, the home LAN's routed
# /64 inside 2001:db8:1::/48) and sipnatd's and the public phone's IPv6
readonly NETNS_ISP_PUBLIC=203.0.113.2 NETNS_ISP_CPE=198.51.100.129 NETNS_HOME_CGNAT=198.51.100.130
readonly NETNS_CGNAT_NET=198.51.100.128/25
readonly NETNS6_ISP=2001:db8:ff::2
readonly NETNS6_ISP_CPE=2001:db8:ee::1 NETNS6_HOME_WAN=2001:db8:ee::2
readonly NETNS6_SITE=2001:db8:1::/48 NETNS6_HOME_LAN=2001:db8:1::1
readonly NETNS6_SIPNATD=2001:db8:1::10 NETNS6_PHONE=2001:db8:ff::50

netns_src=${BASH_SOURCE[0]}
[[ $netns_src == */* ]] || netns_src=./$netns_src
netns_dir=$(cd -- "${netns_src%/*}" && pwd)

netns_prefix=""
netns_names=()
pids=()

# every sipnatd these tests start checks its spliced messages (sipmsg.h)
export SIPNATD_CHECK_SPLICES=1

netns_say() { printf '[%3ds] %s\n' "$SECONDS" "$*"; }

# nsx NS CMD...: run a command inside one of the test's namespaces.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# nsx_bg NS CMD... &: the same for a background job; the job's subshell becomes
# the command, so that $! is the command's PID, to stop it by. The lock's
# descriptor (9) is not passed on.
nsx_bg() {
	local ns=$1
	shift
	exec ip netns exec "$ns" "$@" 9>&-
}

netns_exists() {
	local ns=$1 name
	while read -r name _; do
		[[ $name == "$ns" ]] && return 0
	done < <(ip netns list)
	return 1
}

# wait_for FILE TEXT SECONDS [PID]: until FILE holds TEXT; false if PID died
# or the time ran out.
wait_for() {
	local file=$1 text=$2 tenths=$(($3 * 10)) pid=${4:-} n
	for ((n = 0; n < tenths; n++)); do
		grep -qF -- "$text" "$file" 2>/dev/null && return 0
		[[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_udp NS ADDR:PORT SECONDS: until something listens there (UDP).
wait_udp() {
	local ns=$1 addr=$2 tenths=$(($3 * 10)) n
	for ((n = 0; n < tenths; n++)); do
		[[ -n $(nsx "$ns" ss -Hlun "src $addr") ]] && return 0
		sleep 0.1
	done
	return 1
}

forget_pid() {
	local pid=$1 i
	for i in "${!pids[@]}"; do
		[[ ${pids[$i]} == "$pid" ]] && unset 'pids[i]'
	done
	return 0
}

# stop_pids: stop what this run started, by PID: TERM, then KILL after 3 s.
stop_pids() {
	local pid n alive
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for ((n = 0; n < 30; n++)); do
		alive=0
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

# Delete the namespaces of this prefix, also those a killed earlier run left:
# whatever still runs in one was started by this test (now or then), and is
# killed by PID first so that the namespace can go.
netns_remove() {
	local ns pid
	for ns in "${netns_names[@]}"; do
		netns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" || echo "warning: could not delete namespace $ns" >&2
	done
}

# netns_cleanup: the EXIT trap: processes, then namespaces. A script that has
# more to clean defines netns_cleanup_hook, called first with the exit status.
netns_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if declare -F netns_cleanup_hook >/dev/null; then
		netns_cleanup_hook "$rc"
	fi
	stop_pids
	netns_remove
	exit "$rc"
}

# netns_require TOOL...: exit 77 (skipped, with the reason) unless root with
# network namespaces and every tool.
netns_require() {
	local tool
	if ((EUID != 0)); then
		echo "SKIP: this test needs root (network namespaces)"
		exit 77
	fi
	for tool in ip iptables flock "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: this test needs $tool"
			exit 77
		fi
	done
	if ! ip netns add "netns-probe-$$" 2>/dev/null; then
		echo "SKIP: network namespaces cannot be created here"
		exit 77
	fi
	ip netns del "netns-probe-$$"
}

# veth NS1 IF1 NS2 IF2: a pair created inside NS1, its peer moved to NS2.
netns_veth() {
	nsx "$1" ip link add name "$2" type veth peer name "$4" netns "$3"
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

# netns_setup PREFIX KIND [ROUTER]: take the prefix's lock (one run per prefix
# on the machine), remove what an earlier run left, build the network, arm the
# cleanup. Namespaces: $PREFIX-inet -home -lan -pbx -phone-nat -phone -pub.
# ROUTER is the home router's kind:
#   forwards   (the default) 5060/udp and the relay range forwarded by hand
#   portmap    no forwards at all: only what a LAN host asks for through
#              miniupnpd (netns_miniupnpd_start) gets in
#   cgnat6     no forwards, and behind a carrier's NAT (namespace $PREFIX-isp)
#              for IPv4; IPv6 routed to the LAN through a stateful ip6tables
#              firewall that lets in only replies (and what
#              netns_firewall6_open opens); see the drawing above
netns_setup() {
	local p=$1 kind=$2 router=${3:-forwards} lock=/run/lock ns
	case $router in
	forwards | portmap | cgnat6) ;;
	*)
		echo "netns_setup: router kind '$router' is none of forwards, portmap, cgnat6" >&2
		exit 1
		;;
	esac
	case $kind in
	symmetric | preserving) ;;
	*)
		echo "netns_setup: NAT kind '$kind' is neither symmetric nor preserving" >&2
		exit 1
		;;
	esac
	netns_prefix=$p
	netns_names=("$p-inet" "$p-home" "$p-lan" "$p-pbx" "$p-phone-nat" "$p-phone" "$p-pub")
	[[ $router != cgnat6 ]] || netns_names+=("$p-isp" "$p-phone6")
	[[ -d $lock && -w $lock ]] || lock=/tmp
	exec 9>"$lock/sipnatd-netns-$p.lock"
	flock -n 9 || netns_say "waiting for another run with prefix $p to finish"
	if ! flock -w 300 9; then
		echo "FAIL: another run held $lock/sipnatd-netns-$p.lock for 300 s" >&2
		exit 1
	fi
	trap netns_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	netns_remove
	for ns in "${netns_names[@]}"; do
		ip netns add "$ns"
		nsx "$ns" ip link set lo up
	done

	# The Internet: one bridge, no addresses of its own.
	nsx "$p-inet" ip link add name br0 type bridge forward_delay 0
	nsx "$p-inet" ip link set br0 up
	if [[ $router == cgnat6 ]]; then
		netns_veth "$p-inet" isp "$p-isp" wan
		netns_veth "$p-isp" cpe "$p-home" wan
		netns_veth "$p-inet" phone6 "$p-phone6" eth0
	else
		netns_veth "$p-inet" home "$p-home" wan
	fi
	netns_veth "$p-inet" pnat "$p-phone-nat" wan
	netns_veth "$p-inet" pub "$p-pub" eth0
	if [[ $router == cgnat6 ]]; then
		nsx "$p-inet" ip link set isp master br0
		nsx "$p-inet" ip link set phone6 master br0
	else
		nsx "$p-inet" ip link set home master br0
	fi
	nsx "$p-inet" ip link set pnat master br0
	nsx "$p-inet" ip link set pub master br0

	# The home router: WAN 203.0.113.1 (cgnat6: the carrier's 198.51.100.130),
	# LAN bridge 192.0.2.1/24.
	if [[ $router == cgnat6 ]]; then
		nsx "$p-home" ip addr add "$NETNS_HOME_CGNAT/25" dev wan
		nsx "$p-home" ip route add default via "$NETNS_ISP_CPE"
	else
		nsx "$p-home" ip addr add "$NETNS_PUBLIC/24" dev wan
	fi
	nsx "$p-home" ip link add name lan type bridge forward_delay 0
	nsx "$p-home" ip link set lan up
	nsx "$p-home" ip addr add 192.0.2.1/24 dev lan
	netns_veth "$p-home" lan-sn "$p-lan" eth0
	netns_veth "$p-home" lan-pbx "$p-pbx" eth0
	nsx "$p-home" ip link set lan-sn master lan
	nsx "$p-home" ip link set lan-pbx master lan
	nsx "$p-lan" ip addr add "$NETNS_SIPNATD/24" dev eth0
	nsx "$p-lan" ip route add default via 192.0.2.1
	nsx "$p-pbx" ip addr add "$NETNS_PBX/24" dev eth0
	nsx "$p-pbx" ip route add default via 192.0.2.1
	nsx "$p-home" sysctl -qw net.ipv4.ip_forward=1
	# Port forwards to sipnatd (SIP and the relay range); the LAN goes out
	# masqueraded; from the Internet only forwarded ports and replies get in
	# (the PBX is unreachable).
	if [[ $router == forwards ]]; then
		nsx "$p-home" iptables -t nat -A PREROUTING -i wan -p udp --dport 5060 -j DNAT --to-destination "$NETNS_SIPNATD"
		nsx "$p-home" iptables -t nat -A PREROUTING -i wan -p udp --dport "$NETNS_RTPSTART:$NETNS_RTPEND" \
			-j DNAT --to-destination "$NETNS_SIPNATD"
	fi
	nsx "$p-home" iptables -t nat -A POSTROUTING -o wan -s "$NETNS_LAN_NET" -j MASQUERADE
	nsx "$p-home" iptables -P FORWARD DROP
	nsx "$p-home" iptables -A FORWARD -i lan -o lan -j ACCEPT
	nsx "$p-home" iptables -A FORWARD -i lan -o wan -j ACCEPT
	nsx "$p-home" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED,DNAT -j ACCEPT

	# The phone's NAT: WAN 203.0.113.50, LAN 198.51.100.1/24; nothing gets in
	# that is not a reply to what the phone sent.
	nsx "$p-phone-nat" ip addr add "$NETNS_PHONE_NAT/24" dev wan
	netns_veth "$p-phone-nat" lan "$p-phone" eth0
	nsx "$p-phone-nat" ip addr add 198.51.100.1/24 dev lan
	nsx "$p-phone" ip addr add "$NETNS_PHONE/24" dev eth0
	nsx "$p-phone" ip route add default via 198.51.100.1
	nsx "$p-phone-nat" sysctl -qw net.ipv4.ip_forward=1
	if [[ $kind == symmetric ]]; then
		nsx "$p-phone-nat" iptables -t nat -A POSTROUTING -o wan -s 198.51.100.0/24 -j MASQUERADE --random
	else
		nsx "$p-phone-nat" iptables -t nat -A POSTROUTING -o wan -s 198.51.100.0/24 -j MASQUERADE
	fi
	nsx "$p-phone-nat" iptables -P FORWARD DROP
	nsx "$p-phone-nat" iptables -A FORWARD -i lan -o wan -j ACCEPT
	nsx "$p-phone-nat" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

	# A phone with a public address, no NAT in front of it.
	nsx "$p-pub" ip addr add "$NETNS_PUB_PHONE/24" dev eth0

	[[ $router != cgnat6 ]] || netns_cgnat6
}

# netns_cgnat6: the carrier (P-isp) and the IPv6 of the cgnat6 network (the
# drawing above); netns_setup calls it. IPv6 addresses are added without
# duplicate address detection (nodad: usable at once; the namespaces are the
# only hosts on each link), router advertisements are not used.
netns_cgnat6() {
	local p=$netns_prefix ns
	for ns in "${netns_names[@]}"; do
		nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
	done
	# bridges flood multicast (neighbour discovery) without a querier to learn from
	nsx "$p-inet" ip link set br0 type bridge mcast_snooping 0
	nsx "$p-home" ip link set lan type bridge mcast_snooping 0

	# The carrier: IPv4 masqueraded behind its one public address, nothing
	# gets in unasked; IPv6 routed both ways, unfiltered.
	nsx "$p-isp" ip addr add "$NETNS_ISP_PUBLIC/24" dev wan
	nsx "$p-isp" ip addr add "$NETNS_ISP_CPE/25" dev cpe
	nsx "$p-isp" ip -6 addr add "$NETNS6_ISP/64" dev wan nodad
	nsx "$p-isp" ip -6 addr add "$NETNS6_ISP_CPE/64" dev cpe nodad
	nsx "$p-isp" ip -6 route add "$NETNS6_SITE" via "$NETNS6_HOME_WAN"
	nsx "$p-isp" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	nsx "$p-isp" iptables -t nat -A POSTROUTING -o wan -s "$NETNS_CGNAT_NET" -j MASQUERADE
	nsx "$p-isp" iptables -P FORWARD DROP
	nsx "$p-isp" iptables -A FORWARD -i cpe -o wan -j ACCEPT
	nsx "$p-isp" iptables -A FORWARD -i wan -o cpe -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

	# The home router: its prefix on the LAN, default route to the carrier.
	nsx "$p-home" ip -6 addr add "$NETNS6_HOME_WAN/64" dev wan nodad
	nsx "$p-home" ip -6 addr add "$NETNS6_HOME_LAN/64" dev lan nodad
	nsx "$p-home" ip -6 route add default via "$NETNS6_ISP_CPE"
	nsx "$p-home" sysctl -qw net.ipv6.conf.all.forwarding=1
	# A stateful IPv6 firewall as home routers have: out anything, in only
	# replies (and related ICMPv6 errors); netns_firewall6_open adds pinholes.
	nsx "$p-home" ip6tables -P FORWARD DROP
	nsx "$p-home" ip6tables -A FORWARD -i lan -o lan -j ACCEPT
	nsx "$p-home" ip6tables -A FORWARD -i lan -o wan -j ACCEPT
	nsx "$p-home" ip6tables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	nsx "$p-home" ip6tables -N PINHOLES
	nsx "$p-home" ip6tables -A FORWARD -i wan -o lan -m conntrack --ctstate NEW -j PINHOLES

	nsx "$p-lan" ip -6 addr add "$NETNS6_SIPNATD/64" dev eth0 nodad
	nsx "$p-lan" ip -6 route add default via "$NETNS6_HOME_LAN"

	nsx "$p-phone6" ip -6 addr add "$NETNS6_PHONE/64" dev eth0 nodad
	nsx "$p-phone6" ip -6 route add default via "$NETNS6_ISP"
}

# netns_firewall6_open PROTO PORT[:PORT]...: pinholes in the home router's
# IPv6 firewall (cgnat6): NEW connections from the Internet to sipnatd's IPv6
# address on these ports (what the README asks of the router).
netns_firewall6_open() {
	local proto=$1 port
	shift
	for port in "$@"; do
		nsx "$netns_prefix-home" ip6tables -A PINHOLES -d "$NETNS6_SIPNATD" -p "$proto" --dport "$port" -j ACCEPT
	done
}

# netns_firewall6_dropped: how many packets the home router's IPv6 firewall
# dropped so far (its FORWARD policy's counter).
netns_firewall6_dropped() {
	nsx "$netns_prefix-home" ip6tables -L FORWARD -n -v -x | sed -nE 's/^Chain FORWARD \(policy DROP ([0-9]+) packets.*/\1/p'
}

# netns_forward_tcp PORT...: the home router forwards these TCP ports to
# sipnatd too (SIP over TCP and TLS, issue 15), as it forwards 5060/udp.
netns_forward_tcp() {
	local port
	for port in "$@"; do
		nsx "$netns_prefix-home" iptables -t nat -A PREROUTING -i wan -p tcp --dport "$port" \
			-j DNAT --to-destination "$NETNS_SIPNATD"
	done
}

# netns_capture NS IF FILE SECONDS FILTER: tshark in the background writing
# FILE; returns once it captures (false when tshark is missing or failed).
netns_capture() {
	local ns=$1 ifc=$2 file=$3 secs=$4 filter=$5
	command -v tshark >/dev/null 2>&1 || return 1
	nsx_bg "$ns" timeout "$secs" tshark -q -i "$ifc" -f "$filter" -w "$file" >"$file.log" 2>&1 &
	pids+=("$!")
	wait_for "$file.log" "Capturing on" 10 "$!"
}

# ---- a home router that opens ports on request (netns_setup P KIND portmap)
#
# miniupnpd, the Debian package's iptables backend (miniupnpd-iptables): it
# writes through libiptc, so its rules live in the legacy tables (listed with
# iptables-legacy, beside the nf_tables rules of netns_setup, which the kernel
# applies as well). It refuses to forward while its WAN address is a reserved
# one, as TEST-NET addresses are, unless STUN shows that nothing filters in
# front of it: so the "Internet" gets a STUN server (stun_server.py).

# netns_stun_start DIR [REPORT_ADDR]: the STUN server, answering on
# $NETNS_STUN:3478; with REPORT_ADDR it reports that address as the client's
# (a carrier's NAT in front of the home router). Sets netns_stun_pid.
netns_stun_start() {
	local dir=$1 report=${2:-} p=$netns_prefix pid
	nsx "$p-inet" ip addr replace "$NETNS_STUN/24" dev br0
	nsx "$p-inet" ip addr replace "$NETNS_STUN_ALT/24" dev br0
	: >"$dir/stun.log"
	nsx_bg "$p-inet" python3 "$netns_dir/stun_server.py" "$NETNS_STUN" "$NETNS_STUN_ALT" 3478 \
		"$dir/stun.log" $report >"$dir/stun.out" 2>&1 &
	pid=$!
	netns_stun_pid=$pid
	pids+=("$pid")
	wait_for "$dir/stun.log" "listening on" 5 "$pid"
}

# netns_miniupnpd_chains: the chains miniupnpd fills (what the package's
# iptables_init.sh makes), where they are missing.
netns_miniupnpd_chains() {
	local p=$netns_prefix
	if nsx "$p-home" iptables-legacy -t nat -N MINIUPNPD 2>/dev/null; then
		nsx "$p-home" iptables-legacy -t nat -I PREROUTING -i wan -j MINIUPNPD
	fi
	if nsx "$p-home" iptables-legacy -t nat -N MINIUPNPD-POSTROUTING 2>/dev/null; then
		nsx "$p-home" iptables-legacy -t nat -I POSTROUTING -o wan -j MINIUPNPD-POSTROUTING
	fi
	if nsx "$p-home" iptables-legacy -t filter -N MINIUPNPD 2>/dev/null; then
		nsx "$p-home" iptables-legacy -t filter -I FORWARD -i wan ! -o wan -j MINIUPNPD
	fi
}

# netns_miniupnpd_flush: what a reboot does to the router's mappings.
netns_miniupnpd_flush() {
	local p=$netns_prefix
	nsx "$p-home" iptables-legacy -t nat -F MINIUPNPD
	nsx "$p-home" iptables-legacy -t nat -F MINIUPNPD-POSTROUTING
	nsx "$p-home" iptables-legacy -t filter -F MINIUPNPD
}

# netns_miniupnpd_rules: the port forwards miniupnpd holds, one "PORT ADDR"
# a line (UDP), sorted by port: its DNAT in the nat table (whose target
# iptables 1.8.9 prints as "[unsupported revision]", so the address is read
# from its twin ACCEPT in the filter table).
netns_miniupnpd_rules() {
	local p=$netns_prefix
	{
		nsx "$p-home" iptables-legacy -t nat -S MINIUPNPD 2>/dev/null | sed -nE 's/.*-p udp .*--dport ([0-9]+) .*-j DNAT.*/N \1/p'
		nsx "$p-home" iptables-legacy -t filter -S MINIUPNPD 2>/dev/null |
			sed -nE 's/.*-d ([0-9.]+)\/32 .*-p udp .*--dport ([0-9]+) .*-j ACCEPT.*/F \2 \1/p'
	} | awk '$1 == "N" { nat[$2] = 1 } $1 == "F" { to[$2] = $3 }
		END { for (port in nat) print port, (port in to ? to[port] : "?") }' | sort -n
}

# netns_miniupnpd_start DIR [LINE...]: miniupnpd on the home router, UPnP-IGD
# and NAT-PMP on the LAN side, for the LAN's own addresses only; LINEs are
# further lines of its miniupnpd.conf (e.g. enable_upnp=no). Returns once it
# serves and STUN allowed forwarding; netns_miniupnpd_pid is its PID, its
# log DIR/miniupnpd.log (the log of an earlier start is kept as .N).
netns_miniupnpd_start() {
	local dir=$1 p=$netns_prefix n=1
	shift
	netns_miniupnpd_chains
	{
		printf '%s\n' ext_ifname=wan listening_ip=lan http_port=0 enable_natpmp=yes enable_upnp=yes \
			secure_mode=yes system_uptime=no notify_interval=30 ext_perform_stun=yes \
			"ext_stun_host=$NETNS_STUN" ext_stun_port=3478 uuid=73c6e5d2-5e0b-4c39-9a8e-0123456789ab \
			"allow 1024-65535 $NETNS_LAN_NET 1024-65535" "deny 0-65535 0.0.0.0/0 0-65535"
		printf '%s\n' "$@"
	} >"$dir/miniupnpd.conf"
	if [[ -e $dir/miniupnpd.log ]]; then
		while [[ -e $dir/miniupnpd.log.$n ]]; do n=$((n + 1)); done
		mv "$dir/miniupnpd.log" "$dir/miniupnpd.log.$n"
	fi
	nsx_bg "$p-home" miniupnpd -d -f "$dir/miniupnpd.conf" -P "$dir/miniupnpd.pid" \
		>"$dir/miniupnpd.log" 2>&1 &
	netns_miniupnpd_pid=$!
	pids+=("$netns_miniupnpd_pid")
	wait_for "$dir/miniupnpd.log" "Listening for NAT-PMP" 10 "$netns_miniupnpd_pid" &&
		wait_for "$dir/miniupnpd.log" "Port forwarding is now enabled" 10 "$netns_miniupnpd_pid"
}

# netns_miniupnpd_stop: stop it (SIGTERM, as a router's shutdown does).
netns_miniupnpd_stop() {
	local pid=${netns_miniupnpd_pid:-}
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
	netns_miniupnpd_pid=""
}
