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
its own stream (:mod:`sim.scenario`); the event rows (:data:`sim.effects.EVENT_DTYPE`) stay a
list, turned into day-by-day factors on the fly (:mod:`sim.effects`).

Kinds: :class:`NodeOutage`, :class:`LaneDisruption`, :class:`DemandShock`,
:class:`RegionalEvent`, :class:`RandomOutages`, :class:`CorrelatedOutages`; and
:func:`load_risk_register` reads a file listing many stochastic events.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import yaml

from sim import selectors
from sim.effects import (
    DEMAND,
    EVENT_DTYPE,
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    RAMP_EXPONENTIAL,
    RAMP_LINEAR,
    effect_factors,
    events_array,
)
from sim.errors import ConfigError, Issue
from sim.layout import KIND_CODES, Layout

if TYPE_CHECKING:
    from sim.network import Network

__all__ = [
    "DISRUPTIONS",
    "EVENT_DTYPE",
    "NODE_CAPACITY",
    "CorrelatedOutages",
    "DemandShock",
    "Duration",
    "LaneDisruption",
    "NodeOutage",
    "RandomOutages",
    "RegionalEvent",
    "Trigger",
    "disruption_from_mapping",
    "disruption_to_mapping",
    "disruptions_from_config",
    "event_rows",
    "load_risk_register",
    "node_capacity_factor",
]

DAYS_PER_YEAR = 365.0
MAX_EVENT_DAYS = 36_500
"""Longest start day, duration or ramp an event may have (100 years): beyond any horizon."""
MAX_RATE_PER_YEAR = 3_650.0
"""Most occurrences a year (ten a day): a rate beyond it is a typo, and would ask memory for
every event drawn."""
DURATION_LAWS = ("fixed", "exponential", "lognormal", "empirical")
RAMPS = {"linear": RAMP_LINEAR, "exponential": RAMP_EXPONENTIAL}


