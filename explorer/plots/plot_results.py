#!/usr/bin/python3
"""Figures of splitsim results, from their CSV/JSON files only.

Usage: plot_results.py DIR   (a study folder, a sweep folder or an optimize folder)

Writes DIR/figures/{scalability,bytes,energy,breakdown,pareto,published}.{png,svg} for whichever inputs exist:
  sweep.csv (DIR or DIR/sweep) with an edge.count column  -> scalability, bytes, energy (with energy figures)
  breakdown.csv + fields.json (stage names and labels)    -> breakdown
  pareto.csv + screen_sample.csv (DIR or DIR/optimize)    -> pareto
  published_predicted.csv (validate --published)          -> published
Run with Debian's /usr/bin/python3 (python3-matplotlib).
"""
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

STRATEGY_STYLE = {
    "cloud-only": ("#d62728", "o"),
    "split-fp16": ("#ff7f0e", "s"),
    "split-uniform": ("#2ca02c", "^"),
    "opsc": ("#1f77b4", "D"),
    "edge-only": ("#9467bd", "v"),
}
# Colours of the latency stages, in the order fields.json lists them (written beside breakdown.csv by the
# C++ side, which owns the stage names and labels).
STAGE_COLORS = ["#1f77b4", "#aec7e8", "#ff7f0e", "#c7c7c7", "#2ca02c", "#98df8a", "#ffbb78", "#9467bd", "#8c564b"]


def stages(dirpath):
    with open(os.path.join(dirpath, "fields.json")) as f:
        fields = json.load(f)
    label = {r["name"]: r["label"] for r in fields["requests"]}
    return [(name, label[name], STAGE_COLORS[i % len(STAGE_COLORS)]) for i, name in enumerate(fields["stages"])]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    try:
        v = float(row.get(key, ""))
        return v if math.isfinite(v) else None
    except ValueError:
        return None


def find(dirpath, name, subdirs):
    for sub in [""] + subdirs:
        p = os.path.join(dirpath, sub, name)
        if os.path.exists(p):
            return p
    return None


def save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=130, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {os.path.join(out, name)}.png/.svg")


def series_key(row):
    return row.get("case") or row.get("split.strategy") or "all"


def style(name):
    return STRATEGY_STYLE.get(name, (None, "o"))


