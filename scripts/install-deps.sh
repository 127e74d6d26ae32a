#!/bin/sh
# Install what building, packaging (make deb: dpkg-dev and file for
# dpkg-shlibdeps) and testing sipnatd needs on Debian 12, but only what is
# missing, so that `make run` and `make test` are quick on a machine that has it all.
# Uses sudo when not root.
set -eu

BUILD_PKGS="build-essential cmake pkg-config clang libosip2-dev libevent-dev libconfig-dev \
libssl-dev libsystemd-dev libjansson-dev check dpkg-dev file libclang-rt-14-dev"
# Real peers the integration tests drive: sipp as phones and PBX, sipvicious as
# the scanner, dnsmasq as a DNS server, tshark to see the wire, iproute2 and
# iptables for the NAT test, valgrind for leak checks, systemd-analyze for the
# unit's exposure figure.
TEST_PKGS="sip-tester sipvicious dnsmasq-base tshark iproute2 iptables valgrind systemd \
python3"

want="$BUILD_PKGS"
if [ "${1:-}" = "--test" ]; then
	want="$want $TEST_PKGS"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing; run as root or install sudo" >&2
	exit 1
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; the default answer (no) is fine.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
