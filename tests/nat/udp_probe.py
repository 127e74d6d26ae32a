#!/usr/bin/env python3
"""UDP probes through the namespace network (cgnat6.sh): which datagrams a
firewall lets through, in either address family.

  udp_probe.py echo ADDR PORT LOG SECONDS
      listen on ADDR:PORT for SECONDS; write "listening on" to LOG, then one
      line "from SRC PORT TEXT" per datagram received, and send it back
  udp_probe.py send ADDR PORT TEXT SECONDS
      send TEXT to ADDR:PORT, wait up to SECONDS for an answer; print
      "answer from SRC: TEXT" (exit 0) or "no answer" (exit 1)

ADDR is an IPv4 or IPv6 literal (no brackets).
"""
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo(addr, port, log, seconds):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    end = time.monotonic() + seconds
    with open(log, "a", buffering=1) as out:
        out.write("listening on %s %d\n" % (addr, port))
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return 0
            s.settimeout(left)
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                return 0
            out.write("from %s %d %s\n" % (src[0], src[1], data.decode("latin-1").strip()))
            s.sendto(data, src)


def send(addr, port, text, seconds):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(seconds)
    s.sendto(text.encode(), (addr, port))
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        print("no answer")
        return 1
    print("answer from %s: %s" % (src[0], data.decode("latin-1").strip()))
    return 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "echo":
        return echo(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    if len(sys.argv) == 6 and sys.argv[1] == "send":
        return send(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
