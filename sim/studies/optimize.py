"""Investment planner: search the policy library for the cheapest plan that meets a target.

A *decision* is one setting of the policy mapping (``inventory.safety_factor``,
``sourcing.dynamic``, ``expedite.enabled``, ...) with its range; each carries its cost as the
policy library defines it (holding, fees, premiums), so a candidate's cost is what a run of it
costs. Every candidate runs on the **same replicates** (the same seed: common random numbers,
the batch engine), so differences between candidates are paired, not noise.

The search is Optuna's (TPE for one objective, NSGA-II for several; constraints through
``Trial.set_constraint``, which both samplers read), stored in SQLite when ``storage`` is
given: a killed search started again with the same arguments continues where it stopped.
Trial k draws from a sampler seeded with (seed, k), so a resumed search proposes what an
uninterrupted one would.

Metrics (per year where they are money; estimates with their standard errors over replicates):

* ``annual_total_cost``: mean total cost x 365 / recorded days;
* ``fill_rate``: mean fill rate; ``fill_rate_p05``: its 5 % quantile over replicates (the bad
  year); ``lost_sales_cvar95``: mean of the worst 5 % of replicates' lost sales;
* ``co2e_per_unit``: kg CO2e per unit served;
* ``annual_public_cost``: what a public budget pays per year (public reserves, shared
  warehouses, subsidised backup and notice fees: ``public_cost_total``), for a planner's
  budget constraint (``annual_public_cost <= 2e5``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

from sim.io.provenance import seed_attr
from sim.measures.compare import pareto_front, recorded_days
from sim.spec.checks import choice, fail
from sim.spec.units import DAYS_PER_YEAR
from sim.studies.study import _Runner, set_path

__all__ = ["METRICS", "Constraint", "Decision", "OptimizePlan", "evaluate", "metric_values",
           "optimize", "optimize_plan"]

KINDS = ("float", "int", "bool", "choice")
# paired differences against the base policy, per year: (per-replicate series, base first)
PAIRED = {"cost_vs_base": ("annual_total_cost", False),  # candidate - base: added cost
          "spend_vs_base": ("annual_spend", False),  # what the plan spends (not penalties)
          "loss_avoided": ("annual_loss", True)}  # base - candidate: penalties avoided
DIRECTIONS: dict[str, Literal["minimize", "maximize"]] = {
    "annual_total_cost": "minimize", "fill_rate": "maximize", "fill_rate_p05": "maximize",
    "lost_sales_cvar95": "minimize", "co2e_per_unit": "minimize",
    "annual_public_cost": "minimize"}
METRICS = tuple(DIRECTIONS)


@dataclass(frozen=True)
class Decision:
    """One setting of the policy to search over.

    Parameters
    ----------
    path : str
        Dotted path in the policy mapping (``inventory.safety_factor``).
    low, high : float
        Range of a ``float`` or ``int`` decision.
    kind : {"float", "int", "bool"}
        What the setting is.
    step : float, optional
        Grid step of a ``float`` decision (values low, low + step, ..., high).
    choices : sequence, optional
        The values of a ``choice`` decision (``pooling.groups``: ``["@by_item", []]`` is pooling
        on or off).
    """

    path: str
    low: float = 0.0
    high: float = 1.0
    kind: str = "float"
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        where = f"decision {self.path!r}"
        if not isinstance(self.path, str) or not self.path:
            raise fail("decision", "path", self.path, "must be a dotted path of the policy")
        choice(where, "kind", self.kind, KINDS)
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise fail(where, "choices", list(self.choices), "list two values or more")
            return
        if self.kind != "bool" and not (math.isfinite(self.low) and math.isfinite(self.high)
                                        and self.low < self.high):
            raise fail(where, "high", self.high, f"must be finite and above low ({self.low})")
        if self.step is not None and not (math.isfinite(self.step) and self.step > 0):
            raise fail(where, "step", self.step, "must be a number > 0")

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial proposes."""
        if self.kind == "bool":
            return trial.suggest_categorical(self.path, [False, True])
        if self.kind == "choice":  # Optuna stores categories as text: pick by position
            position = trial.suggest_categorical(self.path, list(range(len(self.choices))))
            return self.choices[position]
        if self.kind == "int":
            return trial.suggest_int(self.path, int(self.low), int(self.high))
        return trial.suggest_float(self.path, float(self.low), float(self.high), step=self.step)

    def grid(self) -> list[Any]:
        """Every value of a finite decision (bool, int, or float with a step)."""
        if self.kind == "bool":
            return [False, True]
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1))
        if self.step is None:
            raise fail(f"decision {self.path!r}", "step", None, "a float needs a step for a grid")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return [float(self.low + k * self.step) for k in range(count)]


