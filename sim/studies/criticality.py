"""The criticality scan (the guide's measure 18): disrupt each node, lane and region in turn.

All the variants run on the same demand (common random numbers) as replicates of one batch: a
scan is a few batched runs, not one run per target. Targets are ranked by the loss their
disruption causes; :func:`sim.measures.exposure.exposure` reads the same map from the structure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import xarray as xr
from scipy import stats

from sim.compile import events as disruption_events
from sim.compile.effects import events_array
from sim.compile.plan import plan_policy
from sim.compile.scenario import Scenario, ScenarioDraws
from sim.engines.batch import BatchEngine
from sim.engines.recording import Recording
from sim.engines.runner import auto_chunk_size
from sim.io import load_network
from sim.io.presets import as_policy
from sim.measures.counterfactual import measure
from sim.measures.resilience import RecoveryRule
from sim.spec.disruptions import LaneDisruption, NodeOutage, RegionalEvent
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import Network
from sim.spec.policy import Policy

__all__ = ["SCAN_KPIS", "TARGET_KINDS", "criticality_scan"]

TARGET_KINDS = ("node", "lane", "region", "cluster")
SCAN_KPIS = ("lost_sales", "fill_rate", "resilience_loss", "time_to_recover", "total_cost")


def _targets(network: Network, kinds: Sequence[str], start: int, duration: int,
             severity: float) -> list[tuple[str, str, Any]]:
    """(kind, name, disruption spec) of every target, the undisturbed case first."""
    out: list[tuple[str, str, Any]] = [("none", "none", None)]
    for kind in kinds:
        if kind not in TARGET_KINDS:
            raise ConfigError(Issue("criticality", "targets", kind,
                                    f"must be among {', '.join(TARGET_KINDS)}"))
        if kind == "node":
            out += [("node", n.id, NodeOutage(n.id, start_day=start, duration_days=duration,
                                             severity=severity))
                    for n in network.nodes]
        elif kind == "lane":
            out += [("lane", lane.id, LaneDisruption(lane.id, start_day=start,
                                                      duration_days=duration, closure=severity))
                    for lane in network.lanes if lane.role == "primary"]
        else:
            values = sorted({getattr(n, kind) for n in network.nodes if getattr(n, kind)})
            out += [(kind, value, RegionalEvent(**{kind: value}, start_day=start,
                                                duration_days=duration, severity=severity,
                                                lane_closure=severity))
                    for value in values]
    return out


def criticality_scan(network: Network | str, *, policy: Policy | Mapping | None = None,
                     targets: Sequence[str] = ("node", "lane", "region"), days: int = 120,
                     warmup_days: int = 30, start_day: int = 10, duration_days: int = 30,
                     severity: float = 1.0, replicates: int = 20, seed: int = 0,
                     kpi: str = "lost_sales", confidence: float = 0.95) -> xr.Dataset:
    """Disrupt each target in turn and rank the targets by the loss it causes.

    Parameters
    ----------
    network : Network or path
        The network.
    policy : Policy or mapping, optional
        The strategy in place (base-stock by default).
    targets : sequence of {"node", "lane", "region", "cluster"}
        What to disrupt: every node (an outage), every primary lane (a closure), every region
        or cluster (a regional event on its nodes and lanes).
    days, warmup_days : int
        Recorded days and warm-up.
    start_day, duration_days : int
        When each disruption starts (recorded day) and how long it lasts [days].
    severity : float
        Capacity lost (nodes, regions) and lane closure, in (0, 1].
    replicates : int
        Replicates per target; every target sees the same demand in replicate r.
    seed : int
        Root seed of the demand.
    kpi : str
        Per-replicate KPI the ranking uses (a loss: larger is worse, or ``fill_rate``).
    confidence : float
        Level of the t interval of each target's mean loss.

    Returns
    -------
    xarray.Dataset
        Dimensions ``target`` and ``replicate``: the KPIs of :data:`SCAN_KPIS` per target and
        replicate; ``loss`` (mean paired increase of ``kpi`` over the undisturbed case, or
        decrease for ``fill_rate``) with ``loss_low``/``loss_high``, and ``criticality_rank``
        (1 = most critical) per target; coordinates ``target_kind`` and ``target_name``.
    """
    net = network if isinstance(network, Network) else load_network(network)
    plan = plan_policy(as_policy(policy), net)
    layout = plan.layout
    if kpi not in SCAN_KPIS:
        raise ConfigError(Issue("criticality", "kpi", kpi, f"must be one of "
                                f"{', '.join(SCAN_KPIS)}"))
    cases = _targets(plan.network, targets, start_day, duration_days, severity)
    scenario = Scenario(net, days=days, warmup_days=warmup_days, seed=seed)
    base = scenario.draw(replicates)
    horizon = scenario.horizon
    per_chunk = max(1, auto_chunk_size(layout, len(cases) * replicates) // replicates)
    values = {name: np.full((len(cases), replicates), np.nan) for name in SCAN_KPIS}
    for first in range(0, len(cases), per_chunk):
        chunk = cases[first:first + per_chunk]
        tables = []
        for position, (_, _, spec) in enumerate(chunk):
            if spec is None:
                continue
            disruption_events.validate(spec, layout, warmup_days)
            no_draws = cast(list[np.random.Generator], [None] * replicates)  # scripted events
            events = disruption_events.sample(spec, no_draws, layout, horizon, warmup_days)
            events["replicate"] += position * replicates
            tables.append(events)
        events = np.concatenate(tables) if tables else events_array(0)
        ids = np.arange(len(chunk) * replicates)
        draws = ScenarioDraws(ids, np.tile(base.demand, (len(chunk), 1, 1)), events, horizon,
                              tuple(spec.kind for _, _, spec in chunk if spec is not None))
        recording = Recording("kpis", ids, days, layout)
        BatchEngine(plan).run(draws, warmup_days, recording)
        kpis = recording.result().kpis
        daily = recording.kpis.daily()
        if first == 0:  # the undisturbed case: every target's twin, replicate by replicate
            calm = (daily[0][:replicates], daily[1][:replicates])
        twin = (np.tile(calm[0], (len(chunk), 1)), np.tile(calm[1], (len(chunk), 1)))
        kpis.update(measure(daily, twin, events, warmup_days, RecoveryRule())[0])
        for name in SCAN_KPIS:
            values[name][first:first + len(chunk)] = kpis[name].reshape(len(chunk), replicates)
    sign = -1.0 if kpi == "fill_rate" else 1.0
    diff = sign * (values[kpi] - values[kpi][:1])
    mean = np.nanmean(diff, axis=1)
    sd = np.nanstd(diff, axis=1, ddof=1) if replicates > 1 else np.full(len(cases), np.nan)
    half = stats.t.ppf(0.5 + confidence / 2, max(replicates - 1, 1)) * sd / np.sqrt(replicates)
    order = np.argsort(-np.nan_to_num(mean[1:], nan=-np.inf), kind="stable")
    rank = np.zeros(len(cases), dtype=np.int64)
    rank[1 + order] = np.arange(1, len(cases))
    names = [f"{kind}:{name}" if kind != "none" else "none" for kind, name, _ in cases]
    data = {name: (("target", "replicate"), v) for name, v in values.items()}
    out = xr.Dataset(
        {**data, "loss": ("target", mean), "loss_low": ("target", mean - half),
         "loss_high": ("target", mean + half), "criticality_rank": ("target", rank)},
        coords={"target": names, "replicate": np.arange(replicates),
                "target_kind": ("target", [kind for kind, _, _ in cases]),
                "target_name": ("target", [name for _, name, _ in cases])})
    out["loss"].attrs = {"units": "units" if kpi != "fill_rate" else "1",
                         "description": f"mean increase of {kpi} over the undisturbed case"}
    out.attrs.update(kpi=kpi, start_day=start_day, duration_days=duration_days,
                     severity=severity, days=days, warmup_days=warmup_days, seed=seed,
                     network_name=net.name)
    return out


