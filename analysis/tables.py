"""Tables of KPIs with confidence intervals over replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from sim.measures.compare import recorded_days

__all__ = ["denominator", "format_number", "kpi_summary"]

# KPIs of one event per replicate, of all events, and of the undisrupted twin
FIRST_EVENT = ("time_to_survive", "time_to_recover", "recovery_censored", "fell_short")
ALL_EVENTS = ("resilience_loss",)
RATES = ("fill_rate", "cycle_service_level", "co2e_per_unit_served", "peak_shortage",
         "final_backlog", "bullwhip_top", "inventory_turns", "calm_fill_rate",
         "disruption_count", "green_supply_share", "max_region_supply_share")


def denominator(kpi: str, counted: int, replicates: int, days: int | None = None) -> str:
    """What a mean over replicates is taken over, in a few words.

    ``counted`` replicates have a value (the others had no event); ``days`` recorded days, for
    the KPIs summed over the run. ``"1st event, 19/100 hit"``: the first event of the 19 of 100
    replicates that had one; ``"all 100, 180 d"``: every replicate, a total over 180 days.
    """
    hit = f"{counted}/{replicates} hit"
    if kpi in FIRST_EVENT:
        return f"1st event, {hit}"
    if kpi in ALL_EVENTS:
        return f"all events, {hit}"
    some = f"all {replicates}" if counted == replicates else f"{counted}/{replicates}"
    if kpi.startswith("calm_"):
        some = f"twins, {some}"
    if kpi.startswith("mean_") or kpi in RATES:
        return some
    return f"{some}, {days} d" if days else some


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
        ``ci_low``, ``ci_high``, ``p05``, ``p95``, ``units`` and ``over`` (what the mean is taken
        over: all replicates, or those with an event; and the recorded days for totals);
        indexed by (policy, KPI) when the dataset has a ``policy`` dimension.
    """
    if "policy" in dataset.dims:
        parts = {str(p): kpi_summary(dataset.sel(policy=p), confidence=confidence)
                 for p in dataset.policy.values}
        return pd.concat(parts, names=["policy", "kpi"])
    rows = {}
    days = recorded_days(dataset)
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
            "over": denominator(str(name), n, int(var.sizes["replicate"]), days),
        }
    return pd.DataFrame.from_dict(rows, orient="index")

