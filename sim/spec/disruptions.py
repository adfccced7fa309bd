"""Disruptions: what can go wrong, as specs that turn into compact event lists.

Every spec says *what* it hits (targets by id, region, cluster, kind, mode or carrier), *how
hard* (capacity lost, lead-time or demand multiplier, recovery ramp) and *when*:

* scripted: ``start_day`` and ``duration_days``;
* stochastic: ``rate_per_year`` (or ``probability_per_year`` of at least one occurrence,
  rate = -ln(1 - p)) and a ``duration`` law (``{law: exponential | lognormal | fixed |
  empirical, mean_days, sd_days, values}``); arrivals form a Poisson process over the recorded
  days (365 days a year);

and may ``trigger`` other disruptions with a probability and a delay (a port closure that
stretches the lanes that reroute; a regional event that takes out its suppliers). Days are
*recorded* days: 0 is the first day after the warm-up. Each replicate samples its events from
its own stream (:mod:`sim.compile.scenario`); :mod:`sim.compile.events` turns specs into event
rows, and :mod:`sim.compile.effects` those into day-by-day factors on the fly.

Kinds: :class:`NodeOutage`, :class:`LaneDisruption`, :class:`DemandShock`,
:class:`RegionalEvent`, :class:`RandomOutages`, :class:`CorrelatedOutages`; and
:func:`load_risk_register` reads a file listing many stochastic events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from sim.spec.checks import factor, fail, fraction, is_number, is_whole
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import NODE_KINDS
from sim.spec.serialize import field_issues, plain
from sim.spec.units import whole_days

__all__ = [
    "DISRUPTIONS",
    "CorrelatedOutages",
    "DemandShock",
    "Disruption",
    "Duration",
    "LaneDisruption",
    "NodeOutage",
    "RandomOutages",
    "RegionalEvent",
    "Timed",
    "Trigger",
    "disruption_from_mapping",
    "disruption_to_mapping",
]

MAX_EVENT_DAYS = 36_500
"""Longest start day, duration or ramp an event may have (100 years): beyond any horizon."""
MAX_RATE_PER_YEAR = 3_650.0
"""Most occurrences a year (ten a day): a rate beyond it is a typo, and would ask memory for
every event drawn."""
DURATION_LAWS = ("fixed", "exponential", "lognormal", "empirical")
RAMPS = ("linear", "exponential")


@runtime_checkable
class Disruption(Protocol):
    """What every disruption spec is: a frozen dataclass with a ``kind`` name.

    The name is the key of its mapping form (``{kind: node_outage, ...}``). How a kind turns into
    events on a network is registered in :mod:`sim.compile.events`.
    """

    kind: ClassVar[str]


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Duration:
    """A law of event durations in days (sampled values are rounded up, at least 1 day).

    Parameters
    ----------
    law : {"fixed", "exponential", "lognormal", "empirical"}
        ``fixed``: always ``mean_days``; ``exponential``: mean ``mean_days``; ``lognormal``:
        mean ``mean_days`` and sd ``sd_days``; ``empirical``: one of ``values``, equally likely.
    mean_days, sd_days : float
        Mean and standard deviation [days].
    values : sequence of float
        Observed durations for the empirical law [days].
    """

    law: str = "fixed"
    mean_days: float = 1.0
    sd_days: float = 0.0
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        where = "duration"
        if self.law not in DURATION_LAWS:
            raise fail(where, "law", self.law, f"must be one of {', '.join(DURATION_LAWS)}")
        if self.law == "empirical":
            if not self.values or not all(is_number(v) and v > 0 for v in self.values):
                raise fail(where, "values", self.values,
                            "an empirical law needs a list of positive durations in days")
        elif not is_number(self.mean_days) or not 0 < self.mean_days <= MAX_EVENT_DAYS:
            raise fail(where, "mean_days", self.mean_days,
                        f"must be a number of days > 0 and <= {MAX_EVENT_DAYS:,}")
        if self.law == "lognormal" and (not is_number(self.sd_days)
                                        or not 0 <= self.sd_days <= MAX_EVENT_DAYS):
            raise fail(where, "sd_days", self.sd_days,
                        f"must be a number of days >= 0 and <= {MAX_EVENT_DAYS:,}")
        if self.law == "empirical" and max(self.values) > MAX_EVENT_DAYS:
            raise fail(where, "values", self.values, f"durations must be <= {MAX_EVENT_DAYS:,}")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Durations in whole days (>= 1)."""
        return self.whole(self.draw(rng, size))

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """The draws behind ``size`` durations [days, not yet whole]."""
        if self.law == "fixed":
            return np.full(size, float(self.mean_days))
        if self.law == "exponential":
            return rng.exponential(self.mean_days, size)
        if self.law == "lognormal":
            sigma = math.sqrt(math.log1p(self.sd_days**2 / self.mean_days**2))
            return rng.lognormal(math.log(self.mean_days) - sigma**2 / 2, sigma, size)
        return rng.choice(np.asarray(self.values, dtype=float), size)

    @staticmethod
    def whole(draws: np.ndarray) -> np.ndarray:
        """Draws of :meth:`draw` as whole days (>= 1): rounded up, elementwise."""
        return np.maximum(1, whole_days(draws))


