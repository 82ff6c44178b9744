#!/usr/bin/env python3
"""The `duraflow` CLI as a new user meets it: exit codes and messages.

    test_cli.py --cli BUILD/framework/tools/duraflow --helper BUILD/tests/cli/cli_client offline
    test_cli.py --cli ... --helper ... broker        (needs DF_BROKERS: fails without it, never skips)

offline: argument errors, no brokers configured, an unreachable broker
         (127.0.0.1:1: refused), a directory as --input-file.  No broker.
broker:  read-only commands on a prefix without topics (and that they create
         none), a mistyped kafka.* property, the command named once in
         messages.  Uses a fresh topic prefix and deletes its topics.
content: hostile text recorded by a workflow (ESC, CR, BEL, DEL, C1, bidi
         controls) shown escaped by describe/history/list and exact in
         --json; a worker's DF_ERR_REJECTED reply (exit 5, its message
         escaped); the memory describe, history --json and list take for an
         execution of 300 x 100 KB.
schedule: `duraflow schedule ...` (issue 12.5): its argument errors (exit 2
         before any connection, naming the field and the position), then
         with a worker (cli_client's "echo") and a timer service: create
         (idempotent, conflict exit 4, unknown workflow exit 3), runs every
         2 s listed by `duraflow list`, describe/list in text and --json,
         pause, trigger, resume, delete, not found exit 3.
model:   the programming model as the CLI shows it: the history of an
         execution with a child context, a map, a parallel, a condition and
         an invoke (nested operations indented by depth, depth first; --json
         with parent_id, child_count, child_execution_id), the invoked
         child's parent, workflow versions (describe, list --version), an
         execution parked VERSION_MISSING on a worker without its version and
         going on by itself on one that has it (a timer service runs).
steer:   pause, resume (also after a code fix: NONDETERMINISM), restart (--from-op, the run log, kept operations not
         re-run: cli_client's "steer" counts its step bodies), purge (a purged
         id starts again as new), retention.ms (20 s: gone by itself) and the bulk forms (--all with filters,
         --dry-run), with a worker and a timer service; their argument errors.
partitions: topics of 1, 2 and 12 partitions created by an operator (not by
         duraflow), a worker and the CLI with the default "partitions" (6):
         start, describe, history, list, callback and stop reach executions on
         every partition; .events and .state of different counts are refused.

Exit codes (duraflow --help): 0 ok, 1 failure, 2 usage, 3 not found,
4 conflict, 5 rejected, 6 unavailable.
"""
import argparse
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ARGS = None
PASSED = 0
FAILED = 0


