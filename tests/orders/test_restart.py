#!/usr/bin/env python3
"""Restart of an order that failed in Dispatch (issue 12's demo requirement).

On the real broker in $DF_BROKERS (fails loudly when it is not set, never
skips), as separate processes bound to 127.0.0.1: orders-sim with a warehouse
failure injected for one order (--fail-dispatch: /warehouse/dispatch answers
503), `duraflow timer-service`, one orders-worker; orders-load --limit 1
starts that order. Then:

  1. the execution ends FAILED with the injected dispatch error (the dispatch
     step ran out of its attempts), not with a business outcome;
  2. the injection is turned off (POST /control/warehouse), `duraflow restart`;
  3. it ends SUCCEEDED, confirmed_on_time;
  4. the simulator's per-key call counts (GET /calls): every reservation key
     and the payment key were called exactly once (not re-run), the dispatch
     key once more than before the restart; no release, refund or
     cancellation; one confirmation (Receive calls no simulator: that it
     did not run again is shown by its history record, next);
  5. `describe` shows `run 1` and the `restarted` line; `history` shows the
     kept operations (receive, reserve and its lines, payment) with their
     original attempts and timestamps, and the re-run ones (shipment,
     shipment.submit) started after the restart.

Bounded in time (every wait has a deadline); stops what it started by pid;
deletes its topics (with --helper). KEEP_TMP=1 keeps the logs.

Usage: test_restart.py --sim ORDERS_SIM --cli DURAFLOW --bin DIR_OF_ORDERS_WORKER
                       --data DIR [--helper CLI_CLIENT] [--order 10248]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--sim", required=True)
ap.add_argument("--cli", required=True)
ap.add_argument("--bin", required=True, help="directory of orders-worker and orders-load")
ap.add_argument("--data", required=True)
ap.add_argument("--helper", help="cli_client, to delete the topics afterwards")
ap.add_argument("--order", type=int, default=10248, help="the first order of the dataset (orders-load --limit 1)")
ap.add_argument("--day-ms", type=int, default=500)
ARGS = ap.parse_args()

FAILED = []


def check(name, ok, detail=""):
    print("  %-4s %s%s" % ("ok" if ok else "FAIL", name, ("\n       " + detail) if detail and not ok else ""))
    if not ok:
        FAILED.append(name)
    return ok


def wait_file(path, regex, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path) as f:
                text = f.read()
            m = re.search(regex, text)
            if m:
                return m
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise SystemExit("test_restart: timed out after %d s waiting for /%s/ in %s" % (timeout, regex, path))


def http(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read())


def main():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_restart: DF_BROKERS is not set: start a broker (scripts/kafka.sh start; "
              "eval \"$(scripts/kafka.sh env)\")", file=sys.stderr)
        return 1
    prefix = "orders-restart-%d-%d" % (int(time.time()), os.getpid())
    tmp = tempfile.mkdtemp(prefix="test-restart-")
    common = ["--brokers", brokers, "--prefix", prefix]
    oid = ARGS.order
    eid = "order-%d" % oid
    procs = []

    def spawn(name, argv):
        log = open(os.path.join(tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        procs.append((name, p, log))
        return p

    def cli(*args, timeout=60):
        r = subprocess.run([ARGS.cli] + common + list(args), capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def describe():
        rc, out, err = cli("--json", "describe", eid)
        return json.loads(out) if rc == 0 else {"status": "(describe exit %d: %s)" % (rc, err.strip())}

    def wait_status(want, timeout):
        end, d = time.time() + timeout, {}
        while time.time() < end:
            d = describe()
            if d.get("status") in want:
                return d
            time.sleep(0.5)
        return d

    try:
        spawn("sim", [ARGS.sim] + common + ["--port", "0", "--day-ms", str(ARGS.day_ms), "--data", ARGS.data,
                                            "--listen", "127.0.0.1", "--fail-dispatch", str(oid)])
        port = int(wait_file(os.path.join(tmp, "sim.log"), r"listening on 127\.0\.0\.1:(\d+)", 60).group(1))
        sim = "http://127.0.0.1:%d" % port
        print("orders-sim at %s (dispatch of order %d fails), topic prefix %s" % (sim, oid, prefix))
        spawn("timer-service", [ARGS.cli] + common + ["-X", "state.dir=" + os.path.join(tmp, "ts"),
                                                      "-X", "worker.id=ts1", "timer-service"])
        spawn("worker", [os.path.join(ARGS.bin, "orders-worker")] + common +
              ["--state-dir", os.path.join(tmp, "state"), "--sim", sim, "--data", ARGS.data, "--worker-id", "w1"])
        wait_file(os.path.join(tmp, "worker.log"), r"running workflow", 60)

        load = subprocess.run([os.path.join(ARGS.bin, "orders-load")] + common +
                              ["--data", ARGS.data, "--day-ms", str(ARGS.day_ms), "--limit", "1"],
                              capture_output=True, text=True, timeout=60)
        print(load.stdout.strip())
        if not check("orders-load --limit 1 starts the one order",
                     load.returncode == 0 and ": 1 new, 0 already started" in load.stdout, load.stderr):
            return 1

        # 1. FAILED with the injected dispatch error (6 attempts with backoff, ~8 s)
        t0 = time.time()
        d = wait_status(("FAILED", "SUCCEEDED", "STOPPED", "TIMED_OUT"), 90)
        print("run 0 ended %s after %.1f s: %s" % (d.get("status"), time.time() - t0, d.get("error", "")[:160]))
        check("the order execution ends FAILED (not a business outcome)", d.get("status") == "FAILED",
              "describe: %r" % d)
        check("its error is the injected dispatch failure",
              re.search(r"^SimError: POST /warehouse/dispatch: HTTP 503 .*injected warehouse failure",
                        d.get("error", "")) is not None, d.get("error", ""))
        check("no output (no outcome was recorded)", not d.get("output"), repr(d.get("output")))
        rc, out, err = cli("--json", "history", eid)
        before = {o["op_id"]: o for o in json.loads(out)["operations"]} if rc == 0 else {}
        _, calls0 = http(sim + "/calls?prefix=" + eid + "/")
        calls0 = calls0["calls"]
        submit = [o for o in before.values() if o["name"] == "shipment.submit"]
        attempts0 = submit[0]["attempt"] if submit else 0
        check("history: shipment.submit FAILED after its attempts",
              bool(submit) and submit[0]["status"] == "FAILED" and attempts0 >= 2, repr(submit))

        # 2. the warehouse is back; restart
        st, a = http(sim + "/control/warehouse", {"fail_dispatch": []})
        check("POST /control/warehouse turns the injection off", st == 200 and a.get("fail_dispatch") == [], repr(a))
        rc, out, err = cli("restart", eid, "--reason", "warehouse back")
        print("duraflow restart %s: exit %d, %s" % (eid, rc, (out + err).strip()))
        check("duraflow restart exits 0, prints restarted", rc == 0 and out == "restarted\n", out + err)

        # 3. a terminal success outcome
        t1 = time.time()
        d = wait_status(("SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT"), 90)
        output = json.loads(d["output"]) if d.get("output") else {}
        print("run 1 ended %s after %.1f s: outcome %s" % (d.get("status"), time.time() - t1, output.get("outcome")))
        check("after the restart it ends SUCCEEDED, confirmed_on_time",
              d.get("status") == "SUCCEEDED" and output.get("outcome") == "confirmed_on_time", repr(d))

        # 4. the simulator's counts per idempotency key
        _, calls = http(sim + "/calls?prefix=" + eid + "/")
        calls = calls["calls"]
        reserve, pay = calls["/inventory/reserve"], calls["/payments/authorize"]
        dispatch, notify = calls["/warehouse/dispatch"], calls["/notify"]
        print("calls per idempotency key after the restart (before it):")
        for ep in sorted(calls):
            for k in sorted(calls[ep]):
                print("  %-22s %-36s %d (%d)" % (ep, k, calls[ep][k], calls0.get(ep, {}).get(k, 0)))
        check("Reserve: one key per line (3), each called exactly once",
              len(reserve) == 3 and all(n == 1 for n in reserve.values()) and reserve == calls0["/inventory/reserve"],
              repr(reserve))
        check("Payment: one authorize key, called exactly once",
              len(pay) == 1 and list(pay.values()) == [1] and pay == calls0["/payments/authorize"], repr(pay))
        dkey = list(dispatch)[0] if len(dispatch) == 1 else None
        check("Dispatch: one key, called %d times in run 0 (its attempts) and once more after the restart"
              % attempts0, dkey is not None and calls0["/warehouse/dispatch"].get(dkey) == attempts0 and
              dispatch[dkey] == attempts0 + 1, "before %r, after %r" % (calls0["/warehouse/dispatch"], dispatch))
        check("no release, no refund; one confirmation notice and nothing else",
              not calls["/inventory/release"] and not calls["/payments/refund"] and
              list(notify.values()) == [1] and list(notify)[0].endswith(":confirmation"), repr(calls))
        _, stats = http(sim + "/stats")
        check("sim stats: 1 dispatch, %d injected failures, 1 payment, 1 confirmation, 3 reservations"
              % attempts0, stats["dispatches"] == 1 and stats["dispatches_failed"] == attempts0 and
              stats["payments_authorized"] == 1 and stats["notices"]["confirmation"] == 1 and
              stats["reservations_ok"] == 3 and stats["reservations_repeated"] == 0 and stats["http_errors"] == 0,
              json.dumps(stats))

        # 5. describe and history
        rc, text, _ = cli("describe", eid)
        check("describe shows run 1", re.search(r"(?m)^run +1$", text) is not None, text)
        check("describe shows the restarted line",
              re.search(r"(?m)^restarted +run 1 at \S+Z: restarted from operation 5; 2 operation\(s\) discarded "
                        r"\(5 shipment, 6 shipment\.submit\); it was FAILED: SimError: POST /warehouse/dispatch: "
                        r"HTTP 503 .*; reason: warehouse back$", text) is not None, text)
        rc, out, _ = cli("--json", "history", eid)
        after = {o["op_id"]: o for o in json.loads(out)["operations"]} if rc == 0 else {}
        kept = [i for i in before if i.split(".")[0] in ("1", "2", "3", "4")]
        fields = ("name", "type", "status", "attempt", "started_ms", "updated_ms", "result")
        same = [i for i in kept if i in after and all(after[i].get(f) == before[i].get(f) for f in fields)]
        check("history: the %d kept operations (receive, reserve and its lines, payment, payment.submit) have "
              "their original attempts, timestamps and results" % len(kept),
              len(kept) == 10 and same == kept and [before[i]["name"] for i in ("1", "2", "3", "4")] ==
              ["receive", "reserve", "payment", "payment.submit"],
              "differ: %r" % [(before[i], after.get(i)) for i in kept if i not in same])
        restart_ms = max(o["updated_ms"] for o in before.values())  # the failure's record
        rerun = [after.get(i, {}) for i in ("5", "6")]
        check("history: shipment and shipment.submit ran again after the restart (attempt 1, SUCCEEDED)",
              [o.get("name") for o in rerun] == ["shipment", "shipment.submit"] and
              all(o.get("status") == "SUCCEEDED" and o.get("started_ms", 0) >= restart_ms for o in rerun) and
              rerun[1].get("attempt") == 1, repr(rerun))
        check("history: then confirmation (7)", after.get("7", {}).get("name") == "confirmation", repr(after.get("7")))
        rc, text, _ = cli("history", eid)
        print("--- duraflow history %s (first lines)" % eid)
        print("\n".join(l[:150] for l in text.splitlines()[:12]))
    finally:
        for name, p, log in procs:
            if p.poll() is None:
                p.terminate()
        for name, p, log in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
        if FAILED:
            for name, _, _ in procs:
                with open(os.path.join(tmp, name + ".log")) as f:
                    print("--- %s log (tail):\n%s" % (name, f.read()[-2500:]))
        if ARGS.helper:
            subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
        if os.environ.get("KEEP_TMP"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if FAILED:
        print("FAIL: %d check(s): %s" % (len(FAILED), "; ".join(FAILED)))
        return 1
    print("PASS: the order failed in Dispatch, was restarted, and completed without re-running "
          "Receive, Reserve or Payment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
