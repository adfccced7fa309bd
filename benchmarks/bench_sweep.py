"""Sweep throughput: a study of many points on Dask against calling the engine directly.

The sweep is 100 parameter points (10 safety factors x 10 outage lengths) x 1,000 replicates x
365 days (+30 warm-up) of the demo network, KPIs per replicate. Measured in one run, each case
in a fresh subprocess (its own peak memory), repeated; medians:

* ``direct``: ``sim.simulate(..., record="kpis")`` point after point in one process (the
  engine called directly, nothing written);
* ``study, in process``: :func:`sim.studies.study.run_study` with ``workers=0`` (tasks, Zarr writes,
  checksums, the final NetCDF, no Dask);
* ``study, Dask 1 worker`` and ``study, Dask 2 workers``: on a ``LocalCluster``.

Node-days count simulated days (warm-up included) x nodes x replicates x points. Printed: wall
time, node-days/s, the speed-up of 2 workers over 1, the overhead of the study over the direct
calls, and peak RSS (the driver and, for Dask, its largest worker).

    python benchmarks/bench_sweep.py             # 100 points, 3 repeats (about 6 minutes here)
    python benchmarks/bench_sweep.py --quick     # 20 points, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date

DAYS, WARMUP, REPLICATES = 365, 30, 1000


def sweep(points: int) -> tuple[dict, dict]:
    """The base config and the grid of the benchmark."""
    from pathlib import Path

    import yaml

    base = {"network": yaml.safe_load(Path("configs/network/demo.yaml").read_text()),
            "disruption": yaml.safe_load(Path("configs/disruption/supplier_outage.yaml")
                                         .read_text()),
            "policy": {"name": "base_stock"}, "engine": {"name": "batch"},
            "run": {"days": DAYS, "warmup_days": WARMUP, "seed": 1}}
    side = max(1, round(points ** 0.5))
    grid = {"policy.inventory.safety_factor": [round(0.3 * k, 2) for k in range(side)],
            "disruption.events.0.duration_days": [10 + 5 * k for k in range(points // side)]}
    return base, grid


def measure(case: dict) -> dict:
    """Run one case in this process (called in a subprocess) and return its numbers."""
    import resource
    import time

    import sim
    from sim.studies.config import build_run
    from sim.studies.study import Study, grid_points, run_study

    base, grid = sweep(case["points"])
    points = grid_points(grid)
    study = Study(base, tuple(points), replicates=REPLICATES, grid=True)
    nodes = len(build_run(study.point_config(0)).network.nodes)
    started = time.perf_counter()
    if case["mode"] == "direct":
        for index in range(len(points)):
            spec = build_run(study.point_config(index))
            sim.simulate(spec.network, **{**spec.simulate_kwargs(), "record": "kpis",
                                          "replicates": REPLICATES})
        worker_rss = 0
    else:
        with tempfile.TemporaryDirectory() as folder:
            run_study(study, folder, workers=case["workers"], progress=False)
        worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    wall = time.perf_counter() - started
    node_days = len(points) * REPLICATES * (DAYS + WARMUP) * nodes
    return {"wall_s": wall, "node_days_per_s": node_days / wall, "points": len(points),
            "chunk_size": study.chunk_size,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_rss_mib": worker_rss / 1024}


def run_case(case: dict, repeats: int) -> dict:
    results = []
    for _ in range(repeats):
        output = subprocess.run([sys.executable, __file__, "--case", json.dumps(case)],
                                capture_output=True, text=True, check=True)
        results.append(json.loads(output.stdout.strip().splitlines()[-1]))
    walls = [r["wall_s"] for r in results]
    middle = results[walls.index(statistics.median_low(walls))]
    return {**middle, "wall_s": statistics.median(walls),
            "node_days_per_s": statistics.median(r["node_days_per_s"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 points, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.case:
        print(json.dumps(measure(json.loads(options.case))))
        return
    points = 20 if options.quick else 100
    repeats = options.repeats or (1 if options.quick else 3)
    cases = [("direct", {"mode": "direct", "workers": 0}),
             ("study, in process", {"mode": "study", "workers": 0}),
             ("study, Dask 1 worker", {"mode": "study", "workers": 1}),
             ("study, Dask 2 workers", {"mode": "study", "workers": 2})]
    print(f"# sweep benchmark {date.today()}, Python {platform.python_version()}, "
          f"{points} points x {REPLICATES} replicates x {DAYS} days (+{WARMUP}) of the demo, "
          f"median of {repeats}")
    print("| case | wall s | node-days/s | chunk | peak RSS driver | peak RSS worker |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = {}
    for label, case in cases:
        row = run_case({**case, "points": points}, repeats)
        rows[label] = row
        worker = f"{row['worker_rss_mib']:.0f} MiB" if case["workers"] else "-"
        print(f"| {label} | {row['wall_s']:.1f} | {row['node_days_per_s']:.3g} | "
              f"{row['chunk_size']} | {row['rss_mib']:.0f} MiB | {worker} |", flush=True)
    one, two = rows["study, Dask 1 worker"]["wall_s"], rows["study, Dask 2 workers"]["wall_s"]
    direct = rows["direct"]["wall_s"]
    print(f"speed-up of 2 Dask workers over 1: {one / two:.2f}x (goal >= 1.8x)")
    print(f"overhead of the study over direct engine calls: in process "
          f"{rows['study, in process']['wall_s'] / direct - 1:+.1%}, Dask 1 worker "
          f"{one / direct - 1:+.1%} (goal < 10 %)")


if __name__ == "__main__":
    main()
