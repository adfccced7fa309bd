"""Strategies compared on the batch engine, for the dashboard.

:func:`run_comparison` runs the chosen strategies on the same replicates (common random
numbers) one after the other, reporting progress, and returns what the page shows: the paired
comparison table, the service-over-time bands and the cost-against-loss-avoided figure, with
the dataset (NetCDF) and the HTML report as downloads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from analysis import figures
from analysis.app.inputs import load_choice
from analysis.report import write_report
from analysis.tables import format_number
from sim.io.presets import policy_preset
from sim.measures.compare import compare
from sim.studies.simulate import simulate_policies

__all__ = ["Comparison", "run_comparison"]


@dataclass
class Comparison:
    """What a finished comparison shows."""

    dataset: xr.Dataset
    table: pd.DataFrame
    service: plt.Figure
    cost: plt.Figure

    def netcdf(self) -> bytes:
        """The dataset as NetCDF bytes (for the download button)."""
        with tempfile.TemporaryDirectory() as folder:
            from sim.engines.results import save_dataset

            path = save_dataset(self.dataset, Path(folder) / "comparison.nc")
            return path.read_bytes()

    def report(self) -> bytes:
        """The HTML report (without the criticality scan and attribution: quick)."""
        with tempfile.TemporaryDirectory() as folder:
            path = write_report(self.dataset, Path(folder) / "report.html")
            return path.read_bytes()


def run_comparison(values: Mapping[str, Any],
                   progress: Callable[[float, str], None] | None = None) -> Comparison:
    """Run checked comparison inputs (:func:`analysis.app.inputs.check_compare`)."""
    names = list(values["strategies"])

    def running(position: int, name: str) -> None:
        if progress is not None:
            progress(position / len(names), f"running {name} ({position + 1} of {len(names)})")

    dataset = simulate_policies(load_choice(values["network"]),
                                {name: policy_preset(name) for name in names},
                                progress=running, days=values["days"], warmup_days=30,
                                replicates=values["replicates"], seed=values["seed"],
                                engine="batch", disruptions=values["disruptions"])
    if progress is not None:
        progress(1.0, "comparing")
    result = compare(dataset, baseline=names[0], resamples=0)
    table = result[["baseline_mean", "mean", "difference", "t_low", "t_high", "p_better",
                    "better"]].to_dataframe().reset_index()
    table["verdict"] = table.pop("better").map({1.0: "better", -1.0: "worse", 0.0: "no clear "
                                                "change"})
    for column in ("baseline_mean", "mean", "difference", "t_low", "t_high", "p_better"):
        table[column] = table[column].map(format_number)  # 4 significant digits, separators
    service = figures.service_level_over_time(dataset)
    cost = figures.cost_vs_loss_avoided(dataset, baseline=names[0])
    return Comparison(dataset, table, service, cost)