def _fail(where: str, key: str, value: Any, rule: str) -> ConfigError:
    return ConfigError(Issue(where, key, value, rule))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool) and math.isfinite(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


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
            raise _fail(where, "law", self.law, f"must be one of {', '.join(DURATION_LAWS)}")
        if self.law == "empirical":
            if not self.values or not all(_is_number(v) and v > 0 for v in self.values):
                raise _fail(where, "values", self.values,
                            "an empirical law needs a list of positive durations in days")
        elif not _is_number(self.mean_days) or not 0 < self.mean_days <= MAX_EVENT_DAYS:
            raise _fail(where, "mean_days", self.mean_days,
                        f"must be a number of days > 0 and <= {MAX_EVENT_DAYS:,}")
        if self.law == "lognormal" and (not _is_number(self.sd_days)
                                        or not 0 <= self.sd_days <= MAX_EVENT_DAYS):
            raise _fail(where, "sd_days", self.sd_days,
                        f"must be a number of days >= 0 and <= {MAX_EVENT_DAYS:,}")
        if self.law == "empirical" and max(self.values) > MAX_EVENT_DAYS:
            raise _fail(where, "values", self.values, f"durations must be <= {MAX_EVENT_DAYS:,}")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Durations in whole days (>= 1)."""
        if self.law == "fixed":
            raw = np.full(size, float(self.mean_days))
        elif self.law == "exponential":
            raw = rng.exponential(self.mean_days, size)
        elif self.law == "lognormal":
            sigma = math.sqrt(math.log1p(self.sd_days**2 / self.mean_days**2))
            raw = rng.lognormal(math.log(self.mean_days) - sigma**2 / 2, sigma, size)
        else:
            raw = rng.choice(np.asarray(self.values, dtype=float), size)
        return np.maximum(1, np.ceil(raw - 1e-9)).astype(np.int64)


def _as_duration(value: Any) -> Duration | None:
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, Mapping):
        data = dict(value)
        if "values" in data:
            data["values"] = tuple(data["values"])
        unknown = sorted(set(data) - {"law", "mean_days", "sd_days", "values"})
        if unknown:
            raise _fail("duration", unknown[0], data[unknown[0]],
                        "unknown field; expected law, mean_days, sd_days, values")
        return Duration(**data)
    raise _fail("duration", "", value, "must be a mapping {law: ..., mean_days: ...}")


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
        if not _is_number(self.probability) or not 0 <= self.probability <= 1:
            raise _fail(where, "probability", self.probability, "must be in [0, 1]")
        if not _is_whole(self.delay_days) or self.delay_days < 0:
            raise _fail(where, "delay_days", self.delay_days, "must be a whole number >= 0")


@dataclass(frozen=True, kw_only=True)
class _Timed:
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

    def _check_timing(self, timed: bool = True) -> None:
        where = f"disruption {self.kind}"
        object.__setattr__(self, "duration", _as_duration(self.duration))
        object.__setattr__(self, "triggers", tuple(
            t if isinstance(t, Trigger) else Trigger(**dict(t)) for t in self.triggers))
        scripted = self.start_day is not None
        stochastic = self.rate_per_year is not None or self.probability_per_year is not None
        if timed and scripted == stochastic:
            raise _fail(where, "start_day", self.start_day,
                        "give either start_day (scripted) or rate_per_year / "
                        "probability_per_year (stochastic), not both or neither")
        if scripted and (not _is_whole(self.start_day)
                         or not -MAX_EVENT_DAYS <= self.start_day <= MAX_EVENT_DAYS):
            raise _fail(where, "start_day", self.start_day,
                        f"must be a whole day within {MAX_EVENT_DAYS:,} days of the start")
        if self.duration_days is not None:
            if not _is_whole(self.duration_days) or not 1 <= self.duration_days <= MAX_EVENT_DAYS:
                raise _fail(where, "duration_days", self.duration_days,
                            f"must be a whole number of days >= 1 and <= {MAX_EVENT_DAYS:,} "
                            "(100 years)")
            if self.duration is not None:
                raise _fail(where, "duration", self.duration,
                            "give duration_days or a duration law, not both")
        elif self.duration is None:
            raise _fail(where, "duration_days", None,
                        "give duration_days or a duration law {law: ..., mean_days: ...}")
        if self.rate_per_year is not None and (not _is_number(self.rate_per_year)
                                               or not 0 <= self.rate_per_year
                                               <= MAX_RATE_PER_YEAR):
            raise _fail(where, "rate_per_year", self.rate_per_year,
                        f"must be a number >= 0 and <= {MAX_RATE_PER_YEAR:g} (ten a day)")
        if self.probability_per_year is not None:
            if self.rate_per_year is not None:
                raise _fail(where, "probability_per_year", self.probability_per_year,
                            "give rate_per_year or probability_per_year, not both")
            if not _is_number(self.probability_per_year) or not \
                    0 <= self.probability_per_year < 1:
                raise _fail(where, "probability_per_year", self.probability_per_year,
                            "must be in [0, 1)")
        if not _is_whole(self.ramp_days) or not 0 <= self.ramp_days <= MAX_EVENT_DAYS:
            raise _fail(where, "ramp_days", self.ramp_days,
                        f"must be a whole number >= 0 and <= {MAX_EVENT_DAYS:,}")
        if self.ramp not in RAMPS:
            raise _fail(where, "ramp", self.ramp, f"must be one of {', '.join(RAMPS)}")

    @property
    def rate(self) -> float:
        """Occurrences per year."""
        if self.rate_per_year is not None:
            return float(self.rate_per_year)
        return -math.log1p(-float(self.probability_per_year or 0.0))

    def _durations(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.duration_days is not None:
            return np.full(size, int(self.duration_days), dtype=np.int64)
        return self.duration.sample(rng, size)

    def windows(self, rng: np.random.Generator, warmup_days: int,
                days: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (simulated days) of each occurrence in one replicate."""
        if self.start_day is not None:
            starts = np.array([self.start_day + warmup_days], dtype=np.int64)
        else:
            expected = self.rate * days / DAYS_PER_YEAR
            count = int(rng.poisson(expected))
            if count == 0:  # the common case for rare events: nothing more to draw
                empty = np.zeros(0, dtype=np.int64)
                return empty, empty
            starts = np.sort(rng.integers(0, days, count)) + warmup_days
        return starts, starts + self._durations(rng, starts.size)

    def validate(self, layout: Layout, warmup_days: int) -> None:
        """Check targets against a network and scripted days against the warm-up."""
        self.effects(layout)
        if self.start_day is not None and self.start_day < -warmup_days:
            raise _fail(f"disruption {self.kind}", "start_day", self.start_day,
                        f"starts before the simulation (warm-up {warmup_days} days)")
        for trigger in self.triggers:
            trigger.disruption.validate(layout, warmup_days)

    def effects(self, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
        """(event kind, target indices, severity) of one occurrence."""
        raise NotImplementedError

    def sample(self, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
               warmup_days: int) -> np.ndarray:
        """Events of a chunk of replicates (``rngs[i]`` is replicate i's stream for this spec).

        Triggered events included; events starting after the horizon dropped. The ``replicate``
        field of each event is its replicate's position in ``rngs``.
        """
        days = horizon - warmup_days
        if self.start_day is not None and self.duration_days is not None and not self.triggers:
            # scripted, fixed length: the same window in every replicate, nothing to draw
            start = self.start_day + warmup_days
            size = len(rngs)
            events = self._events(layout, np.arange(size), np.full(size, start),
                                  np.full(size, start + self.duration_days))
            return events[events["start"] < horizon]
        parent: list[tuple[np.ndarray, np.ndarray]] = []
        children: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.triggers]
        for rng in rngs:  # only the draws loop over replicates; the tables are built at once
            starts, ends = self.windows(rng, warmup_days, days)
            parent.append((starts, ends))
            for t, trigger in enumerate(self.triggers):
                fired = rng.random(starts.size) < trigger.probability
                child_starts = starts[fired] + trigger.delay_days
                child_ends = child_starts + trigger.disruption._durations(rng, child_starts.size)
                children[t].append((child_starts, child_ends))
        tables = [self._events(layout, *_flatten(parent))]
        tables += [trigger.disruption._events(layout, *_flatten(windows))
                   for trigger, windows in zip(self.triggers, children, strict=True)]
        events = np.concatenate(tables)
        return events[events["start"] < horizon]

    def _events(self, layout: Layout, replicates: np.ndarray, starts: np.ndarray,
                ends: np.ndarray) -> np.ndarray:
        """Event rows of every effect of this spec, for occurrences (replicate, start, end)."""
        if not starts.size:
            return events_array(0)
        rows = [event_rows(kind, targets, replicates, starts, ends, severity,
                           self.ramp_days, RAMPS[self.ramp])
                for kind, targets, severity in self.effects(layout)]
        return np.concatenate(rows) if rows else events_array(0)


def _flatten(windows: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """Per-replicate (starts, ends) as flat (replicate position, start, end) arrays."""
    counts = np.fromiter((starts.size for starts, _ in windows), dtype=np.int64,
                         count=len(windows))
    if not counts.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (np.repeat(np.arange(len(windows)), counts),
            np.concatenate([w[0] for w in windows]), np.concatenate([w[1] for w in windows]))


def event_rows(kind: int, targets: np.ndarray, replicates: np.ndarray, starts: np.ndarray,
               ends: np.ndarray, severity: float | np.ndarray, ramp_days: int = 0,
               ramp_kind: int = RAMP_LINEAR) -> np.ndarray:
    """Rows of :data:`EVENT_DTYPE`: every occurrence (replicate, start, end) on every target."""
    targets = np.asarray(targets, dtype=np.int64)
    events = events_array(starts.size * targets.size)
    events["kind"] = kind
    events["target"] = np.tile(targets, starts.size)
    events["replicate"] = np.repeat(replicates, targets.size)
    events["start"] = np.repeat(starts, targets.size)
    events["end"] = np.repeat(ends, targets.size)
    events["ramp_days"] = ramp_days
    events["ramp_kind"] = ramp_kind
    events["severity"] = severity
    return events


# --------------------------------------------------------------------------------------------
# Target selection
# --------------------------------------------------------------------------------------------
def _named(ids: Iterable[str], index: dict[str, int], where: str, key: str,
           network: Network) -> np.ndarray:
    """Mask of the entities named in ``ids`` (all of them when none is named)."""
    chosen = np.ones(len(index), dtype=bool)
    ids = tuple(ids)
    if ids:
        unknown = [i for i in ids if i not in index]
        if unknown:
            raise _fail(where, key, unknown[0], f"not a {key} of network {network.name!r}")
        chosen[:] = False
        chosen[[index[i] for i in ids]] = True
    return chosen


def _having(entities: Sequence[Any], key: str, value: str, where: str, network: Network,
            noun: str, verb: str) -> np.ndarray:
    """Mask of the entities whose ``key`` attribute is ``value`` (which some must have)."""
    values = [getattr(x, key) for x in entities]
    if value not in values:
        raise _fail(where, key, value, f"no {noun} of network {network.name!r} {verb} this "
                    f"{key} (known: {', '.join(sorted(set(values)))})")
    return np.array([v == value for v in values])


def _select_nodes(layout: Layout, where: str, *, nodes: Iterable[str] = (),
                  node_kind: str | None = None, region: str | None = None,
                  cluster: str | None = None) -> np.ndarray:
    network = layout.network
    rule, nodes = _rule_of(tuple(nodes), where, "node", selectors.NODE_RULES)
    chosen = _named(nodes, network.node_index, where, "node", network)
    if node_kind is not None:
        if node_kind not in KIND_CODES:
            raise _fail(where, "node_kind", node_kind, f"must be one of {', '.join(KIND_CODES)}")
        chosen &= layout.kind == KIND_CODES[node_kind]
    for key, value in (("region", region), ("cluster", cluster)):
        value = selectors.resolve_name(layout, where, key, value)
        if value is not None:
            chosen &= _having(network.nodes, key, value, where, network, "node", "is in")
    return _picked(layout, where, "node", rule, chosen)


def _picked(layout: Layout, where: str, key: str, rule: selectors.Selector | None,
            chosen: np.ndarray) -> np.ndarray:
    """Positions of the chosen nodes or lanes, or of those the rule picks among them."""
    if rule is None:
        return np.flatnonzero(chosen)
    select = selectors.select_nodes if key == "node" else selectors.select_lanes
    picked = select(layout, rule, chosen)
    if not picked.size:
        raise _fail(where, key, str(rule), f"the rule picks no {key} of network "
                    f"{layout.network.name!r} among those the other settings allow")
    return np.sort(picked)


def _rule_of(ids: tuple[str, ...], where: str, key: str,
             rules: tuple[str, ...]) -> tuple[selectors.Selector | None, tuple[str, ...]]:
    """The rule among target ids (it must stand alone), and the plain ids."""
    found = [i for i in ids if selectors.is_selector(i)]
    if not found:
        return None, ids
    if len(ids) > 1:
        raise _fail(where, key, list(ids), "a rule (@...) stands alone, not in a list of ids")
    return selectors.parse(found[0], where, key, rules), ()


def _select_lanes(layout: Layout, where: str, *, lanes: Iterable[str] = (),
                  mode: str | None = None, carrier: str | None = None,
                  region: str | None = None, cluster: str | None = None) -> np.ndarray:
    network = layout.network
    rule, lanes = _rule_of(tuple(lanes), where, "lane", selectors.LANE_RULES)
    chosen = _named(lanes, network.lane_index, where, "lane", network)
    for key, value in (("mode", mode), ("carrier", carrier)):
        value = selectors.resolve_name(layout, where, key, value)
        if value is not None:
            chosen &= _having(network.lanes, key, value, where, network, "lane", "has")
    for key, value in (("region", region), ("cluster", cluster)):
        value = selectors.resolve_name(layout, where, key, value)
        if value is not None:  # a lane touches a region when either end is in it
            inside = np.array([getattr(n, key) == value for n in network.nodes])
            chosen &= inside[layout.lane_source] | inside[layout.lane_target]
    return _picked(layout, where, "lane", rule, chosen)


def _select_zones(layout: Layout, where: str, *, zones: Iterable[str] = (),
                  region: str | None = None) -> np.ndarray:
    network = layout.network
    zone_index = {z.id: i for i, z in enumerate(network.demand)}
    chosen = np.ones(layout.n_zones, dtype=bool)
    zones = tuple(zones)
    if zones:
        unknown = [z for z in zones if z not in zone_index]
        if unknown:
            raise _fail(where, "zone", unknown[0],
                        f"not a demand zone of network {network.name!r}")
        chosen[:] = False
        chosen[[zone_index[z] for z in zones]] = True
    region = selectors.resolve_name(layout, where, "region", region)
    if region is not None:
        regions = set(layout.zone_region)
        if region not in regions:
            raise _fail(where, "region", region, f"no demand zone of network {network.name!r} "
                        f"is in this region (known: {', '.join(sorted(regions))})")
        chosen &= np.array([r == region for r in layout.zone_region])
    return np.flatnonzero(chosen)


def _ids(value: Any, where: str, key: str) -> tuple[str, ...]:
    """Target ids as a tuple; an empty list or a non-text id is refused (it would select all)."""
    if value is None or value == ():  # not given (a spec's own default, or None)
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not value:
        raise _fail(where, key, value, "must be an id or a non-empty list of ids (leave it out "
                    "to select by kind, region or cluster)")
    for item in value:
        if not isinstance(item, str) or not item:
            raise _fail(where, key, value, f"ids must be non-empty text, not {item!r}")
    return tuple(value)


def _check_fraction(where: str, key: str, value: Any, *, zero_ok: bool = False) -> None:
    low_ok = value >= 0 if zero_ok else value > 0
    if not _is_number(value) or not low_ok or value > 1:
        raise _fail(where, key, value, f"must be in {'[0' if zero_ok else '(0'}, 1]")


def _check_factor(where: str, key: str, value: Any, *, minimum: float) -> None:
    if not _is_number(value) or value < minimum:
        raise _fail(where, key, value, f"must be a number >= {minimum:g}")


# --------------------------------------------------------------------------------------------
# The kinds
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeOutage(_Timed):
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
        _check_fraction(f"disruption {self.kind}", "severity", self.severity)
        self._check_timing(timed=False)

    def effects(self, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
        """One node-capacity effect on the selected nodes."""
        targets = _select_nodes(layout, f"disruption {self.kind}", nodes=self.node,
                                node_kind=self.node_kind, region=self.region,
                                cluster=self.cluster)
        return [(NODE_CAPACITY, targets, float(self.severity))]


@dataclass(frozen=True)
class LaneDisruption(_Timed):
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
        _check_fraction(where, "closure", self.closure, zero_ok=True)
        _check_factor(where, "lead_time_factor", self.lead_time_factor, minimum=1.0)
        if self.closure == 0 and self.lead_time_factor == 1:
            raise _fail(where, "closure", 0, "a lane disruption needs closure > 0 or "
                        "lead_time_factor > 1")

    def effects(self, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
        """Lane-capacity and lead-time effects on the selected lanes."""
        targets = _select_lanes(layout, f"disruption {self.kind}", lanes=self.lane,
                                mode=self.mode, carrier=self.carrier, region=self.region,
                                cluster=self.cluster)
        out = []
        if self.closure > 0:
            out.append((LANE_CAPACITY, targets, float(self.closure)))
        if self.lead_time_factor > 1:
            out.append((LANE_LEAD, targets, float(self.lead_time_factor)))
        return out


@dataclass(frozen=True)
class DemandShock(_Timed):
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
        if not _is_number(self.factor) or self.factor <= 0:
            raise _fail(f"disruption {self.kind}", "factor", self.factor, "must be > 0")

    def effects(self, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
        """One demand effect on the selected zones."""
        targets = _select_zones(layout, f"disruption {self.kind}", zones=self.zone,
                                region=self.region)
        return [(DEMAND, targets, float(self.factor))]


@dataclass(frozen=True)
class RegionalEvent(_Timed):
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
            raise _fail(where, "region", self.region, "give a region or a cluster")
        _check_fraction(where, "severity", self.severity, zero_ok=True)
        _check_fraction(where, "lane_closure", self.lane_closure, zero_ok=True)
        _check_factor(where, "lead_time_factor", self.lead_time_factor, minimum=1.0)
        if not _is_number(self.demand_factor) or self.demand_factor <= 0:
            raise _fail(where, "demand_factor", self.demand_factor, "must be > 0")

    def effects(self, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
        """Node, lane and demand effects on everything in the region or cluster."""
        where = f"disruption {self.kind}"
        nodes = _select_nodes(layout, where, region=self.region, cluster=self.cluster)
        lanes = _select_lanes(layout, where, region=self.region, cluster=self.cluster)
        out = []
        if self.severity > 0:
            out.append((NODE_CAPACITY, nodes, float(self.severity)))
        if self.lane_closure > 0:
            out.append((LANE_CAPACITY, lanes, float(self.lane_closure)))
        if self.lead_time_factor > 1:
            out.append((LANE_LEAD, lanes, float(self.lead_time_factor)))
        region = selectors.resolve_name(layout, where, "region", self.region)
        if self.demand_factor != 1 and region is not None:
            zones = np.array([i for i, r in enumerate(layout.zone_region) if r == region],
                             dtype=np.int64)
            out.append((DEMAND, zones, float(self.demand_factor)))
        return out


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
            if not _is_number(value) or value < 1:
                raise _fail(where, key, value, "must be a number of days >= 1")
        if self.node_kind is not None and self.node_kind not in KIND_CODES:
            raise _fail(where, "node_kind", self.node_kind,
                        f"must be one of {', '.join(KIND_CODES)}")
        _check_fraction(where, "severity", self.severity)

    def targets(self, layout: Layout) -> np.ndarray:
        """Indices of the exposed nodes."""
        try:
            return _select_nodes(layout, f"disruption {self.kind}", nodes=self.nodes,
                                 node_kind=self.node_kind)
        except ConfigError as error:
            raise ConfigError([Issue(i.where, "nodes" if i.key == "node" else i.key, i.value,
                                     i.rule) for i in error.issues]) from None

    def validate(self, layout: Layout, warmup_days: int) -> None:
        """Check the spec against a network."""
        self.targets(layout)

    def sample(self, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
               warmup_days: int) -> np.ndarray:
        """Down spells of a chunk of replicates (one stream each), as events to the horizon."""
        targets = self.targets(layout)
        m = targets.size
        p_fail, p_recover = 1.0 / self.mttf_days, 1.0 / self.mttr_days
        p_down = self.mttr_days / (self.mttf_days + self.mttr_days)
        starts, ends, nodes, replicates = [], [], [], []
        for position, rng in enumerate(rngs):
            down = rng.random(m) < p_down
            clock = np.zeros(m, dtype=np.int64)
            while m and (clock < horizon).any():
                spell = np.where(down, rng.geometric(p_recover, m), rng.geometric(p_fail, m))
                hit = down & (clock < horizon)
                starts.append(clock[hit])
                ends.append(np.minimum(clock[hit] + spell[hit], horizon))
                nodes.append(targets[hit])
                replicates.append(np.full(int(hit.sum()), position, dtype=np.int64))
                clock = clock + spell
                down = ~down
        if not nodes:
            return events_array(0)
        events = event_rows(NODE_CAPACITY, np.zeros(1, dtype=np.int64),
                            np.concatenate(replicates), np.concatenate(starts),
                            np.concatenate(ends), self.severity)
        events["target"] = np.concatenate(nodes)
        return events


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
            raise _fail(where, "region", self.region, "give a region or a cluster")
        if not _is_number(self.rate_per_year) or self.rate_per_year < 0:
            raise _fail(where, "rate_per_year", self.rate_per_year, "must be a number >= 0")
        _check_fraction(where, "hit_probability", self.hit_probability)
        _check_fraction(where, "severity", self.severity)

    def validate(self, layout: Layout, warmup_days: int) -> None:
        """Check the region or cluster against a network."""
        _select_nodes(layout, f"disruption {self.kind}", region=self.region,
                      cluster=self.cluster)

    def sample(self, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
               warmup_days: int) -> np.ndarray:
        """Outages of a chunk of replicates: driver arrivals, then which nodes each one hits."""
        nodes = _select_nodes(layout, f"disruption {self.kind}", region=self.region,
                              cluster=self.cluster)
        days = horizon - warmup_days
        expected = self.rate_per_year * days / DAYS_PER_YEAR
        starts, ends, targets, replicates = [], [], [], []
        for position, rng in enumerate(rngs):
            count = int(rng.poisson(expected))
            arrivals = np.sort(rng.integers(0, days, count)) + warmup_days
            hit = rng.random((count, nodes.size)) < self.hit_probability
            arrival, node = np.nonzero(hit)
            starts.append(arrivals[arrival])
            ends.append(arrivals[arrival] + self.duration.sample(rng, arrival.size))
            targets.append(nodes[node])
            replicates.append(np.full(arrival.size, position, dtype=np.int64))
        if not starts:
            return events_array(0)
        events = event_rows(NODE_CAPACITY, np.zeros(1, dtype=np.int64),
                            np.concatenate(replicates), np.concatenate(starts),
                            np.concatenate(ends), self.severity)
        events["target"] = np.concatenate(targets)
        return events


DISRUPTIONS: dict[str, type] = {cls.kind: cls for cls in (
    NodeOutage, LaneDisruption, DemandShock, RegionalEvent, RandomOutages, CorrelatedOutages)}


# --------------------------------------------------------------------------------------------
# Mappings (Hydra configs, risk registers, dataset attrs)
# --------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A field value in plain YAML-able form."""
    if isinstance(value, Duration):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)
                if getattr(value, f.name) != f.default}
    if isinstance(value, Trigger):
        return {"disruption": disruption_to_mapping(value.disruption),
                "probability": float(value.probability), "delay_days": int(value.delay_days)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - allowed)
    missing = sorted(f.name for f in fields(cls) if f.name not in data
                     and f.default is MISSING and f.default_factory is MISSING)
    issues = [Issue(where, key, data[key], f"unknown field of {kind}; expected one of "
                    f"{', '.join(sorted(allowed))}") for key in unknown]
    issues += [Issue(where, key, None, f"required field of {kind} missing") for key in missing]
    if issues:
        raise ConfigError(issues)
    cleaned = {k: (tuple(v) if isinstance(v, list) and k != "values" else v)
               for k, v in data.items()}
    try:
        spec = cls(**cleaned)
        if isinstance(spec, _Timed) and timed:
            spec._check_timing(timed=True)
        return spec
    except ConfigError as error:
        raise ConfigError([Issue(where, i.key, i.value, i.rule) for i in error.issues]) from None


def disruptions_from_config(items: Iterable[Any] | None) -> tuple[Any, ...]:
    """Accept specs or mappings (the Hydra ``disruption.events`` list) and return specs.

    A mapping ``{risk_register: PATH}`` expands into the register's events.
    """
    out: list[Any] = []
    for i, item in enumerate(items or ()):
        where = f"disruption.events[{i}]"
        if isinstance(item, Mapping) and set(item) == {"risk_register"}:
            out.extend(load_risk_register(item["risk_register"]))
        elif isinstance(item, Mapping):
            out.append(disruption_from_mapping(item, where=where))
        elif hasattr(item, "sample") and hasattr(item, "kind"):
            if isinstance(item, _Timed):
                try:
                    item._check_timing()
                except ConfigError as error:
                    raise ConfigError([Issue(where, e.key, e.value, e.rule)
                                       for e in error.issues]) from None
            out.append(item)
        else:
            raise ConfigError(Issue(where, "", item,
                                    "must be a disruption spec or a mapping with a kind"))
    return tuple(out)


REGISTER_NUMBERS = ("start_day", "duration_days", "rate_per_year", "probability_per_year",
                    "ramp_days", "severity", "closure", "lead_time_factor", "factor",
                    "lane_closure", "demand_factor", "hit_probability", "mttf_days",
                    "mttr_days")


def load_risk_register(path: str | Path) -> tuple[Any, ...]:
    """Read a risk register: many disruptions, each with its own probability or rate.

    YAML: a list of disruption mappings (or ``{events: [...]}``). CSV: one row per risk, with
    the columns ``id`` (a name, for reports), ``kind``, the target and effect columns of that
    kind (``node``, ``lane``, ``zone``, ``region``, ``cluster``, ``mode``, ``carrier``,
    ``severity``, ``closure``, ``lead_time_factor``, ``factor``, ...), the timing
    (``probability_per_year`` or ``rate_per_year``, or ``start_day``) and the duration
    (``duration_days``, or ``duration_law`` with ``duration_mean_days``, ``duration_sd_days``).
    Errors name the file, the row and the column.
    """
    from sim.io import resolve_path  # example: paths; sim.io does not import this module

    path = resolve_path(path)
    if not path.is_file():
        raise ConfigError(Issue(str(path), "", None, "risk register not found"))
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        entries = data.get("events", []) if isinstance(data, Mapping) else data
        specs = []
        for i, entry in enumerate(entries):
            entry = dict(entry)
            entry.pop("id", None)
            specs.append(disruption_from_mapping(entry, where=f"{path.name}: events[{i}]"))
        return tuple(specs)
    specs = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} row {number}"
            cells = {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
            cells.pop("id", None)
            law = cells.pop("duration_law", None)
            mean = cells.pop("duration_mean_days", None)
            sd = cells.pop("duration_sd_days", None)
            entry: dict[str, Any] = {}
            for key, value in cells.items():
                if key in REGISTER_NUMBERS:
                    try:
                        number_value = float(value)
                    except ValueError:
                        raise ConfigError(Issue(where, key, value, "must be a number")) from None
                    entry[key] = int(number_value) if key in (
                        "start_day", "duration_days", "ramp_days") and number_value.is_integer(
                    ) else number_value
                else:
                    entry[key] = value
            if law is not None:
                try:
                    entry["duration"] = {"law": law, "mean_days": float(mean or 1),
                                         "sd_days": float(sd or 0)}
                except ValueError:
                    raise ConfigError(Issue(where, "duration_mean_days", mean,
                                            "must be a number")) from None
            specs.append(disruption_from_mapping(entry, where=where))
    return tuple(specs)


def node_capacity_factor(events: np.ndarray, day: int, n_replicates: int,
                         n_nodes: int) -> np.ndarray:
    """Capacity factor of every node on one day, shaped (replicate, node) (reference)."""
    return effect_factors(events, day, NODE_CAPACITY, n_nodes, n_replicates).T

