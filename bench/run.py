#!/usr/bin/env python3
"""The relay benchmark of issue 5 (design section 12): sipnatd beside
rtpengine (userspace, one worker thread) and a bare epoll UDP forwarder, the
same load generator against each, on loopback.

  relay CPU   % of one core (utime+stime of the relay process from /proc over
              the window) at 1000 streams x 50 pps, paced like real RTP (one
              packet per leg per send); median of --reps runs
  clean max   the highest total rate relayed with < 0.1 % loss, stepping the
              rate up with each leg sending bursts of 4 (one at a time, this
              generator stops near 300k pps) and again paced one by one
  RSS         VmRSS of the relay process with 500 calls carrying media

A "stream" is one call's audio: two legs (phone and PBX) each sending to the
relay and each hearing the other; its rate counts both legs. sipnatd's streams
are opened by real SIP calls through it, rtpengine's by ng offer/answer, the
forwarder's from a file. The relays all stay up, pinned to CPU 1, and take
turns; the generator runs on CPU 0. The machine may be shared: each run
waits a little for other processes to quieten down, reports how much CPU they
took meanwhile ("others"), a CPU run they disturbed is repeated once, and a
rate step that loses or that the generator cannot fill is tried up to three
times, the relay restarted after a loss (noise only ever hurts).

Run by bench/run.sh (make bench), which builds what this needs.
"""
import argparse
import atexit
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import shutil
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ng_calls import NgCalls  # noqa: E402
from sip_calls import SipCalls  # noqa: E402

SN_IP, SN_PORT = "127.0.7.10", 27060
PBX_IP, PBX_SIP_PORT = "127.0.7.20", 27080
PHONE_IP, PHONE_SIP_PORT = "127.0.8.1", 27070
# --baseline: an older sipnatd beside the new one, on its own addresses
BASE_IP, BASE_PORT, BASE_PHONE_SIP, BASE_PBX_SIP = "127.0.7.11", 27061, 27071, 27081
RTPE_IP, RTPE_NG_PORT, RTPE_PORTS = "127.0.7.30", 27223, (45000, 54999)
FWD_IP, FWD_BASE = "127.0.7.40", 40000
SN_POOL = (40000, 44000)
LEG_BASE = 20000            # phone leg n: PHONE_IP:LEG_BASE+2n, PBX leg n: PBX_IP:LEG_BASE+2n
RELAY_CPU, GEN_CPU = "1", "0"
RELAYS = ["udpfwd", "sipnatd", "rtpengine"]
LABEL = {"udpfwd": "bare epoll forwarder", "sipnatd": "sipnatd", "rtpengine": "rtpengine (userspace)",
         "sipnatd-base": "sipnatd (baseline)"}
SIPNATDS = ("sipnatd", "sipnatd-base")

