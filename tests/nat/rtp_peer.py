#!/usr/bin/env python3
"""One end of a call's media in the NAT test (nat_call.sh): the phone's or the PBX's.

It binds the address and port its own SDP names, waits until the sipp scenario
of its side writes TARGET_FILE ("IP PORT": the c= and m= of the SDP it received,
i.e. sipnatd's relay as that side was told), then sends COUNT RTP packets of 172
bytes (12-byte header, version 2, PCMU, consecutive sequence numbers, 160 bytes
of payload) every INTERVAL seconds to that address, and counts what comes back.

A packet counts as received only when it comes from the target address itself
(symmetric RTP: the relay answers from the port it was told to send to), is a
version-2 RTP packet of 172 bytes with the peer's SSRC and carries exactly the
payload the peer put in for that sequence number; anything else is counted as
foreign. --wait-first holds the sending back until the first packet from the
peer has arrived (or WAIT_FIRST_MAX seconds have passed): the PBX's side, whose
packets the relay can only pass on once it has latched onto the phone's.

Every loop is bounded: the whole run ends after MAX_TIME seconds at most.
The result is one JSON object written to RESULT (and printed).
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time
import zlib

RTP_LEN = 172
HEADER = struct.Struct("!BBHII")


def ssrc_of(name):
    return zlib.crc32(("sipnatd-nat-test " + name).encode()) & 0xFFFFFFFF


def payload(name, seq):
    """160 bytes that say who sent which packet; PCMU silence (0xff) after it."""
    text = ("sipnatd-nat-test %s seq %d " % (name, seq)).encode()
    return text + b"\xff" * (RTP_LEN - HEADER.size - len(text))


def packet(name, seq, ts):
    return HEADER.pack(0x80, 0, seq, ts, ssrc_of(name)) + payload(name, seq)


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def read_target(path):
    try:
        with open(path) as f:
            ip, port = f.read().split()[:2]
        return ip, int(port)
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="this side (phone, pbx)")
    ap.add_argument("--peer", required=True, help="the other side's name")
    ap.add_argument("--bind", required=True, help="IP:PORT (this side's SDP address)")
    ap.add_argument("--target-file", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--first-seq", type=int, default=1, help="our first sequence number")
    ap.add_argument("--peer-first-seq", type=int, default=1, help="the peer's first one")
    ap.add_argument("--wait-first", action="store_true")
    ap.add_argument("--wait-first-max", type=float, default=2.0)
    ap.add_argument("--linger", type=float, default=0.8,
                    help="seconds of silence after our last packet before stopping")
    ap.add_argument("--max-time", type=float, default=15.0)
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(parse_addr(args.bind))
    sock.setblocking(False)
    print("listening on %s" % args.bind, flush=True)

    started = time.monotonic()
    deadline = started + args.max_time
    target = None
    target_at = None
    send_start = None
    sent = 0
    seq0 = args.first_seq & 0xFFFF
    peer_ssrc = ssrc_of(args.peer)
    received = {}          # index in the peer's stream (0 = its first packet) -> count
    peer_seq0 = args.peer_first_seq & 0xFFFF
    foreign = []           # (source, reason), first few
    foreign_count = 0
    first_rx_at = None
    last_rx_at = None
    sources = set()

    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if target is None:
            target = read_target(args.target_file)
            target_at = now
        if target is not None and send_start is None:
            if not args.wait_first or first_rx_at is not None or now - target_at >= args.wait_first_max:
                send_start = now
        # send what is due
        while send_start is not None and sent < args.count and now >= send_start + sent * args.interval:
            seq = (seq0 + sent) & 0xFFFF
            try:
                sock.sendto(packet(args.name, seq, 160 * sent), target)
            except OSError as e:
                foreign.append(("send", str(e)))
            sent += 1
        done_sending = send_start is not None and sent >= args.count
        if done_sending:
            quiet_since = max(last_rx_at or 0, send_start + (args.count - 1) * args.interval)
            if now - quiet_since >= args.linger:
                break
        # wait for a packet or the next thing to do
        if target is None:
            timeout = 0.01
        elif send_start is None:
            timeout = 0.01
        elif sent < args.count:
            timeout = max(0.0, send_start + sent * args.interval - now)
        else:
            timeout = 0.05
        timeout = min(timeout, max(0.0, deadline - now))
        r, _, _ = select.select([sock], [], [], timeout)
        if not r:
            continue
        while True:
            try:
                data, src = sock.recvfrom(2048)
            except BlockingIOError:
                break
            rx = time.monotonic()
            if target is None:  # (the file may have come just now)
                target = read_target(args.target_file)
                target_at = rx
            reason = None
            if target is None or src != target:
                reason = "source %s:%d is not the target" % src
            elif len(data) != RTP_LEN:
                reason = "%d bytes" % len(data)
            else:
                b0, pt, seq, _ts, ssrc = HEADER.unpack_from(data)
                if b0 >> 6 != 2:
                    reason = "RTP version %d" % (b0 >> 6)
                elif ssrc != peer_ssrc:
                    reason = "SSRC %08x" % ssrc
                elif data[HEADER.size:] != payload(args.peer, seq):
                    reason = "payload altered (seq %d)" % seq
                elif (seq - peer_seq0) & 0xFFFF >= args.count:
                    reason = "seq %d outside the peer's stream" % seq
            sources.add("%s:%d" % src)
            if reason:
                foreign_count += 1
                if len(foreign) < 5:
                    foreign.append(("%s:%d" % src, reason))
                continue
            index = (seq - peer_seq0) & 0xFFFF
            received[index] = received.get(index, 0) + 1
            if first_rx_at is None:
                first_rx_at = rx
            last_rx_at = rx

    result = {
        "side": args.name,
        "bind": args.bind,
        "target": "%s:%d" % target if target else None,
        "sent": sent,
        "received": len(received),
        "duplicates": sum(n - 1 for n in received.values()),
        "first_index": min(received) if received else None,
        "missing": sorted(set(range(args.count)) - set(received)),
        "foreign": foreign_count,
        "foreign_examples": foreign,
        "sources": sorted(sources),
        "waited_for_peer_s": round(send_start - target_at, 3) if send_start and target_at else None,
        "elapsed_s": round(time.monotonic() - started, 3),
    }
    text = json.dumps(result, sort_keys=True)
    tmp = args.result + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, args.result)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