def run(argv, env_brokers=None, timeout=60):
    """Run the CLI; env_brokers None: no DF_BROKERS at all. (rc, stdout, stderr, seconds)"""
    env = dict(os.environ)
    env.pop("DF_BROKERS", None)
    if env_brokers is not None:
        env["DF_BROKERS"] = env_brokers
    t0 = time.monotonic()
    p = subprocess.run([ARGS.cli] + argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode(), time.monotonic() - t0


def check(name, result, rc, stderr_re=None, stdout_re=None, max_s=None, not_re=None):
    global PASSED, FAILED
    got_rc, out, err, secs = result
    why = []
    if got_rc != rc:
        why.append("exit %d, expected %d" % (got_rc, rc))
    if stderr_re and not re.search(stderr_re, err):
        why.append("stderr does not match %r" % stderr_re)
    if stdout_re and not re.search(stdout_re, out):
        why.append("stdout does not match %r" % stdout_re)
    if not_re and re.search(not_re, err + out):
        why.append("output matches %r" % not_re)
    if max_s is not None and secs > max_s:
        why.append("took %.1f s, more than %d s" % (secs, max_s))
    if why:
        FAILED += 1
        print("NOT OK %s: %s\n       stdout: %s\n       stderr: %s" % (name, "; ".join(why), out.strip()[-400:],
                                                                     err.strip()[-600:]))
    else:
        PASSED += 1
        print("ok     %s (exit %d, %.1f s)" % (name, got_rc, secs))


def offline():
    no_brokers = r"no brokers: give --brokers HOST:PORT or set DF_BROKERS \(embedded mode lives inside one process"
    for cmd in (["list"], ["describe", "e1"], ["history", "e1"], ["start", "wf", "e1"], ["stop", "e1"],
                ["callback", "succeed", "x"], ["timer-service"]):
        check("no brokers: %s" % " ".join(cmd), run(cmd), 2, r"^duraflow %s: %s" % (cmd[0], no_brokers))
    check("no brokers, DF_BROKERS empty: list", run(["list"], env_brokers=""), 2, no_brokers)
    # the brokers list's form before connecting: "-b host:notaport" waited 10 s and exited 6
    for bl, bad in (("host:notaport", "host:notaport"), ("127.0.0.1:1,k2:0", "k2:0"), ("k1:65536", "k1:65536"),
                    ("k1:9092,", ""), (":9092", ":9092"), ("k1", "k1")):
        for cmd in (["list"], ["callback", "succeed", "0123456789abcdef0123456789abcdef_1_e1"], ["console"]):
            check("brokers %s: %s" % (bl, cmd[0]), run(["-b", bl] + cmd), 2,
                  r'^duraflow %s: the brokers list "%s" has the entry "%s": not HOST:PORT with a port 1\.\.65535 '
                  % (cmd[0], re.escape(bl), re.escape(bad)), max_s=2)
    check("brokers from DF_BROKERS checked", run(["list"], env_brokers="h:x"), 2,
          r'^duraflow list: the brokers list "h:x" has the entry "h:x"', max_s=2)
    check("no brokers: list --help still works", run(["list", "--help"]), 0, stdout_re=r"usage: duraflow list")
    check("config --help", run(["config", "--help"]), 0, stdout_re=r"usage: duraflow \[--json\] config")

    for cmd in (["list", "extra-arg"], ["describe", "e1", "extra-arg"], ["history", "e1", "extra-arg"],
                ["start", "wf", "e1", "extra-arg"], ["stop", "e1", "extra-arg"],
                ["callback", "succeed", "x", "extra-arg"], ["timer-service", "extra-arg"], ["config", "extra-arg"],
                ["list", "--workflow", "w", "extra-arg"]):
        check("unexpected argument: %s" % " ".join(cmd), run(["--brokers", "127.0.0.1:1"] + cmd), 2,
              r'^duraflow %s: unexpected argument "extra-arg" \(see --help\)' % cmd[0], max_s=5)
    check("missing argument: describe", run(["--brokers", "127.0.0.1:1", "describe"]), 2,
          r"^duraflow describe: needs <execution-id>", max_s=5)
    check("unknown option", run(["--brokers", "127.0.0.1:1", "list", "--bogus"]), 2,
          r"^duraflow list: unrecognized option '--bogus'", max_s=5)
    # --traceparent: checked before anything connects (127.0.0.1:1 refuses), the value and the rule named
    for tp, rule in (("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7", r"52 characters, a traceparent has 55"),
                     ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", r"trace-id is all zeros"),
                     ("00-0AF7651916CD43DD8448EB211C80319C-00f067aa0ba902b7-01", r"trace-id is not 32 lowercase hex"),
                     ("ff-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01", r"version ff is invalid")):
        check("start --traceparent %s" % tp, run(["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--traceparent", tp]),
              2, r'^duraflow start: --traceparent "%s": traceparent: %s.*\(DF_ERR_INVALID_ARG\)' % (re.escape(tp), rule),
              max_s=5)
    check("start --traceparent twice", run(["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--traceparent",
                                            "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01", "--traceparent",
                                            "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"]),
          2, r"^duraflow start: --traceparent given twice", max_s=5)
    # an option of one value given twice is refused: "--input a --input b" silently kept b
    for cmd, opt in ((["start", "wf", "e1", "--input", "a", "--input", "b"], "input"),
                     (["start", "wf", "e1", "--input-file", "/dev/null", "--input-file", "/dev/null"], "input-file"),
                     (["callback", "succeed", "x", "--payload", "a", "--payload", "b"], "payload"),
                     (["callback", "fail", "x", "--error", "a", "--error", "b"], "error"),
                     (["stop", "e1", "--reason", "a", "--reason", "b"], "reason"),
                     (["restart", "e1", "--from-op", "1", "--from-op", "2"], "from-op"),
                     (["schedule", "create", "s", "--cron", "* * * * *", "--cron", "* * * * *", "--workflow", "w"],
                      "cron"),
                     (["schedule", "create", "s", "--workflow", "w", "--workflow", "v"], "workflow")):
        check("--%s twice: %s" % (opt, cmd[0]), run(["--brokers", "127.0.0.1:1"] + cmd), 2,
              r"^duraflow %s: --%s given twice\n$" % (cmd[0], opt), max_s=2)
    check("start --help names --traceparent", run(["start", "--help"]), 0, stdout_re=r"--traceparent TP")

    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "input.json")
        with open(f, "w") as fh:
            fh.write("{}")
        check("--input with --input-file", run(["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--input", "{}",
                                                "--input-file", f]), 2,
              r"^duraflow start: give --input or --input-file, not both", max_s=5)
        check("--payload with --payload-file",
              run(["--brokers", "127.0.0.1:1", "callback", "succeed", "x", "--payload", "{}", "--payload-file", f]),
              2, r"^duraflow callback: give --payload or --payload-file, not both", max_s=5)
        # what exactly-once rests on cannot be overridden through kafka.*
        check("reserved kafka.* property",
              run(["--brokers", "127.0.0.1:1", "-X", "kafka.isolation.level=read_uncommitted", "list"]), 2,
              r'^duraflow: property "kafka\.isolation\.level" is set by duraflow and cannot be overridden', max_s=5)
        # regression: `callback fail` without --error was accepted and failed a real order's callback
        check("callback fail without --error", run(["--brokers", "127.0.0.1:1", "callback", "fail", "x"]), 2,
              r"^duraflow callback: fail needs --error MESSAGE", max_s=5)
        check("--error with succeed", run(["--brokers", "127.0.0.1:1", "callback", "succeed", "x", "--error", "e"]),
              2, r"^duraflow callback: --error goes with fail only", max_s=5)
        check("--payload with heartbeat",
              run(["--brokers", "127.0.0.1:1", "callback", "heartbeat", "x", "--payload", "{}"]),
              2, r"^duraflow callback: --payload and --payload-file go with succeed only", max_s=5)
        # the callback id's form is checked before anything connects: it waited 10 s and exited 6 (no broker),
        # or exited 5 with one
        for cb in ("garbage", "0123456789abcdef0123456789abcdef_5_bad/id", "0123456789ABCDEF0123456789abcdef_1_e1",
                   "0123456789abcdef0123456789abcdef__e1"):
            check("callback id %s malformed" % cb, run(["--brokers", "127.0.0.1:1", "callback", "succeed", cb]), 2,
                  r'^duraflow callback: callback id "%s" is malformed \(expected <32 hex>_<op id>_<execution id>\) '
                  r'\(DF_ERR_INVALID_ARG\)\n$' % re.escape(cb), max_s=2)
        check("--input-file a directory", run(["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--input-file", d]),
              2, r"^duraflow start: --input-file %s: is a directory" % re.escape(d), max_s=5)
        missing = os.path.join(d, "nope.json")
        check("--input-file missing", run(["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--input-file", missing]),
              2, r"^duraflow start: --input-file %s: No such file or directory" % re.escape(missing), max_s=5)

    # Invalid arguments: exit 2 at the boundary, before any connection (the
    # broker 127.0.0.1:1 is never asked), naming the field and the rule; the
    # value quoted escaped.  Regressions of issue 9 item 6: invalid UTF-8 in a
    # workflow name or a failure text exited 1; hostile ids were echoed raw.
    u = "127.0.0.1:1"
    id_rule = r"it must be 1\.\.200 characters of A-Z a-z 0-9 \. _ : @ -"
    for cmd in (["describe", "a/b"], ["history", "a/b"], ["stop", "a/b"], ["start", "wf", "a/b"]):
        check("invalid id: %s" % " ".join(cmd), run(["--brokers", u] + cmd), 2,
              r'^duraflow %s: execution id "a/b" is invalid: %s \(DF_ERR_INVALID_ARG\)\n$' % (cmd[0], id_rule), max_s=5)
    r = run(["--brokers", u, "describe", "x\x1b[2J\u202eabc\r"])
    check("hostile id: escaped", r, 2, r'^duraflow describe: execution id "x\\x1B\[2J\\u202Eabc\\x0D" is invalid',
          max_s=5)
    no_controls("hostile id: no raw control in the message", r[2])
    check("workflow name of invalid UTF-8", run(["--brokers", u, "start", "wf\udcc3(", "e1"]), 2,
          r'^duraflow start: workflow name "wf\\xC3\(" is not valid UTF-8 \(DF_ERR_INVALID_ARG\)', max_s=5)
    check("workflow name with a bidi control", run(["--brokers", u, "start", "w\u202ef", "e1"]), 2,
          r'^duraflow start: workflow name "w\\u202Ef" contains a control character \(U\+202E\)', max_s=5)
    check("workflow name too long", run(["--brokers", u, "start", "w" * 201, "e1"]), 2,
          r'^duraflow start: workflow name "w+\.\.\." is 201 bytes, over the limit of 200', max_s=5)
    check("callback fail --error of invalid UTF-8",
          run(["--brokers", u, "callback", "fail", "0123456789abcdef0123456789abcdef_1_e1", "--error", "no\udcc3("]), 2,
          r'^duraflow callback: the failure message \(--error\) "no\\xC3\(" is not valid UTF-8 '
          r'\(DF_ERR_INVALID_ARG\)', max_s=5)
    check("stop --reason too long", run(["--brokers", u, "stop", "e1", "--reason", "r" * 32769]), 2,
          r"^duraflow stop: the reason \(--reason\) is 32769 bytes, over the limit of 32768", max_s=5)
    with tempfile.NamedTemporaryFile("w") as big:
        big.write("i" * 1000001)
        big.flush()
        check("start --input-file too large", run(["--brokers", u, "start", "wf", "e1", "--input-file", big.name]), 2,
              r"^duraflow start: --input-file %s: over the limit of 1000000 bytes \(DF_ERR_PAYLOAD_TOO_LARGE\)" %
              re.escape(big.name), max_s=5)
    check("list --status unknown", run(["--brokers", u, "list", "--status", "DONE\x1b"]), 2,
          r'^duraflow list: --status "DONE\\x1B" is not a status \(PENDING, RUNNING, SUSPENDED, SUCCEEDED, FAILED, '
          r'TIMED_OUT, STOPPED, NONDETERMINISM, QUARANTINED, VERSION_MISSING, PAUSED\)', max_s=5)
    check("list --version 0", run(["--brokers", u, "list", "--version", "0"]), 2,
          r'^duraflow list: --version "0" is not a workflow version \(an integer 1\.\.2147483647\)', max_s=5)
    check("list --version x", run(["--brokers", u, "list", "--version", "2x"]), 2,
          r'^duraflow list: --version "2x" is not a workflow version', max_s=5)
    r = run(["--brokers", u, "st\x1bart"])
    check("unknown command: escaped", r, 2, r'^duraflow: unknown command "st\\x1Bart"', max_s=5)
    no_controls("unknown command: no raw control", r[2])
    check("unknown option: escaped", run(["--brokers", u, "list", "--bo\x1bgus"]), 2,
          r"^duraflow list: unrecognized option '--bo\\x1Bgus'\n$", max_s=5)
    check("missing option argument", run(["--brokers", u, "stop", "e1", "--reason"]), 2,
          r"^duraflow stop: option '--reason' requires an argument\n$", max_s=5)
    check("unexpected argument: escaped", run(["--brokers", u, "list", "\u2066x"]), 2,
          r'^duraflow list: unexpected argument "\\u2066x"', max_s=5)
    # regression (issue 10): a refused kafka.* property made timer-service exit 6
    check("timer-service: a refused kafka.* property", run(["--brokers", u, "-X", "kafka.no.such.prop=1",
                                                            "timer-service"]), 2,
          r"^duraflow timer-service: Kafka property no\.such\.prop=1: No such configuration property", max_s=5)

    # An unreachable broker: the CLI gives up within seconds (its own
    # startup.timeout.ms of 10 s, not the library's 120 s), naming the
    # address; -X startup.timeout.ms is the user's word.  Concurrently.
    slow = {
        "unreachable: list": ["--brokers", "127.0.0.1:1", "list"],
        "unreachable: start": ["--brokers", "127.0.0.1:1", "start", "wf", "e1", "--input", "{}"],
        "unreachable: --json describe": ["--brokers", "127.0.0.1:1", "--json", "describe", "e1"],
        "unreachable: -X startup.timeout.ms=2000 list": ["--brokers", "127.0.0.1:1", "-X", "startup.timeout.ms=2000",
                                                         "list"],
    }
    with concurrent.futures.ThreadPoolExecutor(len(slow)) as pool:
        futures = {name: pool.submit(run, argv, "", 120) for name, argv in slow.items()}
        res = {name: f.result() for name, f in futures.items()}
    addr = r"no answer from Kafka at 127\.0\.0\.1:1 within %d ms \(startup\.timeout\.ms\): .*Connection refused"
    check("unreachable: list", res["unreachable: list"], 6, r"^duraflow list: " + addr % 10000, max_s=15)
    check("unreachable: start", res["unreachable: start"], 6, r"^duraflow start: " + addr % 10000, max_s=15)
    check("unreachable: --json describe", res["unreachable: --json describe"], 6,
          stdout_re=r'^\{"ok":false,"code":"DF_ERR_KAFKA","message":"no answer from Kafka at 127\.0\.0\.1:1', max_s=15)
    check("unreachable: -X startup.timeout.ms=2000 list", res["unreachable: -X startup.timeout.ms=2000 list"], 6,
          r"^duraflow list: " + addr % 2000, max_s=5)
    # librdkafka's connection errors are in the message, not a stream of FAIL lines
    check("unreachable: quiet", res["unreachable: list"], 6, not_re=r"%3\|")


