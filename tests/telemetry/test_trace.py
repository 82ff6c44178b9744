#!/usr/bin/env python3
"""Traces and correlated logs of real order executions, on a real broker and
a real Jaeger (issue 14).

One run, on loopback: Jaeger all-in-one (scripts/tools.sh builds it),
orders-sim, `duraflow timer-service`, `duraflow console` and an
orders-worker, each with log.format=json and log.level=debug, the worker and
the simulator exporting spans to Jaeger's OTLP/HTTP receiver (otlp.endpoint).

  trace  order 11040 (never shipped: its shipment wait times out, then the
         30-day wait for a late shipment times out too, and it is cancelled)
         on a scaled clock (--day-ms), started with `duraflow start
         --traceparent`; the worker is SIGKILLed during the 30-day wait and
         started again (same worker.id).  The trace is read back through
         Jaeger's query API: one trace holding every span of the execution;
         one span per operation that ended and one per step attempt (the
         attempts counted in `duraflow history --json`), no span id twice
         (although the restarted worker replayed the whole history); the
         execution span a child of the start's traceparent's span, each
         operation a child of the execution, each attempt of its operation;
         every HTTP request span of orders-sim a child of a step attempt
         span (the traceparent the step sent), at least one per HTTP step.
         A malformed --traceparent is refused (exit 2), naming the value.
  logs   order 10264, started through the console's API: every line of
         the three programs' logs parses as JSON; the lines about the
         execution carry execution_id, and the worker's its workflow,
         trace_id and worker_id (and op_id and attempt for a step body's
         lines); merged by time they tell its story in order: the console's
         start requested, the worker's START, the timer service's timers
         pending and withdrawn (a fire, if any, followed by the worker's
         TIMER), the callbacks, the end (SUCCEEDED); the lines are printed.

Usage: test_trace.py BUILD_DIR [REPO_ROOT]; DF_BROKERS must name the broker
(a missing broker or Jaeger is a failure, never a skip).  Every process
started here is stopped by its pid.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_tools as tt  # noqa: E402  (helpers: tool, http, wait_for, JAEGER_CFG, processes)

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
ROOT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", ".."))
tt.ROOT = ROOT
CLI = os.path.join(BUILD, "framework", "tools", "duraflow")
WORKER = os.path.join(BUILD, "workers", "orders", "app", "orders-worker")
SIM = os.path.join(BUILD, "workers", "orders", "sim", "orders-sim")
DAY_MS = 150
TRACED, LOGGED = 11040, 10264
fail = tt.fail


def start_jaeger(tmp):
    jaeger = tt.tool("DF_JAEGER", "jaeger")
    ports = {k: tt.free_port() for k in ("otlp", "query", "qgrpc", "health")}
    cfg = os.path.join(tmp, "jaeger.yaml")
    with open(cfg, "w") as f:
        f.write(tt.JAEGER_CFG.format(**ports))
    p = tt.start([jaeger, f"--config=file:{cfg}"], open(os.path.join(tmp, "jaeger.log"), "w"))
    query = f"http://127.0.0.1:{ports['query']}"
    tt.wait_for("Jaeger's query API", lambda: tt.http(query + "/api/services")[0] == 200, 60, [p])
    tt.wait_for("Jaeger's OTLP receiver", lambda: tt.http(f"http://127.0.0.1:{ports['otlp']}/v1/traces", b"{}",
                                                          {"Content-Type": "application/json"})[0] in (200, 400),
                30, [p])
    return p, f"http://127.0.0.1:{ports['otlp']}", query


def cli(common, *args, timeout=60):
    r = subprocess.run([CLI, *common, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def history(common, exec_id):
    rc, out, _ = cli(common, "--json", "history", exec_id)
    if rc != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def read_json_lines(path, name):
    """Every line of a log, each parsed as JSON (a line that does not parse fails)."""
    lines = []
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if not line.startswith("{"):
                continue  # a program's own banner on stderr (not a log line)
            try:
                obj = json.loads(line)
            except ValueError as e:
                fail(f"{name} log line {n} is not JSON ({e}): {line[:300]}")
            for k in ("ts", "level", "msg"):
                if k not in obj:
                    fail(f"{name} log line {n} has no {k}: {line[:300]}")
            obj["_prog"] = name
            lines.append(obj)
    return lines


def main():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        fail("DF_BROKERS is not set: this test needs a real broker (scripts/kafka.sh start)")
    for prog in (CLI, WORKER, SIM):
        if not os.access(prog, os.X_OK):
            fail(f"{prog} not built")
    tmp = tempfile.mkdtemp(prefix="df-trace-")
    ok = False
    try:
        run(tmp, brokers)
        tt.stop_all()  # (a sanitizer build reports at exit)
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name), errors="replace") as f:
                    text = f.read()
                for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                    if bad in text:
                        fail(f"{name}: {bad}")
        ok = True
    finally:
        tt.stop_all()
        if not ok:
            tt.dump_logs(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print("trace: 1 passed, 0 failed")


def run(tmp, brokers):
    prefix = "trace%06d" % random.randint(0, 999999)
    common = ["--brokers", brokers, "--prefix", prefix]
    jaeger, otlp, query = start_jaeger(tmp)
    print(f"Jaeger up (OTLP {otlp}, query {query}); prefix {prefix}")
    logx = ["-X", "log.format=json", "-X", "log.level=debug"]

    # a malformed traceparent is refused before anything connects
    rc, out, err = cli(common, "start", "order", "order-bad", "--input", "{}", "--traceparent",
                       "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-0")
    if rc != 2 or "--traceparent" not in err or "00-0af7651916cd43dd8448eb211c80319c" not in err:
        fail(f"a malformed --traceparent: exit {rc}, stderr {err!r} (expected exit 2 naming the value)")
    print(f"malformed --traceparent refused: exit {rc}: {err.strip()}")

    sim_port = tt.free_port()
    sim = tt.start([SIM, "--brokers", brokers, "--prefix", prefix, "--port", str(sim_port), "--day-ms",
                    str(DAY_MS), "-X", f"otlp.endpoint={otlp}"], open(os.path.join(tmp, "sim.log"), "w"))
    ts_log = os.path.join(tmp, "timers.log")
    timers = tt.start([CLI, *common, "-X", f"state.dir={tmp}/ts", "-X", "worker.id=ts1", *logx, "timer-service"],
                      open(ts_log, "w"))
    token = "trace-test:" + "%032x" % random.getrandbits(128)
    con_port = tt.free_port()
    con_log = os.path.join(tmp, "console.log")
    console = tt.start([CLI, *common, "-X", f"console.token={token}", *logx, "console", "--listen",
                        f"127.0.0.1:{con_port}", "--state-dir", f"{tmp}/console"], open(con_log, "w"))
    w_logs = [os.path.join(tmp, "worker1.log"), os.path.join(tmp, "worker2.log")]
    wcmd = [WORKER, *common, "--worker-id", "w1", "--state-dir", f"{tmp}/w", "--sim",
            f"http://127.0.0.1:{sim_port}", "-X", f"otlp.endpoint={otlp}", "-X", "timer.local.max.ms=0", *logx]
    worker = tt.start(wcmd, open(w_logs[0], "w"))
    tt.wait_for("orders-sim", lambda: tt.http(f"http://127.0.0.1:{sim_port}/health")[0] == 200, 60, [sim])

    # the traced execution, with the caller's traceparent
    trace_id = "%032x" % random.getrandbits(128)
    parent = "%016x" % random.getrandbits(64)
    tp = f"00-{trace_id}-{parent}-01"
    ex = f"order-{TRACED}"
    rc, out, err = cli(common, "start", "order", ex, "--input", json.dumps({"order_id": TRACED, "day_ms": DAY_MS}),
                       "--traceparent", tp, timeout=120)
    if rc != 0:
        fail(f"duraflow start --traceparent: exit {rc}: {err}")
    t0 = time.time()
    print(f"started {ex} with traceparent {tp}")

    # the logged execution, through the console's API
    lx = f"order-{LOGGED}"
    tt.wait_for("the console", lambda: tt.http(f"http://127.0.0.1:{con_port}/api/v1/status")[0] == 200, 60,
                [console])
    body = json.dumps({"workflow": "order", "execution_id": lx,
                       "input": json.dumps({"order_id": LOGGED, "day_ms": DAY_MS})}).encode()
    code, text, _ = tt.http(f"http://127.0.0.1:{con_port}/api/v1/executions", body,
                            {"Content-Type": "application/json", "Authorization": f"Bearer {token.split(':', 1)[1]}"},
                            timeout=60)
    if code != 200:
        fail(f"start through the console: HTTP {code}: {text}")

    # kill the worker in the 30-day wait, after its spans so far went out
    def in_late_wait():
        h = history(common, ex)
        return h and any(o["name"] == "shipment-late" for o in h.get("operations", []))
    tt.wait_for("the 30-day wait of " + ex, in_late_wait, 120, [worker, sim, timers])
    time.sleep(1.5)  # the exporter sends at most 1 s after a span was queued
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    kill_at = time.time() - t0
    time.sleep(0.5)
    worker = tt.start(wcmd, open(w_logs[1], "w"))
    print(f"worker SIGKILLed {kill_at:.1f} s after the start (in the 30-day wait), started again")

    def ended(x):
        rc, out, _ = cli(common, "--json", "describe", x)
        if rc != 0:
            return None
        d = json.loads(out)
        return d if d.get("status") in ("SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED") else None
    d = tt.wait_for(ex + " to end", lambda: ended(ex), 180, [worker, sim, timers])
    dl = tt.wait_for(lx + " to end", lambda: ended(lx), 180, [worker, sim, timers])
    print(f"{ex}: {d['status']} after {time.time() - t0:.1f} s; {lx}: {dl['status']}")
    if d["status"] != "SUCCEEDED" or dl["status"] != "SUCCEEDED":
        fail(f"statuses {d['status']}, {dl['status']}")
    check_trace(common, query, ex, trace_id, parent)
    check_headers(ex, tp, trace_id, w_logs)
    check_logs(lx, w_logs, ts_log, con_log)


def check_headers(ex, tp, trace_id, w_logs):
    """The events duraflow produced for the execution (its START from the
    CLI, its TIMER events from the timer service) came with the traceparent
    header: the worker's debug line of each event received names it."""
    got = {}
    for path in w_logs:
        for l in read_json_lines(path, "worker"):
            m = l["msg"]
            if l.get("execution_id") != ex or ": event " not in m or " header " not in m:
                continue
            kind = m.split(": event ", 1)[1].split(":", 1)[0]
            header = m.rsplit(" header ", 1)[1]
            got.setdefault(kind, []).append(header)
    print(f"headers of the events of {ex} received: " + ", ".join(
        f"{k} {len(v)} ({sum(1 for h in v if h != '-')} with traceparent)" for k, v in sorted(got.items())))
    if got.get("START") != [tp]:
        fail(f"the START of {ex} came with headers {got.get('START')}, expected [{tp}]")
    timers = got.get("TIMER", [])
    if not timers or any(h == "-" or h.split("-")[1] != trace_id for h in timers):
        fail(f"the TIMER events of {ex} (fired by the timer service) came with headers {timers}")


