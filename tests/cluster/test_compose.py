#!/usr/bin/env python3
"""Structure of docker/docker-compose.yml and docker/Dockerfile.

There is no Docker engine where the tests run, so the compose cluster is not
started here: this test parses both files with real parsers (PyYAML for the
compose file; a Dockerfile reader that follows the Dockerfile grammar's line
continuations and comments) and checks that they fit together:

  - the services of the cluster exist, each with an image or a build;
  - the broker is KRaft, has a healthcheck, and its in-network listener is
    what every program gets as DF_BROKERS / --brokers;
  - depends_on uses conditions, on services that can satisfy them;
  - orders-worker can be scaled (no container_name, hostname, host port or
    fixed worker id);
  - the topics service creates the five topics with the right cleanup policy;
  - every program a service runs is built by the Dockerfile's build stage and
    COPY'd into its runtime stage, and the build targets exist in CMake;
  - the runtime stage is slim, non-root, installs no -dev package, no secret;
  - observability: Prometheus scrapes every worker replica and the timer
    service on the port their metrics.listen names, the programs export
    spans to the Jaeger service's OTLP/HTTP receiver, Grafana is provisioned
    with both and with docker/grafana/dashboards/duraflow.json, whose queries
    name only metric families of framework/src/metrics.h and cover all of
    them; no duraflow program waits for any of these services.

Usage: test_compose.py [REPO_ROOT]      (default: two levels above this file)
"""

import json
import os
import re
import shlex
import sys
import unittest

import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE_PATH = os.path.join(ROOT, "docker", "docker-compose.yml")
DOCKERFILE_PATH = os.path.join(ROOT, "docker", "Dockerfile")

REQUIRED_SERVICES = ["kafka", "topics", "timer-service", "orders-sim", "orders-worker",
                     "console", "orders-load"]
DURAFLOW_SERVICES = ["timer-service", "orders-sim", "orders-worker", "console", "orders-load"]
# services of their own images (not the duraflow image), watching the programs
OBSERVABILITY_SERVICES = ["prometheus", "jaeger", "grafana"]
# the long-running programs that serve /metrics and export spans
METRICS_SERVICES = ["timer-service", "orders-worker"]
METRICS_H = os.path.join(ROOT, "framework", "src", "metrics.h")
PROGRAMS = ["duraflow", "orders-worker", "orders-sim", "orders-load", "orders-report"]
TOPICS = {"events": "delete", "state": "compact", "timers": "compact",
          "results": "delete", "dlq": "delete"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RUNTIME_PACKAGES = ["librdkafka1", "libavro23", "librocksdb7.8", "libjansson4", "libcurl4",
                    "libmicrohttpd12"]
BUILD_PACKAGES = ["librdkafka-dev", "libavro-dev", "librocksdb-dev", "libjansson-dev",
                  "libcurl4-openssl-dev", "libmicrohttpd-dev", "check", "libsubunit-dev",
                  "cmake", "ninja-build", "build-essential", "pkg-config"]


# --------------------------------------------------------------------------
# compose helpers
# --------------------------------------------------------------------------
def interpolate(value):
    """Compose variable interpolation with every variable unset: ${V:-d} and
    ${V-d} give d, ${V} and $V give "", $$ gives $."""
    if not isinstance(value, str):
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "$" and value.startswith("$$", i):
            out.append("$")
            i += 2
        elif c == "$" and value.startswith("${", i):
            end = value.index("}", i)
            expr = value[i + 2:end]
            m = re.match(r"^[A-Za-z_][A-Za-z0-9_]*(?::?-(.*))?$", expr, re.S)
            if not m:
                raise ValueError(f"unsupported interpolation ${{{expr}}}")
            out.append(m.group(1) or "")
            i = end + 1
        elif c == "$" and re.match(r"\$[A-Za-z_]", value[i:i + 2]):
            m = re.match(r"\$[A-Za-z_][A-Za-z0-9_]*", value[i:])
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def as_list(cmd):
    """A compose command/entrypoint as a list of (interpolated) arguments."""
    if cmd is None:
        return []
    if isinstance(cmd, str):
        return shlex.split(interpolate(cmd))
    return [interpolate(str(a)) for a in cmd]


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: interpolate(v) if isinstance(v, str) else v for k, v in env.items()}


