"""The public entry point: :func:`simulate` a network under a scenario and a policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from sim.compile.plan import plan_policy
from sim.compile.scenario import Scenario
from sim.engines.recording import DEFAULT_QUANTILE_REPLICATES, RECORD_MODES
from sim.engines.results import to_dataset
from sim.engines.runner import ENGINES, RunPlan, run_plan
from sim.io import load_network
from sim.io.datasets import network_of, parse_config, run_config, select_policy
from sim.io.presets import as_policy
from sim.io.provenance import network_record, run_attrs
from sim.measures.counterfactual import EVENT_RESILIENCE
from sim.measures.resilience import RecoveryRule, as_recovery_rule
from sim.spec.disruptions import disruption_to_mapping
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import Network
from sim.spec.policy import Policy

__all__ = ["ENGINES", "RECORD_MODES", "network_of", "rerun", "run_config", "select_policy",
           "simulate", "simulate_policies", "stack_policies"]




EVENT_OUTCOMES = frozenset(f"event_{name}" for name in EVENT_RESILIENCE)


def _muted(positions: Sequence[int], count: int) -> tuple[int, ...]:
    out = []
    for position in positions:
        if not _whole(position, 0) or position >= count:
            raise ConfigError(Issue("run", "mute_disruptions", position,
                                    f"must be the position of one of the {count} disruptions"))
        out.append(int(position))
    return tuple(sorted(set(out)))


def _whole(value: Any, minimum: int) -> bool:
    return bool(isinstance(value, int | np.integer) and not isinstance(value, bool)
                and value >= minimum)


def _check_run(engine: str, replicates: Any, record: str, chunk_size: Any, workers: Any,
               quantile_replicates: Any) -> None:
    issues = []
    if engine not in ENGINES:
        issues.append(Issue("run", "engine", engine, f"must be one of {', '.join(ENGINES)}"))
    if not _whole(replicates, 1):
        issues.append(Issue("run", "replicates", replicates, "must be a whole number >= 1"))
    if record not in RECORD_MODES:
        issues.append(Issue("run", "record", record, f"must be one of {', '.join(RECORD_MODES)}"))
    if chunk_size is not None and not _whole(chunk_size, 1):
        issues.append(Issue("engine", "chunk_size", chunk_size,
                            "must be a whole number >= 1, or empty for automatic"))
    if not _whole(workers, 1):
        issues.append(Issue("engine", "workers", workers, "must be a whole number >= 1"))
    if not _whole(quantile_replicates, 1):
        issues.append(Issue("run", "quantile_replicates", quantile_replicates,
                            "must be a whole number >= 1"))
    if issues:
        raise ConfigError(issues)


def simulate(
    network: Network | str | Path,
    *,
    days: int,
    replicates: int = 1,
    seed: int = 0,
    engine: str = "mesa",
    disruptions: Sequence[Any] | None = None,
    policy: Policy | Mapping[str, Any] | None = None,
    warmup_days: int = 0,
    record: str = "summary",
    chunk_size: int | None = None,
    workers: int = 1,
    quantile_replicates: int = DEFAULT_QUANTILE_REPLICATES,
    mute_disruptions: Sequence[int] = (),
    resilience: RecoveryRule | Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Simulate a supply chain and return its results.

    Parameters
    ----------
    network : Network or path
        The network, or a path for :func:`sim.load_network`.
    days : int
        Days recorded (after the warm-up).
    replicates : int
        Monte Carlo replicates; replicate r draws from ``SeedSequence(seed).spawn(R)[r]``.
    seed : int
        Root seed (non-negative).
    engine : {"mesa", "batch"}
        ``"mesa"``: the agent-based reference engine, one replicate at a time; ``"batch"``: the
        vectorised engine (:mod:`sim.engines.batch`), many replicates at once, same results.
    disruptions : sequence, optional
        Disruption specs (:class:`~sim.spec.disruptions.NodeOutage`, ...) or their mapping forms.
    policy : Policy or mapping, optional
        The strategy (:mod:`sim.spec.policy`); base-stock with z = 1.65 and nothing else by default.
    warmup_days : int
        Days simulated before recording (disruption days count from the end of the warm-up).
    record : {"summary", "full", "kpis"}
        ``"summary"``: KPIs per replicate, daily mean and sd over replicates of every node
        variable, and network series with quantiles; ``"full"``: every daily variable of every
        replicate; ``"kpis"``: only the KPIs (:mod:`sim.engines.recording`).
    chunk_size : int, optional
        Replicates simulated together; automatic by default
        (:func:`sim.engines.runner.auto_chunk_size`). Results do not depend on it.
    workers : int
        Processes running chunks in parallel, this one included (``workers - 1`` are spawned).
        Results do not depend on it.
    quantile_replicates : int
        Daily quantiles (summary mode) are taken over the first this many replicates.
    mute_disruptions : sequence of int
        Positions in ``disruptions`` to leave out while every other draw stays the same (the
        scenario without those events; :func:`sim.studies.attribution.attribute` uses it).
    resilience : RecoveryRule or mapping, optional
        How time to survive, time to recover and resilience loss are read against each
        replicate's undisrupted twin (:mod:`sim.measures.resilience`: ``tolerance``, ``hold_days``,
        ``counterfactual``). Runs with events run the twin too (about twice the work); the
        twin's costs come back as ``calm_*`` KPIs.

    Returns
    -------
    xarray.Dataset
        KPIs (replicate[, node]) and daily variables as ``record`` says; attrs hold the resolved
        config, seed, engine, version, git revision and timings (see :func:`rerun`).

    Examples
    --------
    >>> import sim
    >>> net = sim.load_network("configs/network/demo.yaml")
    >>> ds = sim.simulate(net, days=60, replicates=2,
    ...                   disruptions=[sim.NodeOutage("ctrl_a", start_day=10, duration_days=20)])
    >>> bool(ds.fill_rate.mean() < 1)
    True
    """
    started = time.perf_counter()
    net = network if isinstance(network, Network) else load_network(network)
    policy_spec = as_policy(policy)
    _check_run(engine, replicates, record, chunk_size, workers, quantile_replicates)
    scenario = Scenario(net, days=days, warmup_days=warmup_days,
                        disruptions=tuple(disruptions or ()), seed=seed,
                        muted=_muted(mute_disruptions, len(disruptions or ())))
    policy_plan = plan_policy(policy_spec, net)  # refuses a bad policy here, not in a worker
    rule = as_recovery_rule(dict(resilience) if isinstance(resilience, Mapping) else resilience)
    plan = RunPlan(scenario, policy_plan, engine, record, int(quantile_replicates), rule)
    merged = run_plan(plan, int(replicates), chunk_size=chunk_size, workers=int(workers))
    dataset = to_dataset(policy_plan.layout, merged, days=days, mode=record,
                         warmup_days=warmup_days,
                         causes=tuple(spec.kind for spec in scenario.disruptions))
    run = {"days": days, "warmup_days": warmup_days, "replicates": int(replicates),
           "seed": int(seed), "engine": engine, "record": record,
           "quantile_replicates": int(quantile_replicates),
           **({"mute_disruptions": list(scenario.muted)} if scenario.muted else {})}
    config = _resolved_config(run, net, scenario, policy_spec, rule)
    dataset.attrs.update(run_attrs(config, seed=seed, engine=engine, network=net,
                                   wall_time_s=time.perf_counter() - started))
    dataset.attrs.update(record=record, chunk_size=int(chunk_size or 0), workers=int(workers),
                         sampling_s=merged.timings["sampling_s"],
                         simulation_s=merged.timings["simulation_s"])
    return dataset


