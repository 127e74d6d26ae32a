#!/usr/bin/env python3
"""SIP over TCP from the Internet side, for tests/nat/transports.sh (issue 15).

  stream_client.py invite HOST PORT USER SECRET URI SIZE
      A digest-authenticated INVITE of about SIZE bytes (an SDP padded with
      SDES a=crypto lines and attributes) over one TCP connection: INVITE,
      407, INVITE with credentials, then waits for a final response, ACKs it
      and, when it was 2xx, sends BYE. Prints "sent N bytes", every status
      line received, and "final CODE". Exit 0 when a final response >= 200
      came back over the connection after the authenticated INVITE.

  stream_client.py flood HOST PORT COUNT SECONDS
      Opens up to COUNT connections from this address within SECONDS, each
      sending nothing. Prints how many connected, how many the server closed
      at once (within 0.5 s) and how many it kept open. Exit 0.

  stream_client.py slowloris HOST PORT CONNS SECONDS
      CONNS connections that each send a request's header one byte every
      0.5 s, never finishing it, for at most SECONDS. Prints, for each, how
      long it stayed open ("closed after 3.1 s" or "still open"). Exit 0.

Bounded in count and time. No SIP library: the messages are written out.
"""
import hashlib
import random
import re
import socket
import sys
import time


def read_message(sock, buf, deadline):
    """One SIP message from the stream (Content-Length framing); (msg, rest)."""
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode(errors="replace")
            m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            total = head_end + 4 + length
            if len(buf) >= total:
                return buf[:total].decode(errors="replace"), buf[total:]
        left = deadline - time.time()
        if left <= 0:
            return None, buf
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None, buf
        if not data:
            return None, buf
        buf += data


def header(msg, name):
    m = re.search(r"(?im)^" + name + r"\s*:\s*(.*)$", msg)
    return m.group(1).strip() if m else ""


def invite(host, port, user, secret, uri, size):
    sock = socket.create_connection((host, int(port)), timeout=5)
    local_ip, local_port = sock.getsockname()
    call_id = "%08x@stcp" % random.getrandbits(32)
    tag = "%08x" % random.getrandbits(32)
    sdp = ["v=0", "o=- 1 1 IN IP4 %s" % local_ip, "s=-", "c=IN IP4 %s" % local_ip, "t=0 0",
           "m=audio 4000 RTP/AVP 0 101",
           "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
           "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"]
    i = 0
    while len("\r\n".join(sdp)) < int(size) - 550:
        sdp.append("a=x-pad-%d:%s" % (i, "p" * 60))
        i += 1
    body = "\r\n".join(sdp) + "\r\n"
    buf = b""
    cseq = 1
    auth = None
    final = 0
    for attempt in range(2):
        lines = ["INVITE %s SIP/2.0" % uri,
                 "Via: SIP/2.0/TCP %s:%d;branch=z9hG4bK%08x;rport" % (local_ip, local_port,
                                                                     random.getrandbits(32)),
                 "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (user, host, tag),
                 "To: <%s>" % uri,
                 "Call-ID: %s" % call_id,
                 "CSeq: %d INVITE" % cseq,
                 "Contact: <sip:%s@%s:%d;transport=tcp>" % (user, local_ip, local_port),
                 "Content-Type: application/sdp"]
        if auth:
            lines.append(auth)
        lines.append("Content-Length: %d" % len(body))
        msg = "\r\n".join(lines) + "\r\n\r\n" + body
        sock.sendall(msg.encode())
        print("sent %d bytes (INVITE, CSeq %d)" % (len(msg), cseq))
        deadline = time.time() + 15
        while True:
            resp, buf = read_message(sock, buf, deadline)
            if resp is None:
                print("no final response")
                return 1
            status = resp.split("\r\n", 1)[0]
            print("got: %s" % status)
            code = int(status.split()[1])
            if code >= 200:
                break
        # ACK for every final response to INVITE (a non-2xx one in the transaction)
        via = header(resp, "Via")
        to = header(resp, "To")
        ack = ["ACK %s SIP/2.0" % uri, "Via: %s" % via.split(",")[0], "Max-Forwards: 70",
               "From: <sip:%s@%s>;tag=%s" % (user, host, tag), "To: %s" % to,
               "Call-ID: %s" % call_id, "CSeq: %d ACK" % cseq, "Content-Length: 0"]
        if code in (401, 407) and attempt == 0:
            sock.sendall(("\r\n".join(ack) + "\r\n\r\n").encode())
            chal = header(resp, "Proxy-Authenticate") or header(resp, "WWW-Authenticate")
            realm = re.search(r'realm="([^"]*)"', chal).group(1)
            nonce = re.search(r'nonce="([^"]*)"', chal).group(1)
            qop = re.search(r'qop="([^"]*)"', chal)
            ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, secret)).encode()).hexdigest()
            ha2 = hashlib.md5(("INVITE:%s" % uri).encode()).hexdigest()
            hname = "Proxy-Authorization" if code == 407 else "Authorization"
            if qop:
                cnonce = "%08x" % random.getrandbits(32)
                r = hashlib.md5(("%s:%s:00000001:%s:auth:%s" % (ha1, nonce, cnonce, ha2)).encode()).hexdigest()
                auth = ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                        'algorithm=MD5, qop=auth, nc=00000001, cnonce="%s"'
                        % (hname, user, realm, nonce, uri, r, cnonce))
            else:
                r = hashlib.md5(("%s:%s:%s" % (ha1, nonce, ha2)).encode()).hexdigest()
                auth = ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                        'algorithm=MD5' % (hname, user, realm, nonce, uri, r))
            cseq += 1
            continue
        final = code
        if 200 <= code < 300:
            contact = re.search(r"<([^>]*)>", header(resp, "Contact") or "<%s>" % uri).group(1)
            ack[0] = "ACK %s SIP/2.0" % contact
            ack[1] = "Via: SIP/2.0/TCP %s:%d;branch=z9hG4bK%08x;rport" % (local_ip, local_port,
                                                                        random.getrandbits(32))
            sock.sendall(("\r\n".join(ack) + "\r\n\r\n").encode())
            bye = list(ack)
            bye[0] = "BYE %s SIP/2.0" % contact
            bye[1] = "Via: SIP/2.0/TCP %s:%d;branch=z9hG4bK%08x;rport" % (local_ip, local_port,
                                                                        random.getrandbits(32))
            bye[6] = "CSeq: %d BYE" % (cseq + 1)
            time.sleep(0.5)
            sock.sendall(("\r\n".join(bye) + "\r\n\r\n").encode())
            resp, buf = read_message(sock, buf, time.time() + 5)
            print("got: %s" % (resp.split("\r\n", 1)[0] if resp else "no answer to BYE"))
        else:
            sock.sendall(("\r\n".join(ack) + "\r\n\r\n").encode())
        break
    print("final %d" % final)
    sock.close()
    return 0 if final >= 200 and auth else 1