@dataclass(frozen=True)
class Constraint:
    """A metric that must stay on one side of a bound (``fill_rate_p05 >= 0.98``)."""

    metric: str
    op: str
    value: float

    def __post_init__(self) -> None:
        choice("constraint", "metric", self.metric, METRICS)
        choice("constraint", "op", self.op, (">=", "<="))

    def violation(self, estimate: float) -> float:
        """How far ``estimate`` is on the wrong side (<= 0: met), as Optuna's constraints."""
        return self.value - estimate if self.op == ">=" else estimate - self.value


def metric_values(dataset: xr.Dataset) -> dict[str, tuple[float, float]]:
    """(estimate, standard error) of every metric of :data:`METRICS` from one run's KPIs."""
    year = DAYS_PER_YEAR / recorded_days(dataset)
    cost = dataset.total_cost.values * year
    public = dataset.public_cost_total.values * year
    fill = dataset.fill_rate.values
    lost = dataset.lost_sales.values
    per_unit = dataset.co2e_kg.values / np.maximum(dataset.served_units.values, 1e-12)
    n = cost.size
    tail = max(1, math.ceil(0.05 * n))
    worst = np.sort(lost)[-tail:]
    return {
        "annual_total_cost": (float(cost.mean()), _se(cost)),
        "fill_rate": (float(fill.mean()), _se(fill)),
        "fill_rate_p05": (float(np.quantile(fill, 0.05)), _quantile_se(fill, 0.05)),
        "lost_sales_cvar95": (float(worst.mean()), _se(worst)),
        "co2e_per_unit": (float(per_unit.mean()), _se(per_unit)),
        "annual_public_cost": (float(public.mean()), _se(public)),
    }


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan


def _quantile_se(values: np.ndarray, q: float) -> float:
    """Standard error of an empirical quantile, from the spread of order statistics."""
    n = values.size
    if n < 10:
        return math.nan
    half = math.sqrt(q * (1 - q) / n)  # the quantile's rank moves by about this share
    low, high = np.quantile(values, [max(0.0, q - half), min(1.0, q + half)])
    return float((high - low) / 2)


@dataclass(frozen=True)
class _Run:
    """What every candidate shares: network, events, horizon, replicates, seed (CRN)."""

    network: Any
    disruptions: tuple[Any, ...]
    days: int
    warmup_days: int
    replicates: int
    seed: int
    base: Mapping[str, Any] = field(default_factory=dict)


def evaluate(run: _Run, values: Mapping[str, Any], replicates: int | None = None
             ) -> tuple[dict[str, tuple[float, float]], dict[str, np.ndarray]]:
    """Metrics of the base policy with ``values`` set (one run on the shared replicates).

    Returns the (estimate, standard error) of each metric and, per replicate, the annual cost
    and the fill rate (for paired comparisons between candidates).
    """
    from sim.studies.simulate import simulate

    policy = dict(run.base)
    for path, value in values.items():
        policy = set_path(policy, path, value)
    dataset = simulate(run.network, policy=policy, disruptions=list(run.disruptions),
                       days=run.days, warmup_days=run.warmup_days,
                       replicates=replicates or run.replicates, seed=run.seed, engine="batch",
                       record="kpis")
    year = DAYS_PER_YEAR / recorded_days(dataset)
    loss = dataset.shortage_cost_total.values * year  # penalties of demand not served
    cost = dataset.total_cost.values * year
    per_replicate = {"annual_total_cost": cost, "annual_loss": loss, "annual_spend": cost - loss,
                     "fill_rate": dataset.fill_rate.values}
    return metric_values(dataset), per_replicate