def depends_of(svc):
    dep = svc.get("depends_on") or {}
    if isinstance(dep, list):  # short form: no conditions
        return {d: None for d in dep}
    return {d: (spec or {}).get("condition") for d, spec in dep.items()}


def option(args, name):
    """Value of `--name V` or `--name=V` in args; None if absent."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def x_settings(args):
    """The -X name=value settings of a duraflow command line."""
    out = {}
    for i, a in enumerate(args):
        if a in ("-X", "--set") and i + 1 < len(args) and "=" in args[i + 1]:
            k, v = args[i + 1].split("=", 1)
            out[k] = v
    return out


# --------------------------------------------------------------------------
# Dockerfile reader
# --------------------------------------------------------------------------
class Stage:
    def __init__(self, base, name):
        self.base, self.name, self.instructions = base, name, []

    def run_text(self):
        return "\n".join(a for k, a in self.instructions if k == "RUN")


def read_dockerfile(path):
    """(global ARG defaults, [Stage]) following the Dockerfile grammar:
    parser directives and comments, backslash continuations (comment lines
    inside a continued instruction are dropped), instructions case-insensitive."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    instructions, cur = [], None
    for line in lines:
        stripped = line.strip()
        if cur is None:
            if not stripped or stripped.startswith("#"):
                continue
            cur = ""
        elif stripped.startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        kw, _, rest = cur.strip().partition(" ")
        instructions.append((kw.upper(), rest.strip()))
        cur = None
    if cur is not None:
        raise AssertionError("Dockerfile ends inside a continued instruction")

    args, stages = {}, []
    for kw, rest in instructions:
        if kw == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        elif kw == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), ""),
                          words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        else:
            if not stages:
                raise AssertionError(f"{kw} before the first FROM")
            stages[-1].instructions.append((kw, rest))
    return args, stages


def copy_parts(rest):
    """COPY arguments: ({flag: value}, [sources], dest)."""
    words = shlex.split(rest)
    flags = {}
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    if words and words[0].startswith("["):  # JSON form
        import json
        words = json.loads(rest[rest.index("["):])
    return flags, words[:-1], words[-1]


def apt_installed(run_text):
    """Package names given to apt-get install in RUN text."""
    pkgs = []
    for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", run_text, re.S | re.M):
        for w in m.group(1).split():
            if not w.startswith("-"):
                pkgs.append(w)
    return pkgs


def cmake_executables(root):
    """{output name: target name} of every add_executable in the CMake tree
    (OUTPUT_NAME taken into account)."""
    targets, outputs = {}, {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".") and not x.startswith("build")]
        if "CMakeLists.txt" not in files:
            continue
        with open(os.path.join(d, "CMakeLists.txt"), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"add_executable\(\s*([A-Za-z0-9_.+-]+)", text):
            targets[m.group(1)] = m.group(1)
        for m in re.finditer(r"set_target_properties\(\s*([A-Za-z0-9_.+-]+)\s+PROPERTIES[^)]*?"
                             r"OUTPUT_NAME\s+\"?([A-Za-z0-9_.+-]+)", text, re.S):
            outputs[m.group(1)] = m.group(2)
    return {outputs.get(t, t): t for t in targets}


