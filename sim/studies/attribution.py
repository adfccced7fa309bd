"""Why did this happen? Losses attributed to the disruptions that caused them.

Each disruption spec of a run draws its events from its own random stream, so the run can be
repeated with one spec left out and everything else (demand, the other events) unchanged. The
difference, replicate by replicate, is what that spec's events cost: exact under common random
numbers, with no model of how the effects propagate. Attributions per spec (a scripted event, a
risk-register row, a random-outage process), per KPI, with paired t intervals; what the specs
do only together (one outage emptying the buffer that would have absorbed another) is the
``interaction`` remainder. Summary and full runs also get the day-by-day shortage each cause
made, which shows a loss arriving long after its event (a pipeline refilling, a backlog at a
restarted supplier).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy import stats

from sim.io.datasets import dataset_config
from sim.spec.errors import ConfigError, Issue
from sim.studies.simulate import rerun, select_policy

__all__ = ["attribute"]


def _label(spec: dict, position: int) -> str:
    kind = spec.get("kind", "disruption")
    for key in ("node", "lane", "zone", "region", "cluster", "mode", "carrier", "nodes",
                "node_kind", "id"):
        if key in spec:
            value = spec[key]
            value = ",".join(value) if isinstance(value, list) else value
            return f"{position}: {kind} {value}"
    return f"{position}: {kind}"


def attribute(dataset: xr.Dataset, kpis: Sequence[str] = ("lost_sales", "shortage_cost_total",
                                                           "total_cost"),
              *, confidence: float = 0.95) -> xr.Dataset:
    """Attribute per-replicate KPIs of a run to each of its disruptions.

    Parameters
    ----------
    dataset : xarray.Dataset
        A run of :func:`sim.simulate` (its attrs are enough to repeat it).
    kpis : sequence of str
        Per-replicate KPIs to attribute (losses: larger is worse).
    confidence : float
        Level of the t intervals.

    Returns
    -------
    xarray.Dataset
        Dimensions ``cause`` and ``kpi``: ``effect`` (mean of KPI(run) - KPI(run without the
        cause)), ``effect_low``/``effect_high``, ``share`` (effect over the total effect of all
        disruptions); per ``kpi``: ``total`` (KPI(run) - KPI(no disruption)) and
        ``interaction`` (total minus the sum of the effects); and, when the run kept daily
        network series, ``daily_shortage`` (cause, day): the mean shortage each cause added
        on each day.
    """
    if "policy" in dataset.dims:  # each strategy against its own reruns
        names = [str(p) for p in dataset.policy.values]
        parts = [attribute(select_policy(dataset, name), kpis, confidence=confidence)
                 for name in names]
        return xr.concat(parts, dim=xr.DataArray(names, dims="policy", name="policy"),
                         combine_attrs="override")
    config = dataset_config(dataset)
    specs = config.get("disruptions") or []
    if not specs:
        raise ConfigError(Issue("attribute", "disruptions", [], "the run has no disruption to "
                                "attribute anything to"))
    already = set(config.get("run", {}).get("mute_disruptions", ()))
    active = [i for i in range(len(specs)) if i not in already]
    missing = [k for k in kpis if k not in dataset]
    if missing:
        raise ConfigError(Issue("attribute", "kpis", missing[0], "not a KPI of the run"))
    without = {i: rerun(dataset, mute_disruptions=sorted(already | {i})) for i in active}
    calm = (without[active[0]] if len(active) == 1
            else rerun(dataset, mute_disruptions=list(range(len(specs)))))
    labels = [_label(specs[i], i) for i in active]
    shape = (len(active), len(kpis))
    effect, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    total = np.full(len(kpis), np.nan)
    for j, kpi in enumerate(kpis):
        full_run = dataset[kpi].values
        total[j] = np.nanmean(full_run - calm[kpi].values)
        for i, cause in enumerate(active):
            diff = full_run - without[cause][kpi].values
            diff = diff[np.isfinite(diff)]
            if not diff.size:
                continue
            effect[i, j] = diff.mean()
            if diff.size > 1:
                half = (stats.t.ppf(0.5 + confidence / 2, diff.size - 1)
                        * diff.std(ddof=1) / np.sqrt(diff.size))
                low[i, j], high[i, j] = effect[i, j] - half, effect[i, j] + half
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total != 0, effect / total, np.nan)
    out = xr.Dataset(
        {"effect": (("cause", "kpi"), effect), "effect_low": (("cause", "kpi"), low),
         "effect_high": (("cause", "kpi"), high), "share": (("cause", "kpi"), share),
         "total": ("kpi", total), "interaction": ("kpi", total - np.nansum(effect, axis=0))},
        coords={"cause": labels, "kpi": list(kpis),
                "cause_index": ("cause", np.asarray(active, dtype=np.int64)),
                "cause_kind": ("cause", [specs[i].get("kind", "") for i in active])})
    series = _daily_shortage(dataset)
    if series is not None:
        alone = [_daily_shortage(without[i]) for i in active]
        out["daily_shortage"] = xr.concat(
            [series - other for other in alone if other is not None],
            dim="cause").assign_coords(cause=labels).assign_attrs(
            units="units/day", description="mean network shortage the cause added each day")
    out.attrs.update(confidence=confidence, method="rerun without each cause (common random "
                     "numbers)")
    return out


def _daily_shortage(dataset: xr.Dataset) -> xr.DataArray | None:
    if "network_shortage_mean" in dataset:
        return dataset.network_shortage_mean
    if "network_shortage" in dataset and "replicate" in dataset.network_shortage.dims:
        return dataset.network_shortage.mean("replicate")
    return None
