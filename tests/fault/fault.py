#!/usr/bin/env python3
"""Fault scenarios for duraflow against a real Kafka broker.

    fault.py --bin BUILD/tests/fault --cli BUILD/framework/tools/duraflow \
             --work DIR --repo REPO SCENARIO

SCENARIO is one of the names in SCENARIOS below.  The broker comes from
$DF_BROKERS (required: the test fails loudly without it).  Scenarios that
take the broker down start a private broker of their own with
scripts/kafka.sh (own state file, own port) and stop it afterwards.

Every scenario: its own topic prefix and work directory, a time budget
(SIGALRM) well under the CTest timeout, every process it starts killed by
pid at the end (and by PR_SET_PDEATHSIG if the driver itself dies), its
topics deleted, and a summary with its figures.  Exit 0 = PASS.
"""
import argparse
import ctypes
import datetime
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

ARGS = None
FAILED = False      # an exception ended the scenario: keep its files
PROCS = []          # every Proc started, for cleanup
CLEANUPS = []       # functions run at exit, last first
T_START = time.monotonic()


class Budget(Exception):
    pass


def log(msg):
    print("[%6.1f s] %s" % (time.monotonic() - T_START, msg), flush=True)


def _pdeathsig():
    # The child dies with the driver, whatever kills the driver.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Proc:
    """A child process with its stderr (and stdout) in a log file."""

    def __init__(self, name, argv, logfile, env=None):
        self.name, self.argv, self.logfile = name, argv, logfile
        self.env = env
        self.p = None
        self.starts = 0
        self.start()

    def start(self):
        f = open(self.logfile, "ab")
        f.write(("---- start %s at %.3f: %s\n" % (self.name, time.time(), " ".join(self.argv))).encode())
        f.flush()
        self.p = subprocess.Popen(self.argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=_pdeathsig, env=self.env)
        f.close()
        self.starts += 1
        if self not in PROCS:
            PROCS.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.p.pid, sig)

    def kill(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait()

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code."""
        if not self.alive():
            return self.p.returncode if self.p else None
        os.kill(self.p.pid, signal.SIGCONT)
        os.kill(self.p.pid, signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            log("%s (pid %d) did not stop in %d s: SIGKILL" % (self.name, self.p.pid, timeout))
            self.kill()
            return self.p.returncode

    def text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def run(argv, timeout=120, check=True, quiet=False):
    """Run a harness program to completion; its output is echoed."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig)
    out = r.stdout.decode("utf-8", "replace")
    if not quiet:
        for line in out.splitlines():
            print("    " + line, flush=True)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d" % (os.path.basename(argv[0]), r.returncode))
    return r.returncode, out


def figures(out):
    m = re.findall(r"^FIGURES (\{.*\})$", out, re.M)
    return json.loads(m[-1]) if m else {}


class Scenario:
    """Shared plumbing of one scenario: names, directories, programs."""

    def __init__(self, tag, brokers):
        self.tag = tag
        self.brokers = brokers
        self.prefix = "fault-%s-%d-%d" % (tag, os.getpid(), int(time.time()))
        self.dir = os.path.join(ARGS.work, self.prefix)
        os.makedirs(self.dir, exist_ok=True)
        self.state = os.path.join(self.dir, "state")
        self.workers = {}
        self.ts = None
        self.figs = {}
        self.prefixes = [self.prefix]  # topics to delete at the end
        self.ok = True
        self.notes = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def bin(self, name):
        return os.path.join(ARGS.bin, name)

    def worker(self, wid, extra=(), state=None, brokers=None, prefix=None):
        argv = [self.bin("fault_worker"), "--brokers", brokers or self.brokers, "--prefix", prefix or self.prefix,
                "--state-dir", state or self.state, "--worker-id", wid,
                "--log", self.path("steps-%s.log" % wid), "--status", self.path("status-%s.json" % wid),
                "--cb-file", self.path("callbacks.txt"), "-X", "session.timeout.ms=6000"] + list(extra)
        w = Proc("worker " + wid, argv, self.path("worker-%s.err" % wid))
        self.workers[wid] = w
        return w

    def timer_service(self, extra=(), brokers=None):
        argv = [ARGS.cli, "--brokers", brokers or self.brokers, "--prefix", self.prefix,
                "-X", "state.dir=" + self.state, "-X", "worker.id=ts", "-X", "session.timeout.ms=6000",
                "-X", "log.level=info"] + list(extra) + ["timer-service"]
        self.ts = Proc("timer service", argv, self.path("timer-service.err"))
        return self.ts

    def step_logs(self):
        return [a for wid in sorted(self.workers) for a in ("--log", self.path("steps-%s.log" % wid))]

    def load(self, n, workflow="five", name_prefix=None, rate=0, first=0, timeout=120, brokers=None, prefix=None):
        argv = [self.bin("fault_load"), "start", "--brokers", brokers or self.brokers, "--prefix",
                prefix or self.prefix,
                "--workflow", workflow, "--name-prefix", name_prefix or (workflow + "-"), "--count", str(n),
                "--first", str(first), "--timeout", str(timeout)]
        if rate:
            argv += ["--rate", str(rate)]
        return argv

    def wait_results(self, n, timeout):
        return [self.bin("fault_check"), "wait", "--brokers", self.brokers, "--prefix", self.prefix,
                "--expect", str(n), "--timeout", str(timeout)]

    def verify(self, five=0, cb=0, expect_dlq=None, brokers=None, prefix=None, logs=None, five_prefix=None):
        argv = [self.bin("fault_check"), "verify", "--brokers", brokers or self.brokers,
                "--prefix", prefix or self.prefix, "--five", str(five), "--cb", str(cb)]
        argv += logs if logs is not None else self.step_logs()
        if five_prefix:
            argv += ["--five-prefix", five_prefix]
        if expect_dlq is not None:
            argv += ["--expect-dlq", str(expect_dlq)]
        rc, out = run(argv, timeout=180, check=False)
        f = figures(out)
        lost = re.findall(r"LOST: (\S+) has no execution record", out)
        if lost and f.get("lost", 0) <= 20:
            self.forensics(lost, brokers, prefix)
        return rc == 0, f

    def forensics(self, ids, brokers=None, prefix=None):
        """Where did lost executions go? Look for their records in the topics."""
        prefix = prefix or self.prefix
        for topic in ("events", "state"):
            for mode in ([], ["--uncommitted"]):
                rc, out = run([self.bin("fault_check"), "dump", "--brokers", brokers or self.brokers, "--topic",
                               "%s.%s" % (prefix, topic)] + mode, timeout=120, check=False, quiet=True)
                name = self.path("dump-%s%s.txt" % (topic, "-uncommitted" if mode else ""))
                with open(name, "w") as f:
                    f.write(out)
                log("forensics: %s.%s (%s): dump exit %s, %d line(s) in all" % (
                    prefix, topic, "read_uncommitted" if mode else "read_committed", rc, len(out.splitlines())))
                for i in ids[:3]:
                    hits = [l for l in out.splitlines() if "\t%s\t" % i in l]
                    log("forensics: %s in %s.%s (%s): %d record(s)%s" % (
                        i, prefix, topic, "read_uncommitted" if mode else "read_committed", len(hits),
                        "".join("\n      " + h for h in hits[:6])))
        # what the programs said about them: the loader's output, and every
        # log line of the workers and step logs that names them
        for name in sorted(os.listdir(self.dir)):
            path = self.path(name)
            if not os.path.isfile(path) or not (name.endswith(".out") or name.endswith(".err") or
                                                name.endswith(".log")):
                continue
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
            hits = [l for l in lines if any(re.search(r"\b%s\b" % re.escape(i), l) for i in ids[:3])]
            if name.startswith("load"):
                hits = lines[-8:] + hits
            if hits:
                log("forensics: %s:%s" % (name, "".join("\n      " + h for h in hits[:12])))

    def expect(self, cond, what):
        if not cond:
            self.ok = False
            log("CHECK FAILED: " + what)
        return cond

    def stop_all(self):
        for w in self.workers.values():
            w.stop()
        if self.ts:
            self.ts.stop()

    def cleanup(self):
        for p in PROCS:
            if p.alive():
                p.signal(signal.SIGCONT)
                p.kill()
        keep = not self.ok or FAILED or os.environ.get("DF_FAULT_KEEP")
        try:
            for p in self.prefixes if not keep else ():
                run([self.bin("fault_check"), "delete-topics", "--brokers", self.brokers, "--prefix", p],
                    timeout=60, check=False, quiet=True)
        except Exception as e:  # the broker may be gone
            log("topic cleanup: %s" % e)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log("kept %s (logs, state) and the topics %s for inspection" % (
                self.dir, ", ".join(p + ".*" for p in self.prefixes)))

    def report(self, title):
        print("\n== %s: %s ==" % (title, "PASS" if self.ok else "FAIL"))
        for k, v in self.figs.items():
            print("   %-28s %s" % (k, v))
        for n in self.notes:
            print("   note: " + n)
        print("   wall time                    %.1f s" % (time.monotonic() - T_START), flush=True)


def grep_count(text, pattern):
    return len(re.findall(pattern, text))


def worker_assigned_after(w, offset):
    """Seconds-resolution helper: does w's log show an assignment after byte offset?"""
    t = w.text()[offset:]
    return re.search(r"assigned [1-9]\d* partition", t) is not None


# ---------------------------------------------------------------------------
# 1. worker crash
# ---------------------------------------------------------------------------
def scenario_worker_crash(brokers):
    s = Scenario("crash", brokers)
    CLEANUPS.append(s.cleanup)
    n = int(os.environ.get("DF_FAULT_CRASH_EXECS", "2000"))
    race = os.environ.get("DF_FAULT_RACE_TOPICS") == "1"
    if race:
        # the loader first: its starts race the creation of the topics by
        # itself, the timer service and the three workers (tests/fault/soak.sh)
        loader = Proc("loader", s.load(n, rate=80), s.path("load.out"))
    s.timer_service()
    for i in range(1, 4):
        # 2 ms steps: a worker is busy about a quarter of the time, so some
        # kills land inside a batch (its steps run again: re-runs)
        s.worker("w%d" % i, ["--sleep-in-step", "2"])
    log("3 workers + timer service started; loading %d executions%s" % (n, " (loader racing topic creation)"
                                                                       if race else ""))
    if not race:
        loader = Proc("loader", s.load(n, rate=80), s.path("load.out"))
    waiter = Proc("waiter", s.wait_results(n, 120), s.path("wait.out"))
    kills, recoveries, pending = 0, [], []
    rnd = random.Random(os.getpid())
    time.sleep(3)
    while waiter.alive():
        # record when each restarted worker got partitions again
        for item in list(pending):
            wid, t_kill, off = item
            if worker_assigned_after(s.workers[wid], off):
                recoveries.append(time.monotonic() - t_kill)
                pending.remove(item)
        wid = rnd.choice(sorted(s.workers))
        w = s.workers[wid]
        if not any(p[0] == wid for p in pending):
            w.kill()
            t_kill = time.monotonic()
            kills += 1
            off = len(w.text())
            w.start()
            pending.append((wid, t_kill, off))
            log("SIGKILL %s (kill %d), restarted as pid %d" % (wid, kills, w.pid))
        deadline = time.monotonic() + rnd.uniform(3, 6)
        while time.monotonic() < deadline and waiter.alive():
            time.sleep(0.2)
    waiter.p.wait()
    print(waiter.text().strip().splitlines()[-1])
    s.expect(waiter.p.returncode == 0, "every execution reached a result")
    time.sleep(2)
    for item in pending:
        if worker_assigned_after(s.workers[item[0]], item[2]):
            recoveries.append(None)
    loader.p.wait()
    s.expect(loader.p.returncode == 0, "every start acknowledged")
    s.stop_all()
    ok, f = s.verify(five=n)
    s.expect(ok, "checker")
    s.figs.update({
        "executions": n, "kills (SIGKILL)": kills,
        "step runs / steps": "%s / %s" % (f.get("step_runs"), f.get("steps")),
        "re-runs (at-least-once)": f.get("re_runs"),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
        "unfinished": f.get("unfinished"), "history errors": f.get("history_errors"),
        "DLQ records": f.get("dlq"),
        "recovery (kill -> partitions again)": fmt_times([r for r in recoveries if r is not None]),
    })
    s.report("scenario 1: worker crash")
    return s.ok


# ---------------------------------------------------------------------------
# 2. zombie worker
# ---------------------------------------------------------------------------
def step_lines(path, start=0):
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return [l.split() for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
    except OSError:
        return []


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_for(cond, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def scenario_zombie(brokers):
    s = Scenario("zombie", brokers)
    CLEANUPS.append(s.cleanup)
    n = 300
    # Longer than session.timeout.ms (6 s) and than transaction.timeout.ms
    # (10 s here): a new owner restores a partition only once the previous
    # owner's open transaction is over, so it can take over while the
    # zombie sleeps only after the broker has aborted that transaction.
    stop_min, stop_max = 16, 30  # SIGCONT once w2 owns everything, after at least 16 s
    s.timer_service()
    # Steps take 25 ms: the zombie is inside a batch (an open transaction
    # with changelog records already produced) when it is stopped.
    extra = ["--sleep-in-step", "25", "-X", "transaction.timeout.ms=10000"]
    z = s.worker("w1", extra)
    s.worker("w2", extra)
    other = s.workers["w2"]
    assert wait_for(lambda: "assigned" in z.text() and "assigned" in other.text(), 30), "workers did not join"
    loader = Proc("loader", s.load(n, rate=50), s.path("load.out"))
    waiter = Proc("waiter", s.wait_results(n, 100), s.path("wait.out"))
    time.sleep(4)
    zlog = s.path("steps-w1.log")
    while True:  # stop it in the middle of a step
        size = file_size(zlog)
        time.sleep(0.01)
        if file_size(zlog) != size:
            break
    z.signal(signal.SIGSTOP)
    t_stop = time.monotonic()
    off_stop, zerr_off, oerr_off = file_size(zlog), len(z.text()), len(other.text())
    log("SIGSTOP w1 (pid %d) in the middle of a batch" % z.pid)
    took = wait_for(lambda: re.search(r"assigned 6 partition", other.text()[oerr_off:]) is not None, stop_max)
    t_takeover = time.monotonic() - t_stop
    s.expect(took, "w2 took over all 6 partitions while w1 was stopped")
    if took:
        log("w2 owns all partitions %.1f s after the stop" % t_takeover)
    rest = max(stop_min - (time.monotonic() - t_stop), 1.0)
    if rest > 0:
        time.sleep(rest)
    z.signal(signal.SIGCONT)
    t_cont = time.monotonic()
    log("SIGCONT w1 after %.1f s" % (t_cont - t_stop))
    waiter.p.wait()
    print(waiter.text().strip().splitlines()[-1])
    s.expect(waiter.p.returncode == 0, "every execution reached a result")
    loader.p.wait()
    s.expect(loader.p.returncode == 0, "every start acknowledged")
    time.sleep(1)
    z_exit = None if z.alive() else z.p.returncode
    z_how = ("rejoined the group and kept working" if z_exit is None else
             "exited %s: %s" % (z_exit, (re.findall(r"fault_worker w1: stopped: [^\n]*", z.text()) or ["?"])[-1]))
    log("the zombie " + z_how)
    s.expect(z_exit is None or "DF_ERR_FENCED" in z_how, "the zombie rejoined, or stopped as fenced")
    s.stop_all()
    # What the zombie did after it woke up
    # What the zombie did after it woke up, before it rejoined the group:
    # the rest of the batch it was in when it was stopped.
    zerr = z.text()[zerr_off:]
    refused = re.findall(r"^\S+ \S+ ((?:send_offsets_to_transaction|commit_transaction|begin_transaction|"
                         r"abort_transaction)[^\n]*)", zerr, re.M)
    for r in refused[:4]:
        log("zombie: " + r)
    m = re.search(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) \S+ (?:send_offsets_to_transaction|commit_transaction|"
                  r"begin_transaction|abort_transaction|worker w1: revoked|worker w1: assigned)", zerr, re.M)
    t_rejoin_tod = None
    if m:
        h, mi, se, ms = (int(x) for x in m.groups())
        t_rejoin_tod = ((h * 60 + mi) * 60 + se) * 1000 + ms
    zruns = []
    for l in step_lines(zlog, off_stop):
        tod = int(l[5]) % 86400000 if len(l) > 5 else 0
        if t_rejoin_tod is None or tod <= t_rejoin_tod:
            zruns.append(l)
    new_owner = set((l[0], l[1]) for l in step_lines(s.path("steps-w2.log")))
    zkeys = set((l[0], l[1]) for l in zruns)
    also_new = len([k for k in zkeys if k in new_owner])
    ok, f = s.verify(five=n)
    s.expect(ok, "checker")
    s.expect(len(refused) > 0, "the zombie's transaction or offsets commit was refused")
    s.figs.update({
        "executions": n, "stop (SIGSTOP..SIGCONT)": "%.1f s" % (t_cont - t_stop),
        "takeover by w2 after": "%.1f s" % t_takeover if took else "not while w1 was stopped",
        "the zombie then": z_how,
        "zombie step runs after waking": "%d (before it rejoined the group)" % len(zruns),
        "  of which the new owner also ran": also_new,
        "zombie's refused txn calls": len(refused),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
        "unfinished": f.get("unfinished"), "history errors": f.get("history_errors"),
        "re-runs (at-least-once)": f.get("re_runs"), "DLQ records": f.get("dlq"),
    })
    s.report("scenario 2: zombie worker")
    return s.ok


# ---------------------------------------------------------------------------
# 3. timer service crash
# ---------------------------------------------------------------------------
def scenario_timer_crash(brokers):
    s = Scenario("timers", brokers)
    CLEANUPS.append(s.cleanup)
    n, past, spread = 10000, 3000, 20000
    target = s.prefix + ".target"
    run([s.bin("fault_timers"), "produce", "--brokers", brokers, "--prefix", s.prefix, "--target", target,
         "--count", str(n), "--due-past", str(past), "--spread-ms", str(spread)], timeout=90)
    t0 = time.monotonic()
    ts = s.timer_service()
    kills, recoveries = 0, []
    for delay in (3.0, 3.0):  # the second kill 3 s after the first restart loaded its index
        time.sleep(delay)
        ts.kill()
        kills += 1
        off = len(ts.text())
        t_kill = time.monotonic()
        log("SIGKILL timer service (kill %d); restarting it" % kills)
        ts.start()
        if wait_for(lambda: "pending timer(s) loaded" in ts.text()[off:], 60):
            recoveries.append(time.monotonic() - t_kill)
            m = re.findall(r"(\d+) pending timer\(s\) loaded", ts.text()[off:])
            log("restarted timer service loaded %s pending timers %.1f s after the kill" % (m[0], recoveries[-1]))
    rc, out = run([s.bin("fault_timers"), "verify", "--brokers", brokers, "--target", target, "--count", str(n),
                   "--timeout", "60", "--settle-ms", "3000"], timeout=120, check=False)
    f = figures(out)
    s.expect(rc == 0, "every timer fired exactly once, none early")
    # after the last fire the topic holds no pending timer: one more restart loads 0
    off = len(ts.text())
    ts.stop()
    ts.start()
    left = None
    if wait_for(lambda: "pending timer(s) loaded" in ts.text()[off:], 40):
        left = int(re.findall(r"(\d+) pending timer\(s\) loaded", ts.text()[off:])[0])
    s.expect(left == 0, "no timer left pending in %s.timers (found %s)" % (s.prefix, left))
    ts.stop()
    s.figs.update({
        "timers": n, "already due at start": past, "others due within": "%d s" % (spread // 1000),
        "kills (SIGKILL)": kills,
        "fired (distinct)": f.get("distinct"), "duplicates found": f.get("duplicates"),
        "lost (missing)": f.get("missing"), "fired early": f.get("early"),
        "lateness p50 / p99 / max": "%s / %s / %s ms" % (f.get("late_p50_ms"), f.get("late_p99_ms"),
                                                         f.get("late_max_ms")),
        "recovery (kill -> index loaded)": fmt_times(recoveries),
        "pending after the run": left,
    })
    s.report("scenario 3: timer service crash")
    return s.ok


# ---------------------------------------------------------------------------
# 4. poison and hostile input
# ---------------------------------------------------------------------------
def read_status(s, wid):
    try:
        with open(s.path("status-%s.json" % wid)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def scenario_poison(brokers):
    s = Scenario("poison", brokers)
    CLEANUPS.append(s.cleanup)
    n_five, n_cb, n_hostile = 200, 20, 9
    s.timer_service()
    s.worker("w1")
    s.worker("w2")
    run(s.load(100), timeout=60)
    # the hostile records use the keys of five-100..108: the executions
    # started next sit behind them on the same partitions
    run([s.bin("fault_poison"), "produce", "--brokers", brokers, "--prefix", s.prefix, "--key-prefix", "five-",
         "--first", "100", "--big-bytes", os.environ.get("DF_FAULT_BIG_BYTES", "2000000")], timeout=90)
    run(s.load(100, first=100), timeout=60)
    run(s.load(n_cb, workflow="cb"), timeout=60)
    rc, _ = run([s.bin("fault_load"), "callbacks", "--brokers", brokers, "--prefix", s.prefix, "--cb-file",
                 s.path("callbacks.txt"), "--count", str(n_cb), "--timeout", "30"], timeout=60, check=False)
    s.expect(rc == 0, "every callback completed")
    rc, out = run(s.wait_results(n_five + n_cb, 20), timeout=60, check=False)
    s.expect(rc == 0, "every execution reached a result")
    rc, probes = run([s.bin("fault_poison"), "probe", "--brokers", brokers, "--prefix", s.prefix, "--cb-file",
                      s.path("callbacks.txt")], timeout=150, check=False)
    s.expect(rc == 0, "hostile control requests rejected with the expected status")
    crashed = [wid for wid, w in s.workers.items() if not w.alive() or w.starts != 1]
    s.expect(not crashed, "no worker crashed (%s)" % ", ".join(crashed))
    st = [read_status(s, wid) for wid in sorted(s.workers)]
    dlq_stats = sum(x.get("dlq", 0) for x in st)
    for wid, w in sorted(s.workers.items()):
        x = read_status(s, wid)
        log("%s: batches committed %s, aborted %s, dead letters %s, steps run %s" % (
            wid, x.get("batches"), x.get("aborts"), x.get("dlq"), x.get("steps_run")))
        errs = re.findall(r"^\S+ ERROR ([^\n]*)", w.text(), re.M)
        if errs:
            log("%s: %d ERROR lines, first: %s" % (wid, len(errs), errs[0]))
    s.stop_all()
    ok, f = s.verify(five=n_five, cb=n_cb, expect_dlq=n_hostile)
    s.expect(ok, "checker (including exactly %d DLQ records)" % n_hostile)
    s.expect(dlq_stats == n_hostile, "workers counted %d dead letters" % dlq_stats)
    s.figs.update({
        "hostile records": n_hostile, "DLQ records": f.get("dlq"), "dead letters counted by workers": dlq_stats,
        "hostile control requests rejected": "%d of 5" % len(re.findall("as expected", probes)),
        "executions (five + cb)": "%d + %d" % (n_five, n_cb), "succeeded": f.get("succeeded"),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
        "history errors": f.get("history_errors"), "worker crashes": len(crashed),
        "aborted batches": sum(x.get("aborts", 0) for x in st),
    })
    s.report("scenario 4: poison and hostile input")
    return s.ok


# ---------------------------------------------------------------------------
# 5. lost local state
# ---------------------------------------------------------------------------
def cli_list(s, prefix=None):
    r = subprocess.run([ARGS.cli, "--brokers", s.brokers, "--prefix", prefix or s.prefix, "--json", "list"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, preexec_fn=_pdeathsig)
    if r.returncode != 0:
        raise AssertionError("duraflow list: %s" % r.stderr.decode()[-300:])
    return {e["execution_id"]: e for e in json.loads(r.stdout)}


def restored(text):
    """(records, ms) summed over the 'restored' lines of a worker log."""
    recs = [(int(a), int(b)) for a, b in re.findall(r"restored \S+: (\d+) records, \d+ bytes in (\d+) ms", text)]
    return sum(r for r, _ in recs), sum(m for _, m in recs)


def scenario_lost_state(brokers):
    s = Scenario("state", brokers)
    CLEANUPS.append(s.cleanup)
    n = 300
    s.timer_service()
    w = s.worker("w1", ["--wait-ms", "5000"])
    assert wait_for(lambda: "assigned" in w.text(), 30), "worker did not join"
    run(s.load(n, rate=100), timeout=60)
    time.sleep(4)  # the first executions are done, the last ones wait in their 5 s pause
    before = cli_list(s)
    done_before = {k: v for k, v in before.items() if v["status"] == "SUCCEEDED"}
    log("before the stop: %d executions recorded, %d succeeded, %d suspended in their wait" % (
        len(before), len(done_before), len([v for v in before.values() if v["status"] == "SUSPENDED"])))
    rc = w.stop()
    s.expect(rc == 0, "the worker stopped cleanly (exit %s)" % rc)
    store = os.path.join(s.state, "worker-w1")
    s.expect(os.path.isdir(store), "the worker's RocksDB directory exists")
    shutil.rmtree(store)
    log("deleted %s; restarting w1" % store)
    off = len(w.text())
    t0 = time.monotonic()
    w.start()
    s.expect(wait_for(lambda: re.search(r"assigned [1-9]\d* partition", w.text()[off:]) is not None, 60),
             "the restarted worker took its partitions")
    t_rec = time.monotonic() - t0
    n_restored, ms_restored = restored(w.text()[off:])
    rc, _ = run(s.wait_results(n, 60), timeout=90, check=False)
    s.expect(rc == 0, "every execution reached a result")
    after = cli_list(s)
    changed = [k for k, v in done_before.items() if after.get(k) != v]
    s.expect(not changed, "executions finished before the loss are identical afterwards (%d changed: %s)" % (
        len(changed), ", ".join(changed[:5])))
    s.stop_all()
    ok, f = s.verify(five=n)
    s.expect(ok, "checker")

    # (b) an old state dir against a fresh topic prefix: every local
    # checkpoint is beyond the new changelog's end and must be dropped.
    p2 = s.prefix + "-fresh"
    s.prefixes.append(p2)
    argv = w.argv[:]
    argv[argv.index("--prefix") + 1] = p2
    argv[argv.index("--log") + 1] = s.path("steps-fresh.log")
    w2 = Proc("worker w1 (fresh prefix)", argv, s.path("worker-w1-fresh.err"))
    ts2 = Proc("timer service (fresh prefix)", [a if a != s.prefix else p2 for a in s.ts.argv],
               s.path("timer-service-fresh.err"))
    assert wait_for(lambda: "assigned" in w2.text(), 60), "worker did not join on the fresh prefix"
    outside = grep_count(w2.text(), r"outside the changelog")
    log("fresh prefix: %d partition checkpoint(s) reported outside the changelog" % outside)
    s.expect(outside > 0, "the worker logs 'outside the changelog' and drops its local state")
    m = 100
    run(s.load(m, prefix=p2), timeout=60)
    rc, _ = run([s.bin("fault_check"), "wait", "--brokers", brokers, "--prefix", p2, "--expect", str(m),
                 "--timeout", "60"], timeout=90, check=False)
    s.expect(rc == 0, "the same execution names start afresh on the fresh prefix")
    w2.stop()
    ts2.stop()
    ok2, f2 = s.verify(five=m, prefix=p2, logs=["--log", s.path("steps-fresh.log")])
    s.expect(ok2, "checker on the fresh prefix (nothing taken from the stale store)")
    # (c) an old state dir against another changelog that is longer than the
    # local checkpoints: the checkpoints are "inside" it but belong to
    # another topic.  Trusted, the store would miss the changelog's start.
    p3 = s.prefix + "-other"
    s.prefixes.append(p3)
    m3 = 300
    other_state = s.state + "-w9"
    ts3 = Proc("timer service (other prefix)", [a if a != s.prefix else p3 for a in s.ts.argv],
               s.path("timer-service-other.err"))
    # w9 starts them on p3 and stops while they all wait in their 6 s pause;
    # then w1 (with the store of (b)) takes over and must finish them.
    w9 = s.worker("w9", ["--wait-ms", "6000"], state=other_state, prefix=p3)
    run(s.load(m3, prefix=p3, name_prefix="late-"), timeout=60)
    wait_for(lambda: read_status(s, "w9").get("events", 0) >= m3, 30)
    w9.stop()
    del s.workers["w9"]
    argv = w.argv[:]
    argv[argv.index("--prefix") + 1] = p3
    argv[argv.index("--log") + 1] = s.path("steps-other.log")
    w3 = Proc("worker w1 (other prefix)", argv, s.path("worker-w1-other.err"))
    assert wait_for(lambda: "assigned" in w3.text(), 60), "worker did not join on the other prefix"
    outside3 = grep_count(w3.text(), r"outside the changelog|not the one the local checkpoint names")
    n3, _ = restored(w3.text())
    rc, _ = run([s.bin("fault_check"), "wait", "--brokers", brokers, "--prefix", p3, "--expect", str(m3),
                 "--timeout", "20"], timeout=60, check=False)
    w3.stop()
    ts3.stop()
    ok3, f3 = s.verify(five=m3, prefix=p3, five_prefix="late-",
                       logs=["--log", s.path("steps-w9.log"), "--log", s.path("steps-other.log")])
    log("other prefix: %d checkpoints dropped, %d records restored; %s of %d "
        "executions succeeded, duplicates %s" % (outside3, n3, f3.get("succeeded"), m3, f3.get("duplicates")))
    s.expect(ok3, "a store from another, longer changelog is not trusted (its checkpoints lie inside it)")
    s.expect(outside3 > 0, "the worker logs that it drops the store of another changelog")

    s.figs.update({
        "executions": n, "succeeded before the loss": len(done_before),
        "restored from the changelog": "%d records in %d ms" % (n_restored, ms_restored),
        "recovery (restart -> partitions)": "%.1f s" % t_rec,
        "changed after the rebuild": len(changed),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
        "re-runs (at-least-once)": f.get("re_runs"), "DLQ records": f.get("dlq"),
        "fresh prefix: checkpoints dropped": outside,
        "fresh prefix: succeeded / lost / duplicates": "%s / %s / %s" % (f2.get("succeeded"), f2.get("lost"),
                                                                          f2.get("duplicates")),
        "other changelog: checkpoints dropped": outside3,
        "other changelog: succeeded / unfinished / dup": "%s / %s / %s of %d (want all / 0 / 0)" % (
            f3.get("succeeded"), f3.get("unfinished"), f3.get("duplicates"), m3),
    })
    s.report("scenario 5: lost local state")
    return s.ok


# ---------------------------------------------------------------------------
# 6. a step longer than max.poll.interval.ms
# ---------------------------------------------------------------------------
def scenario_long_step(brokers):
    s = Scenario("longstep", brokers)
    CLEANUPS.append(s.cleanup)
    n, step_ms, budget = 2, 15000, 60
    s.timer_service()
    extra = ["-X", "max.poll.interval.ms=10000", "--sleep-in-step", str(step_ms), "--sleep-step", "step2"]
    s.worker("w1", extra)
    s.worker("w2", extra)
    assert wait_for(lambda: all("assigned" in w.text() for w in s.workers.values()), 30), "workers did not join"
    run(s.load(n), timeout=60)
    t0 = time.monotonic()
    rc, _ = run(s.wait_results(n, budget), timeout=budget + 30, check=False)
    t_done = time.monotonic() - t0
    s.expect(rc == 0, "every execution finished within %d s" % budget)
    s.stop_all()
    runs = {}
    for wid in s.workers:
        for l in step_lines(s.path("steps-%s.log" % wid)):
            if l[1] == "2":
                runs.setdefault(l[0], []).append(wid)
    for e, ws in sorted(runs.items()):
        log("%s: step2 (%d s) ran %d time(s), on %s" % (e, step_ms // 1000, len(ws), ", ".join(ws)))
    rebal = sum(grep_count(w.text(), r"revoked \d+ partition") for w in s.workers.values())
    aborts = sum(grep_count(w.text(), r"(send_offsets_to_transaction|commit_transaction):") for w in s.workers.values())
    poll_exceeded = sum(grep_count(w.text(), r"max\.poll\.interval|maximum poll interval") for w in s.workers.values())
    ok, f = s.verify(five=n)
    s.expect(ok, "checker")
    most = max((len(v) for v in runs.values()), default=0)
    s.expect(most <= 2, "a long step ran at most twice per execution (ran %d times)" % most)
    s.figs.update({
        "executions": n, "step2 duration": "%d s (max.poll.interval.ms 10 s)" % (step_ms // 1000),
        "finished after": "%.1f s" % t_done if rc == 0 else "not within %d s" % budget,
        "step2 runs per execution": ", ".join("%s: %d" % (e, len(v)) for e, v in sorted(runs.items())),
        "rebalances (revocations)": rebal, "refused commits": aborts,
        "max.poll.interval exceeded (librdkafka)": poll_exceeded,
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"), "unfinished": f.get("unfinished"),
    })
    s.report("scenario 6: long step")
    return s.ok


# ---------------------------------------------------------------------------
# 7. broker outage (a private broker: scripts/kafka.sh, own state file and port)
# ---------------------------------------------------------------------------
def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def broker_ready(port, host="127.0.0.1"):
    """A Metadata request answered with at least one broker (as scripts/kafka.sh probes)."""
    import socket
    import struct
    try:
        with socket.create_connection((host, port), timeout=2) as so:
            so.settimeout(2)
            cid = b"df-fault"
            body = struct.pack(">hhih", 3, 4, 7, len(cid)) + cid + struct.pack(">i", 0) + b"\x00"
            so.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 16:
                c = so.recv(16 - len(head))
                if not c:
                    return False
                head += c
            _, corr, _, nbrokers = struct.unpack(">iiii", head)
            return corr == 7 and nbrokers >= 1
    except OSError:
        return False


class PrivateBroker:
    """A broker of this scenario only: started and stopped with scripts/kafka.sh;
    taken down (SIGKILL) and brought back on the same port and data dir by
    relaunching the command line kafka.sh started (read from /proc)."""

    def __init__(self, s):
        self.s = s
        self.state = s.path("kafka.env")
        self.port, self.cport = free_port(), free_port()
        self.env = dict(os.environ, DF_KAFKA_STATE=self.state, DF_KAFKA_PORT=str(self.port),
                        DF_KAFKA_CONTROLLER_PORT=str(self.cport))
        self.addr = "127.0.0.1:%d" % self.port
        self.started = False
        self.relaunched = []  # every pid relaunch() started: all are killed by stop()

    def kafka_sh(self, *args, timeout=180):
        return subprocess.run([os.path.join(ARGS.repo, "scripts", "kafka.sh")] + list(args), env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    def start(self):
        self.started = True
        r = self.kafka_sh("start")
        if r.returncode != 0:
            raise AssertionError("private broker did not start: %s" % r.stdout.decode()[-800:])

    def _state(self):
        st = {}
        with open(self.state) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                st[k] = v.strip("'\"")
        return st

    def kill(self):
        st = self._state()
        pid = int(st["DF_KAFKA_PID"])
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            self.argv = [a.decode() for a in f.read().split(b"\0") if a]
        self.dir = st["DF_KAFKA_DIR"]
        os.kill(pid, signal.SIGKILL)
        while os.path.exists("/proc/%d" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z":
            time.sleep(0.05)

    def relaunch(self):
        with open(os.path.join(self.dir, "logs", "stdout.log"), "ab") as out:
            out.write(("---- relaunched by tests/fault/fault.py at %s ----\n" % time.ctime()).encode())
            p = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        with open(self.state) as f:
            text = f.read()
        with open(self.state + ".tmp", "w") as f:
            f.write(re.sub(r"^DF_KAFKA_PID=.*$", "DF_KAFKA_PID=%d" % p.pid, text, flags=re.M))
        os.rename(self.state + ".tmp", self.state)
        self.relaunched.append(p)
        return p.pid

    def wait_ready(self, timeout=120):
        return wait_for(lambda: broker_ready(self.port), timeout, 0.3)

    def stop(self):
        if self.started:
            # Its data is thrown away: no need for a clean (slow) shutdown.
            try:
                os.kill(int(self._state()["DF_KAFKA_PID"]), signal.SIGKILL)
                time.sleep(0.5)
            except (OSError, KeyError, ValueError):
                pass
            r = self.kafka_sh("stop", timeout=120)
            # the relaunched brokers are ours too (a CI run must stop what it started)
            for p in self.relaunched:
                if p.poll() is None:
                    p.kill()
                    p.wait(30)
            log("private broker stopped: %s" % r.stdout.decode().strip().splitlines()[-1:])


def scenario_broker_outage(brokers):
    s = Scenario("outage", brokers)
    b = PrivateBroker(s)
    CLEANUPS.append(b.stop)      # runs after s.cleanup has killed the processes
    CLEANUPS.append(s.cleanup)
    s.brokers = b.addr  # everything of this scenario talks to the private broker
    s.prefixes = []     # its topics go with the private broker
    n, n_cb, n_timers, down_s, before_s = 300, 30, 1000, 30, 15

    # (a) workers and the timer service start while the broker is down
    s.timer_service()
    s.worker("w1")
    s.worker("w2")
    log("timer service and 2 workers started against %s, where no broker listens yet" % b.addr)
    time.sleep(before_s)
    early = {name: (p.alive(), p.text()) for name, p in [("w1", s.workers["w1"]), ("w2", s.workers["w2"]),
                                                        ("timer service", s.ts)]}
    for name, (alive, text) in early.items():
        nr = re.findall(r"not ready: [^\n]*", text)
        log("%s after %d s without a broker: %s; %d 'not ready' reports%s" % (
            name, before_s, "running" if alive else "EXITED", len(nr), (": " + nr[-1][:160]) if nr else ""))
    t_b = time.monotonic()
    b.start()
    t_up = time.monotonic()
    log("private broker up at %s after %.1f s" % (b.addr, t_up - t_b))
    exited = []
    for wid, w in s.workers.items():
        if not w.alive():
            exited.append(wid)
            w.start()
    if not s.ts.alive():
        exited.append("timer service")
        s.ts.start()
    ready = {}
    for name, p in [("w1", s.workers["w1"]), ("w2", s.workers["w2"])]:
        if wait_for(lambda: re.search(r"assigned [1-9]", p.text()) is not None, 90):
            ready[name] = time.monotonic() - t_up
    s.expect(len(ready) == 2, "both workers got partitions once the broker was up")
    s.expect(not exited, "no process gave up while the broker was down (exited: %s)" % ", ".join(exited))

    # (b) the broker goes down for 30 s in the middle of a run
    run([s.bin("fault_timers"), "produce", "--brokers", b.addr, "--prefix", s.prefix, "--target",
         s.prefix + ".target", "--count", str(n_timers), "--due-past", "0", "--spread-ms", "50000"], timeout=90)
    loader = Proc("loader", s.load(n, rate=25, timeout=150), s.path("load.out"))
    loader_cb = Proc("loader cb", s.load(n_cb, workflow="cb", rate=5, timeout=150), s.path("load-cb.out"))
    completer = Proc("completer", [s.bin("fault_load"), "callbacks", "--brokers", b.addr, "--prefix", s.prefix,
                                   "--cb-file", s.path("callbacks.txt"), "--count", str(n_cb), "--timeout", "150"],
                     s.path("callbacks.out"))
    # A client whose records expire after 5 s (kafka.message.timeout.ms;
    # 300 s by default): its starts sent during the outage cannot be
    # delivered, so df_client_flush() must not call them acknowledged.
    probe = Proc("probe loader", s.load(4, name_prefix="probe-", rate=0.25, timeout=60) +
                 ["-X", "kafka.message.timeout.ms=5000"], s.path("load-probe.out"))
    time.sleep(5)
    b.kill()
    t_down = time.monotonic()
    log("broker SIGKILLed in the middle of the run; down for %d s" % down_s)
    time.sleep(down_s)
    died = [name for name, p in list(s.workers.items()) + [("timer service", s.ts)] if not p.alive()]
    for name in died:
        p = s.ts if name == "timer service" else s.workers[name]
        log("%s EXITED during the outage (exit %s): %s" % (
            name, p.p.returncode, (re.findall(r"[^\n]*(?:stopped|fatal|FATAL)[^\n]*", p.text()) or ["?"])[-1]))
    b.relaunch()
    ok_up = b.wait_ready(120)
    t_back = time.monotonic()
    s.expect(ok_up, "the broker came back")
    log("broker back after %.1f s down (%.1f s to serve requests again)" % (t_back - t_down, t_back - t_down - down_s))
    for name in died:  # a supervisor would restart them
        (s.ts if name == "timer service" else s.workers[name]).start()
    # Wait for the results and, like a supervisor, restart whatever exits.
    exits = []
    waiter = Proc("waiter", s.wait_results(n + n_cb, 120), s.path("wait.out"))
    while waiter.alive():
        for name, p in list(s.workers.items()) + [("timer service", s.ts)]:
            if not p.alive():
                last = (re.findall(r"[^\n]*(?:[Ff]atal|stopped)[^\n]*", p.text()) or ["?"])[-1]
                exits.append("%s (exit %s: %s)" % (name, p.p.returncode, last.strip()[:200]))
                log("%s EXITED after the outage, exit %s: %s; restarting it" % (name, p.p.returncode, last[:200]))
                p.start()
        time.sleep(0.5)
    rc_w = waiter.p.returncode
    print(waiter.text().strip().splitlines()[-1])
    s.expect(rc_w == 0, "every execution finished after the outage")
    s.expect(not exits, "no process exited because of the outage")
    t_all = time.monotonic() - t_back
    for p, what in ((loader, "start"), (loader_cb, "cb start")):
        p.p.wait(60)
        s.expect(p.p.returncode == 0, "every %s acknowledged" % what)
    completer.p.wait(60)
    s.expect(completer.p.returncode == 0, "every callback completed and acknowledged")
    probe.p.wait(60)
    probe_acked = probe.p.returncode == 0
    time.sleep(3)
    _, fp = s.verify(five=4, five_prefix="probe-")
    probe_missing = fp.get("lost", 0)
    log("probe client (kafka.message.timeout.ms=5000): %s; %d of its 4 starts never reached Kafka" % (
        "df_client_flush said every start was acknowledged" if probe_acked else "not acknowledged", probe_missing))
    s.expect(not (probe_acked and probe_missing), "an acknowledged start is never lost (df_client_flush returned "
             "DF_OK for %d starts that were never delivered)" % probe_missing)
    rc_t, out_t = run([s.bin("fault_timers"), "verify", "--brokers", b.addr, "--target", s.prefix + ".target",
                       "--count", str(n_timers), "--timeout", "60", "--settle-ms", "2000"], timeout=120, check=False)
    ft = figures(out_t)
    s.expect(rc_t == 0, "every acknowledged timer fired exactly once")
    s.stop_all()
    ok, f = s.verify(five=n, cb=n_cb)
    s.expect(ok, "checker")
    s.figs.update({
        "start while the broker is down": "%d s; exited: %s" % (before_s, ", ".join(exited) or "none"),
        "'not ready' reports (w1, w2, ts)": ", ".join(str(len(re.findall("not ready", t))) for _, t in early.values()),
        "ready after the broker came up": ", ".join("%s %.1f s" % kv for kv in sorted(ready.items())),
        "outage": "%d s (SIGKILL, relaunch on the same data)" % down_s,
        "processes that exited during it": ", ".join(died) or "none",
        "processes that exited after it": "; ".join(exits) or "none",
        "all finished after the broker was back": "%.1f s" % t_all if rc_w == 0 else "no",
        "executions (five + cb)": "%d + %d" % (n, n_cb), "succeeded": f.get("succeeded"),
        "lost": f.get("lost"), "unfinished": f.get("unfinished"), "duplicates found": f.get("duplicates"),
        "re-runs (at-least-once)": f.get("re_runs"),
        "timers fired / lost / duplicates": "%s / %s / %s of %d" % (ft.get("distinct"), ft.get("missing"),
                                                                     ft.get("duplicates"), n_timers),
        "timer lateness max": "%s ms" % ft.get("late_max_ms"),
        "probe: starts acked by flush / lost": "%s / %d of 4" % ("all" if probe_acked else "no", probe_missing),
        "callbacks": re.findall(r"completed \d+ callbacks[^\n]*", completer.text())[-1:] or ["not completed"],
        "DLQ records": f.get("dlq"),
    })
    s.report("scenario 7: broker outage")
    return s.ok


# ---------------------------------------------------------------------------
# 8. full disk under the worker's state dir
# ---------------------------------------------------------------------------
def fill(path):
    """Write zeros to path until the file system is full; returns bytes written."""
    n = 0
    buf = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(buf)
            except OSError:
                break
        # the last partial block
        for size in (4096, 512, 1):
            while True:
                try:
                    n += f.write(b"\0" * size)
                except OSError:
                    break
    return n


def scenario_full_disk(brokers):
    """The state dir of w1 on a 32 MB tmpfs that the test fills.  Where
    mount is not permitted (DF_FAULT_DISK=rlimit forces it), the disk is
    "full" for w1 alone: its RLIMIT_FSIZE is lowered to the size of its
    biggest store file (prlimit on its pid; fault_worker ignores SIGXFSZ, so
    writes fail with EFBIG), and raised again to free the space."""
    import resource
    s = Scenario("disk", brokers)
    small = s.path("small")
    os.makedirs(small)
    mounted = False

    def unmount():
        if mounted:
            subprocess.run(["umount", "-l", small], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CLEANUPS.append(unmount)    # runs after s.cleanup has killed the worker
    CLEANUPS.append(s.cleanup)
    mode = os.environ.get("DF_FAULT_DISK", "tmpfs")
    if mode == "tmpfs":
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", small], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode == 0:
            mounted = True
        else:
            log("mount -t tmpfs is not permitted here (%s); falling back to RLIMIT_FSIZE" %
                r.stdout.decode().strip())
            mode = "rlimit"
    n1, n2 = 200, 200
    s.timer_service()
    w1 = s.worker("w1", state=small)
    s.worker("w2")
    assert wait_for(lambda: all("assigned" in w.text() for w in s.workers.values()), 30), "workers did not join"
    run(s.load(n1, rate=100), timeout=60)
    rc, _ = run(s.wait_results(n1, 60), timeout=90, check=False)
    s.expect(rc == 0, "the first executions finished before the disk filled")
    if mode == "tmpfs":
        filled = fill(os.path.join(small, "filler"))
        df = os.statvfs(small)
        how = "tmpfs of 32 MB, filled with %d bytes" % filled
        log("filled the state dir's file system (tmpfs 32 MB): wrote %d bytes, %d bytes free" % (
            filled, df.f_bavail * df.f_frsize))
    else:
        biggest = max(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(small) for f in fs)
        resource.prlimit(w1.pid, resource.RLIMIT_FSIZE, (biggest, resource.RLIM_INFINITY))
        how = "RLIMIT_FSIZE of w1 lowered to %d bytes (its biggest store file)" % biggest
        log(how)
    off = len(w1.text())
    t_full = time.monotonic()
    loader = Proc("loader", s.load(n2, first=n1, rate=100), s.path("load2.out"))
    got_unhealthy = wait_for(lambda: read_status(s, "w1").get("healthy") == 0, 30)
    t_unhealthy = time.monotonic() - t_full
    s.expect(got_unhealthy, "w1 reports unhealthy once it cannot write its store")
    st0 = read_status(s, "w1")
    time.sleep(8)
    st1 = read_status(s, "w1")
    s.expect(st1.get("batches") == st0.get("batches"),
             "w1 commits nothing while it cannot persist (batches %s -> %s)" % (st0.get("batches"),
                                                                               st1.get("batches")))
    s.expect(st1.get("healthy") == 0, "w1 still reports unhealthy while the disk is full")
    errs = re.findall(r"^\S+ (?:ERROR|WARN) ([^\n]*(?:RocksDB|unhealthy|space)[^\n]*)", w1.text()[off:], re.M)
    for e in errs[:3]:
        log("w1: " + e[:220])
    if mode == "tmpfs":
        os.unlink(os.path.join(small, "filler"))
    else:
        resource.prlimit(w1.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    t_freed = time.monotonic()
    log("freed the space")
    healthy_again = wait_for(lambda: read_status(s, "w1").get("healthy") == 1, 30)
    t_rec = time.monotonic() - t_freed
    s.expect(healthy_again, "w1 reports healthy again after the space is freed")
    rc, _ = run(s.wait_results(n1 + n2, 45 if healthy_again else 10), timeout=90, check=False)
    s.expect(rc == 0, "every execution finished after the space was freed")
    loader.p.wait(30)
    s.expect(loader.p.returncode == 0, "every start acknowledged")
    s.stop_all()
    unmount()
    mounted = False
    ok, f = s.verify(five=n1 + n2)
    s.expect(ok, "checker")
    s.figs.update({
        "state dir": how,
        "unhealthy reported after": "%.1f s" % t_unhealthy if got_unhealthy else "never",
        "batches committed while full": "%s -> %s" % (st0.get("batches"), st1.get("batches")),
        "store errors logged": len(errs),
        "healthy again after freeing": "%.1f s" % t_rec if healthy_again else "no (within 30 s)",
        "executions": n1 + n2, "succeeded": f.get("succeeded"), "lost": f.get("lost"),
        "unfinished": f.get("unfinished"), "duplicates found": f.get("duplicates"),
        "re-runs (at-least-once)": f.get("re_runs"),
    })
    s.report("scenario 8: full disk")
    return s.ok


# ---------------------------------------------------------------------------
# 9. a step that kills its worker, every time
# ---------------------------------------------------------------------------
def cli_describe(s, exec_id, extra=()):
    r = subprocess.run([ARGS.cli, "--brokers", s.brokers, "--prefix", s.prefix] + list(extra) +
                       ["--json", "describe", exec_id],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, stdin=subprocess.DEVNULL)
    try:
        return json.loads(r.stdout.decode("utf-8", "replace"))
    except ValueError:
        return {}


def supervise(procs, until, timeout, deaths, on_restart=None):
    """Restart every proc of procs that dies, at once, as systemd or a
    Kubernetes controller would; deaths gets (name, time) per death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until():
        for p in procs:
            if not p.alive():
                deaths.append((p.name, time.monotonic(), p.p.returncode))
                off = len(p.text())
                p.start()
                if on_restart:
                    on_restart(p, off)
        time.sleep(0.05)
    return until()


def scenario_crash_loop(brokers):
    """One partition; two executions whose step body SIGKILLs the worker
    every time (at-least-once and at-most-once), and 20 ordinary executions
    behind them on the same partition.  The worker is restarted whenever it
    dies (same worker.id).  Each death must be counted against the step's
    attempt: both killers FAILED with WorkerCrashed after 3 attempts (3
    deaths each, no more), and all 20 others SUCCEEDED.  The worker runs
    executions side by side (worker.threads 16): a death while several
    executions were in flight charges none of them (a "suspect" death); the
    suspects then run alone, so each later death is the killer's own.  So:
    deaths = 6 + suspect deaths, and a killer's body ran 3 times plus once
    per suspect death it was in, attempts 1, 2, 3 in order."""
    s = Scenario("crashloop", brokers)
    CLEANUPS.append(s.cleanup)
    one = ["-X", "partitions=1"]
    w = s.worker("w1", ["--wait-ms", "200"] + one)
    if not wait_for(lambda: "ready after" in w.text(), 60):
        raise AssertionError("worker did not start")
    s.timer_service(one)
    deaths, progress = [], []

    def on_restart(p, off):
        t0 = time.monotonic()
        ok = wait_for(lambda: "recorded" in p.text()[off:] and "crash(es) of the previous process" in p.text()[off:],
                      20, 0.02)
        progress.append(time.monotonic() - t0 if ok else None)

    t_load = time.monotonic()
    run(s.load(1, workflow="killer", name_prefix="killer-alo-") + ["--input", "alo"], timeout=60)
    run(s.load(1, workflow="killer", name_prefix="killer-amo-") + ["--input", "amo"], timeout=60)
    run(s.load(20, name_prefix="five-"), timeout=60)
    waiter = Proc("waiter", s.wait_results(22, 100), s.path("wait.out"))
    supervise([w], lambda: not waiter.alive(), 110, deaths, on_restart)
    t_done = time.monotonic() - t_load
    waiter.p.wait()
    s.expect(waiter.p.returncode == 0, "all 22 executions reached a result")
    s.stop_all()
    steps = s.path("steps-w1.log")
    lines = step_lines(steps)
    runs = {k: [l for l in lines if l[:2] == [k, "1"]] for k in ("killer-alo-0", "killer-amo-0")}
    # restarts that found several executions in flight: suspect deaths
    recorded = [int(x) for x in re.findall(r"recorded (\d+) crash\(es\) of the previous process", w.text())]
    suspect = sum(1 for x in recorded if x > 1)
    for k, ls in runs.items():
        d = cli_describe(s, k, one)
        s.expect(d.get("status") == "FAILED", "%s FAILED (is %s)" % (k, d.get("status")))
        err = d.get("error", "")
        s.expect(err.startswith("WorkerCrashed: the worker process died while running step \"kill\" (attempt 3)"),
                 "%s failed with the crash error (got %r)" % (k, err[:200]))
        att = [l[2] for l in ls]
        dedup = [a for i, a in enumerate(att) if i == 0 or att[i - 1] != a]
        s.expect(3 <= len(ls) <= 3 + suspect, "%s: the killing body ran 3 times plus at most once per suspect "
                 "death (%d) (ran %d)" % (k, suspect, len(ls)))
        s.expect(dedup == ["1", "2", "3"], "%s: attempts 1, 2, 3 (got %s)" % (k, att))
    s.expect(len(deaths) == 6 + suspect, "6 worker deaths charged, plus %d suspect (got %d)" % (suspect, len(deaths)))
    waits = []
    for i in range(20):
        d = cli_describe(s, "five-%d" % i, one)
        s.expect(d.get("status") == "SUCCEEDED", "five-%d SUCCEEDED (is %s)" % (i, d.get("status")))
        if d.get("updated_ms") and d.get("created_ms"):
            waits.append((d["updated_ms"] - d["created_ms"]) / 1000.0)
    ok, f = s.verify(five=20)
    s.expect(ok, "checker (the 20 others: each step recorded once, none lost)")
    s.figs.update({
        "killers": "2 (at-least-once, at-most-once), 3 attempts each",
        "worker deaths": "%d (%d with several executions in flight: none charged)" % (len(deaths), suspect),
        "killer body runs (alo / amo)": "%d / %d" % (len(runs["killer-alo-0"]), len(runs["killer-amo-0"])),
        "others on the partition": "20, %d SUCCEEDED" % sum(1 for _ in waits),
        "others' start -> end (max / median)": "%.2f / %.2f s" % (max(waits), sorted(waits)[len(waits) // 2])
        if waits else None,
        "all 22 done after": "%.1f s" % t_done,
        "restart -> crash recorded": fmt_times([p for p in progress if p is not None]),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
    })
    s.report("scenario 9: a step that kills its worker")
    return s.ok


def scenario_crash_beside(brokers):
    """One partition; a killer whose body sleeps 300 ms and then SIGKILLs the
    worker, started together with 6 ordinary executions whose first step
    takes 1 s, all before the worker starts, so that one batch runs the 7
    side by side (worker.threads 16).  The first death has 7 executions in
    flight: none is charged an attempt (which one killed the process is not
    known); all 7 are suspects and run alone, so each later death is the
    killer's own.  The killer FAILED with WorkerCrashed at attempt 3 after
    4 deaths (1 suspect + 3 charged); the 6 others SUCCEEDED, their first
    step at attempt 1 (never charged), each step recorded once."""
    s = Scenario("beside", brokers)
    CLEANUPS.append(s.cleanup)
    one = ["-X", "partitions=1"]
    run(s.load(1, workflow="killer", name_prefix="killer-slow-") + ["--input", "slow"] + one, timeout=60)
    run(s.load(6, name_prefix="five-") + one, timeout=60)
    s.timer_service(one)
    w = s.worker("w1", ["--wait-ms", "200", "--sleep-in-step", "1000", "--sleep-step", "step1", "-X", "batch.max.ms=500"]
                 + one)
    deaths = []
    t_load = time.monotonic()
    waiter = Proc("waiter", s.wait_results(7, 100), s.path("wait.out"))
    supervise([w], lambda: not waiter.alive(), 110, deaths)
    t_done = time.monotonic() - t_load
    waiter.p.wait()
    s.expect(waiter.p.returncode == 0, "all 7 executions reached a result")
    s.stop_all()
    recorded = [int(x) for x in re.findall(r"recorded (\d+) crash\(es\) of the previous process", w.text())]
    s.expect(recorded[:1] == [7], "the first death had the 7 executions in flight (crash records %s)" % recorded)
    s.expect(recorded[1:] == [1, 1, 1], "each later death had the killer alone in flight (%s)" % recorded[1:])
    s.expect(len(deaths) == 4, "4 worker deaths: 1 suspect, 3 charged (got %d)" % len(deaths))
    d = cli_describe(s, "killer-slow-0", one)
    s.expect(d.get("status") == "FAILED", "the killer FAILED (is %s)" % d.get("status"))
    s.expect(d.get("error", "").startswith("WorkerCrashed: the worker process died while running step \"kill\" "
                                           "(attempt 3)"), "the killer failed at attempt 3 (%r)" % d.get("error", "")[:200])
    lines = step_lines(s.path("steps-w1.log"))
    kill = [l[2] for l in lines if l[:2] == ["killer-slow-0", "1"]]
    s.expect(kill == ["1", "1", "2", "3"], "the killing body ran at attempts 1 (suspect), 1, 2, 3 (got %s)" % kill)
    for i in range(6):
        k = "five-%d" % i
        d = cli_describe(s, k, one)
        s.expect(d.get("status") == "SUCCEEDED", "%s SUCCEEDED (is %s)" % (k, d.get("status")))
        first = sorted(set(l[2] for l in lines if l[:2] == [k, "1"]))
        s.expect(first == ["1"], "%s: its first step only ever ran at attempt 1 (got %s)" % (k, first))
    ok, f = s.verify(five=6)
    s.expect(ok, "checker (the 6 others: each step recorded once, none lost)")
    s.figs.update({
        "crash records per restart": recorded,
        "worker deaths": "%d (1 with 7 executions in flight: none charged)" % len(deaths),
        "killer body runs (attempts)": " ".join(kill),
        "all 7 done after": "%.1f s" % t_done,
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
    })
    s.report("scenario 9b: a step that kills its worker while others run beside it")
    return s.ok


# ---------------------------------------------------------------------------
# 10. restart storms: worker and timer service killed 3 times in 10 s
# ---------------------------------------------------------------------------
def scenario_restart_storm(brokers):
    """A worker and the timer service are each SIGKILLed and restarted (same
    worker.id) three times within 10 s while executions run.  With static
    group membership a restarted process takes its partitions back at once;
    the figures are the time from each restart to the first progress."""
    s = Scenario("storm", brokers)
    CLEANUPS.append(s.cleanup)
    n = 300
    s.timer_service()
    w1 = s.worker("w1", ["--wait-ms", "500"])
    w2 = s.worker("w2", ["--wait-ms", "500"])
    if not wait_for(lambda: "assigned" in w1.text() and "assigned" in w2.text(), 60):
        raise AssertionError("workers did not get partitions")
    loader = Proc("loader", s.load(n, rate=40), s.path("load.out"))
    waiter = Proc("waiter", s.wait_results(n, 120), s.path("wait.out"))
    time.sleep(2)
    w_times, t_times = [], []
    for i in range(3):
        for p, pat, times in ((w1, "assigned", w_times), (s.ts, "pending timer(s) loaded", t_times)):
            p.kill()
            off = len(p.text())
            p.start()
            t0 = time.monotonic()
            got = wait_for(lambda: pat in p.text()[off:], 20, 0.02)
            times.append(time.monotonic() - t0 if got else None)
            log("restart %d of %s: %s after %s s" % (i + 1, p.name, pat,
                                                       "%.2f" % times[-1] if times[-1] is not None else "never"))
        time.sleep(1.5)
    waiter.p.wait()
    s.expect(waiter.p.returncode == 0, "every execution reached a result")
    loader.p.wait()
    s.expect(loader.p.returncode == 0, "every start acknowledged")
    s.stop_all()
    ok, f = s.verify(five=n)
    s.expect(ok, "checker")
    for name, times in (("worker", w_times), ("timer service", t_times)):
        s.expect(all(t is not None and t < 4.0 for t in times),
                 "%s took its partitions back within 4 s of each restart (%s)" % (name, times))
    s.figs.update({
        "executions": n, "restarts": "3 worker + 3 timer service in %d s" % 10,
        "worker restart -> partitions assigned": fmt_times([t for t in w_times if t is not None]),
        "timer service restart -> index loaded": fmt_times([t for t in t_times if t is not None]),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"), "unfinished": f.get("unfinished"),
    })
    s.report("scenario 10: restart storm")
    return s.ok



# ---------------------------------------------------------------------------
# 11. timers fired by the worker itself: killed just before / just after
# ---------------------------------------------------------------------------
def scenario_local_timers(brokers):
    """A wait due soon is fired by the worker that owns the execution
    (timer.local.max.ms), with the timer service as its backstop,
    timer.local.grace.ms after the due time.  The worker is SIGKILLed just
    before the commit of a batch that fires timers, then (second round)
    just after one, and restarted: every execution completes, each wait
    fires once, no step is recorded twice."""
    s = Scenario("localtimers", brokers)
    CLEANUPS.append(s.cleanup)
    n = 40
    s.timer_service()
    figs = {}
    for rnd, inject in enumerate(("kill-before-local-commit:1", "kill-after-local-commit:1")):
        env = dict(os.environ, DF_FAULT_INJECT=inject)
        wid = "w%d" % (rnd + 1)
        argv = [s.bin("fault_worker"), "--brokers", brokers, "--prefix", s.prefix, "--state-dir", s.state,
                "--worker-id", "w1", "--log", s.path("steps-w1.log"), "--status", s.path("status-w1.json"),
                "--cb-file", s.path("callbacks.txt"), "-X", "session.timeout.ms=6000", "--wait-ms", "1500"]
        w = Proc("worker w1 (%s)" % inject, argv, s.path("worker-w1.err"), env=env)
        s.workers["w1"] = w
        first = rnd * n
        run(s.load(n, first=first), timeout=60)
        if not wait_for(lambda: not w.alive(), 60):
            raise AssertionError("the fault injection %s did not fire" % inject)
        killed = "fault injection: SIGKILL" in w.text()
        s.expect(killed, "%s: the worker killed itself at a local fire" % inject)
        # restarted without the fault injection
        w.env = None
        w.start()
        t0 = time.monotonic()
        rc, out = run(s.wait_results(first + n, 90), timeout=120, check=False)
        s.expect(rc == 0, "%s: every execution reached a result" % inject)
        figs["%s: restart -> all done" % inject] = "%.1f s" % (time.monotonic() - t0)
        w.stop()
    s.stop_all()
    ok, f = s.verify(five=2 * n)
    s.expect(ok, "checker: each step and each wait recorded once, none lost")
    s.figs.update({"executions": 2 * n, "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
                   "unfinished": f.get("unfinished"), "history errors": f.get("history_errors")})
    s.figs.update(figs)
    s.report("scenario 11: timers fired by the worker, killed before / after the commit")
    return s.ok


# 11, 12. schedules (issue 12 item 5): a schedule every 2 s through the real
# timer service; the runs are counted by their execution ids
# "<name>-<scheduled time, YYYYMMDDTHHMMSSZ>"
# ---------------------------------------------------------------------------
def sched_cli(s, args, timeout=120):
    r = subprocess.run([ARGS.cli, "--brokers", s.brokers, "--prefix", s.prefix] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, preexec_fn=_pdeathsig, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def sched_do(s, args):
    rc, out, err = sched_cli(s, args)
    log("duraflow %s: exit %d: %s" % (" ".join(args), rc, (out + err).strip()[:200]))
    if rc != 0:
        raise AssertionError("duraflow %s exited %d" % (" ".join(args), rc))
    return out


def sched_describe(s, name):
    return json.loads(sched_do(s, ["--json", "schedule", "describe", name]))


def sched_runs(s, name):
    """{scheduled time (UTC s): the run's list entry} of the schedule's runs."""
    runs = {}
    for eid, e in cli_list(s).items():
        m = re.match(r"^%s-(\d{8}T\d{6}Z)$" % re.escape(name), eid)
        if m:
            t = int(datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp())
            runs[t] = e
    return runs


def sched_wait(s, name, cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        runs = sched_runs(s, name)
        if cond(runs):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %d s (%d runs)" % (what, timeout, len(runs)))
        time.sleep(1)


def sched_verify(s, runs):
    """The fault checker over the runs (five steps each): each recorded once, none lost."""
    ids = s.path("run-ids.txt")
    with open(ids, "w") as f:
        f.write("".join("%s\n" % e["execution_id"] for e in runs.values()))
    return s.verify(logs=s.step_logs() + ["--five-ids", ids])


def scenario_schedule_timer_outage(brokers):
    s = Scenario("sched-ts", brokers)
    CLEANUPS.append(s.cleanup)
    s.timer_service()
    for i in (1, 2):
        s.worker("w%d" % i, ["--wait-ms", "200"])
    time.sleep(3)
    sched_do(s, ["schedule", "create", "every2", "--cron", "*/2 * * * * *", "--workflow", "five", "--overlap",
                 "allow"])
    sched_wait(s, "every2", lambda r: len(r) >= 4, 60, "4 runs")
    s.ts.kill()
    t_kill = time.time()
    log("SIGKILL timer service; 10 s down")
    time.sleep(10)
    s.ts.start()
    t_restart = time.time()
    log("timer service restarted (pid %d)" % s.ts.pid)
    sched_wait(s, "every2", lambda r: max(r) >= t_restart + 8, 60, "runs again after the restart")
    sched_do(s, ["schedule", "pause", "every2"])
    d = sched_describe(s, "every2")
    sched_do(s, ["schedule", "delete", "every2"])
    runs = sched_wait(s, "every2", lambda r: all(e["status"] == "SUCCEEDED" for e in r.values()), 60,
                      "every run SUCCEEDED")
    times = sorted(runs)
    before = [t for t in times if t <= t_kill]
    after = [t for t in times if t > t_kill]
    c = after[0]
    s.expect(all(t % 2 == 0 for t in times), "every run is at a fire time (an even second)")
    s.expect(all(b - a == 2 for a, b in zip(before, before[1:])), "before the outage: every 2 s")
    s.expect(all(b - a == 2 for a, b in zip(after, after[1:])), "after it: one catch-up run, then every 2 s")
    s.expect(c - before[-1] >= 10, "no run for the fire times of the outage (%d s from the last run to the "
                                   "catch-up)" % (c - before[-1]))
    s.expect(c >= t_restart - 2, "the catch-up run is for the most recent missed time (%s, restart at %.1f)"
             % (c, t_restart))
    s.expect(d["missed"] == (c - before[-1]) // 2 - 1, "missed %d = the fire times between the last run and "
                                                         "the catch-up" % d["missed"])
    s.expect(d["fires"] == len(times), "fires %d = runs %d" % (d["fires"], len(times)))
    s.stop_all()
    ok, f = sched_verify(s, runs)
    s.expect(ok, "checker: each run's steps recorded once, none lost")
    late = runs[c]["created_ms"] / 1000.0 - t_restart
    s.figs.update({
        "runs before the outage": len(before), "timer service down": "%.1f s" % (t_restart - t_kill),
        "fire times missed (describe)": d["missed"], "catch-up runs": 1,
        "catch-up run": "%s (%.1f s after the restart)" % (runs[c]["execution_id"], late),
        "runs after it, 2 s apart": len(after) - 1, "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
    })
    s.report("scenario 11: schedule, timer service down 10 s")
    return s.ok


def scenario_schedule_worker_crash(brokers):
    s = Scenario("sched-w", brokers)
    CLEANUPS.append(s.cleanup)
    s.timer_service()
    for i in (1, 2, 3):
        s.worker("w%d" % i, ["--wait-ms", "200"])
    time.sleep(3)
    sched_do(s, ["schedule", "create", "every2", "--cron", "*/2 * * * * *", "--workflow", "five", "--overlap",
                 "allow"])
    sched_wait(s, "every2", lambda r: len(r) >= 1, 60, "a first run")
    rnd = random.Random(os.getpid())
    kills, end = 0, time.monotonic() + 40
    while time.monotonic() < end:
        time.sleep(rnd.uniform(4, 6))
        wid = rnd.choice(sorted(s.workers))
        s.workers[wid].kill()
        s.workers[wid].start()
        kills += 1
        log("SIGKILL %s (kill %d), restarted as pid %d" % (wid, kills, s.workers[wid].pid))
    time.sleep(4)
    sched_do(s, ["schedule", "pause", "every2"])
    d = sched_describe(s, "every2")
    sched_do(s, ["schedule", "delete", "every2"])
    runs = sched_wait(s, "every2", lambda r: all(e["status"] == "SUCCEEDED" for e in r.values()), 60,
                      "every run SUCCEEDED")
    times = sorted(runs)
    fire_times = list(range(times[0], d["last_fire_ms"] // 1000 + 1, 2))
    s.expect(set(times) <= set(fire_times), "every run is at a fire time")
    s.expect(d["fires"] == len(times), "fires %d = runs %d (each started once)" % (d["fires"], len(times)))
    s.expect(len(times) + d["missed"] == len(fire_times),
             "each fire time ran once or, delayed past the next by a takeover, was counted missed: %d runs + %d "
             "missed = %d fire times" % (len(times), d["missed"], len(fire_times)))
    s.expect(d["missed"] == 0, "no fire time lost to the kills (%d missed)" % d["missed"])
    s.stop_all()
    ok, f = sched_verify(s, runs)
    s.expect(ok, "checker: each run's steps recorded once, none lost")
    s.figs.update({
        "kills (SIGKILL)": kills, "fire times": len(fire_times), "runs": len(times), "missed": d["missed"],
        "step runs / steps": "%s / %s" % (f.get("step_runs"), f.get("steps")),
        "duplicates found": f.get("duplicates"), "lost": f.get("lost"),
    })
    s.report("scenario 12: schedule, workers SIGKILLed")
    return s.ok


def fmt_times(ts):
    if not ts:
        return "n/a"
    ts = sorted(ts)
    return "n=%d, median %.1f s, max %.1f s" % (len(ts), ts[len(ts) // 2], ts[-1])


SCENARIOS = {
    "worker-crash": (scenario_worker_crash, 200),
    "zombie": (scenario_zombie, 150),
    "timer-crash": (scenario_timer_crash, 200),
    "poison": (scenario_poison, 200),
    "lost-state": (scenario_lost_state, 200),
    "long-step": (scenario_long_step, 150),
    "broker-outage": (scenario_broker_outage, 330),
    "full-disk": (scenario_full_disk, 200),
    "crash-loop": (scenario_crash_loop, 200),
    "crash-beside": (scenario_crash_beside, 200),
    "restart-storm": (scenario_restart_storm, 200),
    "local-timers": (scenario_local_timers, 250),
    "schedule-timer-outage": (scenario_schedule_timer_outage, 200),
    "schedule-worker-crash": (scenario_schedule_worker_crash, 200),
}


def main():
    global ARGS, FAILED
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory of the fault_* programs")
    ap.add_argument("--cli", required=True, help="the duraflow CLI")
    ap.add_argument("--work", required=True, help="work directory (logs, state)")
    ap.add_argument("--repo", required=True, help="repository root (scripts/kafka.sh)")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ARGS = ap.parse_args()
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("fault.py: DF_BROKERS is not set: start a broker (scripts/kafka.sh start; "
              "eval \"$(scripts/kafka.sh env)\"; export DF_BROKERS)", file=sys.stderr)
        return 1
    # fail at once, saying why, when nothing answers there (instead of a
    # program timing out a minute later)
    host, _, port = brokers.split(",")[0].rpartition(":")
    deadline = time.monotonic() + 10
    while not (port.isdigit() and broker_ready(int(port), host or "127.0.0.1")):
        if time.monotonic() > deadline:
            print("fault.py %s: FAIL: no Kafka broker answers at %s (DF_BROKERS) within 10 s" %
                  (ARGS.scenario, brokers), file=sys.stderr)
            return 1
        time.sleep(0.5)
    fn, budget = SCENARIOS[ARGS.scenario]

    def on_alarm(sig, frame):
        raise Budget("time budget of %d s exceeded" % budget)

    def on_term(sig, frame):
        raise Budget("terminated by signal %d" % sig)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(budget)
    ok = False
    try:
        ok = fn(brokers)
    except Exception as e:  # Budget, a failed check, a timeout, a program that could not start
        FAILED = True
        log("FAIL: %s: %s" % (type(e).__name__, e))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for c in reversed(CLEANUPS):
            try:
                c()
            except Exception as e:
                log("cleanup: %s" % e)
        for p in PROCS:
            if p.alive():
                p.kill()
    print("fault.py %s: %s in %.1f s" % (ARGS.scenario, "PASS" if ok else "FAIL", time.monotonic() - T_START))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