def closed_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        data = sock.recv(1)
        return data == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def flood(host, port, count, seconds):
    end = time.time() + float(seconds)
    socks, connected, refused_connect = [], 0, 0
    for _ in range(int(count)):
        if time.time() > end:
            break
        try:
            s = socket.create_connection((host, int(port)), timeout=2)
            connected += 1
            socks.append(s)
        except OSError:
            refused_connect += 1
    closed = sum(1 for s in socks if closed_within(s, 0.5))
    print("flood: %d connected, %d closed by the server at once, %d kept open, %d failed to connect"
          % (connected, closed, connected - closed, refused_connect))
    for s in socks:
        s.close()
    return 0


def slowloris(host, port, conns, seconds):
    start = time.time()
    end = start + float(seconds)
    text = (b"INVITE sip:100@%s SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKslow\r\n"
            b"X-Slow: " % host.encode()) + b"a" * 4000
    socks = [socket.create_connection((host, int(port)), timeout=2) for _ in range(int(conns))]
    print("connected %d" % len(socks), flush=True)
    closed_at = [None] * len(socks)
    pos = 0
    while time.time() < end and None in closed_at and pos < len(text):
        for i, s in enumerate(socks):
            if closed_at[i] is not None:
                continue
            try:
                s.sendall(text[pos:pos + 1])
            except OSError:
                closed_at[i] = time.time() - start
                continue
            if closed_within(s, 0.01):
                closed_at[i] = time.time() - start
        pos += 1
        time.sleep(0.5)
    for i, t in enumerate(closed_at):
        print("slowloris %d: %s" % (i, "closed after %.1f s" % t if t is not None else "still open"))
    for s in socks:
        s.close()
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "invite" and len(argv) == 8:
        return invite(*argv[2:])
    if cmd == "flood" and len(argv) == 6:
        return flood(*argv[2:])
    if cmd == "slowloris" and len(argv) == 6:
        return slowloris(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
