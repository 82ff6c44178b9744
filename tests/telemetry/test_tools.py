#!/usr/bin/env python3
"""The telemetry building blocks against the real tools, on loopback.

  promtool    `promtool check metrics` accepts the /metrics page of
              telemetry-expose, which holds a series of every metric family
  prometheus  a real Prometheus (Debian's package) scrapes telemetry-expose
              every second; the values are read back through Prometheus'
              HTTP API (/api/v1/query) and compared with what the program
              was told to expose (--seed, random per run)
  jaeger      a real Jaeger all-in-one (scripts/tools.sh builds it from the
              Go module proxy) receives the spans of one synthetic execution
              from the OTLP/HTTP exporter (telemetry-spans); the trace is
              read back through Jaeger's query API: every span once (no
              duplicates, although the program derived them twice as a
              replay would), the parent/child structure (execution under the
              start's traceparent, operations under the execution, attempts
              under their operation, a downstream service's span under the
              attempt whose traceparent it was given), the attribute names

  orders      a real Prometheus scrapes the order demo's /metrics during a
              run of the 830 orders (embedded Kafka); executions started and
              finished by status read back through its API equal the demo's
              summary; promtool accepts the demo's page

Usage: test_tools.py promtool|prometheus|jaeger|orders BUILD_DIR [REPO_ROOT]

The tools are found through DF_PROMTOOL, DF_PROMETHEUS and DF_JAEGER, then
PATH (promtool, prometheus) or `scripts/tools.sh path jaeger`. A missing tool
is a failure, never a skip: scripts/test.sh runs scripts/tools.sh first.
Every wait is bounded; every process started here is stopped by its pid.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
BUILD = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else ""
ROOT = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", ".."))
EXPOSE = os.path.join(BUILD, "tests", "telemetry", "telemetry-expose")
SPANS = os.path.join(BUILD, "tests", "telemetry", "telemetry-spans")

procs = []


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tool(env, name):
    path = os.environ.get(env)
    if not path:
        path = shutil.which(name)
    if not path and name == "jaeger":
        try:
            path = subprocess.run([os.path.join(ROOT, "scripts", "tools.sh"), "path", "jaeger"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            path = ""
    if not path or not os.access(path, os.X_OK):
        fail(f"{name} not found ({env} unset, not on PATH{', not built by scripts/tools.sh' if name == 'jaeger' else ''}):"
             f" run scripts/setup.sh and scripts/tools.sh ensure")
    return path


def start(cmd, log):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def http(url, data=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), ""
    except (urllib.error.URLError, OSError):
        return 0, "", ""


def wait_for(what, fn, timeout, procs_to_watch=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        for p in procs_to_watch:
            if p.poll() is not None:
                fail(f"{what}: {p.args[0]} exited with {p.returncode} while we waited")
        time.sleep(0.2)
    fail(f"{what}: not within {timeout} s")


def start_expose(tmp, seed):
    port_file = os.path.join(tmp, "expose.port")
    log = open(os.path.join(tmp, "expose.log"), "w")
    p = start([EXPOSE, "--listen", "127.0.0.1:0", "--port-file", port_file, "--seed", str(seed), "--seconds", "300"],
              log)
    wait_for("telemetry-expose port file", lambda: os.path.exists(port_file), 10, [p])
    with open(port_file) as f:
        return int(f.read().strip())


def dump_logs(tmp):
    for name in sorted(os.listdir(tmp)):
        if name.endswith(".log"):
            with open(os.path.join(tmp, name), errors="replace") as f:
                text = f.read()
            print(f"--- {name} (last 3000 characters) ---\n{text[-3000:]}")


# --------------------------------------------------------------------------
def test_promtool(tmp):
    promtool = tool("DF_PROMTOOL", "promtool")
    port = start_expose(tmp, random.randint(3, 999))
    code, page, ctype = http(f"http://127.0.0.1:{port}/metrics")
    if code != 200:
        fail(f"/metrics answered {code}")
    if not ctype.startswith("text/plain; version=0.0.4"):
        fail(f"/metrics Content-Type {ctype!r}")
    families = [l.split()[2] for l in page.splitlines() if l.startswith("# TYPE ")]
    r = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True, timeout=60)
    print(f"promtool check metrics: exit {r.returncode}, {len(families)} families, {len(page)} bytes")
    if r.stdout.strip() or r.stderr.strip():
        print(r.stdout + r.stderr)
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        fail("promtool check metrics did not accept the page (output above)")
    # and it refuses a broken page, so the check above can fail
    bad = page.replace("duraflow_timers_fired_total", "duraflow_timers_fired")
    r = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True, text=True, timeout=60)
    if r.returncode == 0 and not (r.stdout + r.stderr).strip():
        fail("promtool accepted a counter without _total: the check proves nothing")
    print(f"promtool on a counter without _total: exit {r.returncode}: {(r.stdout + r.stderr).strip()[:200]}")


# --------------------------------------------------------------------------
def prom_query(base, q):
    code, body, _ = http(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    if code != 200:
        return None
    res = json.loads(body)
    if res.get("status") != "success" or not res["data"]["result"]:
        return None
    return [(r["metric"], float(r["value"][1])) for r in res["data"]["result"]]


def test_prometheus(tmp):
    prom = tool("DF_PROMETHEUS", "prometheus")
    seed = random.randint(3, 999)
    target = start_expose(tmp, seed)
    pport = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: duraflow\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{target}']\n")
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    p = start([prom, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
               f"--web.listen-address=127.0.0.1:{pport}", "--log.level=warn"], log)
    base = f"http://127.0.0.1:{pport}"
    t0 = time.time()
    wait_for("Prometheus ready", lambda: http(base + "/-/ready")[0] == 200, 60, [p])
    print(f"Prometheus ready on 127.0.0.1:{pport} in {time.time() - t0:.1f} s, scraping 127.0.0.1:{target}")
    got = wait_for("the first scrape", lambda: prom_query(base, 'duraflow_executions_started_total{workflow="orders"}'),
                   60, [p])
    print(f"read back after {time.time() - t0:.1f} s")
    # family i of DF__METRICS (the order of the page's # TYPE lines) holds seed * (i + 1)
    code, page, _ = http(f"http://127.0.0.1:{target}/metrics")
    order = [l.split()[2] for l in page.splitlines() if l.startswith("# TYPE ")]
    k = lambda name: order.index(name) + 1  # noqa: E731
    checks = [
        ('duraflow_executions_started_total{workflow="orders"}', seed * k("duraflow_executions_started_total")),
        ('duraflow_executions_finished_total{workflow="orders",status="SUCCEEDED"}',
         seed * k("duraflow_executions_finished_total")),
        ('duraflow_executions_waiting{kind="callback"}', seed * k("duraflow_executions_waiting")),
        ('duraflow_step_duration_seconds_count{workflow="orders",outcome="succeeded"}', seed),
        ('duraflow_timers_pending', seed * k("duraflow_timers_pending")),
        ('duraflow_consumer_lag_records{component="worker",topic="duraflow.events",partition="0"}',
         seed * k("duraflow_consumer_lag_records")),
        ('up{job="duraflow"}', 1),
    ]
    for q, want in checks:
        res = prom_query(base, q)
        if not res:
            fail(f"Prometheus has no value for {q}")
        value = res[0][1]
        print(f"  {q} = {value:g} (expected {want})")
        if value != want:
            fail(f"{q}: Prometheus read {value}, the program exposes {want}")
    # the histogram is usable as one: a quantile within the observed value
    obs = k("duraflow_step_duration_seconds") / 1000.0
    res = prom_query(base, 'histogram_quantile(0.5, duraflow_step_duration_seconds_bucket)')
    if not res or not (0.0025 <= res[0][1] <= obs):
        fail(f"histogram_quantile of duraflow_step_duration_seconds: {res} (observations were {obs} s)")
    code, body, _ = http(base + "/api/v1/targets")
    health = [t["health"] for t in json.loads(body)["data"]["activeTargets"]]
    if health != ["up"]:
        fail(f"target health {health}")
    print(f"Prometheus read back {len(checks)} values equal to the exposed ones (seed {seed}); target up")
    del got


# --------------------------------------------------------------------------
def test_orders(tmp):
    """A real Prometheus scrapes the order demo's process (its workers and
    timer service share one registry and one /metrics) during a run of the
    830 orders; what it read back equals the demo's own summary."""
    prom = tool("DF_PROMETHEUS", "prometheus")
    promtool = tool("DF_PROMTOOL", "promtool")
    demo = os.path.join(BUILD, "workers", "orders", "app", "orders-demo")
    mport, pport = free_port(), free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: orders\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{mport}']\n")
    plog = open(os.path.join(tmp, "prometheus.log"), "w")
    p = start([prom, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
               f"--web.listen-address=127.0.0.1:{pport}", "--log.level=warn"], plog)
    base = f"http://127.0.0.1:{pport}"
    wait_for("Prometheus ready", lambda: http(base + "/-/ready")[0] == 200, 60, [p])
    out_path = os.path.join(tmp, "demo.out")
    out = open(out_path, "w")
    dlog = open(os.path.join(tmp, "demo.log"), "w")
    d = subprocess.Popen([demo, "--day-ms", "300", "--json", "--keep-console", "--timeout", "200",
                          "-X", f"metrics.listen=127.0.0.1:{mport}"], stdout=out, stderr=dlog,
                         start_new_session=True)
    procs.append(d)
    t0 = time.time()

    def summary():
        try:
            with open(out_path) as f:
                return json.loads(f.read())
        except (OSError, ValueError):
            return None
    summ = wait_for("the demo's summary", summary, 240, [d, p])
    print(f"demo summary after {time.time() - t0:.1f} s: outcomes {summ['outcomes']}, failed {summ['failed']}, "
          f"ok {summ['ok']}")
    if not summ.get("ok"):
        fail("the demo's own checks failed")
    done = sum(summ["outcomes"].values()) + summ.get("invalid", 0) + summ.get("rejected", 0)
    # every execution the demo counted must be in Prometheus, by status
    code, page, _ = http(f"http://127.0.0.1:{mport}/metrics")
    if code != 200:
        fail(f"the demo's /metrics answered {code}")
    r = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or (r.stdout + r.stderr).strip():
        fail(f"promtool check metrics refused the demo's page: {(r.stdout + r.stderr)[:500]}")
    want_started = summ["expected_orders"]
    want_ok = want_started - summ["failed"]

    def read_back():
        st = prom_query(base, 'sum(duraflow_executions_started_total{workflow="order"})')
        ok = prom_query(base, 'sum(duraflow_executions_finished_total{workflow="order",status="SUCCEEDED"})')
        if st and ok and st[0][1] == want_started and ok[0][1] == want_ok:
            return st[0][1], ok[0][1]
        return None
    got = wait_for("Prometheus to read the final figures", read_back, 30, [d, p])
    bad = prom_query(base, 'sum(duraflow_executions_finished_total{workflow="order",status!="SUCCEEDED"})')
    bad_n = bad[0][1] if bad else 0
    steps = prom_query(base, 'sum(duraflow_step_duration_seconds_count{workflow="order"})')
    susp = prom_query(base, 'sum by (kind) (duraflow_executions_suspended_total{workflow="order"})')
    print(f"Prometheus: started {got[0]:g}, SUCCEEDED {got[1]:g}, other statuses {bad_n:g} "
          f"(summary: {want_started} orders, {summ['failed']} failed, outcomes total {done}); "
          f"step attempts {steps[0][1] if steps else 0:g}; suspended by kind "
          f"{ {m['kind']: v for m, v in susp} if susp else {} }")
    if bad_n != summ["failed"]:
        fail(f"Prometheus counts {bad_n} executions not SUCCEEDED, the summary {summ['failed']}")
    if not steps or steps[0][1] < want_started:
        fail("fewer step attempts than orders")
    if not susp or "callback" not in {m["kind"] for m, v in susp}:
        fail("no suspension on a callback counted (every order waits for its payment)")