def _as_duration(value: Any) -> Duration | None:
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, Mapping):
        data = dict(value)
        if "values" in data:
            data["values"] = tuple(data["values"])
        unknown = sorted(set(data) - {"law", "mean_days", "sd_days", "values"})
        if unknown:
            raise fail("duration", unknown[0], data[unknown[0]],
                        "unknown field; expected law, mean_days, sd_days, values")
        return Duration(**data)
    raise fail("duration", "", value, "must be a mapping {law: ..., mean_days: ...}")


@dataclass(frozen=True)
class Trigger:
    """A disruption that may follow another: with ``probability``, ``delay_days`` later.

    Parameters
    ----------
    disruption : spec or mapping
        What follows (its ``duration_days`` or ``duration`` law sets how long; its own
        ``start_day`` and rate are ignored).
    probability : float
        Chance, per occurrence of the parent, that it follows [0-1].
    delay_days : int
        Days from the parent's start to its start (>= 0).
    """

    disruption: Any
    probability: float = 1.0
    delay_days: int = 0

    def __post_init__(self) -> None:
        where = "trigger"
        if isinstance(self.disruption, Mapping):
            object.__setattr__(self, "disruption",
                               disruption_from_mapping(self.disruption, where="trigger",
                                                       timed=False))
        if not is_number(self.probability) or not 0 <= self.probability <= 1:
            raise fail(where, "probability", self.probability, "must be in [0, 1]")
        if not is_whole(self.delay_days) or self.delay_days < 0:
            raise fail(where, "delay_days", self.delay_days, "must be a whole number >= 0")


