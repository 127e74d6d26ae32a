#!/usr/bin/env python3
"""Soak: many calls with SDP through the real sipnatd at a steady rate.

sipp's built-in uac plays a trunk peer on the Internet (known by address, so
no digest) and its built-in uas plays the PBX; both answer sipnatd's OPTIONS
pings (-aa). Every call is INVITE with SDP, 180, 200 with SDP, ACK, BYE, 200,
so every call takes a relay port pair and gives it back.

At the end it checks, and prints:
  - sipp: every call successful, none failed (both sides);
  - the daemon's counters (control socket, `sipnatctl stats --json`): as many
    calls set up and ended as placed, none failed, none active, the port pool
    whole (free = pairs);
  - memory: VmRSS at 20 % of the calls and at the end; growth under
    --rss-limit-kib (default 1024) after that warm-up;
  - descriptors: none left over but the relay pool's: a pair is bound at its
    first use and kept across calls (issue 13), so after the load the count
    is at most the count before plus two per pair, and never above that
    during it.

  Addresses (loopback): sipnatd 127.0.11.10:25160, PBX 127.0.11.20:25180,
  trunk 127.0.12.5:5070; relay pool 32000-32399 (200 pairs, so that freed
  pairs come back into use all the time).

Usage: soak.py --sipnatd BIN [--sipnatctl BIN] [--calls N] [--rate R]
Exit status 0 when every check passed, 1 otherwise, 77 when sipp is missing.
Every wait is bounded; every process started is stopped by its PID.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SN_IP, SN_PORT = "127.0.11.10", 25160
PBX_IP, PBX_PORT = "127.0.11.20", 25180
TRUNK_IP, TRUNK_PORT = "127.0.12.5", 5070
RTP_START, RTP_END = 32000, 32399
# sipp's own socket buffers (its default is 64 KiB): a sipp that the machine
# stalls for a moment must not drop what sipnatd sent it and count that
# against sipnatd.
SIPP_BUFFER = str(4 << 20)

CONF = """general: {{
  bindaddr = "{sn_ip}"; bindport = {sn_port};
  externip = "203.0.113.7";
  localnet = [ "127.0.11.0/24" ];
  pbx = "{pbx_ip}:{pbx_port}";
  statefile = "{tmp}/registrations"; control = "{tmp}/control";
}};
rtp: {{ rtpstart = {rtp_start}; rtpend = {rtp_end}; rtptimeout = 60; }};
peers: ( {{ name = "trunk"; host = "{trunk_ip}:{trunk_port}"; }} );
logging: {{ level = "notice"; }};
"""


def log(msg):
    print(f"soak: {msg}", flush=True)


class Daemon:
    def __init__(self, binary, conf, log_path):
        self.log_path = log_path
        self.logf = open(log_path, "wb")
        self.proc = subprocess.Popen([binary, "-f", "-c", conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def wait_log(self, text, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                if text.encode() in f.read():
                    return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def count_log(self, text):
        with open(self.log_path, "rb") as f:
            return f.read().count(text.encode())

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_s(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime and stime are fields 14 and 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = -9
        else:
            rc = self.proc.returncode
        self.logf.close()
        return rc


class Stats:
    """The daemon's counters through its control socket."""

    def __init__(self, ctl, sock_path):
        self.ctl = ctl
        self.sock_path = sock_path

    def get(self):
        if self.ctl:
            r = subprocess.run([self.ctl, "-s", self.sock_path, "stats", "--json"],
                               capture_output=True, timeout=10)
            if r.returncode == 0:
                return json.loads(r.stdout)
            return None
        # no sipnatctl: speak the protocol (one request line, one JSON reply)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.sock_path)
                s.sendall(b"stats\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            return json.loads(data)
        except (OSError, ValueError):
            return None


def sipp_csv_last(path):
    """The last row of a sipp -trace_stat file as a dict."""
    try:
        with open(path) as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    head = lines[0].split(";")
    row = lines[-1].split(";")
    return dict(zip(head, row))


def tail(path, limit=1500):
    """The end of a file (sipp's error lines have no newlines of their own)."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return "(none)\n"
    return ("..." if len(text) > limit else "") + text[-limit:] + "\n"


def udp_rcvbuf_errors():
    """The machine's count of UDP datagrams dropped for a full receive buffer."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [l.split() for l in f if l.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


def stop_proc(p, timeout_s=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sipnatd", required=True)
    ap.add_argument("--sipnatctl", help="default: sipnatctl next to --sipnatd, if any")
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--rate", type=int, default=300, help="calls per second")
    ap.add_argument("--rss-limit-kib", type=int, default=1024)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    sipp = shutil.which("sipp")
    if not sipp:
        log("sipp not found (Debian package sip-tester): skipped")
        return 77
    ctl = args.sipnatctl
    if not ctl:
        cand = os.path.join(os.path.dirname(os.path.abspath(args.sipnatd)), "sipnatctl")
        ctl = cand if os.access(cand, os.X_OK) else None
    with open(args.sipnatd, "rb") as f:
        sanitized = b"__asan_init" in f.read()

    tmp = tempfile.mkdtemp(prefix="sipnatd-soak-")
    conf = os.path.join(tmp, "soak.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(sn_ip=SN_IP, sn_port=SN_PORT, pbx_ip=PBX_IP, pbx_port=PBX_PORT,
                            trunk_ip=TRUNK_IP, trunk_port=TRUNK_PORT, rtp_start=RTP_START,
                            rtp_end=RTP_END, tmp=tmp))
    n, rate = args.calls, args.rate
    budget_s = n / rate * 1.5 + 60
    failures = []
    procs = []
    d = Daemon(args.sipnatd, conf, os.path.join(tmp, "sipnatd.log"))
    try:
        if not d.wait_log("listening on", 10):
            log("sipnatd did not start:\n" + tail(d.log_path))
            return 1
        stats = Stats(ctl, os.path.join(tmp, "control"))
        s0 = stats.get()
        if s0 is None:
            log("no answer on the control socket: pool and call counts come from the log")
        pairs = s0["pool"]["pairs"] if s0 else (RTP_END - RTP_START + 1) // 2

        uas = subprocess.Popen(
            # no -m: sipp counts the OPTIONS pings it answers (-aa) as calls
            [sipp, "-sn", "uas", "-i", PBX_IP, "-p", str(PBX_PORT), "-aa", "-buff_size", SIPP_BUFFER,
             "-nostdin", "-timeout", f"{int(budget_s)}s", "-deadcall_wait", "2000", "-trace_err",
             "-error_file", os.path.join(tmp, "uas.err"), "-trace_stat", "-fd", "5", "-stf",
             os.path.join(tmp, "uas.csv")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        procs.append(uas)
        time.sleep(0.5)
        # Baseline once the PBX answers the first ping and things settle.
        time.sleep(0.5)
        fd0, rss0, cpu0 = d.fds(), d.rss_kib(), d.cpu_s()
        ended0 = s0["calls"]["ended"] if s0 else 0
        set_up0 = s0["calls"]["set_up"] if s0 else 0
        failed0 = s0["calls"]["failed"] if s0 else 0
        log(f"{n} calls at {rate}/s through sipnatd (pid {d.pid}{', ASan build' if sanitized else ''}); "
            f"pool {pairs} pairs; before: {fd0} fds, VmRSS {rss0} KiB")

        t0 = time.monotonic()
        drops0 = udp_rcvbuf_errors()
        uac = subprocess.Popen(
            [sipp, "-sn", "uac", "-i", TRUNK_IP, "-p", str(TRUNK_PORT), "-r", str(rate), "-buff_size", SIPP_BUFFER,
             "-m", str(n), "-aa", "-nostdin", "-timeout", f"{int(budget_s)}s", "-deadcall_wait", "2000",
             "-trace_err", "-error_file", os.path.join(tmp, "uac.err"), "-trace_stat", "-fd", "5", "-stf",
             os.path.join(tmp, "uac.csv"), f"{SN_IP}:{SN_PORT}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        procs.append(uac)

        marks = [0.2, 0.4, 0.6, 0.8]
        rss_at = {}
        fd_peak = fd0
        next_report = t0 + 30
        t_done, usr1_sent = None, False
        while uac.poll() is None:
            if time.monotonic() - t0 > budget_s:
                failures.append(f"sipp uac still running after {budget_s:.0f} s")
                break
            if not d.alive():
                failures.append("sipnatd died")
                break
            time.sleep(0.5)
            fd_peak = max(fd_peak, d.fds())
            s = stats.get() if s0 else None
            done = (s["calls"]["ended"] - ended0) if s else d.count_log(" ended (")
            if done >= n and t_done is None:
                t_done = time.monotonic()
            elif t_done is not None and not usr1_sent and time.monotonic() - t_done > 2:
                # Every call is over, but sipp may still hold the pseudo-call
                # of an OPTIONS ping it auto-answered: tell it to finish.
                uac.send_signal(signal.SIGUSR1)
                usr1_sent = True
            while marks and done >= marks[0] * n:
                rss_at[marks[0]] = d.rss_kib()
                marks.pop(0)
            if time.monotonic() >= next_report:
                log(f"  {time.monotonic() - t0:.0f} s: {done} calls done, VmRSS {d.rss_kib()} KiB, "
                    f"{d.fds()} fds")
                next_report += 30
        uac_rc = stop_proc(uac, 30)
        # SIGUSR1: sipp ends once its calls have ended
        uas.send_signal(signal.SIGUSR1)
        try:
            uas_rc = uas.wait(timeout=30)
        except subprocess.TimeoutExpired:
            uas_rc = stop_proc(uas)
        elapsed = (t_done or time.monotonic()) - t0
        for m in marks:  # a mark the polling missed (a very short run)
            rss_at[m] = d.rss_kib()

        # Let the last BYEs through, then everything must be back.
        deadline = time.monotonic() + 10
        s = None
        while time.monotonic() < deadline:
            s = stats.get() if s0 else None
            if s is None or (s["calls"]["active"] == 0 and s["pool"]["free"] == s["pool"]["pairs"]):
                break
            time.sleep(0.2)
        time.sleep(0.3)
        rss_end, fd_end, cpu = d.rss_kib(), d.fds(), d.cpu_s() - cpu0

        uac_csv = sipp_csv_last(os.path.join(tmp, "uac.csv"))
        uas_csv = sipp_csv_last(os.path.join(tmp, "uas.csv"))
        ok_uac = int(uac_csv.get("SuccessfulCall(C)", -1))
        bad_uac = int(uac_csv.get("FailedCall(C)", -1))
        ok_uas = int(uas_csv.get("SuccessfulCall(C)", -1))
        bad_uas = int(uas_csv.get("FailedCall(C)", -1))
        retrans = int(uac_csv.get("Retransmissions(C)", -1))
        log(f"done in {elapsed:.1f} s ({n / elapsed:.0f} calls/s); UDP datagrams the kernel dropped "
            f"for full receive buffers meanwhile (whole machine): {udp_rcvbuf_errors() - drops0}")
        log(f"sipp uac: {ok_uac} successful, {bad_uac} failed, {retrans} retransmissions (exit {uac_rc}); "
            f"uas: {ok_uas} successful, {bad_uas} failed (exit {uas_rc})")
        if uac_rc != 0 or ok_uac != n or bad_uac != 0:
            failures.append(f"sipp uac: {ok_uac}/{n} successful, {bad_uac} failed, exit {uac_rc}; "
                            f"errors:\n{tail(os.path.join(tmp, 'uac.err'))}")
        if uas_rc != 0 or ok_uas != n or bad_uas != 0:
            failures.append(f"sipp uas: {ok_uas}/{n} successful, {bad_uas} failed, exit {uas_rc}; "
                            f"errors:\n{tail(os.path.join(tmp, 'uas.err'))}")

        if s0:
            if s is None:
                failures.append("the control socket stopped answering")
            else:
                c, p = s["calls"], s["pool"]
                set_up, ended, failed = c["set_up"] - set_up0, c["ended"] - ended0, c["failed"] - failed0
                log(f"sipnatd calls: {set_up} set up, {ended} ended, {failed} failed, {c['active']} active; "
                    f"pool {p['free']} free of {p['pairs']} ({p['in_use']} in use)")
                if set_up != n or ended != n or failed != 0 or c["active"] != 0:
                    failures.append(f"calls: {set_up} set up, {ended} ended, {failed} failed, "
                                    f"{c['active']} active; want {n}, {n}, 0, 0")
                sip = s["sip"]
                log("sipnatd SIP: " + ", ".join(f"{k} {sip[k] - s0['sip'].get(k, 0)}" for k in (
                    "received", "forwarded", "answered_locally", "dropped", "stray_responses",
                    "rx_overflows", "send_errors") if k in sip))
                if p["free"] != p["pairs"] or p["in_use"] != 0 or p["pairs"] != pairs:
                    failures.append(f"pool not whole: {p['free']} free of {p['pairs']}, {p['in_use']} in use")
        ended_lines = d.count_log(" ended (BYE)")
        log(f"log: {ended_lines} \"call ... ended (BYE)\" lines")
        if ended_lines != n:
            failures.append(f"{ended_lines} calls ended by BYE in the log, want {n}")

        series = ", ".join(f"{int(k * 100)} %: {v}" for k, v in sorted(rss_at.items()))
        growth = rss_end - rss_at[0.2]
        log(f"VmRSS KiB: before {rss0}, {series}, 100 %: {rss_end}; growth after 20 %: {growth} KiB "
            f"(limit {args.rss_limit_kib})")
        if sanitized:
            log("  (ASan build: freed memory sits in ASan's quarantine, so RSS is reported, not "
                "checked; leaks are ASan's to find at exit)")
        elif growth >= args.rss_limit_kib:
            failures.append(f"VmRSS grew {growth} KiB between 20 % and 100 %")
        fd_limit = fd0 + 2 * pairs
        log(f"descriptors: {fd0} before, {fd_peak} at most, {fd_end} after "
            f"(the pool's {pairs} pairs may keep up to {2 * pairs})")
        if fd_end > fd_limit or fd_peak > fd_limit:
            failures.append(f"descriptors: {fd_end} after, {fd_peak} at most: more than the "
                            f"{fd0} before and the pool's {2 * pairs} sockets")
        log(f"sipnatd CPU: {cpu:.2f} s, {cpu * 1e6 / n:.0f} us per call")
        if not d.alive():
            failures.append("sipnatd died")
    finally:
        for p in procs:
            stop_proc(p)
        rc = d.stop()
        if rc != 0:
            failures.append(f"sipnatd exit status {rc} on SIGTERM:\n{tail(d.log_path)}")
        if failures or args.keep:
            log(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        log("FAIL: " + f)
    log("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
