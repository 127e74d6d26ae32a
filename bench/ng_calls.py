"""Open relay streams on rtpengine over its ng control protocol.

ng is bencode over UDP: "<cookie> <bencoded dict>", answered with the same
cookie. A call is an "offer" with the phone's SDP (rtpengine answers with the
SDP for the PBX: the port the PBX sends to) and an "answer" with the PBX's SDP
(rtpengine answers with the SDP for the phone: the port the phone sends to).

Used by bench/run.py; every wait is bounded in time.
"""
import re
import selectors
import socket
import time

SDP_PORT_RE = re.compile(rb"\r\nm=audio (\d+) ")


def bencode(v):
    """bytes for v: dict (str keys), list, str, bytes or int."""
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdecode(data):
    """The value bencoded in data (strings stay bytes)."""
    def parse(i):
        c = data[i:i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1:end]), end + 1
        if c == b"l" or c == b"d":
            i += 1
            items = []
            while data[i:i + 1] != b"e":
                x, i = parse(i)
                items.append(x)
            if c == b"l":
                return items, i + 1
            return {items[k].decode(): items[k + 1] for k in range(0, len(items), 2)}, i + 1
        colon = data.index(b":", i)
        n = int(data[i:colon])
        return data[colon + 1:colon + 1 + n], colon + 1 + n
    value, end = parse(0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return value


def _sdp(ip, port, sess):
    return (f"v=0\r\no=- {sess} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class NgCalls:
    def __init__(self, control, phone_rtp_ip, pbx_rtp_ip):
        self.control = control
        self.phone_rtp_ip = phone_rtp_ip
        self.pbx_rtp_ip = pbx_rtp_ip
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((phone_rtp_ip, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setblocking(False)
        self.seq = 0

    def close(self):
        self.sock.close()

    def request(self, cmd, timeout_s=3.0):
        """Send one ng command and return the decoded reply dict."""
        self.seq += 1
        cookie = b"b%d" % self.seq
        self.sock.sendto(cookie + b" " + bencode(cmd), self.control)
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                sel.select(max(0.0, deadline - time.monotonic()))
                try:
                    data, _ = self.sock.recvfrom(65535)
                except BlockingIOError:
                    continue
                got_cookie, _, body = data.partition(b" ")
                if got_cookie == cookie:
                    return bdecode(body)
        finally:
            sel.close()
        raise RuntimeError(f"ng {cmd['command']}: no reply within {timeout_s} s")

    def ping(self):
        return self.request({"command": "ping"}, timeout_s=0.5).get("result") == b"pong"

    def place(self, first, count, phone_rtp_port, pbx_rtp_port, timeout_s=120.0):
        """Open calls first..first+count-1. Returns {n: (relay port the phone
        sends to, relay port the PBX sends to)}; raises on any failure."""
        out = {}
        deadline = time.monotonic() + timeout_s
        for n in range(first, first + count):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ng calls: {len(out)}/{count} after {timeout_s} s")
            common = {"call-id": f"bench-call-{n}", "from-tag": f"ph{n}",
                      "replace": ["origin", "session-connection"], "ICE": "remove"}
            offer = self.request(dict(common, command="offer",
                                      sdp=_sdp(self.phone_rtp_ip, phone_rtp_port(n), n)))
            if offer.get("result") != b"ok":
                raise RuntimeError(f"ng offer {n}: {offer}")
            answer = self.request(dict(common, command="answer", **{"to-tag": f"pbx{n}"},
                                       sdp=_sdp(self.pbx_rtp_ip, pbx_rtp_port(n), n)))
            if answer.get("result") != b"ok":
                raise RuntimeError(f"ng answer {n}: {answer}")
            pbx_side = int(SDP_PORT_RE.search(offer["sdp"]).group(1))
            phone_side = int(SDP_PORT_RE.search(answer["sdp"]).group(1))
            out[n] = (phone_side, pbx_side)
        return out