def scalability(rows, out, engine):
    groups = {}
    for r in rows:
        if r.get("status") != "ok" or num(r, "edge.count") is None:
            continue
        groups.setdefault(series_key(r), []).append(r)
    if not groups:
        return
    panels = [
        ("tpot_s", "time per output token (ms)", "TPOT: median (solid), p99 (dashed)"),
        ("ttft_s", "time to first token (ms)", "TTFT: median (solid), p99 (dashed)"),
        ("server_busy_per_token_s", "server busy time per token (ms)", "Server load per generated token"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, (key, ylabel, title) in zip(axes, panels):
        for name, rs in groups.items():
            rs = sorted(rs, key=lambda r: num(r, "edge.count"))
            x = [num(r, "edge.count") for r in rs]
            color, marker = style(name)
            if key == "server_busy_per_token_s":
                ax.plot(x, [1e3 * (num(r, key) or 0) for r in rs], marker=marker, color=color, label=name)
            else:
                ax.plot(x, [1e3 * (num(r, key + ".p50") or 0) for r in rs], marker=marker, color=color, label=name)
                ax.plot(x, [1e3 * (num(r, key + ".p99") or 0) for r in rs], linestyle="--", color=color, alpha=0.7)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        counts = sorted({num(r, "edge.count") for rs in groups.values() for r in rs})
        ax.set_xticks(counts)
        ax.set_xticklabels([f"{int(c)}" for c in counts])
        ax.set_xlabel("number of edge devices")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(title="strategy")
    fig.suptitle(f"Scalability ({engine})")
    save(fig, out, "scalability")


def bytes_per_token(rows, out):
    best = {}
    for r in rows:
        if r.get("status") != "ok" or num(r, "bytes_up_per_token") is None:
            continue
        name, n = series_key(r), num(r, "edge.count") or 1
        if name not in best or n < best[name][0]:
            best[name] = (n, num(r, "bytes_up_per_token"))
    if not best:
        return
    names = [n for n in STRATEGY_STYLE if n in best] + [n for n in best if n not in STRATEGY_STYLE]
    vals = [best[n][1] for n in names]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    bars = ax.bar(names, vals, color=[style(n)[0] or "#777777" for n in names])
    for b, v in zip(bars, vals):
        label = f"{v / 1024:.1f} KiB" if v >= 1024 else f"{v:.0f} B"
        ax.text(b.get_x() + b.get_width() / 2, v, label, ha="center", va="bottom")
    ax.set_yscale("log")
    ax.set_ylabel("uplink bytes per generated token (B)")
    ax.set_title("Uplink bytes per token per strategy (prompt included)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    save(fig, out, "bytes")


def energy(rows, out):
    """Latency against the device's energy per token, one line per strategy through its fleet sizes."""
    groups = {}
    for r in rows:
        if r.get("status") != "ok" or num(r, "edge_energy_per_token_j") is None or num(r, "edge.count") is None:
            continue
        groups.setdefault(series_key(r), []).append(r)
    if not groups:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for name, rs in groups.items():
        rs = sorted(rs, key=lambda r: num(r, "edge.count"))
        color, marker = style(name)
        x = [1e3 * (num(r, "tpot_s.mean") or 0) for r in rs]
        y = [1e3 * num(r, "edge_energy_per_token_j") for r in rs]
        ax.plot(x, y, marker=marker, color=color, label=name)
        for xi, yi, r in zip(x, y, rs):
            ax.annotate(f"{int(num(r, 'edge.count'))}", (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=7,
                        color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean time per output token (ms)")
    ax.set_ylabel("device energy per generated token (mJ)")
    ax.set_title("Latency vs edge energy per strategy (labels: devices)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="strategy")
    save(fig, out, "energy")
    return True


def breakdown(rows, out, stage_list):
    rows = [r for r in rows if r.get("status") == "ok" and (num(r, "tokens") or 0) > 0]
    if not rows:
        return
    counts = sorted({num(r, "devices") for r in rows})
    picks = [counts[0]] if len(counts) == 1 else [counts[0], counts[-1]]
    fig, axes = plt.subplots(1, len(picks), figsize=(7 * len(picks), 4.6), squeeze=False)
    for ax, n in zip(axes[0], picks):
        rs = [r for r in rows if num(r, "devices") == n]
        order = {k: i for i, k in enumerate(STRATEGY_STYLE)}
        rs.sort(key=lambda r: order.get(r["strategy"], 99))
        names = [r["strategy"] for r in rs]
        bottom = [0.0] * len(rs)
        for key, label, color in stage_list:
            v = [1e3 * (num(r, key) or 0) for r in rs]
            ax.bar(names, v, bottom=bottom, label=label, color=color)
            bottom = [a + b for a, b in zip(bottom, v)]
        ax.set_ylabel("time per generated token (ms)")
        ax.set_title(f"Latency breakdown per stage, {int(n)} device{'s' if n != 1 else ''}")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    save(fig, out, "breakdown")


def pareto(front, sample, out, chosen):
    pts = [r for r in sample if num(r, "tpot_s") is not None]
    fr = sorted([r for r in front if num(r, "tpot_s") is not None], key=lambda r: num(r, "tpot_s"))
    if not fr:
        return
    fig, ax = plt.subplots(figsize=(8, 5.2))
    floor = 1e-5
    if pts:
        sc = ax.scatter([1e3 * num(r, "tpot_s") for r in pts],
                        [max(floor, 100 * num(r, "accuracy_loss")) for r in pts],
                        c=[num(r, "edge_memory_bytes") / 2**30 for r in pts], cmap="viridis", s=8, alpha=0.5)
        fig.colorbar(sc, ax=ax, label="edge memory (GiB)")
    # The 3-D front (latency, accuracy, memory) as circles; its 2-D latency/accuracy envelope as a step line.
    ax.scatter([1e3 * num(r, "tpot_s") for r in fr], [max(floor, 100 * num(r, "accuracy_loss")) for r in fr],
               facecolors="none", edgecolors="black", s=30, linewidths=0.8,
               label="Pareto front (latency, accuracy loss, edge memory)")
    env, best = [], float("inf")
    for r in fr:
        a = num(r, "accuracy_loss")
        if a < best:
            env.append(r)
            best = a
    ax.step([1e3 * num(r, "tpot_s") for r in env], [max(floor, 100 * num(r, "accuracy_loss")) for r in env],
            where="post", color="black", label="latency / accuracy envelope")
    if chosen:
        ax.scatter([1e3 * chosen[0]], [max(floor, 100 * chosen[1])], marker="*", s=250, color="red", zorder=5,
                   label="chosen")
    labels = {r.get("accuracy_source", "") for r in fr}
    est = " (estimated)" if "estimated" in labels else ""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
    ax.set_xlabel("time per output token at the optimized device count, analytic screen (ms)")
    ax.set_ylabel(f"accuracy loss: perplexity increase (%){est}")
    ax.set_title("Optimizer screen: memory-feasible configurations")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    save(fig, out, "pareto")


def published(rows, out):
    """Published throughput against the profiles' prediction, one marker per point (hollow: held out of fitting)."""
    devices = sorted({r["device"] for r in rows})
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(7, 6))
    lo, hi = math.inf, 0.0
    for i, dev in enumerate(devices):
        labelled = False
        for metric, marker in (("decode_tps", "o"), ("prefill_tps", "s")):
            for held in (False, True):
                pts = [r for r in rows if r["device"] == dev and r["metric"] == metric and (r["role"] == "held-out") == held]
                if not pts:
                    continue
                x = [num(r, "published_tps") for r in pts]
                y = [num(r, "predicted_tps") for r in pts]
                lo, hi = min(lo, *x, *y), max(hi, *x, *y)
                color = cmap(i % 20)
                ax.scatter(x, y, marker=marker, s=46, facecolors="none" if held else color, edgecolors=color,
                           label=None if labelled else dev)
                labelled = True
    if hi > 0:
        ax.plot([lo / 1.5, hi * 1.5], [lo / 1.5, hi * 1.5], color="black", lw=1)
        for f in (0.85, 1.15):
            ax.plot([lo / 1.5, hi * 1.5], [lo / 1.5 * f, hi * 1.5 * f], color="gray", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published tokens/s")
    ax.set_ylabel("predicted tokens/s (profile roofline)")
    ax.set_title("Published measurements vs the device profiles\n(circles decode, squares prefill; hollow: held out; dashed: ±15%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    save(fig, out, "published")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    out = os.path.join(d, "figures")
    made = 0
    sweep = find(d, "sweep.csv", ["sweep"])
    if sweep:
        rows = read_csv(sweep)
        if rows and "edge.count" in rows[0]:
            engines = {r.get("engine") for r in rows if r.get("engine")}
            engine = "SimGrid simulator" if engines == {"sim"} else "analytic fleet model" if engines == {"analytic"} else "/".join(sorted(engines))
            scalability(rows, out, engine)
            bytes_per_token(rows, out)
            made += 2 + int(energy(rows, out))
    bd = find(d, "breakdown.csv", [])
    if bd:
        breakdown(read_csv(bd), out, stages(os.path.dirname(bd)))
        made += 1
    fr = find(d, "pareto.csv", ["optimize"])
    if fr:
        sample_path = os.path.join(os.path.dirname(fr), "screen_sample.csv")
        sample = read_csv(sample_path) if os.path.exists(sample_path) else []
        chosen = None
        opt_json = os.path.join(os.path.dirname(fr), "optimize.json")
        if os.path.exists(opt_json):
            import json
            with open(opt_json) as f:
                j = json.load(f)
            c = j.get("chosen")
            if c:
                chosen = (c["analytic"]["tpot_s"], c["accuracy_loss"])
        pareto(read_csv(fr), sample, out, chosen)
        made += 1
    pub = find(d, "published_predicted.csv", [])
    if pub:
        published(read_csv(pub), out)
        made += 1
    if made == 0:
        print(f"{d}: no sweep.csv, breakdown.csv, pareto.csv or published_predicted.csv to plot", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
