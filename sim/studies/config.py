"""Run configuration: typed schemas of the Hydra config groups and their conversion to specs.

The dataclasses here are plain (no Hydra import); :mod:`sim.cli.main` registers them in Hydra's
``ConfigStore`` so that a badly typed override (``run.days=abc``) is refused before anything runs.
:func:`build_run` turns a resolved config (a plain mapping) into the arguments of
:func:`sim.simulate`, once, at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sim.io import load_network, network_from_mapping
from sim.io.mapping import generated_network
from sim.io.presets import policy_preset
from sim.io.risk_register import disruptions_from_config
from sim.measures.resilience import RecoveryRule, as_recovery_rule
from sim.spec.errors import ConfigError, Issue, refuse_unknown_keys
from sim.spec.network import Network
from sim.spec.policy import policy_from_mapping

__all__ = [
    "AppConfig",
    "DisruptionConfig",
    "EngineConfig",
    "ReportConfig",
    "ResilienceConfig",
    "RunConfig",
    "RunSpec",
    "StudyConfig",
    "StudyPlan",
    "build_run",
    "build_study",
    "policy_preset",
]



@dataclass
class RunConfig:
    """What to simulate: horizon, warm-up, seed and what to record."""

    days: int = 180
    warmup_days: int = 30
    seed: int = 0
    record: str = "summary"
    quantile_replicates: int = 10_000


@dataclass
class EngineConfig:
    """Which engine, how many replicates, and how to split them."""

    name: str = "mesa"
    replicates: int = 20
    chunk_size: int | None = None
    workers: int = 1


@dataclass
class DisruptionConfig:
    """A list of disruption events (each a mapping with a ``kind``)."""

    name: str = "none"
    events: list[Any] = field(default_factory=list)


@dataclass
class ResilienceConfig:
    """How TTS, TTR and resilience loss read a run against its undisrupted twin.

    ``tolerance``: points of daily service below the twin that count as short; ``hold_days``:
    days in a row back within it that count as recovered; ``counterfactual``: run the twin
    (off: no resilience KPIs, money read per year only). See :mod:`sim.measures.resilience`.
    """

    tolerance: float = 0.02
    hold_days: int = 7
    counterfactual: bool = True


@dataclass
class ReportConfig:
    """The HTML report written beside the results (``report.html``)."""

    enabled: bool = True
    scan: bool = True  # criticality scan: each node, lane and region disrupted in turn
    attribution: bool = True  # losses attributed to each disruption (reruns without it)
    scan_replicates: int = 20


@dataclass
class StudyConfig:
    """A study over many parameter points (``kind`` grid, sobol or morris; none: a single run).

    ``parameters`` is a list of ``{path: dotted.config.path, values: [...]}`` (grid) or
    ``{path: ..., range: [low, high]}`` (sobol, morris). Each point runs ``engine.replicates``
    replicates in chunks of ``chunk_size`` on ``workers`` Dask workers (0: in this process),
    or on the Dask scheduler at ``scheduler``.
    """

    kind: str = "none"
    name: str = "study"
    parameters: list[Any] = field(default_factory=list)
    samples: int = 64
    levels: int = 4
    chunk_size: int | None = None  # replicates per task; the engine's choice by default
    workers: int = 2
    scheduler: Any = None
    kpis: list[str] = field(default_factory=lambda: ["lost_sales", "total_cost"])
    # kind optimize (sim.studies.optimize): what to search, for what, within what
    decisions: list[Any] = field(default_factory=list)
    objectives: list[str] = field(default_factory=lambda: ["annual_total_cost"])
    constraints: list[Any] = field(default_factory=list)
    budget: int = 40
    storage: Any = None
    confirm_replicates: Any = None
    confirm_top: int = 5


@dataclass
class AppConfig:
    """The whole run config.

    ``network`` (an inline network or ``source: path``) and ``policy`` (the nested sections of
    :class:`sim.spec.policy.Policy`) are free-form here and checked by :mod:`sim.spec.network` and
    :func:`sim.spec.policy.policy_from_mapping`, whose errors name the key, value and rule.
    ``compare`` lists strategies to run beside ``policy`` on the same replicates (common random
    numbers): preset names from ``configs/policy/`` or inline policy mappings with a ``name``.
    """

    network: Any = None
    disruption: DisruptionConfig = field(default_factory=DisruptionConfig)
    policy: Any = None
    engine: EngineConfig = field(default_factory=EngineConfig)
    run: RunConfig = field(default_factory=RunConfig)
    resilience: ResilienceConfig = field(default_factory=ResilienceConfig)
    compare: list[Any] = field(default_factory=list)
    report: ReportConfig = field(default_factory=ReportConfig)
    study: StudyConfig = field(default_factory=StudyConfig)


@dataclass(frozen=True)
class RunSpec:
    """Everything :func:`sim.simulate` needs, built from a config."""

    network: Network
    disruptions: tuple[Any, ...]
    policy: Any
    days: int
    warmup_days: int
    seed: int
    engine: str
    replicates: int
    record: str
    chunk_size: int | None = None
    workers: int = 1
    quantile_replicates: int = 10_000
    compare: tuple[Any, ...] = ()  # further strategies (Policy), the baseline being `policy`
    report: ReportConfig = field(default_factory=ReportConfig)
    resilience: RecoveryRule = field(default_factory=RecoveryRule)

    @property
    def policies(self) -> dict[str, Any]:
        """The baseline and the compared strategies by name (one entry without ``compare``)."""
        return {p.name: p for p in (self.policy, *self.compare)}

    def simulate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sim.simulate` (without the network)."""
        return {"days": self.days, "warmup_days": self.warmup_days, "seed": self.seed,
                "engine": self.engine, "replicates": self.replicates, "record": self.record,
                "chunk_size": self.chunk_size, "workers": self.workers,
                "quantile_replicates": self.quantile_replicates,
                "disruptions": self.disruptions, "policy": self.policy,
                "resilience": self.resilience}


