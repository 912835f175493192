#!/usr/bin/python3
"""Accuracy of the quantization methods against bytes on the wire and edge memory, from accuracy.csv only.

Usage: accuracy_plot.py [DIR] [--split S]   (DIR holds accuracy.csv; default results/accuracy)

Writes
  DIR/figures/accuracy_wire.{png,svg}   at split S (default: the middle split), one marker per method:
                                        KL vs bits per transmitted element (every configuration), the same
                                        at 8-bit weights with and without headers (the wire alone), and KL vs
                                        edge memory
  DIR/tables.md                         the claims of the accuracy issue, checked row by row:
    A. for every rtn point (per-token uniform wire): the best opsc point with the same weights sending equal
       or fewer bits — decode (headers included), payload (no headers) and prefill (one block per stream)
    B. the same for every llm-int8 point, against opsc (and rtn) with 8-bit weights
    C. at equal edge memory (same edge bits): opsc (server 8 bits) vs uniform low-bit weights on both sides,
       and the other methods at the same edge bits
  Every comparison states the winner; nothing is dropped because a baseline wins.
Run with Debian's /usr/bin/python3 (python3-matplotlib).
"""
import collections
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHOD_STYLE = {  # colour, marker
    "rtn": ("#2ca02c", "^"),
    "smoothquant": ("#ff7f0e", "s"),
    "omniquant-lwc": ("#9467bd", "P"),
    "atom": ("#8c564b", "X"),
    "llm-int8": ("#d62728", "o"),
    "opsc": ("#1f77b4", "D"),
}
WIRE_BITS = {  # column, label
    "decode": ("wire_bits_per_element", "one-token blocks, headers included"),
    "payload": ("wire_payload_bits_per_element", "codes and outliers only (no headers)"),
    "prefill": ("wire_prefill_bits_per_element", "a whole stream as one block, headers included"),
}


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("split", "edge_bits", "cloud_bits", "act_bits"):
            r[k] = int(r[k])
        for k in ("kl", "ppl_loss", "agreement", "edge_memory_bytes", "edge_bits_per_weight", "server_bits_per_weight",
                  "wire_bytes_per_token") + tuple(c for c, _ in WIRE_BITS.values()):
            r[k] = float(r[k])
    return rows


def wire_label(r):
    if r["wire_codec"] == "uniform":
        return "uniform %s-bit" % r["uniform_bits"]
    if r["wire_codec"] == "ts-tabq":
        return "TS %s + TAB-Q eps %s bits {%s}" % (r["ts_mode"], r["tabq_eps"], r["tabq_bits"].replace(";", ","))
    return r["wire_codec"]


def config(r):
    a = "a%d" % r["act_bits"] if r["act_bits"] else "a32"
    return "W%d/%d %s" % (r["edge_bits"], r["cloud_bits"], a)


def fmt_kl(x):
    return "%.4f" % x if x >= 1e-3 else "%.1e" % x


# ---------------------------------------------------------------------------------------------- figure


def scatter(ax, pts, key, method, hollow=False, scale=1.0):
    colour, marker = METHOD_STYLE[method]
    ax.scatter([r[key] / scale for r in pts], [max(r["kl"], 1e-6) for r in pts], marker=marker, s=46, alpha=0.85,
               facecolors="none" if hollow else colour, edgecolors=colour if hollow else "black",
               linewidths=1.0 if hollow else 0.4, label=None if hollow else method)


def plot(rows, split, out_dir):
    sel = [r for r in rows if r["split"] == split]
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.4))
    for method in METHOD_STYLE:
        pts = [r for r in sel if r["method"] == method]
        if not pts:
            continue
        scatter(axes[0], pts, "wire_bits_per_element", method)
        scatter(axes[2], pts, "edge_memory_bytes", method, scale=1024.0)
        # The wire alone: 8-bit weights on both sides (W8A8 methods included), decode bits solid, payload hollow.
        w8 = sorted((r for r in pts if (r["edge_bits"], r["cloud_bits"]) == (8, 8)), key=lambda r: r["wire_bits_per_element"])
        if w8:
            colour = METHOD_STYLE[method][0]
            scatter(axes[1], w8, "wire_bits_per_element", method)
            scatter(axes[1], w8, "wire_payload_bits_per_element", method, hollow=True)
            if len(w8) > 1:
                axes[1].plot([r["wire_bits_per_element"] for r in w8], [r["kl"] for r in w8], color=colour, lw=0.8)
                w8p = sorted(w8, key=lambda r: r["wire_payload_bits_per_element"])
                axes[1].plot([r["wire_payload_bits_per_element"] for r in w8p], [r["kl"] for r in w8p], color=colour,
                             lw=0.8, ls="--")
    axes[0].set_xlabel("bits per transmitted element (one-token blocks, headers included)")
    axes[1].set_xlabel("bits per element: solid = one-token blocks with headers, hollow/dashed = codes only")
    axes[2].set_xlabel("edge memory (KiB): edge weights in the method's format + fp16 KV cache")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_ylabel("mean KL(fp32 || split), nats (log)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("accuracy loss vs bytes on the wire, every configuration")
    axes[1].set_title("the wire alone: 8-bit weights on both sides")
    axes[2].set_title("accuracy loss vs edge memory")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=8)
    model = sel[0]["model"] if sel else "?"
    tokens = sel[0]["tokens"] if sel else "?"
    fig.suptitle("%s, split after layer %d: quantization methods vs the unsplit fp32 model (%s positions)" %
                 (model, split, tokens))
    fig.tight_layout()
    os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        p = os.path.join(out_dir, "figures", "accuracy_wire." + ext)
        fig.savefig(p, dpi=120)
        paths.append(p)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------------------------------------- tables


