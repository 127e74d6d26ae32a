#!/usr/bin/env python3
"""Which address family sipnatd wrote into the SIP it sent one side (cgnat6.sh).

Reads, on standard input, one UDP datagram per line as tshark prints them with
  -T fields -E separator='|' -e SRC -e udp.srcport -e DST -e udp.dstport -e udp.payload
(the datagrams sipnatd sent toward one side) and checks that every address in
what sipnatd writes or stamps there is of the family FAMILY (4 or 6):

* the top Via (in a request sipnatd's own sent-by; in a response the
  receiver's own Via with the received= sipnatd stamped), its received= and
  maddr= too,
* every Contact and Record-Route URI host, and maddr= in them,
* the SDP: c= and o= lines (address type and address), a=rtcp with an address.

Host names (sipnatd's hidden-host tokens, a domain) are not addresses: counted,
not judged. An address written against RFC 3261 / RFC 5118 (an IPv6 reference
without brackets in a URI or sent-by, brackets doubled, brackets in
received=) is a violation too. Prints one line per violation ("FAIL: ...") and a last summary
line; exit status 1 when a violation was found or no SIP message was read.
usage: sip_family_check.py FAMILY DESCRIPTION
"""
import ipaddress
import re
import sys

URI_HOST = re.compile(r"sips?:(?:[^@;>\s]*@)?(\[+[0-9A-Fa-f:.]*\]+|[^;:>?\s,]+)")
VIA_HOST = re.compile(r"SIP/2\.0/[A-Za-z]+\s+(\[+[0-9A-Fa-f:.]*\]+|[^;:\s,]+)")
PARAM_ADDR = re.compile(r";\s*(received|maddr)=(\[[0-9A-Fa-f:.]+\]|[^;\s,>]+)", re.I)
SHORT = {"v": "via", "m": "contact"}


NAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$")


def family_of(host, where=""):
    """4 or 6 for an address written as RFC 3261 and RFC 5118 say (IPv6 in
    brackets in a sent-by or URI host, bare in received= and maddr= and the
    SDP), None for a host name, "bad" for anything else ([[...]], a bare IPv6
    reference in a URI, brackets in received=)."""
    bare = where.startswith("SDP") or where.endswith(("received", "maddr"))
    h = host
    if host.startswith("[") and host.endswith("]"):
        if bare and where.endswith("received"):
            return "bad"
        h = host[1:-1]
        try:
            return 6 if ipaddress.ip_address(h).version == 6 else "bad"
        except ValueError:
            return "bad"
    try:
        v = ipaddress.ip_address(h).version
    except ValueError:
        return None if NAME.match(h) else "bad"
    if v == 6 and not bare:
        return "bad"
    return v


def split_commas(value):
    """Header values separated by commas outside <> and quotes."""
    out, cur, depth, quoted = [], "", 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [v.strip() for v in out if v.strip()]


def message_addresses(text):
    """(where, host) pairs of one SIP message."""
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    # unfold continuation lines
    unfolded = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    found = []
    top_via_done = False
    for line in unfolded:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        name = SHORT.get(name, name)
        if name == "via" and not top_via_done:
            top_via_done = True
            via = split_commas(value)[0]
            m = VIA_HOST.search(via)
            if m:
                found.append(("Via sent-by", m.group(1)))
            for p in PARAM_ADDR.finditer(via):
                found.append(("Via " + p.group(1).lower(), p.group(2)))
        elif name in ("contact", "record-route"):
            label = "Contact" if name == "contact" else "Record-Route"
            for v in split_commas(value):
                if v == "*":
                    continue
                m = URI_HOST.search(v)
                if m:
                    found.append((label, m.group(1)))
                for p in PARAM_ADDR.finditer(v):
                    found.append((label + " " + p.group(1).lower(), p.group(2)))
    for line in body.split("\r\n"):
        m = re.match(r"([co])=(.*)", line)
        if m:
            parts = m.group(2).split()
            if len(parts) >= 3 and parts[-3] == "IN":
                found.append(("SDP %s= (%s)" % (m.group(1), parts[-2]), parts[-1]))
                found.append(("SDP %s= type" % m.group(1), parts[-2]))
        m = re.match(r"a=rtcp:\d+\s+IN\s+(IP[46])\s+(\S+)", line)
        if m:
            found.append(("SDP a=rtcp", m.group(2)))
            found.append(("SDP a=rtcp type", m.group(1)))
    return lines[0], found


def main():
    want = int(sys.argv[1])
    what = sys.argv[2] if len(sys.argv) > 2 else ""
    msgs = addrs = names = 0
    kinds = {}
    bad = []
    for line in sys.stdin:
        fields = line.rstrip("\n").split("|")
        if len(fields) < 5 or not fields[4]:
            continue
        data = bytes.fromhex(fields[4].replace(":", "")).decode("latin-1")
        if not re.match(r"(SIP/2\.0 \d{3}|[A-Z]+ \S+ SIP/2\.0)", data):
            continue  # keep-alives
        msgs += 1
        first, found = message_addresses(data)
        for where, host in found:
            if where.endswith(" type"):
                if host != "IP%d" % want:
                    bad.append("%s -> %s: %s: %s %s" % (fields[0], fields[2], first, where, host))
                continue
            fam = family_of(host, where)
            if fam is None:
                names += 1
                continue
            if fam == "bad":
                bad.append("%s -> %s: %s: %s malformed: %s" % (fields[0], fields[2], first, where, host))
                continue
            addrs += 1
            kinds[where.split(" (")[0]] = kinds.get(where.split(" (")[0], 0) + 1
            if fam != want:
                bad.append("%s -> %s: %s: %s %s" % (fields[0], fields[2], first, where, host))
    for b in bad[:20]:
        print("FAIL: IPv%d expected: %s" % (want, b))
    if len(bad) > 20:
        print("FAIL: ... %d more" % (len(bad) - 20))
    summary = ", ".join("%s %d" % (k, v) for k, v in sorted(kinds.items()))
    print("%d SIP messages %s, %d addresses (%s), %s IPv%d; %d host names" %
          (msgs, what, addrs, summary, "all well-formed" if not bad else "%d wrong or malformed, the rest" % len(bad),
           want, names))
    if msgs == 0:
        print("FAIL: no SIP message %s captured" % what)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
