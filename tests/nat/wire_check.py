#!/usr/bin/env python3
"""What crossed the home router's WAN in the NAT test (nat_call.sh).

Reads, on standard input, one UDP datagram per line as tshark prints them with
  -T fields -E separator='|' -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.payload
and checks, with the addresses given on the command line:

* SIP (port 5060): no LAN address (LAN_PREFIX, e.g. "192.0.2.") anywhere in
  the raw datagram: request line, every header (From, To and Call-ID too:
  sipnatd hides the PBX's LAN hosts there, sip_hide.c), the SDP's c=/o= lines,
  any other line. Tokens in base32 are the caller's business (nat_call.sh
  decodes them).
* RTP (the relay range): every datagram is between the router's public
  address (PUBLIC) and the phone's NAT (PHONE_NAT), none carries the LAN
  prefix; the packets of each flow (relay port, NAT port) are counted each way.

Prints a summary; "FAIL: ..." lines and exit status 1 when a check fails.
usage: wire_check.py PUBLIC PHONE_NAT LAN_PREFIX RTPSTART RTPEND
"""
import sys


def main():
    public, phone_nat, lan, rtpstart, rtpend = sys.argv[1:6]
    rtpstart, rtpend = int(rtpstart), int(rtpend)
    lan_b = lan.encode()
    fails = []
    sip_count = 0
    flows = {}  # (relay port, nat port) -> [to phone, from phone]

    for line in sys.stdin:
        fields = line.rstrip("\n").split("|")
        if len(fields) < 5 or not fields[1] or not fields[3]:
            continue
        src, sport, dst, dport, hexdata = fields[0], int(fields[1]), fields[2], int(fields[3]), fields[4]
        data = bytes.fromhex(hexdata.replace(":", ""))
        where = "%s:%d -> %s:%d" % (src, sport, dst, dport)
        if sport == 5060 or dport == 5060:
            sip_count += 1
            first = data.split(b"\r\n", 1)[0].decode("latin-1")
            for raw in data.split(b"\n"):
                if lan_b not in raw:
                    continue
                text = raw.rstrip(b"\r").decode("latin-1")
                fails.append("a LAN address crossed the WAN in SIP: %s %s: %r" % (where, first, text))
            continue
        ports = [p for p in (sport, dport) if rtpstart <= p <= rtpend]
        if not ports:
            fails.append("unexpected UDP on the WAN: %s" % where)
            continue
        if src == public and dst == phone_nat:
            key, way = (sport, dport), 0
        elif src == phone_nat and dst == public:
            key, way = (dport, sport), 1
        else:
            fails.append("media between unexpected addresses on the WAN: %s" % where)
            continue
        if lan_b in data:
            fails.append("a LAN address inside a media datagram on the WAN: %s" % where)
        flows.setdefault(key, [0, 0])[way] += 1

    print("    SIP datagrams: %d" % sip_count)
    for (relay, natp), (to_phone, from_phone) in sorted(flows.items()):
        print("    RTP %s:%d <-> %s:%d: %d to the phone, %d from the phone"
              % (public, relay, phone_nat, natp, to_phone, from_phone))
    for f in fails[:20]:
        print("FAIL: " + f)
    if len(fails) > 20:
        print("FAIL: ... and %d more" % (len(fails) - 20))
    # for the caller: one line per flow, machine-readable
    for (relay, natp), (to_phone, from_phone) in sorted(flows.items()):
        print("FLOW %d %d %d %d" % (relay, natp, to_phone, from_phone))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