NETWORK_OVERRIDES = ("name", "unmet_demand")


def network_from_config(data: Any) -> Network:
    """Build the network of a config: inline mapping, or ``source`` plus optional overrides."""
    if not isinstance(data, Mapping):
        raise ConfigError(Issue("network", "", data,
                                "choose a network (network=demo) or give network.source=PATH"))
    if "generate" in data:
        return generated_network(data, where="network")
    if "source" in data:
        extra = sorted(set(data) - {"source", *NETWORK_OVERRIDES})
        if extra:
            raise ConfigError(Issue("network", extra[0], "...",
                                    "a network read from `source` takes only name and "
                                    "unmet_demand beside it"))
        return load_network(str(data["source"]), name=data.get("name"),
                            unmet_demand=data.get("unmet_demand"))
    return network_from_mapping(data, where="network config")


def build_run(data: Mapping[str, Any]) -> RunSpec:
    """Convert a resolved config (a plain mapping: the CLI resolves Hydra's) into a RunSpec.

    Raises
    ------
    ConfigError, NetworkError
        Naming the key, the value and the rule broken.
    """
    check_sections(data)
    network = network_from_config(data.get("network"))
    disruption = data.get("disruption") or {}
    policy = policy_from_mapping(data.get("policy") or {})
    run = data.get("run") or {}
    engine = data.get("engine") or {}
    return RunSpec(
        network=network,
        disruptions=disruptions_from_config(disruption.get("events")),
        policy=policy,
        days=run.get("days", 180),
        warmup_days=run.get("warmup_days", 30),
        seed=run.get("seed", 0),
        engine=engine.get("name", "mesa"),
        replicates=engine.get("replicates", 20),
        record=run.get("record", "summary"),
        chunk_size=engine.get("chunk_size"),
        workers=engine.get("workers", 1),
        quantile_replicates=run.get("quantile_replicates", 10_000),
        compare=_compared(data.get("compare") or (), policy.name),
        report=_report(data.get("report") or {}),
        resilience=as_recovery_rule(dict(data.get("resilience") or {})),
    )


SECTION_SCHEMAS = {"run": RunConfig, "engine": EngineConfig, "disruption": DisruptionConfig,
                   "resilience": ResilienceConfig, "report": ReportConfig, "study": StudyConfig}