@dataclass(frozen=True, kw_only=True)
class Timed:
    """Shared timing, ramp and trigger fields of the event-shaped disruptions.

    Subclasses declare their targets, ``start_day`` and ``duration_days`` (positional, in that
    order); the fields here are keyword-only.
    """

    rate_per_year: float | None = None
    probability_per_year: float | None = None
    duration: Duration | Mapping | None = None
    ramp_days: int = 0
    ramp: str = "linear"
    triggers: tuple[Trigger, ...] = ()

    kind: ClassVar[str] = ""

    # every kind declares these as fields, after its targets (so they stay positional there)
    @property
    def start_day(self) -> int | None:
        """First recorded day of a scripted event (``None``: stochastic)."""
        raise NotImplementedError

    @property
    def duration_days(self) -> int | None:
        """Fixed length of each occurrence [days] (``None``: a ``duration`` law)."""
        raise NotImplementedError

    def _check_timing(self, timed: bool = True) -> None:
        """Clean the duration and triggers, then check the timing fields."""
        where = f"disruption {self.kind}"
        object.__setattr__(self, "duration", _as_duration(self.duration))
        object.__setattr__(self, "triggers", tuple(
            t if isinstance(t, Trigger) else Trigger(**dict(t)) for t in self.triggers))
        self._check_schedule(where, timed)
        self._check_rate(where)
        if not is_whole(self.ramp_days) or not 0 <= self.ramp_days <= MAX_EVENT_DAYS:
            raise fail(where, "ramp_days", self.ramp_days,
                       f"must be a whole number >= 0 and <= {MAX_EVENT_DAYS:,}")
        if self.ramp not in RAMPS:
            raise fail(where, "ramp", self.ramp, f"must be one of {', '.join(RAMPS)}")

    def _check_schedule(self, where: str, timed: bool) -> None:
        """Scripted or stochastic (not both), and how long each occurrence lasts."""
        start, length = self.start_day, self.duration_days
        scripted = start is not None
        stochastic = self.rate_per_year is not None or self.probability_per_year is not None
        if timed and scripted == stochastic:
            raise fail(where, "start_day", start,
                       "give either start_day (scripted) or rate_per_year / "
                       "probability_per_year (stochastic), not both or neither")
        if start is not None and (not is_whole(start)
                                  or not -MAX_EVENT_DAYS <= start <= MAX_EVENT_DAYS):
            raise fail(where, "start_day", start,
                       f"must be a whole day within {MAX_EVENT_DAYS:,} days of the start")
        if length is not None:
            if not is_whole(length) or not 1 <= length <= MAX_EVENT_DAYS:
                raise fail(where, "duration_days", length,
                           f"must be a whole number of days >= 1 and <= {MAX_EVENT_DAYS:,} "
                           "(100 years)")
            if self.duration is not None:
                raise fail(where, "duration", self.duration,
                           "give duration_days or a duration law, not both")
        elif self.duration is None:
            raise fail(where, "duration_days", None,
                       "give duration_days or a duration law {law: ..., mean_days: ...}")

    def _check_rate(self, where: str) -> None:
        """A rate a year or a probability a year, within bounds."""
        rate, probability = self.rate_per_year, self.probability_per_year
        if rate is not None and (not is_number(rate) or not 0 <= rate <= MAX_RATE_PER_YEAR):
            raise fail(where, "rate_per_year", rate,
                       f"must be a number >= 0 and <= {MAX_RATE_PER_YEAR:g} (ten a day)")
        if probability is not None:
            if rate is not None:
                raise fail(where, "probability_per_year", probability,
                           "give rate_per_year or probability_per_year, not both")
            if not is_number(probability) or not 0 <= probability < 1:
                raise fail(where, "probability_per_year", probability, "must be in [0, 1)")

    @property
    def rate(self) -> float:
        """Occurrences per year."""
        if self.rate_per_year is not None:
            return float(self.rate_per_year)
        return -math.log1p(-float(self.probability_per_year or 0.0))


# --------------------------------------------------------------------------------------------
# Target selection
# --------------------------------------------------------------------------------------------


def _ids(value: Any, where: str, key: str) -> tuple[str, ...]:
    """Target ids as a tuple; an empty list or a non-text id is refused (it would select all)."""
    if value is None or value == ():  # not given (a spec's own default, or None)
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not value:
        raise fail(where, key, value, "must be an id or a non-empty list of ids (leave it out "
                    "to select by kind, region or cluster)")
    for item in value:
        if not isinstance(item, str) or not item:
            raise fail(where, key, value, f"ids must be non-empty text, not {item!r}")
    return tuple(value)


# --------------------------------------------------------------------------------------------
# The kinds
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeOutage(Timed):
    """Nodes lose all or part of their capacity for a while, then recover.

    Parameters
    ----------
    node : str or sequence of str
        The node(s) hit; or select with ``node_kind``, ``region``, ``cluster`` (all combined).
    start_day, duration_days : int
        Scripted timing (recorded days).
    severity : float
        Fraction of capacity lost, in (0, 1]; 1 stops the node (nothing made, served, shipped).
    ramp_days, ramp : int, {"linear", "exponential"}
        Days over which capacity returns after the outage, and how.
    rate_per_year, probability_per_year, duration :
        Stochastic timing instead (see the module docstring); ``triggers``: follow-on events.
    """

    node: Any = None
    start_day: int | None = None
    duration_days: int | None = None
    severity: float = 1.0
    node_kind: str | None = None
    region: str | None = None
    cluster: str | None = None

    kind: ClassVar[str] = "node_outage"

    def __post_init__(self) -> None:
        object.__setattr__(self, "node", _ids(self.node, f"disruption {self.kind}", "node"))
        fraction(f"disruption {self.kind}", "severity", self.severity)
        self._check_timing(timed=False)