def rerun(dataset: xr.Dataset | str | Path, **changes: Any) -> xr.Dataset:
    """Run a dataset's simulation again from its attrs alone.

    Parameters
    ----------
    dataset : Dataset or path
        A dataset written by :func:`simulate` (or its NetCDF file).
    **changes
        Arguments of :func:`simulate` to change (``replicates=...``, ``engine=...``).

    Raises
    ------
    ConfigError
        When the network file it names has changed since (its hash differs).
    """
    config = run_config(dataset)
    network = network_of(dataset)
    run = config["run"]
    arguments = {
        "days": run["days"], "warmup_days": run["warmup_days"], "replicates": run["replicates"],
        "seed": run["seed"], "engine": run["engine"], "record": run["record"],
        "quantile_replicates": run.get("quantile_replicates", DEFAULT_QUANTILE_REPLICATES),
        "mute_disruptions": run.get("mute_disruptions", ()),
        "disruptions": config["disruptions"], "policy": config.get("policy"),
        "resilience": config.get("resilience"),
    }
    if "policies" in config:
        del arguments["policy"]
        arguments.update(changes)
        return simulate_policies(network, config["policies"], **arguments)
    arguments.update(changes)
    return simulate(network, **arguments)


def _resolved_config(run: dict[str, Any], network: Network, scenario: Scenario,
                     policy: Policy, rule: RecoveryRule) -> dict[str, Any]:
    """The config a dataset carries: enough for :func:`rerun` to repeat it bit for bit."""
    return {
        "run": run,
        "network": network_record(network),
        "resilience": rule.to_mapping(),
        "disruptions": [disruption_to_mapping(d) for d in scenario.disruptions],
        "policy": policy.to_mapping(),
    }