procs = []                  # every process started here, stopped by pid at exit


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def start(argv, logfile, cpu=RELAY_CPU):
    p = subprocess.Popen(["taskset", "-c", cpu] + argv, stdout=logfile, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    procs.append(p)
    return p


def stop(p, grace_s=10.0):
    """SIGTERM, then SIGKILL; a relay with thousands of sockets on a busy
    CPU can take a while to go."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace_s)
        except subprocess.TimeoutExpired:
            p.kill()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} still there 30 s after SIGKILL")
                return
    if p in procs:
        procs.remove(p)


def stop_all():
    for p in list(procs):
        stop(p)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)


def wait_for(what, cond, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready within {timeout_s} s")


def cpu_by_process(exclude, children=False):
    """{(pid, start time): CPU seconds} for every process but those in
    exclude and the kernel's softirq threads; children: with the CPU of
    the children it reaped (a make's compilers)."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if "(ksoftirqd/" in stat:
            continue
        ticks = int(fields[11]) + int(fields[12])
        if children:
            ticks += int(fields[13]) + int(fields[14])
        out[(int(name), fields[19])] = ticks / tck
    return out


def cpu_busy_s():
    """Busy seconds of CPUs 0 and 1 together, from /proc/stat (tick-sampled)."""
    tck = os.sysconf("SC_CLK_TCK")
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(("cpu0 ", "cpu1 ")):
                v = [int(x) for x in line.split()[1:9]]
                busy += sum(v) - v[3] - v[4]
    return busy / tck


def proc_names():
    """{(pid, start time): command name} of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[(int(name), fields[19])] = stat[stat.index("(") + 1:stat.rindex(")")]
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.tools = args.tools
        self.relay = {}          # name -> Popen
        self.streams = {}        # name -> [(a_src, a_dst, b_src, b_dst)]
        self.results = {r: {"cpu_runs": [], "ladder": {}} for r in RELAYS}
        self.sip = {}
        self.quiet_budget = args.quiet_wait
        self.starts = {}

    # --- the relays -----------------------------------------------------

    def logpath(self, relay):
        """A new log for each start of a relay: NAME-1.log, NAME-2.log..."""
        self.starts[relay] = self.starts.get(relay, 0) + 1
        return os.path.join(self.work, f"{relay}-{self.starts[relay]}.log")

    def start_sipnatd(self, name="sipnatd"):
        if name == "sipnatd":
            binary, ip, port, phone_sip, pbx_sip = (self.args.sipnatd, SN_IP, SN_PORT,
                                                    PHONE_SIP_PORT, PBX_SIP_PORT)
        else:
            binary, ip, port, phone_sip, pbx_sip = (self.args.baseline, BASE_IP, BASE_PORT,
                                                    BASE_PHONE_SIP, BASE_PBX_SIP)
        conf = os.path.join(self.work, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(f"""general: {{
  bindaddr = "{ip}"; bindport = {port};
  externip = "203.0.113.7";
  localnet = [ "127.0.7.0/24" ];
  pbx = "{PBX_IP}:{pbx_sip}";
  statefile = "{self.work}/{name}.registrations"; control = "{self.work}/{name}.control";
}};
rtp: {{ rtpstart = {SN_POOL[0]}; rtpend = {SN_POOL[1]}; rtptimeout = 3600; rtpholdtimeout = 3600; strictrtp = true; }};
peers: ( {{ name = "phone"; host = "{PHONE_IP}:{phone_sip}"; qualify = false; }} );
logging: {{ level = "notice"; }};
""")
        path = self.logpath(name)
        p = start([binary, "-f", "-c", conf], open(path, "w"))
        wait_for(name, lambda: p.poll() is None and "listening on" in open(path).read(), 10)
        self.relay[name] = p
        self.sip[name] = SipCalls((ip, port), (PHONE_IP, phone_sip), (PBX_IP, pbx_sip),
                                  PHONE_IP, PBX_IP)
        self.streams[name] = []

    def start_rtpengine(self):
        path = self.logpath("rtpengine")
        p = start(["rtpengine", "--table=-1", "--num-threads=1", f"--interface={RTPE_IP}",
                   f"--listen-ng={RTPE_IP}:{RTPE_NG_PORT}", f"--port-min={RTPE_PORTS[0]}",
                   f"--port-max={RTPE_PORTS[1]}", "--timeout=3600", "--silent-timeout=3600",
                   "--foreground", "--log-stderr", "--log-level=4"], open(path, "w"))
        self.ng = NgCalls((RTPE_IP, RTPE_NG_PORT), PHONE_IP, PBX_IP)

        def pong():
            if p.poll() is not None:
                raise RuntimeError(f"rtpengine exited; see {path}")
            try:
                return self.ng.ping()
            except RuntimeError:
                return False
        wait_for("rtpengine", pong, 30)
        self.relay["rtpengine"] = p
        self.streams["rtpengine"] = []

    def start_udpfwd(self, n):
        spec = os.path.join(self.work, f"udpfwd-{n}.txt")
        with open(spec, "w") as f:
            for i in range(n):
                f.write(f"{FWD_IP}:{FWD_BASE + 2 * i} {PHONE_IP}:{LEG_BASE + 2 * i} "
                        f"{PBX_IP}:{LEG_BASE + 2 * i}\n")
        path = self.logpath("udpfwd")
        p = start([os.path.join(self.tools, "udpfwd"), "-f", spec, "-t", "3600"], open(path, "w"))
        wait_for("udpfwd", lambda: p.poll() is None and "ready" in open(path).read(), 10)
        self.relay["udpfwd"] = p
        self.streams["udpfwd"] = [self.leg_line(i, FWD_IP, FWD_BASE + 2 * i, FWD_BASE + 2 * i)
                                  for i in range(n)]

    @staticmethod
    def leg_line(i, relay_ip, phone_dst, pbx_dst):
        return (f"{PHONE_IP}:{LEG_BASE + 2 * i} {relay_ip}:{phone_dst} "
                f"{PBX_IP}:{LEG_BASE + 2 * i} {relay_ip}:{pbx_dst}")

    def open_calls(self, relay, upto):
        """Grow sipnatd's or rtpengine's calls to `upto`."""
        have = len(self.streams[relay])
        t = time.monotonic()
        if relay in SIPNATDS:
            got = self.sip[relay].place(have, upto - have, lambda n: LEG_BASE + 2 * n,
                                        lambda n: LEG_BASE + 2 * n)
            how, ip = "SIP calls set up", SN_IP if relay == "sipnatd" else BASE_IP
        else:
            got = self.ng.place(have, upto - have, lambda n: LEG_BASE + 2 * n,
                                lambda n: LEG_BASE + 2 * n)
            how, ip = "ng offer/answer pairs", RTPE_IP
        self.streams[relay] += [self.leg_line(n, ip, *got[n]) for n in sorted(got)]
        log(f"{relay}: {upto - have} {how} in {time.monotonic() - t:.2f} s")

    def restart(self, relay):
        """A fresh relay with as many streams as before: rtpengine, once it
        has overflowed, keeps discarding on the streams that did."""
        n = len(self.streams[relay])
        stop(self.relay.pop(relay))
        if relay in SIPNATDS:
            self.sip.pop(relay).close()
            self.start_sipnatd(relay)
        elif relay == "rtpengine":
            self.ng.close()
            self.start_rtpengine()
        else:
            self.start_udpfwd(n)
            return
        self.open_calls(relay, n)

    # --- the generator --------------------------------------------------

    def ours(self):
        return {os.getpid()} | {p.pid for p in procs}

    def wait_quiet(self, window_s=0.5):
        """Wait (within the run's budget) until other processes leave the
        CPUs mostly alone."""
        waited, busy = 0.0, 0.0
        while True:
            a, ca = cpu_by_process(self.ours()), cpu_busy_s()
            time.sleep(window_s)
            b, cb = cpu_by_process(self.ours()), cpu_busy_s()
            seen = sum(v - a.get(k, 0) for k, v in b.items())
            busy = max(seen, cb - ca) / window_s * 100   # short-lived processes escape the scan
            if busy <= self.args.foreign_max or self.quiet_budget <= 0:
                break
            time.sleep(1)
            waited += 1 + window_s
            self.quiet_budget -= 1 + window_s
        if waited:
            log(f"  waited {waited:.0f} s for other processes (now {busy:.0f} % of a core; "
                f"{max(0, self.quiet_budget):.0f} s of waiting left)")

    def gen(self, relay, n, rate, burst, warm_s, dur_s):
        spec = os.path.join(self.work, f"streams-{relay}-{n}.txt")
        with open(spec, "w") as f:
            f.write("\n".join(self.streams[relay][:n]) + "\n")
        for sip in self.sip.values():
            sip.service()
        p = self.relay[relay]
        if p.poll() is not None:
            raise RuntimeError(f"{relay} exited (status {p.returncode})")
        self.wait_quiet()
        idle = ",".join(str(x.pid) for x in self.relay.values() if x is not p)
        g = subprocess.Popen(["taskset", "-c", GEN_CPU, os.path.join(self.tools, "rtpgen"),
                              "-f", spec, "-r", str(rate), "-b", str(burst), "-w", str(warm_s),
                              "-d", str(dur_s), "-p", str(p.pid), "-x", idle or "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(g)
        try:
            out, err = g.communicate(timeout=warm_s + dur_s + 30)
        except subprocess.TimeoutExpired:
            stop(g)
            raise RuntimeError("rtpgen did not finish in time")
        procs.remove(g)
        if g.returncode != 0:
            raise RuntimeError(f"rtpgen failed: {err.strip()}")
        r = {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", out)}
        r["disturbed"] = r["foreign_cpu_pct"] > self.args.foreign_max
        return r

    def gen_settled(self, relay, n, rate, burst, warm_s, dur_s, good, tries, need_quiet):
        """Run until good(r) (and, if need_quiet, others stayed below
        --foreign-max), at most `tries` times, restarting the relay after a
        run that lost; returns the best run (good first, then least loss,
        then most sent, then least relay CPU)."""
        best = None
        for attempt in range(tries):
            r = self.gen(relay, n, rate, burst, warm_s, dur_s)
            ok = good(r) and not (need_quiet and r["disturbed"])
            key = (ok, good(r), -r["loss_pct"], r["sent_pps"], -r["relay_cpu_pct"])
            if best is None or key > best[0]:
                best = (key, r)
            if ok:
                break
            if attempt + 1 < tries:
                log(f"  {relay} {rate / 1000:.0f}k pps: loss {r['loss_pct']:.3f} %, sent "
                    f"{r['sent_pps'] / 1000:.0f}k, others {r['foreign_cpu_pct']:.0f} % of a core; again")
            if r["loss_pct"] >= 0.1:
                self.restart(relay)
        return best[1]

    # --- the measurements -----------------------------------------------

    def profile(self, n, pps):
        """perf record -g on sipnatd during one more CPU run; its top 10
        (self time) goes to --results beside the table."""
        if not self.args.results or not shutil.which("perf"):
            return
        os.makedirs(self.args.results, exist_ok=True)
        data = os.path.join(self.work, "perf.data")
        p = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "999", "-o", data, "-p",
                              str(self.relay["sipnatd"].pid)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
        try:
            r = self.gen("sipnatd", n, n * pps, 1, 1, self.args.cpu_seconds)
        finally:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            procs.remove(p)
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                              "--percent-limit", "0.5", "-g", "none"],
                             capture_output=True, text=True).stdout
        lines = [x for x in rep.splitlines() if re.match(r"^\s+\d", x)][:10]
        path = os.path.join(self.args.results, "relay-perf-top10.txt")
        with open(path, "w") as f:
            f.write(f"perf record -g of sipnatd, {n} streams x {pps} pps, relay CPU "
                    f"{r['relay_cpu_pct']:.1f} %, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
                    f"(perf report --no-children: self time; kernel symbols are the loopback "
                    f"delivery and the wakeups)\n")
            f.write("\n".join(lines) + "\n")
        self.perf_path = path
        log(f"perf top 10 of sipnatd in {path}")

    def mine_s(self):
        """CPU seconds of this script, what it reaped, and what still runs."""
        t = os.times()
        live = sum(v for k, v in cpu_by_process(set()).items() if k[0] in self.ours())
        return t.user + t.system + t.children_user + t.children_system + live

    def noise_start(self):
        self.noise0 = (loadavg(), cpu_by_process(self.ours(), children=True), time.monotonic(),
                       cpu_busy_s(), self.mine_s())

    def noise_line(self):
        """What else ran: load average before/after and the processes that
        took the most CPU meanwhile (not ours)."""
        la0, a, t0, busy0, mine0 = self.noise0
        b, names = cpu_by_process(self.ours(), children=True), proc_names()
        wall = time.monotonic() - t0
        busy = max(0.0, (cpu_busy_s() - busy0) - (self.mine_s() - mine0)) / wall * 100
        use = sorted(((v - a.get(k, 0), names.get(k, "?")) for k, v in b.items()), reverse=True)
        by_name = {}
        for sec, name in use:
            by_name[name] = by_name.get(name, 0) + sec
        top = sorted(by_name.items(), key=lambda x: -x[1])[:5]
        return (f"Noise: load average {la0} at start, {loadavg()} at end; the CPUs were busy "
                f"{busy:.0f} % of a core with others' work over the {wall / 60:.0f} min run; "
                f"top (CPU incl. reaped children): " +
                ", ".join(f"{n} {s / wall * 100:.0f} %" for n, s in top))

    def measure_rss(self, n):
        for relay in RELAYS:
            self.gen(relay, n, n * 50, 1, 1, 2)     # media flows first: what a call costs
            rss = vm_rss_kib(self.relay[relay].pid)
            self.results[relay]["rss_kib"] = rss
            log(f"{relay}: VmRSS {rss / 1024:.1f} MiB with {n} relayed calls")

    def measure_cpu(self, n, pps):
        for rep in range(self.args.reps):
            for relay in RELAYS:
                r = self.gen_settled(relay, n, n * pps, 1, 2, self.args.cpu_seconds,
                                     lambda r: r["loss_pct"] < 0.1, 2, True)
                self.results[relay]["cpu_runs"].append(r)
                log(f"{relay}: {n} x {pps} pps: relay CPU {r['relay_cpu_pct']:.1f} % "
                    f"({r['relay_us_per_pkt']:.2f} us/pkt), loss {r['loss_pct']:.3f} %, "
                    f"latency p50 {r['lat_p50_us']:.0f} us p99 {r['lat_p99_us']:.0f} us, "
                    f"others {r['foreign_cpu_pct']:.0f} %")

    def ladder(self, name, n, rates, burst):
        alive = list(RELAYS)
        for rate in rates:
            for relay in list(alive):
                r = self.gen_settled(relay, n, rate, burst, 1, self.args.step_seconds,
                                     lambda r: r["loss_pct"] < 0.1 and r["sent_pps"] >= 0.99 * rate,
                                     3, False)
                short = r["sent_pps"] < 0.99 * rate
                r["verdict"] = ("gen-limited" if short and r["loss_pct"] < 0.1
                                else "clean" if r["loss_pct"] < 0.1 else "LOSS")
                self.results[relay]["ladder"].setdefault(name, {})[rate] = r
                log(f"{relay} [{name}] {rate / 1000:.0f}k pps: sent {r['sent_pps'] / 1000:.0f}k, "
                    f"loss {r['loss_pct']:.3f} %, relay CPU {r['relay_cpu_pct']:.0f} %, "
                    f"CPU1 {r['cpu1_busy_pct']:.0f} % -> {r['verdict']}")
                if r["verdict"] != "clean":
                    alive.remove(relay)

    # --- the report -----------------------------------------------------

    def report(self, n_cpu, pps, n_rss, ladders):
        res = self.results
        med = {}
        for relay in RELAYS:
            runs = res[relay]["cpu_runs"]
            med[relay] = {k: statistics.median(r[k] for r in runs)
                          for k in ("relay_cpu_pct", "relay_us_per_pkt", "lat_p50_us", "lat_p99_us",
                                    "loss_pct", "cpu1_busy_pct", "foreign_cpu_pct")}
            med[relay]["spread"] = (min(r["relay_cpu_pct"] for r in runs),
                                    max(r["relay_cpu_pct"] for r in runs))

        def clean_max(relay, name):
            """(highest rate relayed with < 0.1 % loss, whether the generator
            rather than the relay stopped the ladder there)."""
            best, limited = 0, False
            for rate, r in res[relay]["ladder"].get(name, {}).items():
                if r["verdict"] == "clean" and rate > best:
                    best, limited = rate, False
                elif r["verdict"] == "gen-limited" and r["relayed_pps"] > best:
                    best, limited = r["relayed_pps"], True
            return best, limited

        def first_short(relay, name):
            """The first step that lost, or else the first the generator
            could not fill: (rate, run), or None."""
            steps = sorted(res[relay]["ladder"].get(name, {}).items())
            for verdict in ("LOSS", "gen-limited"):
                for rate, r in steps:
                    if r["verdict"] == verdict:
                        return rate, r
            return None

        def clean_text(relay, name):
            best, limited = clean_max(relay, name)
            text = (">= " if limited else "") + f"{best / 1000:.0f}k pps"
            short = first_short(relay, name)
            if short and short[1]["verdict"] == "LOSS":
                text += f" ({short[1]['loss_pct']:.1f} % lost at {short[0] / 1000:.0f}k)"
            elif short:
                text += f" (generator: {short[1]['sent_pps'] / 1000:.0f}k of {short[0] / 1000:.0f}k)"
            return text

        out = []
        out.append(f"\nRelay benchmark: {n_cpu} streams (calls), relay on CPU {RELAY_CPU}, "
                   f"generator on CPU {GEN_CPU}, 172-byte RTP on loopback")
        head = (f"{'relay':24} {'CPU @' + str(n_cpu) + 'x' + str(pps) + 'pps':>16} {'us/pkt':>7} "
                f"{'lat p50/p99 us':>15} ")
        for name, _rates, burst in ladders:
            head += f"{'clean max, ' + name:>34} "
        head += f"{'RSS @' + str(n_rss) + ' calls':>15}"
        out.append(head)
        out.append("-" * len(head))
        for relay in RELAYS:
            m = med[relay]
            cpu = f"{m['relay_cpu_pct']:.1f} % ({m['spread'][0]:.0f}-{m['spread'][1]:.0f})"
            line = (f"{LABEL[relay]:24} {cpu:>16} {m['relay_us_per_pkt']:>7.2f} "
                    f"{m['lat_p50_us']:>7.0f}/{m['lat_p99_us']:<7.0f} ")
            for name, _rates, burst in ladders:
                line += f"{clean_text(relay, name):>34} "
            line += f"{res[relay].get('rss_kib', 0) / 1024:>11.1f} MiB"
            out.append(line)

        sn, re_, fw = med["sipnatd"], med["rtpengine"], med["udpfwd"]
        out.append("\nTargets for sipnatd (issue 13; ratios within this run):")

        def verdict(ok):
            return "met" if ok else "MISSED"
        c = sn["relay_cpu_pct"]
        out.append(f"  CPU <= 0.5 x rtpengine ({0.5 * re_['relay_cpu_pct']:.1f} %): {c:.1f} % = "
                   f"{c / re_['relay_cpu_pct']:.2f} x -> {verdict(c <= 0.5 * re_['relay_cpu_pct'])}")
        out.append(f"  CPU <= 0.8 x bare forwarder ({0.8 * fw['relay_cpu_pct']:.1f} %): {c:.1f} % = "
                   f"{c / fw['relay_cpu_pct']:.2f} x -> {verdict(c <= 0.8 * fw['relay_cpu_pct'])}")
        if "sipnatd-base" in med:
            b = med["sipnatd-base"]["relay_cpu_pct"]
            out.append(f"  (baseline sipnatd {b:.1f} %: new/old = {c / b:.2f} x)")
        add50 = sn["lat_p50_us"] - fw["lat_p50_us"]
        add99 = sn["lat_p99_us"] - fw["lat_p99_us"]
        out.append(f"  p99 forwarding delay < 2 ms: {sn['lat_p99_us'] / 1000:.2f} ms through sipnatd "
                   f"(added over the bare forwarder: p50 {add50 / 1000:+.2f} ms, p99 {add99 / 1000:+.2f} ms)"
                   f" -> {verdict(sn['lat_p99_us'] < 2000)}")
        quiet = min(res["sipnatd"]["cpu_runs"], key=lambda r: r["foreign_cpu_pct"])
        fquiet = min(res["udpfwd"]["cpu_runs"], key=lambda r: r["foreign_cpu_pct"])
        out.append(f"    in the quietest run (others {quiet['foreign_cpu_pct']:.0f} % of a core): p50 "
                   f"{quiet['lat_p50_us'] / 1000:.2f} ms, p99 {quiet['lat_p99_us'] / 1000:.2f} ms "
                   f"(bare forwarder's quietest, others {fquiet['foreign_cpu_pct']:.0f} %: p50 "
                   f"{fquiet['lat_p50_us'] / 1000:.2f} ms, p99 {fquiet['lat_p99_us'] / 1000:.2f} ms)")
        out.append(f"  0 loss at {n_cpu} x {pps} pps: {sn['loss_pct']:.3f} % -> "
                   f"{verdict(sn['loss_pct'] == 0)}")
        if ladders:
            name = ladders[0][0]
            top = max(ladders[0][1])
            cm, limited = clean_max("sipnatd", name)
            short = first_short("sipnatd", name)
            out.append(f"  clean to the generator's limit ({name}): {clean_text('sipnatd', name)} -> "
                       + ("met" if cm >= top or limited else
                          "MISSED" if short and short[1]["verdict"] == "LOSS" else "MISSED"))
        else:
            out.append("  clean to the generator's limit: not measured (--ladders 0)")
        rss = res["sipnatd"].get("rss_kib", 0) / 1024
        out.append(f"  RSS < 16 MiB at {n_rss} calls: {rss:.1f} MiB -> {verdict(rss < 16)}")

        out.append("\nRate ladders (loss %, relay CPU %, per step; best of up to 3 runs):")
        for name, rates, burst in ladders:
            out.append(f"  {name}:")
            out.append("    " + f"{'pps':>8} " + "".join(f"{LABEL[r]:>28}" for r in RELAYS))
            for rate in rates:
                cells = ""
                for relay in RELAYS:
                    r = res[relay]["ladder"].get(name, {}).get(rate)
                    cell = ("-" if r is None else
                            f"{r['loss_pct']:.2f} % {r['relay_cpu_pct']:.0f} % "
                            f"{'' if r['verdict'] == 'clean' else r['verdict']}")
                    cells += f"{cell:>28}"
                out.append(f"    {rate / 1000:>7.0f}k " + cells)
        others = statistics.median(r["foreign_cpu_pct"] for relay in RELAYS
                                   for r in res[relay]["cpu_runs"])
        out.append(f"\nOther processes on the machine took a median {others:.0f} % of a core during "
                   f"the CPU runs.")
        out.append(self.noise_line())
        if getattr(self, "perf_path", None):
            out.append(f"perf top 10 of sipnatd: {self.perf_path}")
        out.append(f"Raw figures: {os.path.join(self.work, 'results.json')}; logs in {self.work}")
        print("\n".join(out))
        if self.args.results:
            os.makedirs(self.args.results, exist_ok=True)
            with open(os.path.join(self.args.results, "relay-table.txt"), "w") as f:
                f.write("\n".join(out) + "\n")
        with open(os.path.join(self.work, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sipnatd", required=True, help="the sipnatd binary (a Release build)")
    ap.add_argument("--tools", required=True, help="directory with rtpgen and udpfwd")
    ap.add_argument("--baseline", help="an older sipnatd binary, measured beside the new one")
    ap.add_argument("--results", help="directory for the table and sipnatd's perf top 10")
    ap.add_argument("--ladders", type=int, default=1, help="0: skip the rate ladders")
    ap.add_argument("--work", help="directory for configs, logs and results (default: a new temp dir)")
    ap.add_argument("--streams", type=int, default=1000, help="streams for CPU and rate figures")
    ap.add_argument("--pps", type=int, default=50, help="packets/s per stream (both legs) for CPU")
    ap.add_argument("--rss-calls", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3, help="CPU runs per relay (median reported)")
    ap.add_argument("--cpu-seconds", type=float, default=10)
    ap.add_argument("--step-seconds", type=float, default=3)
    ap.add_argument("--rates", default="50000,100000,200000,300000,400000,450000",
                    help="total pps steps, legs sending bursts of 4")
    ap.add_argument("--paced-rates", default="100000,200000,250000,300000",
                    help="total pps steps, legs sending one packet at a time ('' = skip)")
    ap.add_argument("--foreign-max", type=float, default=50,
                    help="%% of a core other processes may take before a run is retried")
    ap.add_argument("--quiet-wait", type=float, default=120,
                    help="seconds in all to wait for other processes to quieten down")
    args = ap.parse_args()
    if args.streams < args.rss_calls or args.streams * 2 > (SN_POOL[1] - SN_POOL[0] + 1) // 2 * 2:
        ap.error("--streams must be >= --rss-calls and fit the pool")
    args.work = args.work or tempfile.mkdtemp(prefix="sipnatd-bench-")
    os.makedirs(args.work, exist_ok=True)

    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    ladders = [("bursts of 4", [int(x) for x in args.rates.split(",")], 4)]
    if args.paced_rates:
        ladders.append(("paced 1 by 1", [int(x) for x in args.paced_rates.split(",")], 1))

    if args.baseline:
        RELAYS.insert(2, "sipnatd-base")
    b = Bench(args)
    try:
        log(f"work directory {args.work}; load average {loadavg()}")
        b.noise_start()
        b.start_sipnatd()
        if args.baseline:
            b.start_sipnatd("sipnatd-base")
        b.start_rtpengine()
        b.start_udpfwd(args.rss_calls)
        for relay in RELAYS:
            if relay != "udpfwd":
                b.open_calls(relay, args.rss_calls)
        b.measure_rss(args.rss_calls)
        stop(b.relay["udpfwd"])
        b.start_udpfwd(args.streams)
        for relay in RELAYS:
            if relay != "udpfwd":
                b.open_calls(relay, args.streams)
        b.measure_cpu(args.streams, args.pps)
        b.profile(args.streams, args.pps)
        if not args.ladders:
            ladders = []
        for name, rates, burst in ladders:
            b.ladder(name, args.streams, rates, burst)
        b.report(args.streams, args.pps, args.rss_calls, ladders)
    finally:
        stop_all()
        for sip in b.sip.values():
            sip.close()
        if hasattr(b, "ng"):
            b.ng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