def optimize(network: Any, *, decisions: Sequence[Decision],
             objectives: Sequence[str] = ("annual_total_cost",),
             constraints: Sequence[Constraint] = (), budget: int = 40,
             replicates: int = 200, seed: int = 0, days: int = int(DAYS_PER_YEAR),
             warmup_days: int = 30,
             disruptions: Sequence[Any] = (), base_policy: Mapping[str, Any] | None = None,
             storage: str | None = None, study_name: str = "optimize",
             confirm_replicates: int | None = None, confirm_top: int = 5,
             workers: int = 0, scheduler: str | None = None,
             progress: Callable[[int, int, float], None] | None = None) -> xr.Dataset:
    """Search the decisions for the best plans; one entry per candidate evaluated.

    Parameters
    ----------
    network : Network or path
        The network.
    decisions : sequence of Decision
        What to search over.
    objectives : sequence of str
        Metrics of :data:`METRICS` (each minimised or maximised as it reads).
    constraints : sequence of Constraint
        Bounds a plan must meet (on the estimates of the search's replicates).
    budget : int
        Candidates evaluated in all (a resumed search counts those already stored).
    replicates, seed, days, warmup_days, disruptions
        The run every candidate shares (common random numbers).
    base_policy : mapping, optional
        The policy the decisions change (base-stock by default).
    storage : str, optional
        SQLite file of the search; with it, a search started again continues.
    study_name : str
        Name of the search in the storage.
    confirm_replicates : int, optional
        Re-run the best ``confirm_top`` feasible candidates (and the base policy) with this many
        replicates (default: 5x the search's) and recommend the best one whose constraints hold
        with 95 % confidence; its paired difference from the base policy and from its nearest
        rival come with 95 % intervals.
    confirm_top : int
        Candidates re-run.
    workers, scheduler
        Dask workers of a ``LocalCluster`` (0: evaluate in this process), or the address of a
        running scheduler. Each round asks one candidate per worker and evaluates them at once;
        the proposals then depend on the number of workers, and are the same again for it.
    progress : callable, optional
        Called as ``progress(done, budget, best)`` after each candidate.
    """
    import optuna

    from sim.io import load_network
    from sim.spec.network import Network

    for name in objectives:
        choice("optimize", "objectives", name, METRICS)
    net = network if isinstance(network, Network) else load_network(network)
    run = _Run(net, tuple(disruptions), int(days), int(warmup_days), int(replicates),
               int(seed), dict(base_policy or {}))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=f"sqlite:///{storage}" if storage else None, study_name=study_name,
        load_if_exists=True, directions=[DIRECTIONS[o] for o in objectives])

    _check_manifest(study, _manifest(run, decisions, objectives, constraints), storage)

    def record(trial: Any, outcome: tuple[dict[str, Any], dict[str, np.ndarray]]) -> None:
        metrics, per_replicate = outcome
        for name, (estimate, se) in metrics.items():
            trial.set_user_attr(name, [estimate, se])
        for name, series in per_replicate.items():
            trial.set_user_attr(f"{name}_per_replicate", [float(v) for v in series])
        violations = [c.violation(metrics[c.metric][0]) for c in constraints]
        trial.set_user_attr("constraint", violations)
        for number, value in enumerate(violations):  # feasible when every value is <= 0
            trial.set_constraint(f"c{number}", value)
        study.tell(trial, [metrics[o][0] for o in objectives])

    states = optuna.trial.TrialState
    for stale in [t for t in study.trials if t.state == states.RUNNING]:  # a killed search's
        study.tell(stale.number, state=states.FAIL)
    done = len([t for t in study.trials if t.state == states.COMPLETE])
    with _Runner(workers, scheduler) as runner:
        while done < int(budget):
            batch = []
            for number in range(done, min(int(budget), done + max(1, int(workers)))):
                study.sampler = _sampler(len(objectives), seed, number)
                trial = study.ask()
                batch.append((trial, {d.path: d.suggest(trial) for d in decisions}))
            for (trial, _), outcome in zip(batch, _evaluate_all(runner, run, batch),
                                           strict=True):
                record(trial, outcome)
            done += len(batch)
            if progress is not None:
                progress(done, int(budget), _best(study, objectives))
    result = _candidates(study, decisions, objectives, constraints, run)
    confirmed = int(confirm_replicates or 5 * run.replicates)
    return _confirm(result, decisions, objectives, constraints, run, confirmed, confirm_top)