@dataclass(frozen=True)
class LaneDisruption(Timed):
    """Lanes close (fully or partly) and/or their lead times stretch (a congested port).

    Parameters
    ----------
    lane : str or sequence of str
        The lane(s) hit; or select with ``mode``, ``carrier``, ``region``, ``cluster`` (a lane is
        in a region when either end is).
    closure : float
        Fraction of lane capacity lost, in [0, 1]; 1 closes the lane.
    lead_time_factor : float
        Lead time x k (>= 1) for shipments leaving during the event, rounded up to whole days.
    """

    lane: Any = None
    start_day: int | None = None
    duration_days: int | None = None
    closure: float = 1.0
    lead_time_factor: float = 1.0
    mode: str | None = None
    carrier: str | None = None
    region: str | None = None
    cluster: str | None = None

    kind: ClassVar[str] = "lane_disruption"

    def __post_init__(self) -> None:
        where = f"disruption {self.kind}"
        object.__setattr__(self, "lane", _ids(self.lane, f"disruption {self.kind}", "lane"))
        self._check_timing(timed=False)
        fraction(where, "closure", self.closure, zero_ok=True)
        factor(where, "lead_time_factor", self.lead_time_factor, minimum=1.0)
        if self.closure == 0 and self.lead_time_factor == 1:
            raise fail(where, "closure", 0, "a lane disruption needs closure > 0 or "
                        "lead_time_factor > 1")


@dataclass(frozen=True)
class DemandShock(Timed):
    """End-customer demand surges or drops by a factor for a window.

    Parameters
    ----------
    zone : str or sequence of str
        The zone(s) hit; or ``region`` (the zones' market region).
    factor : float
        Demand multiplier (> 0): 1.5 is a 50 % surge, 0.6 a 40 % drop.
    """

    zone: Any = None
    start_day: int | None = None
    duration_days: int | None = None
    factor: float = 1.5
    region: str | None = None

    kind: ClassVar[str] = "demand_shock"

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _ids(self.zone, f"disruption {self.kind}", "zone"))
        self._check_timing(timed=False)
        if not is_number(self.factor) or self.factor <= 0:
            raise fail(f"disruption {self.kind}", "factor", self.factor, "must be > 0")


@dataclass(frozen=True)
class RegionalEvent(Timed):
    """One event hits every node, lane and demand zone of a region or cluster at once.

    An earthquake, a flood, a lockdown: the planner's main case.

    Parameters
    ----------
    region, cluster : str
        Where (one of them).
    severity : float
        Fraction of capacity lost by every node there, in [0, 1].
    lane_closure : float
        Fraction of capacity lost by every lane touching it, in [0, 1].
    lead_time_factor : float
        Lead-time multiplier on those lanes (>= 1).
    demand_factor : float
        Multiplier on the demand of the zones there (> 0; 1 leaves demand alone).
    """

    region: str | None = None
    start_day: int | None = None
    duration_days: int | None = None
    severity: float = 1.0
    lane_closure: float = 0.0
    lead_time_factor: float = 1.0
    demand_factor: float = 1.0
    cluster: str | None = None

    kind: ClassVar[str] = "regional_event"

    def __post_init__(self) -> None:
        where = f"disruption {self.kind}"
        self._check_timing(timed=False)
        if (self.region is None) == (self.cluster is None):
            raise fail(where, "region", self.region, "give a region or a cluster")
        fraction(where, "severity", self.severity, zero_ok=True)
        fraction(where, "lane_closure", self.lane_closure, zero_ok=True)
        factor(where, "lead_time_factor", self.lead_time_factor, minimum=1.0)
        if not is_number(self.demand_factor) or self.demand_factor <= 0:
            raise fail(where, "demand_factor", self.demand_factor, "must be > 0")


@dataclass(frozen=True)
class RandomOutages:
    """Stochastic up/down outages: each node alternates between working and failed.

    A two-state Markov chain per node and day: a working node fails with probability
    1/``mttf_days``, a failed one recovers with probability 1/``mttr_days``, so up and down spells
    are geometric with those means. Each node starts in its long-run state (down with probability
    mttr / (mttf + mttr)) at the first warm-up day; nodes fail independently.

    Parameters
    ----------
    mttf_days, mttr_days : float
        Mean time to failure and to recover [days] (>= 1).
    nodes : sequence of str
        Nodes exposed; empty means every node (of ``node_kind`` when given).
    node_kind : str, optional
        Only nodes of this kind.
    severity : float
        Fraction of capacity lost while down, in (0, 1].
    """

    mttf_days: float
    mttr_days: float
    nodes: tuple[str, ...] = ()
    node_kind: str | None = None
    severity: float = 1.0

    kind: ClassVar[str] = "random_outages"

    def __post_init__(self) -> None:
        where = f"disruption {self.kind}"
        object.__setattr__(self, "nodes", _ids(self.nodes, f"disruption {self.kind}", "nodes"))
        for key in ("mttf_days", "mttr_days"):
            value = getattr(self, key)
            if not is_number(value) or value < 1:
                raise fail(where, key, value, "must be a number of days >= 1")
        if self.node_kind is not None and self.node_kind not in NODE_KINDS:
            raise fail(where, "node_kind", self.node_kind,
                        f"must be one of {', '.join(NODE_KINDS)}")
        fraction(where, "severity", self.severity)