def broker():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli broker: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    prefix = "dfcli-%d-%d" % (int(time.time()), os.getpid())
    b = ["--brokers", brokers, "--prefix", prefix]
    try:
        none = r'no duraflow topics with prefix "%s" on %s \(DF_ERR_NOT_FOUND\)' % (prefix, re.escape(brokers))
        check("no topics: list", run(b + ["list"]), 3, r"^duraflow list: " + none, max_s=10)
        check("no topics: describe", run(b + ["describe", "e1"]), 3, r"^duraflow describe: " + none, max_s=10)
        check("no topics: history", run(b + ["history", "e1"]), 3, r"^duraflow history: " + none, max_s=10)
        r = run(b + ["--json", "list"])
        check("no topics: --json list", r, 3, stdout_re=r'"code":"DF_ERR_NOT_FOUND","message":"no duraflow topics')
        check("no topics: and the read-only commands created none", run(b + ["list"]), 3, none)

        check("mistyped kafka.* property: list", run(b + ["-X", "kafka.no.such.prop=1", "list"]), 2,
              r'^duraflow list: Kafka property no\.such\.prop=1: No such configuration property', max_s=5)
        check("mistyped kafka.* property: start", run(b + ["-X", "kafka.no.such.prop=1", "start", "wf", "e1"]), 2,
              r'^duraflow start: Kafka property no\.such\.prop=1', max_s=5)

        # regression (issue 10): start with an invalid id created the topics, then rejected it
        form = r'execution id "bad id!" is invalid: it must be 1\.\.200 characters of A-Z a-z 0-9 \. _ : @ -'
        check("command named once: start", run(b + ["start", "wf", "bad id!"]), 2,
              r'^duraflow start: %s \(DF_ERR_INVALID_ARG\)\n$' % form, not_re=r"start: start:", max_s=5)
        check("start with an invalid id created no topic", run(b + ["list"]), 3, none, max_s=10)
        check("start: a workflow name of invalid UTF-8", run(b + ["start", "wf\udcc3(", "e1"]), 2,
              r'^duraflow start: workflow name "wf\\xC3\(" is not valid UTF-8 \(DF_ERR_INVALID_ARG\)\n$', max_s=5)
        check("start: a workflow name with ESC", run(b + ["start", "w\x1b[2Jf", "e1"]), 2,
              r'^duraflow start: workflow name "w\\x1B\[2Jf" contains a control character \(U\+001B\)', max_s=5)
        check("... and they created no topic", run(b + ["list"]), 3, none, max_s=10)
        # regression (issue 9): no reply within client.timeout.ms claimed "a worker will still process it"
        r = run(b + ["-X", "client.timeout.ms=1500", "start", "wf", "e-noworker", "--input", "{}"])
        check("no worker: start says what is known", r, 6,
              r"^duraflow start: no worker replied within 1500 ms \(client\.timeout\.ms; is a worker running\?\): "
              r"the request is durable in %s\.events; `duraflow describe e-noworker` tells whether a worker recorded "
              r"it \(DF_ERR_DEADLINE\)\n$" % re.escape(prefix), not_re=r"will still process", max_s=30)
        check("topics exist: list", run(b + ["list"]), 0,
              stdout_re=r"^execution .*\n0 execution\(s\)\n$", max_s=30)
        r = run(b + ["--json", "list"])
        check("topics exist: --json list", r, 0, stdout_re=r"^\[\]\n$", max_s=30)
        check("topics exist: describe unknown", run(b + ["describe", "nosuch"]), 3,
              r'^duraflow describe: no execution named "nosuch" \(DF_ERR_NOT_FOUND\)', max_s=30)
        check("command named once: history", run(b + ["history", "bad id!"]), 2,
              r"^duraflow history: %s \(DF_ERR_INVALID_ARG\)" % form, not_re=r"describe: ", max_s=30)
        check("describe a/b says the allowed form", run(b + ["describe", "a/b"]), 2,
              r'^duraflow describe: execution id "a/b" is invalid: it must be 1\.\.200 characters of '
              r'A-Z a-z 0-9 \. _ : @ - \(DF_ERR_INVALID_ARG\)\n$', max_s=30)
        check("command named once: stop", run(b + ["stop", "bad id!"]), 2,
              r"^duraflow stop: %s \(DF_ERR_INVALID_ARG\)" % form, not_re=r"stop: stop:", max_s=30)
        r = run(b + ["--json", "stop", "bad id!"])
        check("command named once: --json stop", r, 2,
              stdout_re=r'"message":"execution id \\"bad id!\\" is invalid: it must be 1\.\.200 characters')
        r = run(b + ["-X", "client.timeout.ms=1500", "stop", "e-noworker"])
        check("no worker: stop says what is known", r, 6,
              r"the request is durable in %s\.events; `duraflow describe e-noworker` tells whether" % re.escape(prefix),
              not_re=r"will still process", max_s=30)
    finally:
        subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
    return True