def _evaluate_all(runner: _Runner, run: _Run, batch: list[tuple[Any, dict[str, Any]]]
                  ) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Evaluate a batch of candidates: on the Dask workers when there are any, else here."""
    if runner.client is None:
        return [evaluate(run, values) for _, values in batch]
    futures = [runner.client.submit(evaluate, run, values, pure=False) for _, values in batch]
    return runner.client.gather(futures)


def _confirm(result: xr.Dataset, decisions: Sequence[Decision], objectives: Sequence[str],
             constraints: Sequence[Constraint], run: _Run, replicates: int,
             top: int) -> xr.Dataset:
    """Re-run the best feasible candidates with more replicates; mark the recommendation.

    Every re-run uses the same seed, so its replicates are the search's and more, and the
    differences between candidates (and against the base policy) are paired.
    """
    objective = objectives[0]
    sign = 1.0 if DIRECTIONS[objective] == "minimize" else -1.0
    chosen = _to_confirm(result, objective, constraints, top)
    base_metrics, base_series = evaluate(run, {}, replicates)
    n = result.sizes["candidate"]
    names = [f"confirmed_{name}{end}" for name in METRICS for end in ("", "_se")]
    names += [f"{name}{end}" for name in PAIRED for end in ("_low", "", "_high")]
    confirmed = {name: np.full(n, np.nan) for name in names}
    confirmed_ok = np.zeros(n, dtype=bool)
    series: dict[int, np.ndarray] = {}
    for i in chosen:
        values = {d.path: _decided(d, result[d.path].values[i]) for d in decisions}
        metrics, per_replicate = evaluate(run, values, replicates)
        series[i] = per_replicate["annual_total_cost"]
        for name, (estimate, se) in metrics.items():
            confirmed[f"confirmed_{name}"][i], confirmed[f"confirmed_{name}_se"][i] = estimate, se
        for name, (key, against_base) in PAIRED.items():
            pair = (base_series[key], per_replicate[key]) if against_base else \
                (per_replicate[key], base_series[key])
            for end, value in zip(("_low", "", "_high"), _paired(*pair), strict=True):
                confirmed[f"{name}{end}"][i] = value
        confirmed_ok[i] = all(_holds(c, *metrics[c.metric]) for c in constraints)
    out = result.copy()
    for name, column in confirmed.items():
        out[name] = ("candidate", column)
    out["confirmed_feasible"] = ("candidate", confirmed_ok)
    ranked = [i for i in chosen if confirmed_ok[i]]
    ranked.sort(key=lambda i: sign * confirmed[f"confirmed_{objective}"][i])
    recommended = np.zeros(n, dtype=bool)
    base_ok = all(_holds(c, *base_metrics[c.metric]) for c in constraints)
    keep_base = base_ok and (not ranked or sign * base_metrics[objective][0]
                             <= sign * confirmed[f"confirmed_{objective}"][ranked[0]])
    out.attrs.update(base_feasible=int(base_ok), keep_base=int(keep_base))
    if ranked and not keep_base:  # today's plan, when it holds and is cheaper, stays
        recommended[ranked[0]] = True
        if len(ranked) > 1:
            low, mean, high = _paired(series[ranked[1]], series[ranked[0]])
            out.attrs.update(rival=int(out.candidate.values[ranked[1]]),
                             rival_cost_difference=[low, mean, high],
                             replicates_needed=_replicates_needed(series[ranked[1]]
                                                                  - series[ranked[0]]))
    out["recommended"] = ("candidate", recommended)
    out.attrs.update(confirm_replicates=replicates,
                     **{f"base_{name}": list(value) for name, value in base_metrics.items()})
    return out


def _to_confirm(result: xr.Dataset, objective: str, constraints: Sequence[Constraint],
                top: int) -> list[int]:
    """The candidates to re-run: the front of the objective against the constrained metrics.

    The search's replicates may under-sample rare events, so the cheapest plans by the search
    are not enough: a dearer plan with more margin on a constraint may be the one that holds
    on more replicates. The feasible candidates no other beats on the objective and on every
    constrained metric are confirmed (spread evenly along the front when there are more than
    ``top``), then the next by the objective until ``top``; plans that ran the same in effect
    count once.
    """
    sign = 1.0 if DIRECTIONS[objective] == "minimize" else -1.0
    order = np.argsort(sign * result[objective].values, kind="stable")
    feasible = _distinct([int(i) for i in order if result.feasible.values[i]], result)
    if not feasible:
        return []
    columns = [sign * result[objective].values]
    columns += [(-1.0 if c.op == ">=" else 1.0) * result[c.metric].values for c in constraints]
    scores = xr.Dataset({f"score{k}": ("candidate", column[feasible])  # lower is better
                         for k, column in enumerate(columns)})
    front = pareto_front(scores, {str(name): -1 for name in scores.data_vars}).values
    on_front = [int(k) for k in np.flatnonzero(front)]
    if len(on_front) > top:
        on_front = [on_front[round(float(x))] for x in np.linspace(0, len(on_front) - 1, top)]
    chosen = [feasible[k] for k in on_front]
    chosen += [i for i in feasible if i not in chosen][:max(0, top - len(chosen))]
    return sorted(chosen, key=lambda i: sign * result[objective].values[i])


def _distinct(positions: list[int], result: xr.Dataset) -> list[int]:
    """The first of each group of candidates that ran the same plan in effect.

    Settings that change nothing (the capacity of a lane not contracted) give bit-identical
    metrics on the shared replicates; confirming such twins twice would waste the re-runs.
    """
    seen: set[tuple[float, ...]] = set()
    out = []
    for i in positions:
        key = tuple(float(result[name].values[i]) for name in METRICS)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def _decided(decision: Decision, value: Any) -> Any:
    """A candidate's value of a decision, back from the dataset (choices are stored as JSON)."""
    if decision.kind == "choice":
        return json.loads(str(value))
    return value.item() if isinstance(value, np.generic) else value