@dataclass(frozen=True)
class CorrelatedOutages:
    """Spatially correlated outages: a shared driver hits many nodes of one region at once.

    Driver events (storms, power cuts) arrive at ``rate_per_year``; each hits every node of the
    region (or cluster) independently with probability ``hit_probability``, and each node hit is
    down for a duration drawn from ``duration``. Outages of nodes in the region are therefore
    correlated; across regions they are independent.

    Parameters
    ----------
    region, cluster : str
        Where (one of them).
    rate_per_year : float
        Driver events per year.
    duration : Duration or mapping
        Down time of each node hit [days].
    hit_probability : float
        Chance that a driver event hits a given node there, in (0, 1].
    severity : float
        Fraction of capacity lost while down, in (0, 1].
    """

    rate_per_year: float
    duration: Duration | Mapping
    region: str | None = None
    cluster: str | None = None
    hit_probability: float = 0.5
    severity: float = 1.0

    kind: ClassVar[str] = "correlated_outages"

    def __post_init__(self) -> None:
        where = f"disruption {self.kind}"
        object.__setattr__(self, "duration", _as_duration(self.duration))
        if (self.region is None) == (self.cluster is None):
            raise fail(where, "region", self.region, "give a region or a cluster")
        if not is_number(self.rate_per_year) or self.rate_per_year < 0:
            raise fail(where, "rate_per_year", self.rate_per_year, "must be a number >= 0")
        fraction(where, "hit_probability", self.hit_probability)
        fraction(where, "severity", self.severity)


DISRUPTIONS: dict[str, type] = {cls.kind: cls for cls in (
    NodeOutage, LaneDisruption, DemandShock, RegionalEvent, RandomOutages, CorrelatedOutages)}


# --------------------------------------------------------------------------------------------
# Mappings (Hydra configs, risk registers, dataset attrs)
# --------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A field value in plain YAML-able form (:func:`sim.spec.serialize.plain`).

    A trigger names its disruption's kind, and always says its probability and delay.
    """
    if isinstance(value, Trigger):
        return {"disruption": disruption_to_mapping(value.disruption),
                "probability": float(value.probability), "delay_days": int(value.delay_days)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return plain(value)


def disruption_to_mapping(spec: Any) -> dict[str, Any]:
    """Plain-dict form of a disruption spec (``kind`` plus the fields it sets)."""
    out: dict[str, Any] = {"kind": spec.kind}
    for f in fields(spec):
        value = getattr(spec, f.name)
        default = f.default if f.default is not MISSING else None
        if value == default or (value == () and default in (None, ())):
            continue
        if f.name in ("node", "lane", "zone") and isinstance(value, tuple) and len(value) == 1:
            value = value[0]  # one target reads better as an id than as a list
        out[f.name] = _plain(value)
    return out


def disruption_from_mapping(data: Mapping[str, Any], *, where: str = "disruption",
                            timed: bool = True) -> Any:
    """Build one disruption spec from its mapping form (``kind`` plus the fields)."""
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in DISRUPTIONS:
        raise ConfigError(Issue(where, "kind", kind, f"must be one of {', '.join(DISRUPTIONS)}"))
    cls = DISRUPTIONS[kind]
    issues = field_issues(cls, data, where, str(kind))
    if issues:
        raise ConfigError(issues)
    cleaned = {k: (tuple(v) if isinstance(v, list) and k != "values" else v)
               for k, v in data.items()}
    try:
        spec = cls(**cleaned)
        if isinstance(spec, Timed) and timed:
            spec._check_timing(timed=True)
        return spec
    except ConfigError as error:
        raise ConfigError([Issue(where, i.key, i.value, i.rule) for i in error.issues]) from None
