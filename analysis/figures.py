"""Figures: each a function that takes a dataset and returns a matplotlib figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no screen is needed

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr

__all__ = ["service_level_over_time"]


def _bands(series: xr.DataArray, quantiles: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Low, median, high of a network series (per replicate, or stored quantiles)."""
    if "replicate" in series.dims:
        return tuple(series.quantile(q, dim="replicate").values
                     for q in (quantiles[0], 0.5, quantiles[1]))
    return tuple(series.sel(quantile=q, method="nearest").values
                 for q in (quantiles[0], 0.5, quantiles[1]))


def service_level_over_time(dataset: xr.Dataset, *, quantiles: tuple[float, float] = (0.05, 0.95),
                            disruption_days: tuple[int, int] | None = None) -> plt.Figure:
    """Daily network service level (served on arrival / demand) with a quantile band.

    Parameters
    ----------
    dataset : xarray.Dataset
        Output of :func:`sim.simulate` (``record="summary"`` or ``"full"``).
    quantiles : (float, float)
        Band over replicates around the median (summary datasets store 0.05, 0.25, 0.5, 0.75,
        0.95).
    disruption_days : (int, int), optional
        First and last day of a disruption to shade.
    """
    series = dataset["network_service_level"]
    low, mid, high = _bands(series, quantiles)
    if "replicate" in series.dims:
        mean, count = series.mean("replicate").values, series.sizes["replicate"]
    else:
        mean = dataset["network_service_level_mean"].values
        count = dataset.sizes["replicate"]
    days = dataset["day"].values
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.fill_between(days, low, high, alpha=0.3,
                    label=f"{quantiles[0]:.0%}-{quantiles[1]:.0%} of replicates")
    ax.plot(days, mid, lw=1.5, label="median")
    ax.plot(days, mean, lw=1, ls="--", label=f"mean of {count} replicates")
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