def check_trace(common, query, ex, trace_id, parent):
    ops = history(common, ex)["operations"]
    ended_ops = [o for o in ops if o["status"] in ("SUCCEEDED", "FAILED", "TIMED_OUT")]
    attempts = {(o["op_id"], a) for o in ops if o["type"].upper() in ("STEP", "CONDITION")
                for a in range(1, o["attempt"] + 1)}
    n_dur = 1 + len(ended_ops) + len(attempts)

    def fetch():
        code, body, _ = tt.http(f"{query}/api/traces/{trace_id}", timeout=10)
        if code != 200:
            return None
        data = json.loads(body).get("data") or []
        if not data:
            return None
        dur = [s for s in data[0]["spans"]
               if data[0]["processes"][s["processID"]]["serviceName"] == "duraflow"]
        return data[0] if len(dur) >= n_dur else None
    trace = tt.wait_for(f"{n_dur} duraflow spans of trace {trace_id} in Jaeger", fetch, 60)
    time.sleep(2.0)  # a duplicate sent late would show now
    trace = fetch()
    spans = trace["spans"]
    svc = {s["spanID"]: trace["processes"][s["processID"]]["serviceName"] for s in spans}
    ids = [s["spanID"] for s in spans]
    by_id = {s["spanID"]: s for s in spans}
    dur = [s for s in spans if svc[s["spanID"]] == "duraflow"]
    sim = [s for s in spans if svc[s["spanID"]] == "orders-sim"]
    print(f"Jaeger: trace {trace_id}: {len(spans)} spans ({len(dur)} duraflow, {len(sim)} orders-sim), "
          f"{len(set(ids))} distinct ids; history: {len(ops)} operations, {len(ended_ops)} ended, "
          f"{len(attempts)} step attempts")
    if len(ids) != len(set(ids)):
        dups = sorted({i for i in ids if ids.count(i) > 1})
        fail(f"span ids twice in the trace: {dups}")

    # the execution's spans are in no other trace
    code, body, _ = tt.http(f"{query}/api/traces?service=duraflow&limit=100&lookback=1h&tags="
                            + json.dumps({"durable.execution.id": ex}).replace(" ", ""), timeout=10)
    if code == 200:
        others = [t["traceID"] for t in json.loads(body).get("data") or [] if t["traceID"] != trace_id]
        if others:
            fail(f"spans of {ex} in other traces too: {others}")

    def tags(s):
        return {t["key"]: t["value"] for t in s.get("tags", [])}

    def parent_of(s):
        refs = [r for r in s.get("references", []) if r["refType"] == "CHILD_OF"]
        return refs[0]["spanID"] if refs else None
    execs = [s for s in dur if "durable.operation.id" not in tags(s)]
    opspans = [s for s in dur if "durable.operation.id" in tags(s) and "durable.attempt.number" not in tags(s)]
    atspans = [s for s in dur if "durable.attempt.number" in tags(s)]
    if len(execs) != 1 or parent_of(execs[0]) != parent:
        fail(f"{len(execs)} execution spans; parent {parent_of(execs[0]) if execs else None}, expected the "
             f"start's {parent}")
    ex_span = execs[0]["spanID"]
    if tags(execs[0]).get("durable.execution.id") != ex or tags(execs[0]).get("durable.execution.status") != "SUCCEEDED":
        fail(f"execution span attributes {tags(execs[0])}")
    got_ops = sorted(tags(s)["durable.operation.id"] for s in opspans)
    want_ops = sorted(o["op_id"] for o in ended_ops)
    if got_ops != want_ops:
        fail(f"operation spans {got_ops}, history's ended operations {want_ops}")
    op_span = {tags(s)["durable.operation.id"]: s["spanID"] for s in opspans}
    for s in opspans:
        if parent_of(s) != ex_span:
            fail(f"operation span {s['operationName']} is not a child of the execution span")
    got_at = sorted((tags(s)["durable.operation.id"], int(tags(s)["durable.attempt.number"])) for s in atspans)
    if got_at != sorted(attempts):
        fail(f"attempt spans {got_at}, history's attempts {sorted(attempts)}")
    for s in atspans:
        t = tags(s)
        if parent_of(s) != op_span.get(t["durable.operation.id"]):
            fail(f"attempt span {s['operationName']} is not a child of its operation's span")
        for k in ("durable.execution.id", "durable.execution.workflow", "durable.operation.name",
                  "durable.operation.type", "durable.attempt.outcome"):
            if k not in t:
                fail(f"attempt span {s['operationName']}: no {k}")
    at_ids = {s["spanID"] for s in atspans}
    http_steps = {tags(s)["durable.operation.id"] for s in atspans
                  if tags(s)["durable.operation.name"] not in ("receive",)}
    sim_parents = {parent_of(s) for s in sim}
    if not sim or any(parent_of(s) not in at_ids for s in sim):
        fail(f"orders-sim request spans {[(s['operationName'], parent_of(s)) for s in sim]} are not all children "
             f"of step attempt spans")
    under = {tags(by_id[p])["durable.operation.id"] for p in sim_parents}
    if under != http_steps:
        fail(f"the simulator's requests are under the attempts of {sorted(under)}, the HTTP steps are "
             f"{sorted(http_steps)}")
    names = sorted({s["operationName"] for s in sim})
    print(f"trace structure: execution span under the start's {parent}; {len(opspans)} operation spans under it; "
          f"{len(atspans)} attempt spans under their operations; {len(sim)} orders-sim request spans ({names}) "
          f"under {len(sim_parents)} attempt spans; no span id twice after the SIGKILL and the replay")


