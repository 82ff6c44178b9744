#!/usr/bin/python3
"""Plot the duraflow benchmark figures from bench/results.csv.

Writes (next to the CSV, or into --out DIR):
  latency.png     execution latency percentiles (p50/p95/p99/max) per
                  throughput configuration, per-step durable latency, and
                  timer firing lateness
  throughput.png  executions/s and step transitions/s vs workers (closed
                  loop), with the raw transactional loop as the reference

Uses matplotlib (Debian: python3-matplotlib).  For every
(bench, config, metric) the most recent row of the CSV is used, or the rows
of one date with --date "YYYY-MM-DD HH:MM:SS UTC" prefix.

Usage: bench/plot.py [--csv bench/results.csv] [--out DIR] [--date PREFIX]
"""
import argparse
import csv
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    sys.exit("plot.py needs matplotlib (apt-get install -y python3-matplotlib)")


def load(path, date_prefix=None):
    """{(bench, config, metric): value} keeping the latest row of each."""
    latest = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if date_prefix and not row["date"].startswith(date_prefix):
                continue
            key = (row["bench"], row["config"], row["metric"])
            if key not in latest or row["date"] >= latest[key][0]:
                latest[key] = (row["date"], float(row["value"]))
    return {k: v[1] for k, v in latest.items()}


def configs(data, bench):
    seen = []
    for b, c, _ in data:
        if b == bench and c not in seen and not c.startswith("_"):
            seen.append(c)
    return sorted(seen)


def plot_latency(data, out):
    # open-loop runs only: closed-loop latency is queueing behind the burst
    tp = [c for c in configs(data, "throughput") if c.split("/")[-1].startswith("open")]
    timers = configs(data, "timers")
    w = max(18, 1.6 * len(tp) + 4)
    fig, axes = plt.subplots(1, 3, figsize=(w, 6), gridspec_kw={"width_ratios": [3, 3, 1.4]})

    ax = axes[0]
    pcts = ["p50", "p95", "p99", "max"]
    width = 0.8 / len(pcts)
    for i, p in enumerate(pcts):
        vals = [data.get(("throughput", c, "exec_%s_ms" % p), 0) for c in tp]
        ax.bar([x + i * width for x in range(len(tp))], vals, width, label=p)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(tp))])
    ax.set_xticklabels([c.replace("/", "\n") for c in tp], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("3-step execution latency, open loop (start sent -> result seen)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)

    ax = axes[1]
    series = [("step1_start", "step 1 start"), ("step2_start", "step 2 start"),
              ("step2_durable", "step 2 durable")]
    width = 0.8 / (2 * len(series))
    k = 0
    for key, name in series:
        for p in ("p50", "p99"):
            vals = [data.get(("throughput", c, "%s_%s_ms" % (key, p)), 0) for c in tp]
            ax.bar([x + k * width for x in range(len(tp))], vals, width, label="%s %s" % (name, p))
            k += 1
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(tp))])
    ax.set_xticklabels([c.replace("/", "\n") for c in tp], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("per-step latency: runnable -> body entered (start), -> checkpoint visible (durable)")
    ax.legend(fontsize=6, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)

    ax = axes[2]
    width = 0.8 / len(pcts)
    for i, p in enumerate(pcts):
        vals = [data.get(("timers", c, "lateness_%s_ms" % p), 0) for c in timers]
        ax.bar([x + i * width for x in range(len(timers))], vals, width, label=p)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(timers))])
    ax.set_xticklabels([c.replace("/", "\n") for c in timers], fontsize=7)
    ax.axhline(20, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(100, color="grey", linestyle=":", linewidth=0.8)
    ax.set_ylabel("ms")
    ax.set_title("timer lateness")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)

    fig.tight_layout()
    path = os.path.join(out, "latency.png")
    fig.savefig(path, dpi=110)
    print("wrote", path)


def plot_throughput(data, out):
    tp = configs(data, "throughput")
    labels = sorted({c.split("/")[0] for c in tp})
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for li, label in enumerate(labels):
        ws, ex, st = [], [], []
        for c in tp:
            parts = c.split("/")
            if len(parts) < 4 or parts[0] != label or parts[1] != "noop3" or parts[-1] != "closed":
                continue
            ws.append(int(parts[2].lstrip("w")))
            ex.append(data.get(("throughput", c, "executions_per_s"), 0))
            st.append(data.get(("throughput", c, "step_transitions_per_s"), 0))
        if not ws:
            continue
        order = sorted(range(len(ws)), key=lambda i: ws[i])
        ws = [ws[i] for i in order]
        ex = [ex[i] for i in order]
        st = [st[i] for i in order]
        col = colors[li % len(colors)]
        ax.plot(ws, ex, "o-", color=col, label="%s: executions/s" % label)
        ax.plot(ws, st, "s--", color=col, label="%s: step transitions/s" % label)
        raw = data.get(("rawloop", "%s/out5" % label, "steady_records_in_per_s"))
        if raw:
            ax.axhline(raw, color=col, linestyle=":", linewidth=1,
                       label="%s: raw txn loop, records in/s (5 out each)" % label)
    ax.axhline(10000, color="grey", linestyle="-.", linewidth=0.8, label="target: 10,000 step transitions/s")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("workers")
    ax.set_xticks([1, 2])
    ax.set_ylabel("per second")
    ax.set_title("throughput vs workers (closed loop, 3-step workflow)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out, "throughput.png")
    fig.savefig(path, dpi=110)
    print("wrote", path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default=os.path.join(here, "results.csv"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--date", default=None)
    a = ap.parse_args()
    if not os.path.exists(a.csv):
        sys.exit("no %s: run the benchmarks first (bench/run.sh)" % a.csv)
    data = load(a.csv, a.date)
    out = a.out or os.path.dirname(os.path.abspath(a.csv))
    plot_latency(data, out)
    plot_throughput(data, out)


if __name__ == "__main__":
    main()
