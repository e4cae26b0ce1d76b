#!/usr/bin/python3
"""Plots and tabulates `edgebind bench scale --json` ladders of several systems (rigs vs CPU, rigs vs p99 latency).

Usage: /usr/bin/python3 tools/bench/plot_scale.py edgebind.json python.json --out docs/scale.png
Prints the README's Markdown table on stdout. Needs Debian's python3-matplotlib.
"""
from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def fmt(value, spec="{:.0f}"):
    return "-" if value is None else spec.format(value)


def summary(ladder: dict) -> str:
    steps = sorted(ladder["steps"], key=lambda s: s["measurement"]["rigs"])
    by_rigs = {s["measurement"]["rigs"]: s["measurement"] for s in steps}
    best = ladder["max_rigs"]
    one, top = by_rigs.get(1), by_rigs.get(best)
    cpu, rss = ladder.get("cpu"), ladder.get("rss")
    cpu_per_rig = cpu["slope"] if cpu else (one["cpu_percent"] if one else None)
    return (f"| {ladder['system']} | {best} | {fmt(cpu_per_rig, '{:.1f}')} % | "
            f"{fmt(rss['intercept'] if rss else None)} + {fmt(rss['slope'] if rss else None, '{:.1f}')} MiB | "
            f"{fmt(one and one['latency_p50_ms'])} / {fmt(one and one['latency_p99_ms'])} ms | "
            f"{fmt(top and top['latency_p50_ms'])} / {fmt(top and top['latency_p99_ms'])} ms ({best} rigs) | "
            f"{fmt(top and top['cpu_percent'], '{:.0f}')} % | {fmt(top and top['rss_mb'])} MiB |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ladders", nargs="+", help="JSON files written by edgebind bench scale --json")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--title", default="")
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine measured (a dotted line at their 100 %% each)")
    args = ap.parse_args()
    ladders = []
    for path in args.ladders:
        with open(path) as fh:
            ladders.append(json.load(fh))

    fig, (ax_cpu, ax_lat) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for ladder, colour in zip(ladders, colours):
        steps = sorted(ladder["steps"], key=lambda s: s["measurement"]["rigs"])
        rigs = [s["measurement"]["rigs"] for s in steps]
        cpu = [s["measurement"]["cpu_percent"] for s in steps]
        p99 = [s["measurement"]["latency_p99_ms"] for s in steps]
        label = f"{ladder['system']} (max {ladder['max_rigs']} rigs)"
        ax_cpu.plot(rigs, cpu, "-", color=colour, label=label)
        ax_lat.plot(rigs, p99, "-", color=colour, label=label)
        for s, x, c, l in zip(steps, rigs, cpu, p99):
            # filled: kept up in real time; hollow: did not
            face = colour if s["keeps_up"] else "white"
            ax_cpu.plot([x], [c], "o", color=colour, markerfacecolor=face)
            ax_lat.plot([x], [l], "o", color=colour, markerfacecolor=face)
    ax_cpu.set_xscale("log", base=2)
    ax_cpu.set_xlabel("rigs (camera + mic + depth + thermal + IMU each)")
    ax_cpu.set_ylabel("CPU, % of one core (process time / wall)")
    ax_cpu.axhline(100 * args.cores, color="grey", lw=0.8, ls=":")
    ax_lat.set_xscale("log", base=2)
    ax_lat.set_yscale("log")
    ax_lat.set_xlabel("rigs")
    ax_lat.set_ylabel("sensor-to-result latency p99, ms")
    ax_lat.axhline(1000, color="grey", lw=0.8, ls=":")
    ax_lat.text(1, 1050, "one hop (1 s)", color="grey", fontsize=8)
    for ax in (ax_cpu, ax_lat):
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(args.title or "Real-time rigs on one machine (filled: keeps up, hollow: falls behind)", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out)

    print("| system | max real-time rigs | CPU per rig | RSS base + per rig | latency p50 / p99 at 1 rig | latency p50 / p99 at the max | CPU at the max | RSS at the max |")
    print("|---|---|---|---|---|---|---|---|")
    for ladder in ladders:
        print(summary(ladder))


if __name__ == "__main__":
    main()