# --------------------------------------------------------------------------
class ComposeStructure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(COMPOSE_PATH, encoding="utf-8") as f:
            cls.compose = yaml.safe_load(f)
        cls.services = cls.compose.get("services") or {}
        cls.args, cls.stages = read_dockerfile(DOCKERFILE_PATH)
        cls.by_name = {s.name: s for s in cls.stages if s.name}
        runtime = cls.by_name.get("runtime")
        cls.installed, cls.data_dirs = set(), []
        for kw, rest in (runtime.instructions if runtime else []):
            if kw != "COPY":
                continue
            flags, srcs, dest = copy_parts(rest)
            if flags.get("from") != "build":
                continue
            if dest.rstrip("/") == "/usr/local/bin":
                cls.installed |= {os.path.basename(s.rstrip("/")) for s in srcs}
            elif srcs and srcs[0].rstrip("/").endswith("workers/orders/data"):
                cls.data_dirs.append(dest.rstrip("/"))
        kafka_env = env_of(cls.services.get("kafka", {}))
        cls.kafka_env = kafka_env

    # ---------------- Dockerfile ----------------
    def test_dockerfile_stages(self):
        names = [s.name for s in self.stages]
        self.assertEqual(names, ["build", "runtime"], "stages: FROM ... AS build, then AS runtime (last)")
        self.assertEqual(self.by_name["build"].base, "debian:bookworm")
        self.assertEqual(self.by_name["runtime"].base, "debian:bookworm-slim")

    def test_build_stage_packages_and_targets(self):
        build = self.by_name["build"]
        pkgs = apt_installed(build.run_text())
        for p in BUILD_PACKAGES:
            self.assertIn(p, pkgs, f"build stage must apt-get install {p}")
        run = build.run_text()
        self.assertRegex(run, r"cmake\s+-S\s+\S+\s+-B\s+\S+", "build stage configures with cmake")
        exes = cmake_executables(ROOT)
        for prog in PROGRAMS:
            target = exes.get(prog)
            self.assertIsNotNone(target, f"no add_executable in the CMake tree produces {prog}")
            self.assertRegex(run, r"--target\b[^&;]*\b" + re.escape(target) + r"\b",
                             f"build stage must build target {target} ({prog})")
            self.assertRegex(run, r"/out/bin/" + re.escape(prog) + r"\b",
                             f"build stage must stage {prog} into /out/bin")

    def test_runtime_stage(self):
        rt = self.by_name["runtime"]
        pkgs = apt_installed(rt.run_text())
        for p in RUNTIME_PACKAGES:
            self.assertIn(p, pkgs, f"runtime stage must install {p}")
        for p in pkgs:
            self.assertFalse(p.endswith("-dev") or p in ("build-essential", "cmake", "ninja-build",
                                                         "gcc", "check"),
                             f"runtime stage installs build-only package {p}")
        users = [rest for kw, rest in rt.instructions if kw == "USER"]
        self.assertTrue(users, "runtime stage must switch to a non-root USER")
        self.assertNotIn(users[-1].split(":")[0], ("root", "0"), "runtime USER must not be root")
        for prog in PROGRAMS:
            self.assertIn(prog, self.installed, f"runtime stage must COPY --from=build {prog} to /usr/local/bin")
        self.assertTrue(self.data_dirs, "runtime stage must COPY the order data (workers/orders/data)")

    def test_no_secrets(self):
        secret = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|PRIVATE_KEY", re.I)
        for st in self.stages:
            for kw, rest in st.instructions:
                if kw in ("ENV", "ARG", "LABEL"):
                    self.assertIsNone(secret.search(rest), f"{kw} {rest} looks like a secret")
                if kw in ("COPY", "ADD"):
                    self.assertNotRegex(rest, r"\.pem\b|id_rsa|\.key\b|\.env\b|\.npmrc|\.netrc",
                                        f"{kw} {rest} copies a credential-like file")
        for name, svc in self.services.items():
            for k in env_of(svc):
                self.assertIsNone(secret.search(k), f"service {name}: environment {k} looks like a secret")

    # ---------------- compose: services ----------------
    def test_required_services(self):
        for s in REQUIRED_SERVICES:
            self.assertIn(s, self.services, f"service {s} missing")
        for name, svc in self.services.items():
            self.assertTrue(svc.get("image") or svc.get("build"), f"service {name}: no image or build")

    def test_duraflow_services_build_the_dockerfile(self):
        compose_dir = os.path.dirname(COMPOSE_PATH)
        for name in DURAFLOW_SERVICES + ["orders-report"]:
            if name not in self.services:
                continue
            svc = self.services[name]
            build = svc.get("build")
            self.assertIsInstance(build, dict, f"service {name}: build must be a mapping")
            ctx = os.path.normpath(os.path.join(compose_dir, build.get("context", ".")))
            self.assertEqual(ctx, os.path.normpath(ROOT), f"service {name}: build context must be the repo root")
            df = os.path.normpath(os.path.join(ctx, build.get("dockerfile", "Dockerfile")))
            self.assertEqual(df, os.path.normpath(DOCKERFILE_PATH), f"service {name}: dockerfile")
            self.assertIn(build.get("target", "runtime"), self.by_name, f"service {name}: build target")
            self.assertEqual(build.get("target", "runtime"), "runtime")
            self.assertTrue(svc.get("image"), f"service {name}: tag the built image")

    def test_broker(self):
        kafka = self.services["kafka"]
        self.assertTrue(interpolate(kafka["image"]).startswith("apache/kafka:"), "broker image apache/kafka")
        hc = kafka.get("healthcheck") or {}
        test = hc.get("test")
        self.assertTrue(test, "broker needs a healthcheck")
        self.assertIn(test[0] if isinstance(test, list) else "CMD-SHELL", ("CMD", "CMD-SHELL"))
        self.assertRegex(" ".join(as_list(test)), r"kafka-(broker-api-versions|topics|metadata)",
                         "the broker healthcheck must ask the broker itself")
        self.assertFalse(hc.get("disable"), "healthcheck disabled")
        env = self.kafka_env
        roles = set(str(env.get("KAFKA_PROCESS_ROLES", "")).split(","))
        self.assertEqual(roles, {"broker", "controller"}, "single-node KRaft: broker,controller")
        self.assertTrue(env.get("CLUSTER_ID"), "KRaft needs CLUSTER_ID")
        self.assertIn("KAFKA_CONTROLLER_QUORUM_VOTERS", env)
        self.assertEqual(str(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")).lower(), "false",
                         "topics are created explicitly, not by accident")

    def kafka_internal_endpoints(self):
        adv = str(self.kafka_env.get("KAFKA_ADVERTISED_LISTENERS", ""))
        return {re.sub(r"^[A-Z_]+://", "", a.strip()) for a in adv.split(",") if a.strip()}

    def test_brokers_point_at_kafka(self):
        endpoints = self.kafka_internal_endpoints()
        self.assertIn("kafka:9092", endpoints, "the broker must advertise kafka:9092 in the network")
        for name in DURAFLOW_SERVICES + ["topics", "orders-report"]:
            if name not in self.services:
                continue
            svc = self.services[name]
            env = env_of(svc)
            b = env.get("DF_BROKERS")
            self.assertIsNotNone(b, f"service {name}: environment DF_BROKERS missing")
            for addr in str(b).split(","):
                host = addr.split(":")[0]
                self.assertIn(host, self.services, f"service {name}: DF_BROKERS host {host} is not a service")
                self.assertIn(addr, endpoints, f"service {name}: DF_BROKERS {addr} is not an advertised listener")
            cmd = as_list(svc.get("command"))
            flag = option(cmd, "--brokers") or option(cmd, "-b")
            if flag is not None:
                self.assertEqual(flag, b, f"service {name}: --brokers differs from DF_BROKERS")
            if name in ("topics", "console"):
                self.assertIn("kafka", depends_of(svc), f"service {name} must depend on kafka")

    def test_depends_on_conditions(self):
        for name, svc in self.services.items():
            for dep, cond in depends_of(svc).items():
                self.assertIn(dep, self.services, f"service {name} depends on unknown {dep}")
                self.assertIn(cond, CONDITIONS, f"service {name} -> {dep}: depends_on needs a condition")
                target = self.services[dep]
                if cond == "service_healthy":
                    self.assertTrue((target.get("healthcheck") or {}).get("test") or dep == "kafka",
                                    f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck")
                if cond == "service_completed_successfully":
                    self.assertEqual(str(target.get("restart", "no")), "no",
                                     f"{dep} must be one-shot (restart: \"no\") to complete")
        d = lambda s: depends_of(self.services[s])  # noqa: E731
        self.assertEqual(d("topics").get("kafka"), "service_healthy")
        for s in ("timer-service", "orders-sim", "orders-worker"):
            self.assertEqual(d(s).get("topics"), "service_completed_successfully", f"{s} waits for the topics")
            self.assertEqual(d(s).get("kafka"), "service_healthy", f"{s} waits for a healthy broker")
        self.assertEqual(d("orders-worker").get("orders-sim"), "service_healthy")
        self.assertIn("timer-service", d("orders-worker"))
        self.assertIn("orders-worker", d("orders-load"))
        self.assertEqual(str(self.services["orders-load"].get("restart", "no")), "no", "orders-load is one-shot")

    def test_worker_scales(self):
        w = self.services["orders-worker"]
        self.assertNotIn("container_name", w, "a container_name prevents --scale")
        self.assertNotIn("hostname", w, "a fixed hostname gives replicas the same default worker.id")
        self.assertFalse(w.get("ports"), "a host port prevents --scale")
        cmd = as_list(w.get("command"))
        self.assertIsNone(option(cmd, "--worker-id"), "a fixed --worker-id would be shared by replicas")
        self.assertNotIn("worker.id", x_settings(cmd), "a fixed worker.id would be shared by replicas")
        self.assertNotIn("DF_WORKER_ID", env_of(w))

    def test_host_ports_loopback_only(self):
        for name, svc in self.services.items():
            for p in svc.get("ports") or []:
                p = interpolate(p) if isinstance(p, str) else p
                if isinstance(p, dict):
                    self.assertEqual(p.get("host_ip"), "127.0.0.1", f"{name}: port {p} not on 127.0.0.1")
                else:
                    self.assertTrue(str(p).startswith("127.0.0.1:"), f"{name}: port {p} not on 127.0.0.1")

    def test_commands_are_installed_programs(self):
        for name, svc in self.services.items():
            if name in ["kafka", "topics"] + OBSERVABILITY_SERVICES:
                continue
            args = as_list(svc.get("entrypoint")) + as_list(svc.get("command"))
            self.assertTrue(args, f"service {name}: no command")
            self.assertIn(args[0], self.installed,
                          f"service {name} runs {args[0]}, which the Dockerfile does not COPY into runtime")
        # the CLI service for `docker compose run console duraflow ...`
        self.assertEqual(as_list(self.services["console"].get("command"))[0], "duraflow")
        self.assertFalse(self.services["console"].get("entrypoint"), "console: keep the entrypoint free")
        self.assertEqual(as_list(self.services["timer-service"]["command"])[-1], "timer-service")

    def test_console_service(self):
        c = self.services["console"]
        cmd = as_list(c.get("command"))
        self.assertNotIn("tools", c.get("profiles") or [], "the console is a service `up` starts")
        self.assertIn("console", cmd, "the console service runs `duraflow console`")
        listen = option(cmd, "--listen")
        self.assertIsNotNone(listen, "console: --listen")
        self.assertEqual(listen.split(":")[0], "0.0.0.0", "inside its container the console listens on all")
        port = listen.rsplit(":", 1)[1]
        ports = [interpolate(p) if isinstance(p, str) else p for p in c.get("ports") or []]
        self.assertTrue(any(str(p).startswith("127.0.0.1:") and str(p).endswith(":" + port) for p in ports),
                        f"console: port {port} published on the host's loopback")
        self.assertIn("console.state.dir", x_settings(cmd), "console: its index in the state volume")
        self.assertTrue(x_settings(cmd)["console.state.dir"].startswith("/var/lib/duraflow"))
        self.assertIn("/api/v1/status", " ".join(as_list((c.get("healthcheck") or {}).get("test"))))

    def test_topics_service(self):
        t = self.services["topics"]
        script = " ".join(as_list(t.get("entrypoint")) + [interpolate(c) if isinstance(c, str) else str(c)
                                                          for c in (t.get("command") or [])])
        self.assertIn("kafka-topics.sh", script)
        self.assertIn("--if-not-exists", script, "topics must be idempotent (rerun of up)")
        prefix = env_of(t).get("DF_PREFIX", "duraflow")
        for topic, policy in TOPICS.items():
            m = re.search(r"[\"']?\$\{?DF_PREFIX\}?\." + topic + r"[\"']?\s+(\w+)", script)
            self.assertIsNotNone(m, f"topics: {prefix}.{topic} not created")
            self.assertEqual(m.group(1), policy, f"{prefix}.{topic} must be cleanup.policy={policy}")
        self.assertIn("cleanup.policy=", script)
        # prefix and partitions agree with the programs
        for name in DURAFLOW_SERVICES:
            cmd = as_list(self.services[name].get("command"))
            p = option(cmd, "--prefix") or option(cmd, "-p")
            if p is not None:
                self.assertEqual(p, prefix, f"{name}: --prefix differs from the topics service's")

    def test_sim_url_and_data(self):
        sim = as_list(self.services["orders-sim"]["command"])
        self.assertEqual(option(sim, "--listen"), "0.0.0.0", "the simulator must listen on the network")
        port = option(sim, "--port") or "8089"
        hc = " ".join(as_list((self.services["orders-sim"].get("healthcheck") or {}).get("test")))
        self.assertIn("/health", hc, "orders-sim healthcheck asks GET /health")
        self.assertIn(port, hc)
        for name in ("orders-worker", "orders-report"):
            if name not in self.services:
                continue
            url = option(as_list(self.services[name]["command"]), "--sim")
            self.assertEqual(url, f"http://orders-sim:{port}", f"{name}: --sim must point at orders-sim")
        # the programs' default data dir is the build tree's: the image must say where its copy is
        for name in ("orders-sim", "orders-worker", "orders-load", "orders-report"):
            if name not in self.services:
                continue
            data = option(as_list(self.services[name]["command"]), "--data")
            self.assertIsNotNone(data, f"{name}: pass --data (the compiled-in default is the build tree's)")
            self.assertIn(data.rstrip("/"), self.data_dirs, f"{name}: --data is not where the image has it")
        sim_day = option(sim, "--day-ms")
        load_day = option(as_list(self.services["orders-load"]["command"]), "--day-ms")
        self.assertEqual(sim_day, load_day, "orders-sim and orders-load must share --day-ms")

    # ---------------- observability ----------------
    def mounts_of(self, name):
        """{container path: host path (absolute)} of a service's bind mounts."""
        out = {}
        for v in self.services[name].get("volumes") or []:
            if isinstance(v, str):
                parts = v.split(":")
                src, dst = parts[0], parts[1]
            else:
                src, dst = v.get("source"), v.get("target")
            if src.startswith("."):
                out[dst] = os.path.normpath(os.path.join(os.path.dirname(COMPOSE_PATH), src))
        return out

    def test_observability_services(self):
        for name in OBSERVABILITY_SERVICES:
            self.assertIn(name, self.services, f"service {name} missing")
            self.assertTrue(interpolate(self.services[name].get("image", "")), f"{name}: an image")
        for name in DURAFLOW_SERVICES:
            for dep in depends_of(self.services[name]):
                self.assertNotIn(dep, OBSERVABILITY_SERVICES,
                                 f"{name} waits for {dep}: telemetry must never hold a duraflow program back")

    def test_prometheus_scrapes_the_programs(self):
        mounts = self.mounts_of("prometheus")
        cfg_path = mounts.get("/etc/prometheus/prometheus.yml")
        self.assertTrue(cfg_path and os.path.isfile(cfg_path), "prometheus.yml must be mounted from docker/")
        self.assertEqual(option(as_list(self.services["prometheus"]["command"]), "--config.file"),
                         "/etc/prometheus/prometheus.yml")
        with open(cfg_path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        targets = {}
        for job in cfg["scrape_configs"]:
            for sd in job.get("dns_sd_configs") or []:
                for n in sd["names"]:
                    targets[n] = str(sd["port"])
            for sc in job.get("static_configs") or []:
                for t in sc["targets"]:
                    host, port = t.rsplit(":", 1)
                    targets[host] = port
        for name in METRICS_SERVICES:
            listen = x_settings(as_list(self.services[name]["command"])).get("metrics.listen")
            self.assertIsNotNone(listen, f"{name}: -X metrics.listen=0.0.0.0:PORT")
            host, port = listen.rsplit(":", 1)
            self.assertEqual(host, "0.0.0.0", f"{name}: metrics must be reachable in the network")
            self.assertIn(name, targets, f"Prometheus does not scrape {name}")
            self.assertEqual(targets[name], port, f"Prometheus scrapes {name} on {targets[name]}, it serves {port}")
        worker_job = [j for j in cfg["scrape_configs"] if j.get("dns_sd_configs")
                      and "orders-worker" in j["dns_sd_configs"][0]["names"]]
        self.assertTrue(worker_job, "the scaled workers are found by DNS (one A record per replica)")

    def test_spans_go_to_jaeger(self):
        jaeger = self.services["jaeger"]
        self.assertEqual(env_of(jaeger).get("JAEGER_LISTEN_HOST"), "0.0.0.0",
                         "Jaeger's built-in configuration listens on localhost unless JAEGER_LISTEN_HOST is set")
        for name in METRICS_SERVICES:
            x = x_settings(as_list(self.services[name]["command"]))
            ep = x.get("otlp.endpoint")
            self.assertEqual(ep, "http://jaeger:4318", f"{name}: otlp.endpoint must be the Jaeger service's OTLP/HTTP")
            self.assertTrue(x.get("service.name"), f"{name}: name its spans (service.name)")

    def metric_families(self):
        with open(METRICS_H, encoding="utf-8") as f:
            text = f.read()
        body = text[text.index("#define DF__METRICS(X)"):]
        body = body[:body.index("typedef enum df__metric_id")]
        fams = {name: kind for kind, name in re.findall(r"X\(\w+,\s*(COUNTER|GAUGE|HISTOGRAM),\s*\"(duraflow_\w+)\"",
                                                           body)}
        self.assertGreater(len(fams), 20, "could not read DF__METRICS from metrics.h")
        return fams

    def test_grafana_dashboard(self):
        mounts = self.mounts_of("grafana")
        prov = mounts.get("/etc/grafana/provisioning")
        dashdir = mounts.get("/var/lib/grafana/dashboards")
        self.assertTrue(prov and os.path.isdir(prov), "grafana: provisioning mounted from docker/")
        self.assertTrue(dashdir and os.path.isdir(dashdir), "grafana: dashboards mounted from docker/")
        with open(os.path.join(prov, "datasources", "duraflow.yml"), encoding="utf-8") as f:
            ds = yaml.safe_load(f)["datasources"]
        uids = {d["uid"]: d for d in ds}
        prom_port = option(as_list(self.services["prometheus"]["command"]), "--web.listen-address").rsplit(":", 1)[1]
        by_type = {d["type"]: d for d in ds}
        self.assertEqual(by_type["prometheus"]["url"], f"http://prometheus:{prom_port}")
        self.assertEqual(by_type["jaeger"]["url"], "http://jaeger:16686")
        with open(os.path.join(prov, "dashboards", "duraflow.yml"), encoding="utf-8") as f:
            providers = yaml.safe_load(f)["providers"]
        self.assertEqual([p["options"]["path"] for p in providers], ["/var/lib/grafana/dashboards"])
        with open(os.path.join(dashdir, "duraflow.json"), encoding="utf-8") as f:
            dash = json.load(f)
        fams = self.metric_families()
        names = set()
        for panel in dash["panels"]:
            if panel["type"] == "row":
                continue
            self.assertIn(panel["datasource"]["uid"], uids, f"panel {panel['title']}: unknown data source")
            self.assertTrue(panel["targets"], f"panel {panel['title']}: no query")
            for t in panel["targets"]:
                self.assertIn(t["datasource"]["uid"], uids)
                for n in re.findall(r"\bduraflow_\w+", t["expr"]):
                    names.add(n)
                    base = re.sub(r"_(bucket|sum|count)$", "", n)
                    ok = n in fams or (base in fams and fams[base] == "HISTOGRAM")
                    self.assertTrue(ok, f"panel {panel['title']}: {n} is no metric duraflow exposes")
                    if n.endswith("_bucket"):
                        self.assertIn("histogram_quantile", t["expr"], f"{n}: buckets are read by histogram_quantile")
                    if fams.get(n) == "COUNTER":
                        self.assertRegex(t["expr"], r"(rate|increase)\(\s*" + n,
                                         f"panel {panel['title']}: a counter is read with rate() or increase()")
        covered = {re.sub(r"_(bucket|sum|count)$", "", n) if re.sub(r"_(bucket|sum|count)$", "", n) in fams else n
                   for n in names}
        missing = sorted(set(fams) - covered)
        self.assertEqual(missing, [], f"metric families without a panel: {missing}")
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        self.assertTrue(dash.get("uid"))
        gf_env = env_of(self.services["grafana"])
        self.assertEqual(gf_env.get("GF_AUTH_ANONYMOUS_ORG_ROLE"), "Viewer", "anonymous access is read-only")


    def test_state_volume(self):
        vols = self.compose.get("volumes") or {}
        for name in ("timer-service", "orders-worker"):
            svc = self.services[name]
            mounts = {}
            for v in svc.get("volumes") or []:
                if isinstance(v, str):
                    src, _, dst = v.partition(":")
                    mounts[dst.split(":")[0]] = src
                else:
                    mounts[v.get("target")] = v.get("source")
            self.assertTrue(mounts, f"{name}: no state volume")
            for dst, src in mounts.items():
                self.assertIn(src, vols, f"{name}: {src} is not a named volume")
            cmd = as_list(svc["command"])
            state = option(cmd, "--state-dir") or x_settings(cmd).get("state.dir")
            self.assertIsNotNone(state, f"{name}: give the state dir explicitly")
            self.assertTrue(any(state == d or state.startswith(d.rstrip("/") + "/") for d in mounts),
                            f"{name}: state dir {state} is not on a volume")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
