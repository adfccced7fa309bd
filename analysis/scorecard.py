"""The guideline scorecard: what each strategy moves on the six dimensions of the 2024 guide.

The 2024 guide of China's industry, transport and commerce ministries asks firms to make their
chains more collaborative, lean, digital, green, global and resilient. Each dimension is read here
through the KPIs of a run that measure it; the scorecard puts every strategy beside the baseline
with the paired difference and whether it is clearly better, clearly worse or not distinguishable
(:func:`sim.measures.compare.compare`, t interval under common random numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import xarray as xr

from sim.measures.compare import KPI_DIRECTION, combine, compare

__all__ = ["DIMENSIONS", "scorecard"]

# dimension -> (KPI, why it measures the dimension)
DIMENSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "collaboration": (
        ("bullwhip_top", "order variance amplification at the most upstream tier"),
        ("fill_rate", "share of end demand served"),
    ),
    "lean": (
        ("mean_total_inventory_value", "money tied up in stock, on hand and in transit"),
        ("holding_cost_total", "cost of holding stock on hand"),
        ("pipeline_holding_cost_total", "cost of holding stock in transit"),
        ("inventory_turns", "yearly throughput over mean stock"),
    ),
    "digital": (
        ("time_to_survive", "days demand keeps being met after a disruption starts"),
        ("time_to_recover", "days until service is back to normal"),
    ),
    "green": (
        ("co2e_per_unit_served", "kg CO2e per unit delivered"),
        ("green_supply_share", "share of units shipped by green-certified nodes"),
    ),
    "global": (
        ("max_region_supply_share", "largest share of supply from one region"),
        ("transport_cost_total", "cost of moving goods"),
    ),
    "resilience": (
        ("fill_rate", "share of end demand served"),
        ("lost_sales", "units of demand lost"),
        ("resilience_loss", "lost unit-days after the first disruption"),
    ),
}
VERDICT = {1: "better", -1: "worse", 0: "no clear change"}


def scorecard(runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset,
              baseline: str | None = None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Each strategy beside the baseline on the guide's six dimensions.

    Parameters
    ----------
    runs : mapping, sequence of datasets, or dataset with a ``policy`` dimension
        Runs sharing network, scenario, seed and replicates (see
        :func:`sim.measures.compare.combine`).
    baseline : str, optional
        The reference strategy (the first by default).
    confidence : float
        Level of the paired t interval that decides "better" or "worse".

    Returns
    -------
    pandas.DataFrame
        One row per (dimension, KPI, strategy): ``dimension``, ``kpi``, ``meaning``,
        ``units``, ``direction`` ("higher is better" or "lower is better"), ``strategy``,
        ``baseline_mean``, ``mean``, ``difference``, ``ci_low``, ``ci_high``, ``verdict``.
        KPIs a run does not have (no disruption: no time to recover) are left out.
    """
    data = combine(runs)
    present = {kpi for rows in DIMENSIONS.values() for kpi, _ in rows
               if kpi in data and data[kpi].notnull().any()}
    table = compare(data, baseline=baseline, kpis=sorted(present), confidence=confidence,
                    resamples=0)
    rows = []
    for dimension, kpis in DIMENSIONS.items():
        for kpi, meaning in kpis:
            if kpi not in present:
                continue
            for strategy in table.policy.values:
                cell = table.sel(policy=strategy, kpi=kpi)
                rows.append({
                    "dimension": dimension, "kpi": kpi, "meaning": meaning,
                    "units": str(cell.units.values),
                    "direction": ("higher is better" if KPI_DIRECTION.get(kpi, 1) > 0
                                  else "lower is better"),
                    "strategy": str(strategy),
                    "baseline_mean": float(cell.baseline_mean),
                    "mean": float(cell["mean"]),
                    "difference": float(cell.difference),
                    "ci_low": float(cell.t_low), "ci_high": float(cell.t_high),
                    "verdict": VERDICT[int(cell.better)],
                })
    frame = pd.DataFrame(rows)
    frame.attrs["baseline"] = table.attrs["baseline"]
    return frame