def check_logs(lx, w_logs, ts_log, con_log):
    lines = []
    for path, name in [(w_logs[0], "worker"), (w_logs[1], "worker"), (ts_log, "timer-service"),
                       (con_log, "console")]:
        lines += read_json_lines(path, name)
    levels = {l["level"] for l in lines}
    mine = [l for l in lines if l.get("execution_id") == lx]
    grep = [l for l in lines if lx in json.dumps(l)]
    print(f"logs: {len(lines)} JSON lines ({sorted(levels)}), {len(grep)} mention {lx}, {len(mine)} carry it as "
          f"execution_id")
    if len(grep) != len(mine):
        bad = [l["msg"] for l in grep if l.get("execution_id") != lx][:5]
        fail(f"lines naming {lx} without its execution_id field: {bad}")
    for l in mine:
        if l["_prog"] == "worker":
            for k in ("workflow", "trace_id", "worker_id"):
                if not l.get(k):
                    fail(f"worker line without {k}: {l}")
            if l["workflow"] != "order" or l["worker_id"] != "w1" or len(l["trace_id"]) != 32:
                fail(f"worker line fields: {l}")
    traces = {l["trace_id"] for l in mine if l.get("trace_id")}
    if len(traces) != 1:
        fail(f"the lines of {lx} carry {len(traces)} trace ids: {traces}")
    body = [l for l in mine if l.get("op_id") and l.get("attempt")]
    if not body:
        fail("no line from a step body (op_id and attempt)")
    story = sorted(mine, key=lambda l: l["ts"])
    progs = [l["_prog"] for l in story]
    for p in ("console", "worker", "timer-service"):
        if p not in progs:
            fail(f"no line of the {p} about {lx}")
    first_worker = next(i for i, l in enumerate(story) if l["_prog"] == "worker")
    if story[0]["_prog"] != "console" or "action start" not in story[0]["msg"] or "requested" not in story[0]["msg"]:
        fail(f"the story does not begin with the console's start: {story[0]}")
    if "event START" not in story[first_worker]["msg"]:
        fail(f"the worker's first line is not the START: {story[first_worker]['msg']}")
    applied = [l for l in story if l["_prog"] == "worker" and " applied: " in l["msg"]]
    if not applied[-1]["msg"].endswith("applied: SUCCEEDED"):
        fail(f"the worker's last line about it: {applied[-1]['msg']}")
    fires = [i for i, l in enumerate(story) if l["_prog"] == "timer-service" and "fired" in l["msg"]]
    for i in fires:
        if not any(l["_prog"] == "worker" and "event TIMER applied" in l["msg"] for l in story[i + 1:]):
            fail(f"a timer fired at {story[i]['ts']} was never applied after it")
    for l in story:
        print(f"  {l['ts']} {l['_prog']:13} {l['level']:5} {l['msg'][:110]}")
    print(f"logs: the story of {lx}: {len(story)} lines in order ({progs.count('console')} console, "
          f"{progs.count('worker')} worker, {progs.count('timer-service')} timer service; {len(body)} from step "
          f"bodies), one trace id {traces.pop()}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: (tt.stop_all(), sys.exit(1)))
    if not BUILD:
        print(__doc__)
        sys.exit(2)
    main()
