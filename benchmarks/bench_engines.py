"""Throughput and memory of the Mesa and batch engines, measured in one run.

Each measurement runs in a fresh subprocess (so its peak resident memory is its own) and is
repeated; the table shows medians. Node-days per second count simulated days (warm-up included)
times nodes times replicates. Printed per case: engine, network, replicates, chunk size, workers,
recording mode, wall time (median), node-days/s, the share of that time spent drawing the
scenario, and peak RSS. The last lines check the targets of the batch-engine issue.

    python benchmarks/bench_engines.py            # the full table (about 15 minutes here)
    python benchmarks/bench_engines.py --quick    # a smaller table (about 2 minutes)
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date

from sim.testing import DEMO_EVERY_MEASURE

DEMO = "configs/network/demo.yaml"
CHAIN38 = "example:willems-2008/chain-38.csv"
DAYS = 365
EVERY_MEASURE = DEMO_EVERY_MEASURE  # every measure at once on the demo ("everything on")


def every_disruption() -> list:
    """The events of every shipped disruption config, together."""
    from pathlib import Path

    import yaml

    from sim.io.risk_register import disruptions_from_config  # not loaded by `import sim`

    events: list = []
    for path in sorted(Path("configs/disruption").glob("*.yaml")):
        events.extend(yaml.safe_load(path.read_text())["events"])
    return list(disruptions_from_config(events))


def measure(case: dict) -> dict:
    """Run one case in this process (called in a subprocess) and return its numbers."""
    import sim

    network = sim.load_network(case["network"])
    everything = case.get("everything", False)
    started = time.perf_counter()
    ds = sim.simulate(network, days=case["days"], replicates=case["replicates"],
                      engine=case["engine"], seed=1, record=case["record"],
                      chunk_size=case.get("chunk_size"), workers=case.get("workers", 1),
                      disruptions=every_disruption() if everything else (),
                      policy=EVERY_MEASURE if everything else None)
    wall = time.perf_counter() - started
    node_days = case["days"] * case["replicates"] * len(network.nodes)
    sampling = ds.attrs["sampling_s"]
    simulation = ds.attrs["simulation_s"]
    workers = case.get("workers", 1)
    return {
        "wall_s": wall,
        "node_days": node_days,
        "sampling_share": sampling / (sampling + simulation),
        # in worker processes, sampling and simulation times add over workers
        "engine_node_days_per_s": node_days / (simulation / workers),
        "peak_rss_mib": max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
    }


def run_case(case: dict, repeats: int) -> dict:
    results = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, __file__, "--case", json.dumps(case)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall_s"] for r in results)
    return {
        **case,
        "wall_s": wall,
        "node_days_per_s": results[0]["node_days"] / wall,
        "engine_node_days_per_s": statistics.median(r["engine_node_days_per_s"] for r in results),
        "sampling_share": statistics.median(r["sampling_share"] for r in results),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
    }


def cases(quick: bool) -> list[dict]:
    out = []
    mesa_reps = [1, 10] if quick else [1, 100]
    for reps in mesa_reps:
        out.append({"engine": "mesa", "network": DEMO, "replicates": reps, "days": DAYS,
                    "record": "summary"})
    for reps in ([1, 100, 1000] if quick else [1, 100, 1000, 10_000]):
        out.append({"engine": "batch", "network": DEMO, "replicates": reps, "days": DAYS,
                    "record": "summary"})
    for reps in [100, 1000]:  # every disruption and every measure switched on
        out.append({"engine": "batch", "network": DEMO, "replicates": reps, "days": DAYS,
                    "record": "summary", "everything": True})
    out.append({"engine": "mesa", "network": DEMO, "replicates": 10, "days": DAYS,
                "record": "summary", "everything": True})
    out.append({"engine": "mesa", "network": CHAIN38, "replicates": 1, "days": 30,
                "record": "summary"})
    for reps in ([1, 64] if quick else [1, 100, 1000]):
        out.append({"engine": "batch", "network": CHAIN38, "replicates": reps, "days": DAYS,
                    "record": "summary", "workers": 2 if reps >= 100 else 1})
    if not quick:
        out.append({"engine": "batch", "network": DEMO, "replicates": 100_000, "days": DAYS,
                    "record": "summary"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller cases")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (median shown)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(json.loads(args.case))))
        return

    import mesa
    import numpy

    import sim
    print(f"# {date.today()} | {platform.processor() or platform.machine()} | "
          f"{platform.python_version()} | sim {sim.__version__} | numpy {numpy.__version__} | "
          f"mesa {mesa.__version__}")
    header = (f"{'engine':6} {'network':9} {'all on':6} {'reps':>7} {'days':>4} {'workers':>7} "
              f"{'wall s':>8} {'node-days/s':>12} {'engine nd/s':>12} {'sampling':>8} "
              f"{'peak MiB':>9}")
    print(header)
    rows = []
    for case in cases(args.quick):
        repeats = 1 if case["replicates"] >= 10_000 or case["engine"] == "mesa" else args.repeats
        row = run_case(case, repeats)
        rows.append(row)
        name = "demo" if row["network"] == DEMO else "chain-38"
        on = "yes" if row.get("everything") else ""
        print(f"{row['engine']:6} {name:9} {on:6} {row['replicates']:>7} {row['days']:>4} "
              f"{row.get('workers', 1):>7} {row['wall_s']:>8.2f} {row['node_days_per_s']:>12.3g} "
              f"{row['engine_node_days_per_s']:>12.3g} {row['sampling_share']:>8.0%} "
              f"{row['peak_rss_mib']:>9.0f}", flush=True)

    def find(engine: str, network: str, reps: int, everything: bool = False) -> dict | None:
        return next((r for r in rows if (r["engine"], r["network"], r["replicates"],
                                         r.get("everything", False)) ==
                     (engine, network, reps, everything)), None)

    print()
    batch_1000 = find("batch", DEMO, 1000)
    mesa_demo = [r for r in rows if r["engine"] == "mesa" and r["network"] == DEMO
                 and not r.get("everything")]
    if batch_1000 and mesa_demo:
        mesa_rate = max(r["engine_node_days_per_s"] for r in mesa_demo)
        print(f"demo, R=1000: batch engine {batch_1000['engine_node_days_per_s']:.3g} "
              f"node-days/s (target >= 2e7); end to end {batch_1000['node_days_per_s']:.3g}; "
              f"{batch_1000['engine_node_days_per_s'] / mesa_rate:.0f}x the Mesa engine "
              f"({mesa_rate:.3g}; target >= 100x)")
    loaded = find("batch", DEMO, 1000, everything=True)
    if batch_1000 and loaded:
        ratio = batch_1000["engine_node_days_per_s"] / loaded["engine_node_days_per_s"]
        print(f"demo, R=1000, every disruption and measure on: "
              f"{loaded['engine_node_days_per_s']:.3g} node-days/s, {ratio:.2f}x slower than "
              f"bare (target <= 2x); end to end {loaded['node_days_per_s']:.3g}")
    big = find("batch", DEMO, 100_000)
    if big:
        print(f"demo, R=100,000 x {DAYS} days: peak RSS {big['peak_rss_mib']:.0f} MiB "
              f"(target < 2048), {big['wall_s']:.0f} s")
    chain = find("batch", CHAIN38, 1000)
    if chain:
        print(f"chain 38, R=1000 x {DAYS} days on 2 workers: {chain['wall_s']:.0f} s "
              f"(target < 60 s)")


if __name__ == "__main__":
    main()
