"""Figures: each a function that takes a dataset and returns a matplotlib figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no screen is needed

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr

__all__ = ["service_level_over_time"]


def service_level_over_time(dataset: xr.Dataset, *, quantiles: tuple[float, float] = (0.05, 0.95),
                            disruption_days: tuple[int, int] | None = None) -> plt.Figure:
    """Daily network service level (served on arrival / demand) with a quantile band.

    Parameters
    ----------
    dataset : xarray.Dataset
        Output of :func:`sim.simulate` with daily traces.
    quantiles : (float, float)
        Band over replicates around the median.
    disruption_days : (int, int), optional
        First and last day of a disruption to shade.
    """
    demand = dataset["demand"].sum("node")
    met = demand - dataset["shortage"].sum("node")
    level = (met / demand.where(demand > 0)).fillna(1.0)
    days = level["day"].values
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(9, 4))
    low, mid, high = (level.quantile(q, dim="replicate").values
                      for q in (quantiles[0], 0.5, quantiles[1]))
    ax.fill_between(days, low, high, alpha=0.3, label=f"{quantiles[0]:.0%}-{quantiles[1]:.0%} of "
                    f"{level.sizes['replicate']} replicates")
    ax.plot(days, mid, lw=1.5, label="median")
    ax.plot(days, level.mean("replicate").values, lw=1, ls="--", label="mean")
    if disruption_days is not None:
        ax.axvspan(disruption_days[0], disruption_days[1], color="tab:red", alpha=0.1,
                   label="disruption")
    ax.set_xlabel("day")
    ax.set_ylabel("share of demand served on arrival")
    ax.set_ylim(max(0.0, float(np.nanmin(low)) - 0.05), 1.01)
    ax.set_title(f"Service level: {dataset.attrs.get('network_name', '')}")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig
