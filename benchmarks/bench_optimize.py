"""Candidates evaluated per minute by the investment planner on the demo, in one run.

The enterprise search's settings (the demo under its risk register, a year after a 30-day
warm-up, 200 replicates per candidate, the batch engine) with a small budget, in this process
and on two Dask workers; the confirmation is left out (budget only). Printed: candidates per
minute for each, and the ratio.

    python benchmarks/bench_optimize.py [--budget 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sim
from sim.io.risk_register import load_risk_register
from sim.studies.optimize import Decision, optimize


def candidates_per_minute(budget: int, workers: int) -> float:
    """Candidates a minute over a search of ``budget`` (its confirmation not counted)."""
    network = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    events = load_risk_register("example:risk-registers/demo.csv")
    decisions = [Decision("inventory.safety_factor", 0.0, 3.0, step=0.25),
                 Decision("sourcing.dynamic", kind="bool")]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        optimize(network, decisions=decisions, budget=budget, replicates=200, days=365,
                 warmup_days=30, seed=1, disruptions=events, workers=workers,
                 storage=str(Path(folder) / "search.db"), confirm_top=0)
        return 60.0 * budget / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=8)
    options = parser.parse_args()
    here = candidates_per_minute(options.budget, 0)
    dask = candidates_per_minute(options.budget, 2)
    print(f"investment planner, demo, 200 replicates x 365 days, budget {options.budget}: "
          f"{here:.1f} candidates/min in process, {dask:.1f} on 2 Dask workers "
          f"({dask / here:.2f}x)")


if __name__ == "__main__":
    main()