def table(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in line) + " |" for line in lines]
    return "\n".join(out)


def best_at_or_below(cands, bits_key, bits):
    """The lowest-KL candidate that sends at most `bits`."""
    ok = [c for c in cands if c[bits_key] <= bits + 1e-9]
    return min(ok, key=lambda c: c["kl"]) if ok else None


def verdict(o, b):
    if o is None:
        return "no opsc point with as few bits"
    return "**opsc**" if o["kl"] < b["kl"] else b["method"]


def claim_a(rows):
    """For every rtn point: the best opsc point with the same weights that sends equal or fewer bits."""
    lines, wins, total = [], collections.Counter(), collections.Counter()
    for r in sorted((r for r in rows if r["method"] == "rtn"),
                    key=lambda r: (r["split"], r["edge_bits"], r["cloud_bits"], int(r["uniform_bits"]))):
        opsc = [o for o in rows if o["method"] == "opsc" and o["split"] == r["split"] and o["edge_bits"] == r["edge_bits"]
                and o["cloud_bits"] == r["cloud_bits"]]
        cells = [r["split"], "%d/%d" % (r["edge_bits"], r["cloud_bits"]), "u%s" % r["uniform_bits"], fmt_kl(r["kl"])]
        for view, (key, _) in WIRE_BITS.items():
            o = best_at_or_below(opsc, key, r[key])
            total[view] += 1
            wins[view] += o is not None and o["kl"] < r["kl"]
            cells += ["%.2f" % r[key], "eps %s: %s at %.2f" % (o["tabq_eps"], fmt_kl(o["kl"]), o[key]) if o else "-",
                      verdict(o, r)]
        lines.append(cells)
    header = ["split", "weights e/s", "rtn wire", "rtn KL"]
    for view in WIRE_BITS:
        header += ["rtn bits (%s)" % view, "best opsc with <= bits (%s)" % view, "lower KL"]
    summary = "; ".join("%s bits: opsc lower in %d of %d" % (v, wins[v], total[v]) for v in WIRE_BITS)
    return table(header, lines), summary


def claim_b(rows):
    """For the llm-int8 point of each split: the best opsc and rtn points at 8-bit weights with equal or fewer bits."""
    lines, wins, total = [], collections.Counter(), collections.Counter()
    for l8 in sorted((r for r in rows if r["method"] == "llm-int8"), key=lambda r: r["split"]):
        same = [r for r in rows if r["split"] == l8["split"] and (r["edge_bits"], r["cloud_bits"]) == (8, 8)]
        opsc = [r for r in same if r["method"] == "opsc"]
        rtn = [r for r in same if r["method"] == "rtn"]
        for view, (key, _) in WIRE_BITS.items():
            o = best_at_or_below(opsc, key, l8[key])
            u = best_at_or_below(rtn, key, l8[key])
            total[view] += 1
            wins[view] += o is not None and o["kl"] < l8["kl"]
            lines.append([l8["split"], view, "%.2f" % l8[key], fmt_kl(l8["kl"]),
                          "eps %s: %s at %.2f" % (o["tabq_eps"], fmt_kl(o["kl"]), o[key]) if o else "-",
                          verdict(o, l8),
                          "u%s: %s at %.2f" % (u["uniform_bits"], fmt_kl(u["kl"]), u[key]) if u else "-"])
    header = ["split", "bits", "llm-int8 bits", "llm-int8 KL", "best opsc W8/8 with <= bits", "lower KL",
              "best rtn W8/8 with <= bits"]
    summary = "; ".join("%s bits: opsc lower in %d of %d" % (v, wins[v], total[v]) for v in WIRE_BITS)
    return table(header, lines), summary