def murmur2(data):
    """Kafka's murmur2 (librdkafka's murmur2_random partitioner for non-empty keys)."""
    m = 0x5bd1e995
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    for i in range(len(data) // 4):
        k = data[4 * i] | (data[4 * i + 1] << 8) | (data[4 * i + 2] << 16) | (data[4 * i + 3] << 24)
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = ((h * m) & 0xffffffff) ^ k
    extra, idx = len(data) % 4, len(data) & ~3
    if extra >= 3:
        h ^= data[idx + 2] << 16
    if extra >= 2:
        h ^= data[idx + 1] << 8
    if extra >= 1:
        h = ((h ^ data[idx]) * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    return h ^ (h >> 15)


def partition_of(key, n):
    return (murmur2(key.encode()) & 0x7fffffff) % n


class Worker:
    """cli_client's worker on a prefix (stopped with SIGTERM)."""

    def __init__(self, brokers, prefix, state_dir, versions=None, retention_ms=None, metrics=None):
        """versions: the versions of workflow "ver" it has ("1,2" when None); retention_ms: its retention.ms;
        metrics: its metrics.listen"""
        self.log = open(os.path.join(state_dir, "worker.log"), "a+")
        env = dict(os.environ)
        if retention_ms is not None:
            env["DF_CLI_RETENTION_MS"] = str(retention_ms)
        if metrics is not None:
            env["DF_CLI_METRICS_LISTEN"] = metrics
        self.p = subprocess.Popen([ARGS.helper, "worker", brokers, prefix, state_dir] + ([versions] if versions else []),
                                  stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.seek(0)
        return self.log.read()


class TimerService:
    """`duraflow timer-service` on a prefix (stopped with SIGTERM), its log in state_dir/timer.log."""

    def __init__(self, b, state_dir):
        self.log = open(os.path.join(state_dir, "timer.log"), "w+")
        self.p = subprocess.Popen([ARGS.cli] + b + ["-X", "state.dir=" + state_dir, "-X", "worker.id=ts",
                                                   "timer-service"],
                                  stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


def teardown(brokers, prefix, w, ts):
    """stop the timer service and the worker (their logs printed when a check failed), delete the topics"""
    tlog = ts.stop()
    log = w.stop()
    check("the timer service said that it runs", (0 if "timer service running: brokers " in tlog else 1, tlog[:300], "", 0),
          0)
    if FAILED:
        print("worker log:\n%s\ntimer service log:\n%s" % (log[-2000:], tlog[-2000:]))
    subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)


# what a terminal must never receive from a value: C0 (but the newlines the
# CLI writes itself), DEL, C1, bidi and line-breaking controls
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
HOSTILE_RESULT = "\x1b[31mred\rover\x07\u202eevil\x9bx\x7f"  # as tests/cli/cli_client.c
HOSTILE_ERROR = "bad\x1b]0;title\x07\r\n\u2066isolate\u061c"


def run_rss(argv, timeout=120):
    """Run the CLI under /usr/bin/time (Debian's "time"): (rc, stdout, stderr,
    seconds, max RSS in KB).  Not wait4's rusage: Linux keeps the high-water
    RSS across exec, so a child forked from this Python would inherit its size."""
    env = dict(os.environ)
    # an AddressSanitizer build keeps freed memory in a quarantine (256 MB by
    # default): measure what the program holds, not what ASan keeps
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
    with tempfile.NamedTemporaryFile("r") as t:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%M", ARGS.cli] + argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        secs = time.monotonic() - t0
        lines = t.read().split()
        return p.returncode, p.stdout.decode(), p.stderr.decode(), secs, int(lines[-1]) if lines else 10 ** 9


def no_controls(name, text):
    """check that text carries no raw control or bidi character"""
    bad = sorted(set("U+%04X" % ord(c) for c in FORBIDDEN.findall(text)))
    check(name, (0 if not bad else 1, text, "raw: " + ", ".join(bad), 0), 0)


def wait_status(b, eid, status, secs=20):
    """describe until the execution has status (or secs pass); the last result."""
    deadline = time.monotonic() + secs
    while True:
        r = run(b + ["describe", eid])
        if re.search(r"^status +%s$" % status, r[1], re.M) or time.monotonic() > deadline:
            return r
        time.sleep(0.3)


def content():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli content: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    prefix = "dfclic-%d-%d" % (int(time.time()), os.getpid())
    b = ["--brokers", brokers, "--prefix", prefix]
    d = tempfile.mkdtemp(prefix="dfclic-")
    w = Worker(brokers, prefix, d)
    try:
        # --- hostile text a workflow recorded ---
        check("hostile: start", run(b + ["start", "hostile", "h1"]), 0, stdout_re=r"^h1 started\n$", max_s=40)
        r = wait_status(b, "h1", "FAILED")
        check("hostile: describe", r, 0,
              stdout_re=r"(?m)^error +bad\\x1B\]0;title\\x07\\x0D\\x0A\\u2066isolate\\u061C$")
        no_controls("hostile: describe shows no raw control", r[1])
        r = run(b + ["history", "h1"])
        check("hostile: history", r, 0,
              stdout_re=r"(?m)^1 +STEP +SUCCEEDED +1 +paint .* \\x1B\[31mred\\x0Dover\\x07\\u202Eevil\\u009Bx\\x7F$")
        check("hostile: history shows the step's error", r, 0,
              stdout_re=r"(?m)^2 +STEP +FAILED +1 +boom .* Hostile: bad\\x1B\]0;title\\x07\\x0D\\x0A\\u2066isolate")
        no_controls("hostile: history shows no raw control", r[1])
        r = run(b + ["--json", "history", "h1"])
        doc = json.loads(r[1]) if r[0] == 0 else {}
        ops = doc.get("operations", [])
        exact = (doc.get("error") == HOSTILE_ERROR and len(ops) == 2 and ops[0].get("result") == HOSTILE_RESULT and
                 HOSTILE_ERROR in ops[1].get("error", ""))
        check("hostile: --json history is exact", (0 if exact else 1,) + r[1:], 0)
        r = run(b + ["--json", "describe", "h1"])
        check("hostile: --json describe is exact",
              (0 if r[0] == 0 and json.loads(r[1]).get("error") == HOSTILE_ERROR else 1,) + r[1:], 0)
        r = run(b + ["list"])
        check("hostile: list", r, 0, stdout_re=r"(?m)^h1 +hostile +FAILED +2$")
        # --- a worker that dead-letters the request (DF_ERR_REJECTED) ---
        w.stop()
        w = None
        rej = subprocess.Popen([ARGS.helper, "reply", brokers, prefix, "DF_ERR_REJECTED",
                                "rejected (dead-lettered to %s.dlq): bad\x1b[1m record" % prefix],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            ready = rej.stdout.readline().decode()
            check("rejected: the stand-in worker is up", (0 if "replying" in ready else 1, ready, "", 0), 0)
            check("rejected: start says so, escaped", run(b + ["start", "echo", "r1"]), 5,
                  r"^duraflow start: rejected \(dead-lettered to %s\.dlq\): bad\\x1B\[1m record "
                  r"\(DF_ERR_REJECTED\)\n$" % re.escape(prefix), not_re=r"will still process", max_s=30)
            r = run(b + ["--json", "start", "echo", "r2"])
            check("rejected: --json start", r, 5, stdout_re=r'^\{"ok":false,"code":"DF_ERR_REJECTED","message":'
                  r'"rejected \(dead-lettered to [^"]*\): bad\\u001[bB]\[1m record"\}\n$', max_s=30)
            check("rejected: stop", run(b + ["stop", "r1"]), 5, r"^duraflow stop: rejected \(dead-lettered", max_s=30)
            check("rejected: callback", run(b + ["callback", "succeed", "0123456789abcdef0123456789abcdef_1_r1"]), 5,
                  r"^duraflow callback: rejected \(dead-lettered", max_s=30)
        finally:
            rej.terminate()
            rej.wait(30)
        # --- memory: an execution of 300 steps x 100 KB (30 MB of history) ---
        w = Worker(brokers, prefix, d)
        check("memory: start big", run(b + ["-X", "client.timeout.ms=120000", "start", "big", "big1", "--input",
                                             "300 100000"], timeout=150), 0, max_s=150)
        wait_status(b, "big1", "SUCCEEDED", 60)
        # the bound: what the CLI takes to describe a small execution (its
        # libraries, librdkafka's threads and buffers; more under ASan) plus
        # 24 MB, less than the 30 MB of history; 533bd37 took ~5x the history
        # (about 150 MB) for history --json
        base = run_rss(b + ["describe", "h1"])[4]
        limit = base + 24 * 1024  # KB
        print("       describe h1 (the base): max RSS %d KB" % base)
        # nested: a map of 150 items, each a step of 100 KB (15 MB of history,
        # under the 16 MB batch.max.bytes: one batch), walked depth first (301
        # operations) in less than the base + 12 MB, less than the history
        check("memory: start bigmap", run(b + ["-X", "client.timeout.ms=120000", "start", "bigmap", "bigmap1",
                                                "--input", "150 100000"], timeout=150), 0, max_s=150)
        check("memory: bigmap1 SUCCEEDED", wait_status(b, "bigmap1", "SUCCEEDED", 90), 0,
              stdout_re=r"(?m)^status +SUCCEEDED$")
        for argv in (["describe", "big1"], ["history", "big1"], ["--json", "history", "big1"], ["list"],
                     ["history", "bigmap1"], ["--json", "history", "bigmap1"]):
            r = run_rss(b + argv)
            bound = limit if argv[-1] != "bigmap1" else base + 12 * 1024
            ok = r[0] == 0 and r[4] < bound
            if argv[0] == "--json" and ok and argv[2] == "big1":
                doc = json.loads(r[1])
                ok = len(doc["operations"]) == 300 and all(len(o["result"]) == 100000 for o in doc["operations"])
            elif argv[0] == "--json" and ok:
                ops = json.loads(r[1])["operations"]
                steps = [o for o in ops if o["type"] == "STEP"]
                ok = (len(ops) == 301 and ops[0]["type"] == "MAP" and ops[0]["child_count"] == 150 and
                      [o["op_id"] for o in ops[1:5]] == ["1.1", "1.1.1", "1.2", "1.2.1"] and len(steps) == 150 and
                      all(len(o["result"]) == 100000 for o in steps))
            print("       %s: max RSS %d KB, %.1f s, %d bytes out" % (" ".join(argv), r[4], r[3], len(r[1])))
            check("memory: %s under the base + %d MB (%d MB)" % (" ".join(argv), (bound - base) // 1024, bound // 1024),
                  (0 if ok else 1,) + r[1:4],
                  0)
    finally:
        if w:
            log = w.stop()
            if FAILED:
                print("worker log:\n%s" % log[-2000:])
        subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
    return True


def schedule():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli schedule: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    prefix = "dfclis-%d-%d" % (int(time.time()), os.getpid())
    b = ["--brokers", brokers, "--prefix", prefix]
    none = r'no duraflow topics with prefix "%s"' % prefix
    # --- argument errors: exit 2 before anything connects (and no topics made) ---
    check("schedule --help", run(["schedule", "--help"]), 0, stdout_re=r"^usage: duraflow schedule create <name> "
          r"--cron EXPR \[--timezone Area/City\] --workflow W\n")
    for name, argv, err in [
        ("bad minute", ["schedule", "create", "s", "--cron", "61 * * * *", "--workflow", "echo"],
         r'^duraflow schedule create: cron expression "61 \* \* \* \*": minute \(field 1\) at position 1: 61 is out '
         r'of range 0-59 \(DF_ERR_INVALID_ARG\)\n$'),
        ("bad day name", ["schedule", "create", "s", "--cron", "0 9 * * mon-fry", "--workflow", "echo"],
         r'day-of-week \(field 5\) at position 13: unknown name "fry" \(sun\.\.sat\) \(DF_ERR_INVALID_ARG\)'),
        ("4 fields", ["schedule", "create", "s", "--cron", "* * * *", "--workflow", "echo"], r'has 4 fields: give 5'),
        ("hostile cron", ["schedule", "create", "s", "--cron", "\x1b[2J * * * *", "--workflow", "echo"],
         r'cron expression "\\x1B\[2J \* \* \* \*": control character 0x1b at position 1'),
        ("unknown zone", ["schedule", "create", "s", "--cron", "@daily", "--timezone", "Europe/Atlantis",
                          "--workflow", "echo"], r'unknown time zone "Europe/Atlantis": not in the tz database'),
        ("bad name", ["schedule", "create", "a b", "--cron", "@daily", "--workflow", "echo"],
         r'schedule name "a b" is invalid: it must be 1\.\.183 characters of A-Z a-z 0-9 \. _ : @ -'),
        ("hostile name", ["schedule", "describe", "x\u202ey"], r'schedule name "x\\u202Ey" is invalid'),
        ("no --cron", ["schedule", "create", "s", "--workflow", "echo"], r'needs --cron EXPR and --workflow W'),
        ("bad --overlap", ["schedule", "create", "s", "--cron", "@daily", "--workflow", "echo", "--overlap", "x"],
         r'--overlap "x" is not skip or allow'),
        ("--cron with pause", ["schedule", "pause", "s", "--cron", "@daily"], r'go with create only'),
        ("no verb", ["schedule"], r'needs create\|list\|describe'),
        ("unknown verb", ["schedule", "frob", "s"], r'"frob" is not create, list'),
        ("no name", ["schedule", "trigger"], r'duraflow schedule trigger: needs <name>'),
    ]:
        r = run(b + argv)
        check("schedule: " + name, r, 2, err, max_s=10)
        no_controls("schedule: %s: no raw control" % name, r[2])
    check("schedule: the argument errors created no topic", run(b + ["list"]), 3, none, max_s=10)
    d = tempfile.mkdtemp(prefix="dfclis-")
    w = Worker(brokers, prefix, d)
    ts = TimerService(b, d)
    try:
        create = b + ["schedule", "create", "s2", "--cron", "*/2 * * * * *", "--workflow", "echo", "--input", "hi"]
        check("schedule: create", run(create, timeout=60), 0, stdout_re=r"^schedule s2 created\n$", max_s=45)
        check("schedule: create again, the same", run(create), 0,
              stdout_re=r"^schedule s2 already exists \(same definition\)\n$", max_s=30)
        check("schedule: create again, another cron", run([x if x != "*/2 * * * * *" else "*/4 * * * * *" for x in create]), 4,
              r"^duraflow schedule create: a schedule of this name exists with another definition "
              r"\(DF_ERR_CONFLICT\)\n$", max_s=30)
        check("schedule: unknown workflow", run(b + ["schedule", "create", "u", "--cron", "@daily", "--workflow",
                                                     "nope"]), 3,
              r'^duraflow schedule create: no workflow "nope" is registered on the worker that owns the schedule '
              r'\(DF_ERR_UNKNOWN_WORKFLOW\)\n$', max_s=30)
        deadline = time.monotonic() + 40
        while True:
            runs = [l for l in run(b + ["list"])[1].splitlines() if re.match(r"^s2-\d{8}T\d{6}Z +echo +SUCCEEDED", l)]
            if len(runs) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(1)
        check("schedule: 3 runs every 2 s, named <name>-<UTC time>", (0 if len(runs) >= 3 else 1, "\n".join(runs),
                                                                      "", 0), 0)
        stamps = sorted(int(re.match(r"^s2-\d{8}T\d{4}(\d\d)Z", l).group(1)) for l in runs)
        check("schedule: ... at even seconds", (0 if all(x % 2 == 0 for x in stamps) else 1, str(stamps), "", 0), 0)
        check("schedule: describe", run(b + ["schedule", "describe", "s2"]), 0,
              stdout_re=r"(?sm)^name +s2\ncron +\*/2 \* \* \* \* \*\ntimezone +UTC\nworkflow +echo\ninput +hi\n"
              r"overlap +skip\nstate +active\nnext_fire +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n.*fires +\d+ runs, \d+ skipped \(overlap\), \d+ missed \(catch-up\)$")
        r = run(b + ["--json", "schedule", "describe", "s2"])
        doc = json.loads(r[1]) if r[0] == 0 else {}
        good = (doc.get("name") == "s2" and doc.get("input") == "hi" and doc.get("overlap") == "skip" and
                doc.get("paused") is False and doc.get("fires", 0) >= 3 and doc.get("next_fire_ms", 0) % 2000 == 0)
        check("schedule: --json describe", (0 if good else 1,) + r[1:], 0)
        check("schedule: list", run(b + ["schedule", "list"]), 0,
              stdout_re=r"(?m)^s2 +\*/2 \* \* \* \* \* +UTC +echo +active +\d{4}-.*Z +s2-\d{8}T\d{6}Z.*\n1 schedule\(s\)$")
        r = run(b + ["--json", "schedule", "list"])
        items = json.loads(r[1]) if r[0] == 0 else []
        check("schedule: --json list", (0 if len(items) == 1 and items[0]["name"] == "s2" and "input" not in items[0]
                                        else 1,) + r[1:], 0)
        check("schedule: executions list has no schedule", run(b + ["list"]), 0, not_re=r"schedule:")
        check("schedule: pause", run(b + ["schedule", "pause", "s2"]), 0, stdout_re=r"^schedule s2 paused\n$")
        # a trigger in the second of the last fire is that fire's run ("already
        # started", not counted): the CI run of 7c3d9de fired at :42.0 just
        # before the pause and triggered at :42.1 (fires stayed n0)
        time.sleep(1.1)
        n0 = json.loads(run(b + ["--json", "schedule", "describe", "s2"])[1])["fires"]
        r = run(b + ["--json", "schedule", "trigger", "s2"])
        doc = json.loads(r[1]) if r[0] == 0 else {}
        check("schedule: trigger a paused one", (0 if re.match(r"^s2-\d{8}T\d{6}Z$", doc.get("run_id", "")) else 1,)
              + r[1:], 0)
        time.sleep(4)
        after = json.loads(run(b + ["--json", "schedule", "describe", "s2"])[1])
        check("schedule: paused, only the trigger ran", (0 if after["fires"] == n0 + 1 and after["paused"] and
                                                         after["next_fire_ms"] == 0 else 1, json.dumps(after), "", 0), 0)
        # two triggers in one second: one run, counted once, the second says so
        # (it printed "triggered: started" twice and describe counted 6 runs for 5)
        check("schedule: create s3 (allow)", run(b + ["schedule", "create", "s3", "--cron", "0 0 1 1 *",
                                                      "--workflow", "echo", "--overlap", "allow"]), 0)
        ids, dup = set(), None
        for _ in range(6):
            time.sleep(1.05 - time.time() % 1)  # just after a second begins: a new run, then the same second
            r1 = run(b + ["--json", "schedule", "trigger", "s3"])
            r2 = run(b + ["--json", "schedule", "trigger", "s3"])
            d1 = json.loads(r1[1]) if r1[0] == 0 else {}
            d2 = json.loads(r2[1]) if r2[0] == 0 else {}
            ids.update(x for x in (d1.get("run_id"), d2.get("run_id")) if x)
            if r1[0] or r2[0] or d1.get("message") != "triggered":
                dup = (1, json.dumps([r1, r2]), "", 0)
                break
            if d1.get("run_id") == d2.get("run_id"):
                dup = (0 if d2.get("message") == "already started" and d2.get("ok") is True else 1,
                       json.dumps([d1, d2]), "", 0)
                break
        check("schedule: a second trigger in the same second", dup or (1, "never twice in one second", "", 0), 0)
        if dup and dup[0] == 0:
            rid = d2["run_id"]
            check("schedule: a second trigger in the same second (text)", run(b + ["schedule", "trigger", "s3"]), 0,
                  stdout_re=r"^schedule s3( triggered: started s3-\d{8}T\d{6}Z|: run %s was already started this "
                            r"second: not started again)\n$" % re.escape(rid))
        time.sleep(1)
        ids.update(x for x in [json.loads(run(b + ["--json", "schedule", "describe", "s3"])[1]).get("last_run_id")]
                   if x)
        after = json.loads(run(b + ["--json", "schedule", "describe", "s3"])[1])
        runs = [x for x in json.loads(run(b + ["--json", "list"])[1] or "[]")
                if x.get("execution_id", "").startswith("s3-")]
        check("schedule: runs counted are the runs started", (0 if after["fires"] == len(ids) == len(runs) else 1,
              "fires %s, run ids %s, executions %s" % (after["fires"], sorted(ids), len(runs)), "", 0), 0)
        check("schedule: delete s3", run(b + ["schedule", "delete", "s3"]), 0)
        check("schedule: resume", run(b + ["schedule", "resume", "s2"]), 0, stdout_re=r"^schedule s2 resumed\n$")
        check("schedule: delete", run(b + ["schedule", "delete", "s2"]), 0, stdout_re=r"^schedule s2 deleted\n$")
        check("schedule: describe a deleted one", run(b + ["schedule", "describe", "s2"]), 3,
              r'^duraflow schedule describe: no schedule named "s2" \(DF_ERR_NOT_FOUND\)\n$')
        check("schedule: delete again", run(b + ["schedule", "delete", "s2"]), 3,
              r'^duraflow schedule delete: no such schedule \(DF_ERR_NOT_FOUND\)\n$')
        check("schedule: trigger unknown --json", run(b + ["--json", "schedule", "trigger", "nope"]), 3,
              stdout_re=r'^\{"ok":false,"code":"DF_ERR_NOT_FOUND","message":"no such schedule"\}\n$')
        check("schedule: an execution id of a schedule's key", run(b + ["describe", "schedule:s2"]), 2,
              r'ids starting with "schedule:" are the keys of schedules')
    finally:
        teardown(brokers, prefix, w, ts)
    return True


def op_rows(text):
    """(indent, op id, type, name) of each operation row of `history` text"""
    return [(len(m.group(1)), m.group(2), m.group(3), m.group(4))
            for m in re.finditer(r"(?m)^( *)(\d[\d.]*) +([A-Z_]+) +[A-Z_]+ +\d+ +(\S+) ", text)]


def model():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli model: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    prefix = "dfclim-%d-%d" % (int(time.time()), os.getpid())
    b = ["--brokers", brokers, "--prefix", prefix]
    d = tempfile.mkdtemp(prefix="dfclim-")
    ts_log = open(os.path.join(d, "timer-service.log"), "w+")
    ts = subprocess.Popen([ARGS.cli] + b + ["-X", "state.dir=" + os.path.join(d, "ts"), "-X", "worker.id=ts1",
                                            "timer-service"], stdout=ts_log, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
    w = Worker(brokers, prefix, d)
    try:
        # --- nested operations, depth first, indented by depth ---
        check("nested: start", run(b + ["start", "nested", "m1"]), 0, stdout_re=r"^m1 started\n$", max_s=40)
        r = wait_status(b, "m1", "SUCCEEDED", 60)
        check("nested: describe shows the version", r, 0, stdout_re=r"(?m)^status +SUCCEEDED\noutput +nested done\n"
              r"version +1\n\Z", not_re=r"parent")
        r = run(b + ["history", "m1"])
        want = [(0, "1", "CHILD", "prep"), (2, "1.1", "STEP", "a"), (2, "1.2", "STEP", "b"),
                (0, "2", "MAP", "items"), (2, "2.1", "CHILD", "items-0"), (4, "2.1.1", "STEP", "item"),
                (2, "2.2", "CHILD", "items-1"), (4, "2.2.1", "STEP", "item"), (2, "2.3", "CHILD", "items-2"),
                (4, "2.3.1", "STEP", "item"), (0, "3", "PARALLEL", "both"), (2, "3.1", "CHILD", "left"),
                (4, "3.1.1", "STEP", "l"), (2, "3.2", "CHILD", "right"), (4, "3.2.1", "STEP", "r"),
                (0, "4", "CONDITION", "poll"), (0, "5", "INVOKE", "kid")]
        got = op_rows(r[1])
        check("nested: history, depth first, indented 2 a level (%d operations)" % len(got),
              (0 if got == want else 1, r[1], "got %r" % (got,), 0), 0)
        check("nested: history names the invoked child under its operation", r, 0,
              stdout_re=r"(?m)^5 +INVOKE +SUCCEEDED +0 +kid .* hello kid\n {5}child execution m1-kid$")
        check("nested: the condition's checks and state", r, 0, stdout_re=r"(?m)^4 +CONDITION +SUCCEEDED +2 +poll .* xx$")
        no_controls("nested: history shows no raw control", r[1])
        r = run(b + ["--json", "history", "m1"])
        doc = json.loads(r[1]) if r[0] == 0 else {}
        ops = doc.get("operations", [])
        ids = [o["op_id"] for o in ops]
        shape = ([o.get("parent_id") for o in ops] ==
                 [None, "1", "1", None, "2", "2.1", "2", "2.2", "2", "2.3", None, "3", "3.1", "3", "3.2", None, None] and
                 [o.get("child_count") for o in ops] ==
                 [2, None, None, 3, 1, None, 1, None, 1, None, 2, 1, None, 1, None, None, None] and
                 [o.get("child_execution_id") for o in ops][-1] == "m1-kid" and
                 sum("child_execution_id" in o for o in ops) == 1)
        check("nested: --json history: %s; parent_id, child_count, child_execution_id" % " ".join(ids),
              (0 if ids == [x[1] for x in want] and shape and doc.get("version") == 1 and
               "parent_execution_id" not in doc else 1,) + r[1:], 0)
        # --- the child names its parent ---
        r = wait_status(b, "m1-kid", "SUCCEEDED")
        check("invoke: the child's describe names its parent", r, 0,
              stdout_re=r"(?m)^workflow +echo\nstatus +SUCCEEDED\ninput +hello kid\noutput +hello kid\nversion +1\n"
                        r"parent +m1 \(operation 5\)$")
        r = run(b + ["--json", "describe", "m1-kid"])
        doc = json.loads(r[1]) if r[0] == 0 else {}
        check("invoke: --json describe of the child: parent_execution_id, parent_op_id",
              (0 if doc.get("parent_execution_id") == "m1" and doc.get("parent_op_id") == "5" else 1,) + r[1:], 0)
        # --- versions ---
        check("ver: start", run(b + ["start", "ver", "vv1"]), 0, max_s=40)
        r = wait_status(b, "vv1", "SUSPENDED")
        check("ver: a new execution runs the newest version, 2", r, 0, stdout_re=r"(?m)^status +SUSPENDED\nversion +2$")
        r = run(b + ["--json", "history", "vv1"])
        cbs = [o.get("callback_id") for o in json.loads(r[1]).get("operations", []) if o.get("callback_id")] \
            if r[0] == 0 else []
        check("ver: its callback id", (0 if cbs else 1,) + r[1:], 0)
        w.stop()
        w = Worker(brokers, prefix, d, "1")  # a deployment without version 2
        if cbs:
            check("ver: callback succeed on a worker without version 2",
                  run(b + ["callback", "succeed", cbs[0], "--payload", "go"], timeout=60), 0,
                  stdout_re=r"^callback accepted\n$", max_s=45)
        r = wait_status(b, "vv1", "VERSION_MISSING", 30)
        check("ver: parked VERSION_MISSING, saying why", r, 0,
              stdout_re=r'(?m)^status +VERSION_MISSING\nerror +version 2 of workflow "ver" is not registered on this '
                        r'worker \(it has 1\); parked until a worker that has it processes the execution\nversion +2$')
        check("ver: list --status VERSION_MISSING", run(b + ["list", "--status", "VERSION_MISSING"]), 0,
              stdout_re=r"(?m)^vv1 +ver +VERSION_MISSING +2\n1 execution\(s\)$")
        check("ver: list --version 2", run(b + ["list", "--version", "2"]), 0,
              stdout_re=r"(?m)\Aexecution +workflow +status +ops\nvv1 +ver +VERSION_MISSING +2\n1 execution\(s\)\n\Z")
        r = run(b + ["--json", "list", "--version", "1"])
        got = sorted((e["execution_id"], e["version"]) for e in json.loads(r[1])) if r[0] == 0 else []
        check("ver: --json list --version 1: m1, m1-kid", (0 if got == [("m1", 1), ("m1-kid", 1)] else 1,) + r[1:], 0)
        w.stop()
        w = Worker(brokers, prefix, d)  # version 2 is back: it goes on by itself (its retry timer)
        r = wait_status(b, "vv1", "SUCCEEDED", 60)
        check("ver: goes on by itself on a worker with version 2, on version 2's code", r, 0,
              stdout_re=r"(?m)^status +SUCCEEDED\noutput +ver 2\nversion +2$")
        check("ver: its history", run(b + ["history", "vv1"]), 0, stdout_re=r"(?m)^3 +STEP +SUCCEEDED +1 +done-v2 ")
    finally:
        log = w.stop() if w else ""
        ts.terminate()
        try:
            ts.wait(30)
        except subprocess.TimeoutExpired:
            ts.kill()
            ts.wait()
        if FAILED:
            print("worker log:\n%s" % log[-3000:])
            ts_log.seek(0)
            print("timer service log:\n%s" % ts_log.read()[-1500:])
        subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
    return True


def wait_json(b, eid, status, secs=20):
    """describe --json until the execution has status (or secs pass); the last document ({} if none)."""
    deadline = time.monotonic() + secs
    while True:
        r = run(b + ["--json", "describe", eid])
        x = json.loads(r[1]) if r[0] == 0 and r[1].strip() else {}
        if x.get("status") == status or time.monotonic() > deadline:
            return x
        time.sleep(0.3)


def steer():
    """pause / resume / restart / purge and the bulk forms, on a real broker"""
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli steer: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    prefix = "dfclir-%d-%d" % (int(time.time()), os.getpid())
    b = ["--brokers", brokers, "--prefix", prefix]
    # --- argument errors: exit 2 before anything connects ---
    for name, argv, err in [
        ("restart --from-op on pause", ["pause", "x", "--from-op", "2"], r"--from-op goes with restart only"),
        ("resume --reason", ["resume", "x", "--reason", "r"], r"--reason goes with stop, pause and restart"),
        ("purge --all", ["purge", "--all"], r"one execution at a time"),
        ("filters without --all", ["pause", "--workflow", "w"], r"go with --all"),
        ("bad time", ["pause", "--all", "--started-before", "yesterday"], r'--started-before "yesterday" is not a time'),
        ("a time before 1970", ["restart", "--all", "--started-before", "1969-12-31T23:59:59Z", "--dry-run"],
         r'--started-before "1969-12-31T23:59:59Z" is not a time'),
        ("no such date", ["pause", "--all", "--started-after", "2026-02-30T00:00:00Z"], r"is not a time"),
        ("no Z", ["pause", "--all", "--started-after", "2026-12-01T00:00:00"], r"is not a time"),
        ("leading space", ["pause", "--all", "--started-after", " 1796174619173"], r"is not a time"),
        ("time twice", ["pause", "--all", "--started-after", "1", "--started-after", "2"], r"given twice"),
        ("status twice", ["pause", "--all", "--status", "FAILED", "--status", "SUCCEEDED", "--dry-run"],
         r"--status given twice"),
        ("bulk --from-op malformed", ["restart", "--all", "--from-op", "abc", "--dry-run"],
         r'--from-op "abc" is not an operation id'),
        ("--from-op 0", ["restart", "x", "--from-op", "0"], r'--from-op "0" is not an operation id'),
        ("bad status", ["resume", "--all", "--status", "\x1b[2J"], r'--status "\\x1B\[2J" is not a status'),
        ("no id", ["restart"], r"needs <execution-id>"),
        ("hostile id", ["pause", "a\u202eb"], r"execution id"),
    ]:
        r = run(b + argv)
        check("steer: " + name, r, 2, err, max_s=10)
        no_controls("steer: %s: no raw control" % name, r[2])
    d = tempfile.mkdtemp(prefix="dfclir-")
    calls = os.path.join(d, "calls.log")
    broken = os.path.join(d, "broken")
    open(broken, "w").close()
    sk = socket.socket()
    sk.bind(("127.0.0.1", 0))
    mport = sk.getsockname()[1]
    sk.close()
    w = Worker(brokers, prefix, d, retention_ms=20000,  # a finished execution goes 20 s after its end
               metrics="127.0.0.1:%d" % mport)
    ts = TimerService(b, d)
    try:
        check("steer: start", run(b + ["start", "steer", "o1"], timeout=60), 0, stdout_re=r"^o1 started")
        x = wait_json(b, "o1", "FAILED", 30)
        check("steer: dispatch failed", (0 if x.get("status") == "FAILED" and "WarehouseDown" in x.get("error", "")
                                         else 1, json.dumps(x), "", 0), 0)
        check("steer: pause a finished one", run(b + ["pause", "o1"]), 5,
              r"^duraflow pause: execution already finished \(DF_ERR_FINISHED\)\n$")
        check("steer: restart into a child", run(b + ["restart", "o1", "--from-op", "3.1"]), 2,
              r"operation 3\.1 is inside a child context, branch or map item: restart from its top-level operation 3")
        check("steer: restart beyond", run(b + ["restart", "o1", "--from-op", "7"]), 2,
              r"operation 7 does not exist: the execution has operations 1\.\.3")
        os.unlink(broken)  # the fix
        check("steer: restart", run(b + ["restart", "o1", "--reason", "warehouse back"]), 0,
              stdout_re=r"^restarted\n$")
        check("steer: restart a running one", run(b + ["restart", "o1"]), 5,
              r"only a FAILED, STOPPED or TIMED_OUT execution can be restarted; this one is (RUNNING|SUSPENDED) "
              r"\(stop it first\) \(DF_ERR_STATE\)")
        check("steer: resume one that is not paused", run(b + ["resume", "o1"]), 5,
              r"execution o1 is (RUNNING|SUSPENDED): nothing to resume \(resume goes with PAUSED, NONDETERMINISM, "
              r"QUARANTINED and VERSION_MISSING\) \(DF_ERR_STATE\)")
        check("steer: pause while it waits", run(b + ["pause", "o1", "--reason", "hold"]), 0, stdout_re=r"^paused\n$")
        time.sleep(6)  # the 5 s wait falls due while paused
        r = run(b + ["--json", "describe", "o1"])
        x = json.loads(r[1]) if r[0] == 0 else {}
        check("steer: still PAUSED after its wait fell due", (0 if x.get("status") == "PAUSED" and
                                                              x.get("error") == "paused: hold" and x.get("run") == 1
                                                              else 1, r[1], r[2], 0), 0)
        check("steer: describe shows the restart", run(b + ["describe", "o1"]), 0,
              stdout_re=r"(?m)^status +PAUSED\n(.*\n)*run +1\nrestarted +run 1 at \d{4}-\d\d-\d\dT[\d:.]+Z: restarted "
                        r"from operation 3; 1 operation\(s\) discarded \(3 dispatch\); it was FAILED: WarehouseDown: "
                        r"warehouse simulator failure injected; reason: warehouse back\n")
        check("steer: resume", run(b + ["resume", "o1"]), 0, stdout_re=r"^resumed\n$")
        x = wait_json(b, "o1", "SUCCEEDED", 20)
        check("steer: succeeded after the restart", (0 if x.get("status") == "SUCCEEDED" else 1, json.dumps(x), "", 0), 0)
        lines = open(calls).read().split("\n")
        count = lambda step: sum(1 for l in lines if l.startswith(step + " "))
        check("steer: receive and reserve ran once, dispatch 2 + 1 times, notify once",
              (0 if (count("receive"), count("reserve"), count("dispatch"), count("notify")) == (1, 1, 3, 1) else 1,
               repr(lines), "", 0), 0)
        # the engine's metric families, as the worker serves them
        page = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10).read().decode()
        want = ['duraflow_executions_started_total{workflow="steer"} 1',
                'duraflow_executions_finished_total{workflow="steer",status="FAILED"} 1',
                'duraflow_executions_finished_total{workflow="steer",status="SUCCEEDED"} 1',
                'duraflow_step_retries_total{workflow="steer"} 1',
                'duraflow_step_duration_seconds_count{workflow="steer",outcome="failed"} 2',
                'duraflow_step_duration_seconds_count{workflow="steer",outcome="succeeded"} 4']
        missing = [l for l in want if l not in page.split("\n")]
        check("steer: the worker's /metrics counts the executions and steps", (1 if missing else 0, "\n".join(
            l for l in page.split("\n") if "steer" in l), "missing: %r" % missing, 0), 0)
        check("steer: suspensions counted by kind", (0 if re.search(
            r'(?m)^duraflow_executions_suspended_total\{workflow="steer",kind="wait"\} [1-9]', page) else 1, "", "", 0), 0)
        r = run(b + ["history", "o1"])
        check("steer: history keeps 1-2 and shows the re-run 3-5", r, 0,
              stdout_re=r"(?m)^1 +STEP +SUCCEEDED +1 +receive .*\n2 +STEP +SUCCEEDED +1 +reserve .*\n"
                        r"3 +STEP +SUCCEEDED +1 +dispatch .*\n4 +WAIT +SUCCEEDED .*cool-off")
        # resume after a code fix: the code changed under a suspended execution
        v2 = os.path.join(d, "v2")
        check("steer: start nondet", run(b + ["start", "nondet", "n1"], timeout=60), 0, stdout_re=r"^n1 started")
        wait_json(b, "n1", "SUSPENDED", 20)
        open(v2, "w").close()  # the "deploy" that renamed its first step
        x = wait_json(b, "n1", "NONDETERMINISM", 30)
        check("steer: NONDETERMINISM after the changed code replayed", (0 if x.get("status") == "NONDETERMINISM"
                                                                        else 1, json.dumps(x), "", 0), 0)
        check("steer: resume with the code still changed", run(b + ["resume", "n1"]), 0, stdout_re=r"^resumed\n$")
        x = wait_json(b, "n1", "NONDETERMINISM", 10)
        check("steer: still NONDETERMINISM", (0 if x.get("status") == "NONDETERMINISM" else 1, json.dumps(x), "", 0), 0)
        os.unlink(v2)  # the fix
        check("steer: resume after the fix", run(b + ["resume", "n1"]), 0, stdout_re=r"^resumed\n$")
        x = wait_json(b, "n1", "SUCCEEDED", 20)
        check("steer: the fixed code goes on", (0 if x.get("status") == "SUCCEEDED" else 1, json.dumps(x), "", 0), 0)
        # bulk: three callback waiters
        for i in range(3):
            run(b + ["start", "cb", "b%d" % i], timeout=60)
        for i in range(3):
            wait_status(b, "b%d" % i, "SUSPENDED", 20)
        check("steer: bulk dry run", run(b + ["pause", "--all", "--workflow", "cb", "--dry-run"]), 0,
              stdout_re=r"^3 executions would be paused:\n  b0\n  b1\n  b2\n$")
        r = run(b + ["list", "--status", "PAUSED"])
        check("steer: the dry run paused nothing", (0 if "PAUSED" not in r[1] else 1,) + r[1:], 0)
        check("steer: bulk pause", run(b + ["pause", "--all", "--workflow", "cb", "--status", "SUSPENDED"]), 0,
              stdout_re=r"^paused 3 of 3 matching executions \(0 refused\)\n$")
        check("steer: list PAUSED", run(b + ["list", "--status", "PAUSED"]), 0, stdout_re=r"3 execution\(s\)")
        check("steer: bulk resume counts only what it can resume", run(b + ["resume", "--all", "--dry-run"]), 0,
              stdout_re=r"^3 executions would be resumed:\n  b0\n  b1\n  b2\n$")
        check("steer: bulk resume --json", run(b + ["--json", "resume", "--all", "--status", "PAUSED"]), 0,
              stdout_re=r'^\{"dry_run":false,"matched":3,"execution_ids":\["b0","b1","b2"\],"done":3,"failed":\[\]\}\n$')
        check("steer: bulk stop, started after a time", run(b + ["stop", "--all", "--workflow", "cb",
                                                               "--started-after", "2020-01-01T00:00:00Z"]), 0,
              stdout_re=r"^stopped 3 of 3 matching executions")
        check("steer: none matches", run(b + ["pause", "--all", "--workflow", "nope"]), 3,
              r"no execution matches the filters")
        # no dangling colon when nothing is listed (it printed "0 executions would be paused:")
        check("steer: a dry run that matches none", run(b + ["pause", "--all", "--workflow", "nope", "--dry-run"]), 3,
              r"no execution matches the filters", stdout_re=r"^0 executions would be paused\n$")
        # one form for a missing execution: restart said "no such execution", resume and describe named it
        for verb in ("restart", "resume", "pause", "stop", "purge"):
            check("steer: %s of a missing id names it" % verb, run(b + [verb, "nosuch-1"]), 3,
                  r'^duraflow %s: no execution named "nosuch-1" \(DF_ERR_NOT_FOUND\)\n$' % verb, max_s=30)
        # an unknown workflow is named: it said "no workflow registered under that name"
        check("steer: start of an unknown workflow names it", run(b + ["start", "nosuchwf", "u1"]), 3,
              r'^duraflow start: no workflow "nosuchwf" is registered on the worker that owns the '
              r'execution \(DF_ERR_UNKNOWN_WORKFLOW\)\n$', max_s=30)
        # regression: a dry run counted executions the action does not apply to
        # ("3 executions would be stopped" when all 3 were STOPPED already)
        check("steer: a bulk dry run counts only what the action applies to",
              run(b + ["stop", "--all", "--workflow", "cb", "--dry-run"]), 3, r"no execution matches the filters")
        check("steer: restart --all --dry-run lists the stopped ones",
              run(b + ["restart", "--all", "--workflow", "cb", "--dry-run"]), 0,
              stdout_re=r"^3 executions would be restarted:\n  b0\n  b1\n  b2\n$")
        check("steer: purge a stopped one", run(b + ["purge", "b0"]), 0,
              stdout_re=r"^purged\n$")
        check("steer: purged is gone", run(b + ["describe", "b0"]), 3, r'no execution named "b0"')
        check("steer: purged id starts again as new", run(b + ["start", "cb", "b0"], timeout=60), 0,
              stdout_re=r"^b0 started")
        wait_status(b, "b0", "SUSPENDED", 20)
        check("steer: purge a suspended one", run(b + ["purge", "b0"]), 5,
              r"only a finished execution can be purged; this one is SUSPENDED \(stop it first\) \(DF_ERR_STATE\)")
        # retention.ms (20 s): o1 ended about 20 s ago; it goes by itself, b1 (stopped later) after it
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and run(b + ["describe", "o1"])[0] != 3:
            time.sleep(0.5)
        check("steer: o1 purged by retention.ms", run(b + ["describe", "o1"]), 3, r'no execution named "o1"')
        check("steer: n1 not yet (it ended later)", run(b + ["describe", "n1"]), 0)
        check("steer: o1's id starts again as new after retention", run(b + ["start", "cb", "o1"], timeout=60), 0,
              stdout_re=r"^o1 started")
    finally:
        teardown(brokers, prefix, w, ts)
    return True


def partitions():
    brokers = os.environ.get("DF_BROKERS", "")
    if not brokers:
        print("test_cli partitions: DF_BROKERS is not set: start a broker (scripts/kafka.sh start)", file=sys.stderr)
        return False
    stamp = "%d-%d" % (int(time.time()), os.getpid())
    for n in (1, 2, 12):
        prefix = "dfclip%d-%s" % (n, stamp)
        b = ["--brokers", brokers, "--prefix", prefix]  # no -X partitions: the default, 6
        subprocess.run([ARGS.helper, "create-topics", brokers, prefix, str(n)], check=True, timeout=60)
        with tempfile.TemporaryDirectory() as d:
            w = Worker(brokers, prefix, d)
            try:
                # execution ids on every partition (12 of them when there are 12)
                ids, seen = [], set()
                i = 0
                while len(seen) < n or len(ids) < 3:
                    eid = "p%d-e%d" % (n, i)
                    i += 1
                    if partition_of(eid, n) not in seen or len(ids) < 3:
                        seen.add(partition_of(eid, n))
                        ids.append(eid)
                for eid in ids:
                    check("%d partitions: start %s (partition %d)" % (n, eid, partition_of(eid, n)),
                          run(b + ["start", "echo", eid, "--input", "in-" + eid]), 0, stdout_re=r"^%s started\n$" % eid)
                for eid in ids:
                    check("%d partitions: describe %s" % (n, eid), wait_status(b, eid, "SUCCEEDED"), 0,
                          stdout_re=r"(?m)^execution_id +%s\nworkflow +echo\nstatus +SUCCEEDED\ninput +in-%s\n"
                                    r"output +in-%s$" % (eid, eid, eid))
                    check("%d partitions: history %s" % (n, eid), run(b + ["history", eid]), 0,
                          stdout_re=r"(?m)^1 +STEP +SUCCEEDED +1 +echo .* in-%s$" % eid)
                r = run(b + ["list"])
                check("%d partitions: list shows all %d" % (n, len(ids)), r, 0,
                      stdout_re=r"(?m)^%d execution\(s\)$" % len(ids))
                check("%d partitions: list names each" % n, r, 0,
                      stdout_re="(?m)" + "".join(r"(?=[\s\S]*^%s +echo +SUCCEEDED +1$)" % re.escape(e) for e in ids))
                r = run(b + ["--json", "list"])
                got = sorted(e["execution_id"] for e in json.loads(r[1])) if r[0] == 0 else []
                check("%d partitions: --json list has every id" % n, (0 if got == sorted(ids) else 1,) + r[1:], 0)
                # a callback and a stop on the last partition
                cb_id, stop_id = None, None
                for j in range(200):
                    eid = "p%d-x%d" % (n, j)
                    if partition_of(eid, n) == n - 1:
                        if cb_id is None:
                            cb_id = eid
                        elif stop_id is None:
                            stop_id = eid
                            break
                for eid in (cb_id, stop_id):
                    check("%d partitions: start cb %s" % (n, eid), run(b + ["start", "cb", eid]), 0)
                    wait_status(b, eid, "SUSPENDED")
                r = run(b + ["--json", "history", cb_id])
                ops = json.loads(r[1]).get("operations", []) if r[0] == 0 else []
                cbs = [o.get("callback_id") for o in ops if o.get("callback_id")]
                check("%d partitions: history --json shows the callback id" % n, (0 if cbs else 1,) + r[1:], 0)
                if cbs:
                    check("%d partitions: callback succeed" % n,
                          run(b + ["callback", "succeed", cbs[0], "--payload", "paid"]), 0,
                          stdout_re=r"^callback accepted\n$")
                    check("%d partitions: the callback's execution succeeded" % n,
                          wait_status(b, cb_id, "SUCCEEDED"), 0, stdout_re=r"(?m)^output +paid$")
                check("%d partitions: stop" % n, run(b + ["stop", stop_id, "--reason", "enough"]), 0,
                      stdout_re=r"^stopped\n$")
                check("%d partitions: stopped" % n, wait_status(b, stop_id, "STOPPED"), 0,
                      stdout_re=r"(?m)^error +enough$")
            finally:
                log = w.stop()
                if FAILED:
                    print("worker log (%d partitions):\n%s" % (n, log[-2000:]))
                subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
    # .events and .state must have the same count: a clear error, not a wrong partition
    prefix = "dfclipm-%s" % stamp
    subprocess.run([ARGS.helper, "create-topics", brokers, prefix, "2", "3"], check=True, timeout=60)
    try:
        b = ["--brokers", brokers, "--prefix", prefix]
        mismatch = (r"%s\.events has 2 partitions and %s\.state 3: they must have the same count" %
                    (re.escape(prefix), re.escape(prefix)))
        check("events 2, state 3: start", run(b + ["start", "echo", "m1"]), 2, r"^duraflow start: " + mismatch,
              max_s=30)
        check("events 2, state 3: describe", run(b + ["describe", "m1"]), 2, r"^duraflow describe: " + mismatch,
              max_s=30)
        check("events 2, state 3: list", run(b + ["list"]), 2, r"^duraflow list: " + mismatch, max_s=30)
    finally:
        subprocess.run([ARGS.helper, "delete-topics", brokers, prefix], timeout=60)
    return True


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True, help="the duraflow CLI")
    ap.add_argument("--helper", required=True, help="tests/cli/cli_client (deletes the test's topics)")
    ap.add_argument("suite", choices=["offline", "broker", "content", "partitions", "schedule", "model",
                                           "steer"])
    ARGS = ap.parse_args()
    ok = {"offline": offline, "broker": broker, "content": content, "partitions": partitions,
          "schedule": schedule, "model": model, "steer": steer}[ARGS.suite]()
    print("cli %s: %d passed, %d failed" % (ARGS.suite, PASSED, FAILED))
    sys.exit(0 if ok is not False and FAILED == 0 and PASSED > 0 else 1)


if __name__ == "__main__":
    main()
