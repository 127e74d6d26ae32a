"""Open relay streams on sipnatd the way users do: real SIP calls through it.

A "phone" (a trunk peer, so no digest) sends INVITE with SDP through sipnatd;
the "PBX" answers 200 with its own SDP; the phone ACKs. The relay port each
side was given is read from the SDP that side received. Calls stay up until
sipnatd ends them (BYE, or rtptimeout without media).

Used by bench/run.py; every wait is bounded in time.
"""
import re
import selectors
import socket
import time

SDP_PORT_RE = re.compile(rb"\r\nm=audio (\d+) ")
CALL_ID_RE = re.compile(rb"\r\nCall-ID: *([^\r]+)", re.I)
STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3}) ")
CONTACT_RE = re.compile(rb"\r\nContact: *<([^>]+)>", re.I)
TO_RE = re.compile(rb"\r\nTo: *([^\r]+)", re.I)


def _headers(msg, name):
    """Every value of header `name` in msg, in order (no compact forms needed:
    sipnatd writes full names)."""
    out = []
    for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            out.append(value.strip())
    return out


class SipCalls:
    """Places calls phone -> sipnatd -> PBX. Addresses are (ip, port) tuples."""

    def __init__(self, proxy, phone_sig, pbx_sig, phone_rtp_ip, pbx_rtp_ip):
        self.proxy = proxy
        self.phone_rtp_ip = phone_rtp_ip
        self.pbx_rtp_ip = pbx_rtp_ip
        self.phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.phone.bind(phone_sig)
        self.pbx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.pbx.bind(pbx_sig)
        for s in (self.phone, self.pbx):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)
        self.phone_sig = phone_sig

    def close(self):
        self.phone.close()
        self.pbx.close()

    def _invite(self, n, rtp_port):
        ip, port = self.phone_sig
        body = (f"v=0\r\no=phone {n} 1 IN IP4 {self.phone_rtp_ip}\r\ns=-\r\n"
                f"c=IN IP4 {self.phone_rtp_ip}\r\nt=0 0\r\n"
                f"m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        pip, pport = self.proxy
        return (f"INVITE sip:100@{pip}:{pport} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKbench{n};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:phone@{pip}>;tag=ph{n}\r\n"
                f"To: <sip:100@{pip}>\r\nCall-ID: bench-call-{n}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:phone@{ip}:{port}>\r\nContent-Type: application/sdp\r\n"
                f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

    def _answer(self, invite, n, rtp_port):
        """The PBX's 200 to a forwarded INVITE: its Vias, dialog headers and SDP."""
        body = (f"v=0\r\no=asterisk {n} 1 IN IP4 {self.pbx_rtp_ip}\r\ns=Asterisk\r\n"
                f"c=IN IP4 {self.pbx_rtp_ip}\r\nt=0 0\r\n"
                f"m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        ip, port = self.pbx.getsockname()
        lines = ["SIP/2.0 200 OK"]
        lines += ["Via: " + v.decode() for v in _headers(invite, "Via")]
        lines += ["Record-Route: " + v.decode() for v in _headers(invite, "Record-Route")]
        lines += ["From: " + _headers(invite, "From")[0].decode(),
                  "To: " + _headers(invite, "To")[0].decode() + f";tag=pbx{n}",
                  "Call-ID: " + _headers(invite, "Call-ID")[0].decode(),
                  "CSeq: " + _headers(invite, "CSeq")[0].decode(),
                  f"Contact: <sip:100@{ip}:{port}>",
                  "Content-Type: application/sdp",
                  f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _ack(self, ok, n):
        contact = CONTACT_RE.search(ok)
        ruri = contact.group(1).decode() if contact else f"sip:100@{self.proxy[0]}"
        ip, port = self.phone_sig
        pip, _ = self.proxy
        routes = [b"Route: " + v for v in reversed(_headers(ok, "Record-Route"))]
        head = [f"ACK {ruri} SIP/2.0",
                f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKbenchack{n};rport",
                "Max-Forwards: 70", f"From: <sip:phone@{pip}>;tag=ph{n}",
                "To: " + TO_RE.search(ok).group(1).decode(),
                f"Call-ID: bench-call-{n}", "CSeq: 1 ACK"]
        head += [r.decode() for r in routes]
        head += ["Content-Length: 0"]
        return ("\r\n".join(head) + "\r\n\r\n").encode()

    def _recv_all(self, sock):
        """Every datagram waiting on sock; OPTIONS (sipnatd qualifying the
        PBX) are answered here and not returned."""
        out = []
        while True:
            try:
                msg, src = sock.recvfrom(65535)
            except BlockingIOError:
                return out
            if msg.startswith(b"OPTIONS "):
                sock.sendto(self._ok(msg), src)
            else:
                out.append((msg, src))

    def _ok(self, req):
        lines = ["SIP/2.0 200 OK"]
        lines += ["Via: " + v.decode() for v in _headers(req, "Via")]
        for name in ("From", "To", "Call-ID", "CSeq"):
            lines += [f"{name}: " + v.decode() for v in _headers(req, name)[:1]]
        lines += ["Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def service(self):
        """Answer what sipnatd sent meanwhile (OPTIONS pings); call now and then."""
        self._recv_all(self.pbx)
        self._recv_all(self.phone)

    def place(self, first, count, phone_rtp_port, pbx_rtp_port, window=32, timeout_s=60.0):
        """Place calls first..first+count-1; call n announces phone_rtp_port(n)
        and pbx_rtp_port(n). Returns {n: (relay port the phone was given,
        relay port the PBX was given)} once every call was answered 200 and
        ACKed; raises if a call fails or time runs out."""
        pending, started, relay, pbx_side = {}, first, {}, {}
        deadline = time.monotonic() + timeout_s
        sel = selectors.DefaultSelector()
        for s in (self.phone, self.pbx):
            sel.register(s, selectors.EVENT_READ)
        try:
            while len(relay) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SIP calls: {len(relay)}/{count} up after {timeout_s} s")
                while started < first + count and len(pending) < window:
                    self.phone.sendto(self._invite(started, phone_rtp_port(started)), self.proxy)
                    pending[started] = time.monotonic()
                    started += 1
                for n, t in list(pending.items()):
                    if time.monotonic() - t > 5.0:
                        raise RuntimeError(f"SIP call {n}: no answer within 5 s")
                sel.select(0.5)
                for msg, _src in self._recv_all(self.pbx):
                    if msg.startswith(b"INVITE "):
                        cid = CALL_ID_RE.search(msg).group(1).decode()
                        n = int(cid.rsplit("-", 1)[1])
                        pbx_side[n] = int(SDP_PORT_RE.search(msg).group(1))
                        self.pbx.sendto(self._answer(msg, n, pbx_rtp_port(n)), self.proxy)
                    # ACKs and anything else: nothing to do
                for msg, _src in self._recv_all(self.phone):
                    st = STATUS_RE.match(msg)
                    if not st:
                        continue
                    code = int(st.group(1))
                    cid = CALL_ID_RE.search(msg).group(1).decode()
                    n = int(cid.rsplit("-", 1)[1])
                    if code < 200 or n not in pending:
                        continue
                    if code != 200:
                        raise RuntimeError(f"SIP call {n}: {code}")
                    port = SDP_PORT_RE.search(msg)
                    if not port:
                        raise RuntimeError(f"SIP call {n}: 200 without m=audio")
                    self.phone.sendto(self._ack(msg, n), self.proxy)
                    relay[n] = (int(port.group(1)), pbx_side[n])
                    del pending[n]
            # let the last ACKs through before anyone measures
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                sel.select(0.05)
                self._recv_all(self.pbx)
                self._recv_all(self.phone)
        finally:
            sel.close()
        return relay
