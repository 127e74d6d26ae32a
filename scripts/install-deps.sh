#!/bin/sh
# Install what building, packaging (make deb: dpkg-dev and file for
# dpkg-shlibdeps) and testing sipnatd needs on Debian 12, but only what is
# missing, so that `make run` and `make test` are quick on a machine that has it all.
# Uses sudo when not root.
set -eu

BUILD_PKGS="build-essential cmake pkg-config clang libosip2-dev libevent-dev libconfig-dev \
libssl-dev libsystemd-dev libjansson-dev check dpkg-dev file libclang-rt-14-dev \
libminiupnpc-dev libnatpmp-dev libmimalloc-dev"
# Real peers the integration tests drive: sipp as phones and PBX, sipvicious as
# the scanner, dnsmasq as a DNS server, tshark to see the wire, iproute2 and
# iptables for the NAT test, valgrind for leak checks, systemd-analyze for the
# unit's exposure figure; baresip and linphonec as real softphones behind the
# NAT (tests/nat/softphones.sh; baresip-core holds the modules it loads);
# openssl makes the test certificates and probes the TLS listener
# (tests/nat/transports.sh, unit tests of tls_context and sip_stream);
# miniupnpd (its iptables backend, as netns.sh's routers use iptables) as the
# home router that sipnatd asks for its ports (tests/nat/portmap.sh).
TEST_PKGS="sip-tester sipvicious dnsmasq-base tshark iproute2 iptables valgrind systemd \
python3 baresip-core linphone-cli openssl miniupnpd-iptables"

# The benchmarks (make bench, make bench-sip; bench/README.md): the peers
# sipnatd is measured against, the SIP load generator and the profiler.
BENCH_PKGS="kamailio rtpengine-daemon sip-tester linux-perf python3"

want="$BUILD_PKGS"
if [ "${1:-}" = "--test" ]; then
	want="$want $TEST_PKGS"
elif [ "${1:-}" = "--bench" ]; then
	want="$want $BENCH_PKGS"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# The real PBX and softphone the namespace tests run (tests/nat): Asterisk 20
# and pjsua are not packaged for Debian 12; the workplace's shared folder
# beside the repository carries them with their own installers (idempotent).
install_shared() {
	[ "${1:-}" = "--test" ] || return 0
	top=$(cd "$(dirname "$0")/.." && pwd)
	for tool in asterisk pjsua; do
		inst="$top/../shared/$tool/install.sh"
		if [ -x "$inst" ]; then
			$SUDO "$inst" >/dev/null || { echo "install-deps: $inst failed" >&2; exit 1; }
		fi
	done
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	elif [ -n "$missing" ]; then
		echo "install-deps: missing packages:$missing; run as root or install sudo" >&2
		exit 1
	else
		exit 0   # nothing missing, and no way to run the installers below
	fi
fi
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	$SUDO apt-get update -qq
	# tshark asks whether non-root users may capture; the default answer (no) is fine.
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
install_shared "${1:-}"