# --------------------------------------------------------------------------
JAEGER_CFG = """
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{health}
  jaeger_query:
    enable_tracing: false
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{qgrpc}
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
"""


def downstream_span(trace_id, parent_span_id):
    """What the simulator would export for the HTTP request a step sent with
    its traceparent: a SERVER span of another service, child of the attempt."""
    now = time.time_ns()
    span_id = "%016x" % random.getrandbits(64)
    return span_id, json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders-sim"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "parentSpanId": parent_span_id,
            "name": "POST /inventory/reserve", "kind": 2,
            "startTimeUnixNano": str(now - 3_000_000), "endTimeUnixNano": str(now),
            "attributes": [{"key": "http.request.method", "value": {"stringValue": "POST"}}]}]}]}]}).encode()


def tags(span):
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def test_jaeger(tmp):
    jaeger = tool("DF_JAEGER", "jaeger")
    ports = {k: free_port() for k in ("otlp", "query", "qgrpc", "health")}
    cfg = os.path.join(tmp, "jaeger.yaml")
    with open(cfg, "w") as f:
        f.write(JAEGER_CFG.format(**ports))
    log = open(os.path.join(tmp, "jaeger.log"), "w")
    p = start([jaeger, f"--config=file:{cfg}"], log)
    query = f"http://127.0.0.1:{ports['query']}"
    t0 = time.time()
    wait_for("Jaeger's query API", lambda: http(query + "/api/services")[0] == 200, 60, [p])
    wait_for("Jaeger's OTLP receiver", lambda: http(f"http://127.0.0.1:{ports['otlp']}/v1/traces",
                                                    b"{}", {"Content-Type": "application/json"})[0] in (200, 400),
             30, [p])
    print(f"Jaeger up in {time.time() - t0:.1f} s (OTLP 127.0.0.1:{ports['otlp']}, query 127.0.0.1:{ports['query']})")

    start_trace = "%032x" % random.getrandbits(128)
    start_parent = "%016x" % random.getrandbits(64)
    r = subprocess.run([SPANS, "--endpoint", f"http://127.0.0.1:{ports['otlp']}", "--execution-id", "order-10248",
                        "--traceparent", f"00-{start_trace}-{start_parent}-01", "--twice"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"telemetry-spans exited {r.returncode}: {r.stderr}")
    want = json.loads(r.stdout)
    if want["trace_id"] != start_trace:
        fail(f"the execution's trace id {want['trace_id']} is not the start's {start_trace}")
    step_tp = want["step_traceparent"].split("-")
    down_id, body = downstream_span(step_tp[1], step_tp[2])
    code, _, _ = http(f"http://127.0.0.1:{ports['otlp']}/v1/traces", body, {"Content-Type": "application/json"})
    if code != 200:
        fail(f"the downstream span was refused: {code}")
    n_want = len(want["spans"]) + 1

    def fetch():
        code, body, _ = http(f"{query}/api/traces/{start_trace}")
        if code != 200:
            return None
        data = json.loads(body).get("data") or []
        if not data or len(data[0]["spans"]) < n_want:
            return None
        return data[0]
    trace = wait_for(f"trace {start_trace} with {n_want} spans in Jaeger", fetch, 30, [p])
    time.sleep(1.0)  # anything late (a duplicate) would show now
    trace = fetch()
    spans = trace["spans"]
    by_id = {s["spanID"]: s for s in spans}
    print(f"Jaeger returned trace {start_trace}: {len(spans)} spans, {len(by_id)} distinct ids, "
          f"services {sorted({p['serviceName'] for p in trace['processes'].values()})}")
    if len(spans) != n_want or len(by_id) != n_want:
        fail(f"{len(spans)} spans ({len(by_id)} distinct) in Jaeger, expected {n_want}, each once")

    def parent_of(s):
        refs = [r for r in s.get("references", []) if r["refType"] == "CHILD_OF"]
        return refs[0]["spanID"] if refs else None

    for w in want["spans"]:
        s = by_id.get(w["span_id"])
        if not s:
            fail(f"span {w['name']} ({w['span_id']}) missing in Jaeger")
        if s["operationName"] != w["name"]:
            fail(f"span {w['span_id']}: name {s['operationName']!r}, expected {w['name']!r}")
        if parent_of(s) != w["parent_span_id"]:
            fail(f"span {w['name']}: parent {parent_of(s)}, expected {w['parent_span_id']}")
    execution = [s for s in spans if s["operationName"] == "orders"]
    if len(execution) != 1 or parent_of(execution[0]) != start_parent:
        fail("the execution span is not the one child of the start's traceparent")
    ex_id = execution[0]["spanID"]
    ops = [s for s in spans if "durable.operation.id" in tags(s) and "durable.attempt.number" not in tags(s)]
    attempts = [s for s in spans if "durable.attempt.number" in tags(s)]
    kafka = [s for s in spans if tags(s).get("messaging.system") == "kafka"]
    if len(ops) != 4 or any(parent_of(s) != ex_id for s in ops):
        fail(f"{len(ops)} operation spans, each must be a child of the execution span")
    op_ids = {tags(s)["durable.operation.id"]: s["spanID"] for s in ops}
    if len(attempts) != 4:
        fail(f"{len(attempts)} attempt spans, expected 4 (receive 1, reserve 1 and 2, payment 1)")
    for a in attempts:
        t = tags(a)
        if parent_of(a) != op_ids[t["durable.operation.id"]]:
            fail(f"attempt {a['operationName']} is not under its operation")
        for k in ("durable.execution.id", "durable.execution.workflow", "durable.operation.type",
                  "durable.operation.name", "durable.attempt.number", "durable.attempt.outcome"):
            if k not in t:
                fail(f"attempt {a['operationName']}: attribute {k} missing ({sorted(t)})")
    numbers = sorted((tags(a)["durable.operation.name"], int(tags(a)["durable.attempt.number"]),
                      tags(a)["durable.attempt.outcome"]) for a in attempts)
    if numbers != [("payment", 1, "SUCCEEDED"), ("receive", 1, "SUCCEEDED"), ("reserve", 1, "FAILED"),
                   ("reserve", 2, "SUCCEEDED")]:
        fail(f"attempts {numbers}")
    failed = [a for a in attempts if tags(a)["durable.attempt.outcome"] == "FAILED"][0]
    if tags(failed).get("otel.status_code") != "ERROR" and tags(failed).get("error") is not True:
        fail(f"the failed attempt is not marked as an error: {tags(failed)}")
    if len(kafka) != 3:
        fail(f"{len(kafka)} Kafka spans, expected 3")
    for s in kafka:
        t = tags(s)
        for k, v in (("messaging.destination.name", "duraflow.events"), ("messaging.destination.partition.id", "3"),
                     ("messaging.operation.type", "process"), ("messaging.consumer.group.name", "duraflow-workers")):
            if str(t.get(k)) != v:
                fail(f"Kafka span: {k} = {t.get(k)!r}, expected {v!r}")
        if t.get("span.kind") != "consumer" or parent_of(s) != ex_id:
            fail(f"Kafka span: kind {t.get('span.kind')}, parent {parent_of(s)}")
    down = by_id[down_id]
    reserve2 = [a for a in attempts if tags(a)["durable.operation.name"] == "reserve"
                and int(tags(a)["durable.attempt.number"]) == 2][0]
    if parent_of(down) != reserve2["spanID"] or step_tp[2] != reserve2["spanID"]:
        fail("the downstream call is not a child of the attempt whose traceparent it carried")
    if trace["processes"][down["processID"]]["serviceName"] != "orders-sim":
        fail("the downstream span lost its service")
    svc = {trace["processes"][s["processID"]]["serviceName"] for s in spans if s["spanID"] != down_id}
    if svc != {"telemetry-test"}:
        fail(f"service.name of duraflow's spans: {svc}")
    print(f"trace structure: execution under the start's span {start_parent}; {len(ops)} operations under it; "
          f"{len(attempts)} attempts under their operations; {len(kafka)} Kafka process spans; the downstream "
          f"call under reserve attempt 2; no duplicate although every span id was derived twice")


def main():
    if MODE not in ("promtool", "prometheus", "jaeger", "orders") or not BUILD:
        print(__doc__)
        sys.exit(2)
    for prog in ((EXPOSE,) if MODE != "jaeger" else (SPANS,)):
        if not os.access(prog, os.X_OK):
            fail(f"{prog} not built")
    tmp = tempfile.mkdtemp(prefix=f"df-telemetry-{MODE}-")
    ok = False
    try:
        {"promtool": test_promtool, "prometheus": test_prometheus, "jaeger": test_jaeger,
         "orders": test_orders}[MODE](tmp)
        ok = True
    except SystemExit:
        raise
    finally:
        stop_all()
        if not ok:
            dump_logs(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{MODE}: 1 passed, 0 failed")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(1)))
    main()