def check_sections(data: Mapping[str, Any]) -> None:
    """Refuse keys the schema does not know, top level and in each typed section.

    Hydra lets ``+engine.replicats=10`` add a key; without this check the run would go ahead
    with the setting silently ignored.
    """
    refuse_unknown_keys("config", data, [f.name for f in fields(AppConfig)])
    for section, schema in SECTION_SCHEMAS.items():
        value = data.get(section)
        if isinstance(value, Mapping):
            refuse_unknown_keys(section, value, [f.name for f in fields(schema)])


def _report(data: Mapping[str, Any]) -> ReportConfig:
    refuse_unknown_keys("report", data, ReportConfig.__dataclass_fields__)
    return ReportConfig(**data)


def _compared(entries: Any, baseline: str) -> tuple[Any, ...]:
    """The strategies of ``compare``: preset names or inline mappings, each with a new name."""
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(Issue("compare", "", entries, "must be a list of policy presets "
                                "(compare=[dynamic_sourcing,resilient]) or policy mappings"))
    seen = {baseline}
    out = []
    for position, entry in enumerate(entries):
        where = f"compare[{position}]"
        if isinstance(entry, str):
            mapping = policy_preset(entry)
        elif isinstance(entry, Mapping) and entry.get("name"):
            mapping = dict(entry)
        else:
            raise ConfigError(Issue(where, "", entry, "must be a preset name or a policy "
                                    "mapping with a name"))
        policy = policy_from_mapping(mapping, where=where)
        if policy.name in seen:
            raise ConfigError(Issue(where, "name", policy.name, "two strategies have this name "
                                    "(the baseline is the `policy` group)"))
        seen.add(policy.name)
        out.append(policy)
    return tuple(out)



STUDY_KINDS = ("none", "grid", "sobol", "morris", "optimize")
RUN_SECTIONS = ("network", "disruption", "policy", "engine", "run")


@dataclass(frozen=True)
class StudyPlan:
    """A study built from a config: what to run, how, and how to analyse it."""

    study: Any  # sim.studies.study.Study
    kind: str
    ranges: dict[str, Any]
    design: Any  # the SALib sample (sobol, morris) or None
    kpis: tuple[str, ...]
    workers: int
    scheduler: str | None
    levels: int
    seed: int


def build_study(data: Mapping[str, Any]) -> StudyPlan | None:
    """The study of a resolved config, or ``None`` when ``study.kind`` is none.

    Raises
    ------
    ConfigError
        Naming the key, the value and the rule (a bad path fails before anything runs).
    """
    from sim.studies.sensitivity import sensitivity_points
    from sim.studies.study import Study, grid_points

    check_sections(data)
    options = dict(data.get("study") or {})
    kind = options.get("kind", "none")
    if kind not in STUDY_KINDS:
        raise ConfigError(Issue("study", "kind", kind, f"must be one of {', '.join(STUDY_KINDS)}"))
    if kind in ("none", "optimize"):  # an optimisation is built by sim.studies.optimize
        return None
    key = "values" if kind == "grid" else "range"
    parameters: dict[str, Any] = {}
    for position, entry in enumerate(options.get("parameters") or []):
        if not isinstance(entry, Mapping) or "path" not in entry or key not in entry:
            raise ConfigError(Issue(f"study.parameters[{position}]", "", entry,
                                    f"needs path and {key} (a {kind} study)"))
        parameters[str(entry["path"])] = list(entry[key])
    if not parameters:
        raise ConfigError(Issue("study", "parameters", [], "list at least one parameter"))
    base = {k: data[k] for k in RUN_SECTIONS if k in data}
    seed = int((data.get("run") or {}).get("seed", 0))
    design = None
    if kind == "grid":
        points = grid_points(parameters)
    else:
        points, design = sensitivity_points(parameters, method=kind,
                                            samples=int(options.get("samples", 64)), seed=seed,
                                            levels=int(options.get("levels", 4)))
    replicates = int((data.get("engine") or {}).get("replicates", 20))
    chunk = options.get("chunk_size")
    study = Study(base, tuple(points), replicates=replicates,
                  chunk_size=int(chunk) if chunk is not None else None, grid=kind == "grid")
    return StudyPlan(study, kind, parameters, design, tuple(options.get("kpis") or
                                                            ("lost_sales", "total_cost")),
                     int(options.get("workers", 2)), options.get("scheduler"),
                     int(options.get("levels", 4)), seed)