def claim_c(rows):
    lines, wins, total = [], 0, 0
    splits = sorted({r["split"] for r in rows})
    for s in splits:
        for eb in sorted({r["edge_bits"] for r in rows if r["method"] == "opsc" and r["edge_bits"] < 8}):
            opsc = [r for r in rows if r["method"] == "opsc" and r["split"] == s and r["edge_bits"] == eb
                    and r["cloud_bits"] == 8 and r["tabq_eps"] in ("0.001", "1e-03", "0.0010")]
            uni = [r for r in rows if r["method"] == "rtn" and r["split"] == s and r["edge_bits"] == eb
                   and r["cloud_bits"] == eb]
            if not opsc or not uni:
                continue
            o = opsc[0]
            u = min(uni, key=lambda r: r["kl"])  # the uniform model's best wire
            win = o["kl"] < u["kl"]
            wins += win
            total += 1
            others = [r for r in rows if r["split"] == s and r["edge_bits"] == eb and r["method"] not in ("opsc", "rtn")]
            other_txt = "; ".join("%s %s: %s" % (r["method"], config(r), fmt_kl(r["kl"]))
                                  for r in sorted(others, key=lambda r: (r["method"], r["cloud_bits"])))
            lines.append([s, eb, "%.1f" % (o["edge_memory_bytes"] / 1024), fmt_kl(o["kl"]),
                          "%.2f" % o["wire_bits_per_element"], fmt_kl(u["kl"]),
                          "%s %.2f" % (wire_label(u), u["wire_bits_per_element"]), "**opsc**" if win else "rtn",
                          other_txt or "-"])
    header = ["split", "edge bits", "edge memory KiB", "opsc e/8 KL", "opsc wire bits", "rtn e/e KL (best wire)",
              "rtn wire", "winner", "other methods at the same edge bits"]
    return table(header, lines), "opsc (edge low-bit, server 8-bit) beats uniform low-bit weights in %d of %d" % (
        wins, total)


def best_per_method(rows, split):
    lines = []
    for method in METHOD_STYLE:
        pts = sorted((r for r in rows if r["method"] == method and r["split"] == split),
                     key=lambda r: (r["edge_bits"], r["cloud_bits"], r["wire_bits_per_element"]))
        for r in pts:
            lines.append([method, config(r), wire_label(r), fmt_kl(r["kl"]), "%+.2f%%" % (100 * r["ppl_loss"]),
                          "%.1f%%" % (100 * r["agreement"]), "%.2f" % r["edge_bits_per_weight"],
                          "%.2f" % r["server_bits_per_weight"], "%.2f" % r["wire_bits_per_element"],
                          "%.2f" % r["wire_payload_bits_per_element"], "%.2f" % r["wire_prefill_bits_per_element"],
                          "%.1f" % (r["edge_memory_bytes"] / 1024)])
    header = ["method", "weights e/s, act", "wire", "KL", "ppl loss", "agreement", "edge b/w", "server b/w",
              "wire b/el", "payload b/el", "prefill b/el", "edge KiB"]
    return table(header, lines)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    out_dir = args[0] if args else "results/accuracy"
    rows = read_rows(os.path.join(out_dir, "accuracy.csv"))
    if not rows:
        sys.exit("accuracy_plot.py: %s/accuracy.csv has no rows" % out_dir)
    splits = sorted({r["split"] for r in rows})
    split = splits[(len(splits) - 1) // 2]  # the middle split: 2 of 1..4 for stories260K
    if "--split" in argv:
        split = int(argv[argv.index("--split") + 1])
    paths = plot(rows, split, out_dir)
    a_tab, a_sum = claim_a(rows)
    b_tab, b_sum = claim_b(rows)
    c_tab, c_sum = claim_c(rows)
    r0 = rows[0]
    doc = [
        "# Accuracy of the quantization methods on %s" % r0["model"],
        "",
        "Measured by `splitsim exec accuracy-sweep`: %s predicted positions (%s streams of %s tokens sampled from "
        "the fp32 model, seed %s), calibration %s tokens (seed %s). KL = mean KL(fp32 || split) in nats; bits per "
        "element: decode = one-token blocks with the 16 B block header and per-token headers, payload = codes and "
        "outliers only, prefill = each stream as one block." % (r0["tokens"], r0["streams"], r0["stream_len"],
                                                               r0["stream_seed"], r0["calib_tokens"], r0["calib_seed"]),
        "",
        "## A. opsc vs rtn (per-token uniform wire): same weights, opsc at equal or fewer wire bits",
        "",
        a_sum + ".",
        "",
        a_tab,
        "",
        "## B. opsc vs llm-int8 at equal or fewer wire bits (8-bit weights)",
        "",
        b_sum + ".",
        "",
        b_tab,
        "",
        "## C. equal edge memory: opsc (edge low-bit, server 8-bit, TAB-Q eps 1e-3) vs uniform low-bit weights",
        "",
        c_sum + ".",
        "",
        c_tab,
        "",
        "## Every configuration at split %d" % split,
        "",
        best_per_method(rows, split),
        "",
    ]
    with open(os.path.join(out_dir, "tables.md"), "w") as f:
        f.write("\n".join(doc))
    print("\n".join(paths + [os.path.join(out_dir, "tables.md"), a_sum, b_sum, c_sum]))


if __name__ == "__main__":
    main(sys.argv)
