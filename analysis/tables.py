"""Tables of KPIs with confidence intervals over replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

__all__ = ["format_number", "kpi_summary"]


def format_number(value: float) -> str:
    """A number for tables: thousands separated above 1,000, else four significant digits.

    NaN reads ``-`` and infinities ``∞``/``-∞``.
    """
    if np.isnan(value):
        return "-"
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def kpi_summary(dataset: xr.Dataset, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, t confidence interval and 5th/95th percentiles of each per-replicate KPI.

    Parameters
    ----------
    dataset : xarray.Dataset
        Output of :func:`sim.simulate`.
    confidence : float
        Confidence level of the interval on the mean.

    Returns
    -------
    pandas.DataFrame
        One row per KPI (those with only a ``replicate`` dimension), columns ``mean``,
        ``ci_low``, ``ci_high``, ``p05``, ``p95``, ``units``; indexed by (policy, KPI) when the
        dataset has a ``policy`` dimension.
    """
    if "policy" in dataset.dims:
        parts = {str(p): kpi_summary(dataset.sel(policy=p), confidence=confidence)
                 for p in dataset.policy.values}
        return pd.concat(parts, names=["policy", "kpi"])
    rows = {}
    for name, var in dataset.data_vars.items():
        if var.attrs.get("kpi") != 1 or var.dims != ("replicate",):
            continue
        values = np.asarray(var.values, dtype=float)
        values = values[np.isfinite(values)]
        if not values.size:  # e.g. no disruption, so no time to recover
            continue
        n = values.size
        mean = values.mean() if n else np.nan
        if n > 1:
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
        else:
            half = np.nan
        rows[name] = {
            "mean": mean,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "p05": np.percentile(values, 5) if n else np.nan,
            "p95": np.percentile(values, 95) if n else np.nan,
            "units": var.attrs.get("units", ""),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
