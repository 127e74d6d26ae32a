#!/usr/bin/env python3
"""A STUN server (RFC 5389 Binding, RFC 5780 CHANGE-REQUEST) for the namespace
tests: miniupnpd refuses to forward ports while its WAN address is a reserved
one (the TEST-NET addresses of the tests are), unless STUN shows that nothing
filters in front of it (ext_perform_stun). It asks four times, from four
ports, with each combination of "change IP" and "change port", and wants all
four answers; this server gives each from the address and port asked for.

usage: stun_server.py ADDR_A ADDR_B PORT LOGFILE [REPORT_ADDR]
It serves ADDR_A:PORT (the address told to clients), and answers from
ADDR_A/ADDR_B and PORT/PORT+1; one line per answer goes to LOGFILE. With
REPORT_ADDR it reports that address (with the client's own port) instead of
the client's: what a client sees behind a carrier's full-cone NAT, whose
public side is REPORT_ADDR (e.g. 100.64.0.7, a CGNAT address).
"""
import selectors
import socket
import struct
import sys

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_CHANGE_REQUEST = 0x0003
ATTR_XOR_MAPPED_ADDRESS = 0x0020
CHANGE_IP = 0x4
CHANGE_PORT = 0x2


def attributes(body):
    """(type, value) pairs of a STUN message body; stops at anything short."""
    pos = 0
    while pos + 4 <= len(body):
        atype, alen = struct.unpack_from("!HH", body, pos)
        value = body[pos + 4:pos + 4 + alen]
        if len(value) < alen:
            return
        yield atype, value
        pos += 4 + alen + (-alen % 4)


def answer(request, source, report=None):
    """The Binding success response to request from source, and the change
    flags it asked for; None for anything that is not a Binding request."""
    if len(request) < 20:
        return None
    mtype, mlen, cookie = struct.unpack_from("!HHI", request)
    if mtype != BINDING_REQUEST or cookie != MAGIC or 20 + mlen > len(request):
        return None
    tid = request[8:20]
    flags = 0
    for atype, value in attributes(request[20:20 + mlen]):
        if atype == ATTR_CHANGE_REQUEST and len(value) == 4:
            flags = struct.unpack("!I", value)[0]
    ip = socket.inet_aton(report or source[0])
    port = source[1]
    mapped = struct.pack("!BBH4s", 0, 1, port, ip)
    xport = port ^ (MAGIC >> 16)
    xip = bytes(a ^ b for a, b in zip(ip, struct.pack("!I", MAGIC)))
    xmapped = struct.pack("!BBH4s", 0, 1, xport, xip)
    body = (struct.pack("!HH", ATTR_MAPPED_ADDRESS, len(mapped)) + mapped +
            struct.pack("!HH", ATTR_XOR_MAPPED_ADDRESS, len(xmapped)) + xmapped)
    return struct.pack("!HHI", BINDING_SUCCESS, len(body), MAGIC) + tid + body, flags


def main():
    addr_a, addr_b, port, logfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    report = sys.argv[5] if len(sys.argv) > 5 else None
    socks = {}
    sel = selectors.DefaultSelector()
    for ip in (addr_a, addr_b):
        for p in (port, port + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, p))
            socks[(ip, p)] = s
            sel.register(s, selectors.EVENT_READ)
    with open(logfile, "a", buffering=1) as log:
        log.write("listening on %s:%d\n" % (addr_a, port))
        while True:
            for key, _ in sel.select():
                s = key.fileobj
                data, source = s.recvfrom(2048)
                res = answer(data, source, report)
                if res is None:
                    continue
                reply, flags = res
                here_ip, here_port = s.getsockname()
                ip = (addr_b if here_ip == addr_a else addr_a) if flags & CHANGE_IP else here_ip
                p = (port + 1 if here_port == port else port) if flags & CHANGE_PORT else here_port
                socks[(ip, p)].sendto(reply, source)
                log.write("answered %s:%d from %s:%d (change ip %d, port %d)\n" %
                          (source[0], source[1], ip, p, bool(flags & CHANGE_IP),
                           bool(flags & CHANGE_PORT)))


if __name__ == "__main__":
    main()