def calm_twin(dataset: xr.Dataset) -> xr.Dataset:
    """The run of ``dataset`` again with every disruption muted, with full traces.

    The counterfactual :func:`sim.measures.metrics.resilience` reads service against; the same
    replicates, demand and policy (needs the attrs :func:`simulate` writes).
    """
    specs = run_config(dataset).get("disruptions") or []
    return rerun(dataset, mute_disruptions=list(range(len(specs))), record="full")


def simulate_policies(network: Network | str | Path,
                      policies: Mapping[str, Policy | Mapping[str, Any] | None], *,
                      progress: Callable[[int, str], None] | None = None,
                      **kwargs: Any) -> xr.Dataset:
    """Run several strategies on the same scenario and stack them along ``policy``.

    Every strategy sees the same demand and events replicate by replicate (common random
    numbers), so :func:`sim.measures.compare.compare` can pair them.

    Parameters
    ----------
    network : Network or path
        The network.
    policies : mapping of name to Policy, mapping or None
        The strategies, by the name they get in the results (``None``: the base-stock default).
    progress : callable, optional
        Called with (position, name) before each strategy runs.
    **kwargs
        Arguments of :func:`simulate` (days, replicates, disruptions, seed, engine, ...).

    Returns
    -------
    xarray.Dataset
        The runs along a ``policy`` dimension; variables that do not depend on the policy (the
        event log) appear once. A strategy that adds nodes (a shared warehouse) leaves the
        others NaN there.
    """
    if not policies:
        raise ConfigError(Issue("simulate_policies", "policies", policies,
                                "give at least one strategy"))
    net = network if isinstance(network, Network) else load_network(network)
    runs = {}
    for position, (name, policy) in enumerate(policies.items()):
        if progress is not None:
            progress(position, str(name))
        spec = replace(as_policy(policy), name=str(name))
        runs[str(name)] = simulate(net, policy=spec, **kwargs)
    return stack_policies(runs)


def _first_known(coord: xr.DataArray) -> xr.DataArray:
    """A (policy, entity) coordinate reduced to its first non-missing value per entity."""
    values = coord.values
    missing = pd.isna(values)
    first = np.argmax(~missing, axis=0)
    picked = values[first, np.arange(values.shape[1])]
    if picked.dtype.kind == "f" and np.all(picked == np.round(picked)):
        picked = picked.astype(np.int64)  # integers the stacking turned into floats (tiers)
    elif picked.dtype == object and all(isinstance(v, str) for v in picked):
        picked = picked.astype(str)
    dim = str(coord.dims[1])
    return xr.DataArray(picked, dims=dim, coords={dim: coord[dim].values})


def stack_policies(runs: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """Stack runs of one scenario, one per strategy, along a ``policy`` dimension.

    The result is what :func:`simulate_policies` returns: its ``config`` attr lists every
    strategy under ``policies``, so :func:`rerun` repeats them all. Check that the runs share
    their replicates first (:func:`sim.measures.compare.combine` does).
    """
    names = list(runs)
    # every result gets the policy dimension, even where strategies happen to agree; only
    # the event log (the scenario's, common to all) is kept once
    # (how each strategy came through an event is its own, though)
    per_policy = sorted({str(name) for ds in runs.values()
                         for name, var in ds.data_vars.items()
                         if "event" not in var.dims or name in EVENT_OUTCOMES})
    combined = xr.concat(list(runs.values()), dim=xr.DataArray(names, dims="policy",
                                                               name="policy"),
                         data_vars=per_policy, coords="different", compat="equals",
                         join="outer")
    # a strategy that adds nodes (a shared warehouse) leaves their descriptions missing in the
    # others: describe every node, lane and input once, from whichever run has it
    for name, coord in list(combined.coords.items()):
        if coord.dims[:1] == ("policy",) and len(coord.dims) == 2 and name != "policy":
            combined.coords[name] = _first_known(coord)
    first = runs[names[0]]
    config = parse_config(first.attrs["config"])
    config.pop("policy", None)
    config["policies"] = {name: parse_config(runs[name].attrs["config"])["policy"]
                          for name in names}
    combined.attrs = dict(first.attrs)
    combined.attrs["config"] = yaml.safe_dump(config, sort_keys=False)
    combined.attrs["wall_time_s"] = sum(float(r.attrs.get("wall_time_s", 0)) for r in
                                        runs.values())
    return combined