def _replicates_needed(diff: np.ndarray) -> int:
    """Replicates for the paired 95 % interval of ``diff`` to exclude zero (its mean, its sd)."""
    mean, sd = abs(float(diff.mean())), float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    if mean == 0:
        return -1  # no number of replicates tells them apart: they are the same plan here
    return max(2, math.ceil((1.96 * sd / mean) ** 2))


def _holds(constraint: Constraint, estimate: float, se: float) -> bool:
    """The constraint holds at the one-sided 95 % confidence bound of the estimate."""
    margin = 1.645 * (se if math.isfinite(se) else 0.0)
    bound = estimate - margin if constraint.op == ">=" else estimate + margin
    return constraint.violation(bound) <= 0


def _paired(values: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """Mean paired difference (values - reference) over shared replicates, with its 95 % CI."""
    diff = values - reference
    half = 1.96 * diff.std(ddof=1) / math.sqrt(diff.size) if diff.size > 1 else math.nan
    mean = float(diff.mean())
    return mean - half, mean, mean + half


def _manifest(run: _Run, decisions: Sequence[Decision], objectives: Sequence[str],
              constraints: Sequence[Constraint]) -> dict[str, Any]:
    """What a stored search's candidates were evaluated under (a resume must match it)."""
    from sim.io.provenance import network_sha256
    from sim.spec.disruptions import disruption_to_mapping

    return json.loads(json.dumps({
        "network": network_sha256(run.network),
        "disruptions": [disruption_to_mapping(d) for d in run.disruptions],
        "days": run.days, "warmup_days": run.warmup_days, "replicates": run.replicates,
        "seed": run.seed, "base_policy": run.base,
        "decisions": [[d.path, d.kind, d.low, d.high, d.step] for d in decisions],
        "objectives": list(objectives),
        "constraints": [[c.metric, c.op, c.value] for c in constraints]}, default=str))


def _check_manifest(study: Any, manifest: dict[str, Any], storage: str | None) -> None:
    """Refuse to resume a stored search under other settings (its candidates would not pair)."""
    stored = study.user_attrs.get("manifest")
    if stored is None:
        study.set_user_attr("manifest", manifest)
        return
    for key, value in manifest.items():
        if stored.get(key) != value:
            raise fail(f"optimize storage {storage}", key, value,
                       f"differs from the stored search's ({stored.get(key)!r}): start a new "
                       "study name or storage, or run with the stored settings")


def _sampler(objectives: int, seed: int, number: int) -> Any:
    """Trial ``number``'s sampler: seeded by (seed, number), so a resumed search repeats."""
    import optuna

    trial_seed = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    if objectives > 1:
        return optuna.samplers.NSGAIISampler(seed=trial_seed)
    return optuna.samplers.TPESampler(seed=trial_seed, n_startup_trials=8)


def _best(study: Any, objectives: Sequence[str]) -> float:
    values = [t.values[0] for t in study.trials if t.values is not None
              and all(v <= 0 for v in t.user_attrs.get("constraint", []))]
    if not values:
        return math.nan
    return min(values) if DIRECTIONS[objectives[0]] == "minimize" else max(values)


def _indistinguishable(trials: Sequence[Any], objective: str, feasible: Sequence[bool]
                       ) -> list[bool]:
    """Candidates whose paired difference from the best feasible one is within its 95 % interval.

    All candidates ran on the same replicates, so each difference is taken replicate by
    replicate (common random numbers); the decisions of these candidates are the Monte Carlo
    tolerance of the optimum.
    """
    key = f"{objective}_per_replicate"
    if objective not in ("annual_total_cost", "fill_rate") or not any(feasible):
        return [False] * len(trials)
    sign = 1.0 if DIRECTIONS[objective] == "minimize" else -1.0
    series = [sign * np.asarray(t.user_attrs[key]) for t in trials]
    best = min((i for i, ok in enumerate(feasible) if ok), key=lambda i: series[i].mean())
    out = []
    for values, ok in zip(series, feasible, strict=True):
        diff = values - series[best]
        se = diff.std(ddof=1) / math.sqrt(diff.size) if diff.size > 1 else 0.0
        out.append(bool(ok and diff.mean() <= 1.96 * se))
    return out


def _candidates(study: Any, decisions: Sequence[Decision], objectives: Sequence[str],
                constraints: Sequence[Constraint], run: _Run) -> xr.Dataset:
    """One entry per completed trial: decisions, metrics and standard errors, feasibility."""
    import optuna

    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    data: dict[str, Any] = {}
    for d in decisions:
        chosen = [t.params[d.path] for t in trials]
        if d.kind == "choice":  # the value as text (its position is what Optuna searched)
            chosen = [json.dumps(d.choices[int(position)]) for position in chosen]
        data[d.path] = ("candidate", chosen)
    for name in METRICS:
        data[name] = ("candidate", [t.user_attrs[name][0] for t in trials])
        data[f"{name}_se"] = ("candidate", [t.user_attrs[name][1] for t in trials])
    feasible = [all(v <= 0 for v in t.user_attrs.get("constraint", [])) for t in trials]
    data["feasible"] = ("candidate", feasible)
    pareto = {t.number for t in study.best_trials}
    data["pareto"] = ("candidate", [t.number in pareto for t in trials])
    data["indistinguishable"] = ("candidate", _indistinguishable(trials, objectives[0],
                                                                 feasible))
    out = xr.Dataset(data, coords={"candidate": [t.number for t in trials]})
    out.attrs.update(objectives=list(objectives), replicates=run.replicates,
                     seed=seed_attr(run.seed),
                     days=run.days, budget=len(trials),
                     sampler="NSGA-II" if len(objectives) > 1 else "TPE",
                     constraints=[f"{c.metric} {c.op} {c.value}" for c in constraints])
    return out


@dataclass(frozen=True)
class OptimizePlan:
    """An optimisation built from a config (``study.kind: optimize``)."""

    name: str
    spec: Any  # the RunSpec every candidate shares (network, events, base policy, horizon)
    decisions: tuple[Decision, ...]
    objectives: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    budget: int
    storage: str | None
    confirm_replicates: int | None
    confirm_top: int
    workers: int = 0
    scheduler: str | None = None

    def run(self, progress: Callable[[int, int, float], None] | None = None) -> xr.Dataset:
        """Search, confirm and recommend (:func:`optimize`)."""
        spec = self.spec
        return optimize(spec.network, decisions=self.decisions, objectives=self.objectives,
                        constraints=self.constraints, budget=self.budget,
                        replicates=spec.replicates, seed=spec.seed, days=spec.days,
                        warmup_days=spec.warmup_days, disruptions=spec.disruptions,
                        base_policy=spec.policy.to_mapping(), storage=self.storage,
                        study_name=self.name, confirm_replicates=self.confirm_replicates,
                        confirm_top=self.confirm_top, workers=self.workers,
                        scheduler=self.scheduler, progress=progress)


def _constraint(entry: Any, position: int) -> Constraint:
    """A constraint from ``{metric, op, value}`` or the text ``"fill_rate_p05 >= 0.98"``."""
    if isinstance(entry, str):
        parts = entry.split()
        if len(parts) != 3:
            raise fail(f"study.constraints[{position}]", "", entry,
                       "write a constraint as 'METRIC >= VALUE' or 'METRIC <= VALUE'")
        try:
            return Constraint(parts[0], parts[1], float(parts[2]))
        except ValueError:
            raise fail(f"study.constraints[{position}]", "value", parts[2],
                       "must be a number") from None
    if isinstance(entry, Mapping):
        return Constraint(str(entry.get("metric")), str(entry.get("op")),
                          float(entry.get("value", math.nan)))
    raise fail(f"study.constraints[{position}]", "", entry, "must be a mapping or a text")


def optimize_plan(data: Mapping[str, Any]) -> OptimizePlan | None:
    """The optimisation of a resolved config, or ``None`` when ``study.kind`` is not optimize.

    ``study.decisions`` lists ``{path, low, high, kind, step}`` with paths in the policy
    (``inventory.safety_factor``); the run sections give the network, the events, the base
    policy, the horizon, the seed and the replicates every candidate shares.
    """
    from sim.studies.config import build_run

    options = dict(data.get("study") or {})
    if options.get("kind") != "optimize":
        return None
    spec = build_run(data)
    decisions = []
    for position, entry in enumerate(options.get("decisions") or []):
        if not isinstance(entry, Mapping) or "path" not in entry:
            raise fail(f"study.decisions[{position}]", "", entry, "needs a path (and low, "
                       "high, kind, step as it needs)")
        decisions.append(Decision(**{k: entry[k] for k in ("path", "low", "high", "kind",
                                                           "step", "choices") if k in entry}))
    if not decisions:
        raise fail("study", "decisions", [], "list at least one decision")
    storage = options.get("storage")
    confirm = options.get("confirm_replicates")
    return OptimizePlan(
        name=str(options.get("name") or "optimize"), spec=spec, decisions=tuple(decisions),
        objectives=tuple(options.get("objectives") or ("annual_total_cost",)),
        constraints=tuple(_constraint(c, i)
                          for i, c in enumerate(options.get("constraints") or [])),
        budget=int(options.get("budget", 40)), storage=str(storage) if storage else None,
        confirm_replicates=int(confirm) if confirm else None,
        confirm_top=int(options.get("confirm_top", 5)),
        workers=int(options.get("workers", 2)), scheduler=options.get("scheduler"))
