"""Disruption specs turned into event rows: which targets each hits, and when, per replicate.

Three functions, each dispatched on the spec's class (:func:`functools.singledispatch`), make a
disruption kind work in a run:

* :func:`effects`: (event kind, target indices, severity) of one occurrence on a network;
* :func:`validate`: check the spec's targets against a network and its days against the warm-up;
* :func:`sample`: the events of a chunk of replicates, one random stream per replicate.

A new kind is a frozen dataclass with a ``kind`` name (:class:`sim.spec.disruptions.Disruption`)
plus ``effects.register`` (event-shaped, with the shared timing fields) or ``sample.register``
and ``validate.register`` (any other shape), as the shipped kinds do below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

import numpy as np

from sim.compile import selectors
from sim.compile.effects import (
    DEMAND,
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    RAMP_EXPONENTIAL,
    RAMP_LINEAR,
    effect_factors,
    events_array,
)
from sim.compile.layout import KIND_CODES, Layout
from sim.spec.checks import fail
from sim.spec.disruptions import (
    CorrelatedOutages,
    DemandShock,
    Duration,
    LaneDisruption,
    NodeOutage,
    RandomOutages,
    RegionalEvent,
    Timed,
)
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import Network
from sim.spec.units import DAYS_PER_YEAR

__all__ = ["durations", "effects", "event_rows", "node_capacity_factor", "sample", "validate",
           "windows"]

RAMP_CODES = {"linear": RAMP_LINEAR, "exponential": RAMP_EXPONENTIAL}
"""The effect codes of the recovery ramps a spec names."""


# --------------------------------------------------------------------------------------------
# The interface (the default implementations serve every event-shaped kind)
# --------------------------------------------------------------------------------------------
@singledispatch
def effects(spec: Any, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
    """(event kind, target indices, severity) of one occurrence of ``spec`` on ``layout``."""
    raise TypeError(f"no effects for disruption {type(spec).__name__}: register them with "
                    "sim.compile.events.effects.register")


@singledispatch
def validate(spec: Any, layout: Layout, warmup_days: int) -> None:
    """Check targets against a network and scripted days against the warm-up."""
    effects(spec, layout)
    if spec.start_day is not None and spec.start_day < -warmup_days:
        raise fail(f"disruption {spec.kind}", "start_day", spec.start_day,
                    f"starts before the simulation (warm-up {warmup_days} days)")
    for trigger in spec.triggers:
        validate(trigger.disruption, layout, warmup_days)


@singledispatch
def sample(spec: Any, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
           warmup_days: int) -> np.ndarray:
    """Events of a chunk of replicates (``rngs[i]`` is replicate i's stream for this spec).

    Triggered events included; events starting after the horizon dropped. The ``replicate``
    field of each event is its replicate's position in ``rngs``.
    """
    days = horizon - warmup_days
    if spec.start_day is not None and spec.duration_days is not None and not spec.triggers:
        # scripted, fixed length: the same window in every replicate, nothing to draw
        start = spec.start_day + warmup_days
        size = len(rngs)
        events = _events(spec, layout, np.arange(size), np.full(size, start),
                              np.full(size, start + spec.duration_days))
        return events[events["start"] < horizon]
    drawn = _Draws.of(spec, rngs, days)
    replicates, starts, ends = drawn.occurrences(warmup_days)
    tables = [_events(spec, layout, replicates, starts, ends)]
    for trigger, fired, lengths in zip(spec.triggers, drawn.fired, drawn.child_lengths,
                                       strict=True):
        hit = np.concatenate(fired) if fired else np.zeros(0, dtype=bool)
        child_starts = starts[hit] + trigger.delay_days
        child_ends = child_starts + _whole(trigger.disruption, lengths, child_starts.size)
        tables.append(_events(trigger.disruption, layout, replicates[hit], child_starts,
                              child_ends))
    events = np.concatenate(tables)
    return events[events["start"] < horizon]


def durations(spec: Timed, rng: np.random.Generator, size: int) -> np.ndarray:
    """Durations of ``size`` occurrences [whole days]."""
    draws: list[np.ndarray] = []
    _draw_lengths(spec, rng, size, draws)
    return _whole(spec, draws, size)


def windows(spec: Timed, rng: np.random.Generator, warmup_days: int,
            days: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (simulated days) of each occurrence in one replicate."""
    _, starts, ends = _Draws.of(spec, [rng], days).occurrences(warmup_days)
    return starts, ends


def _draw_lengths(spec: Timed, rng: np.random.Generator, size: int,
                  into: list[np.ndarray]) -> None:
    """Append the draws behind ``size`` durations (none for a fixed ``duration_days``)."""
    if spec.duration_days is None:
        assert isinstance(spec.duration, Duration)  # a spec has one or the other (checked)
        into.append(spec.duration.draw(rng, size))


def _whole(spec: Timed, draws: list[np.ndarray], size: int) -> np.ndarray:
    """``size`` durations in whole days: a spec's fixed length, or its duration draws rounded."""
    if spec.duration_days is not None:
        return np.full(size, int(spec.duration_days), dtype=np.int64)
    assert isinstance(spec.duration, Duration)  # a spec has one or the other (checked)
    return spec.duration.whole(np.concatenate(draws) if draws else np.zeros(0))


@dataclass
class _Draws:
    """What a chunk's streams drew for a spec's occurrences, replicate after replicate.

    Only the draws loop over replicates, in each stream's order (count, start days, duration
    draws, then per trigger whether it follows and its duration draws); sorting the starts,
    rounding durations and matching triggers to their parents then run once for the chunk
    (a third of the time the same steps took per replicate on the demo's disruptions).
    """

    spec: Timed
    days: int
    counts: np.ndarray  # occurrences per replicate
    offsets: list[np.ndarray] = field(default_factory=list)  # unsorted start days, drawn
    lengths: list[np.ndarray] = field(default_factory=list)  # duration draws
    fired: list[list[np.ndarray]] = field(default_factory=list)  # per trigger, per occurrence
    child_lengths: list[list[np.ndarray]] = field(default_factory=list)

    @classmethod
    def of(cls, spec: Timed, rngs: Sequence[np.random.Generator], days: int) -> _Draws:
        """The draws of every replicate's stream (``rngs`` in replicate order)."""
        drawn = cls(spec, days, np.zeros(len(rngs), dtype=np.int64),
                    fired=[[] for _ in spec.triggers],
                    child_lengths=[[] for _ in spec.triggers])
        scripted = spec.start_day is not None
        expected = 0.0 if scripted else spec.rate * days / DAYS_PER_YEAR
        for position, rng in enumerate(rngs):
            count = 1 if scripted else int(rng.poisson(expected))
            if count:  # none is the common case for rare events: nothing more to draw
                drawn.counts[position] = count
                drawn._draw(rng, count, scripted)
        return drawn

    def _draw(self, rng: np.random.Generator, count: int, scripted: bool) -> None:
        if not scripted:
            self.offsets.append(rng.integers(0, self.days, count))
        _draw_lengths(self.spec, rng, count, self.lengths)
        for t, trigger in enumerate(self.spec.triggers):
            fired = rng.random(count) < trigger.probability
            self.fired[t].append(fired)
            _draw_lengths(trigger.disruption, rng, int(fired.sum()), self.child_lengths[t])

    def occurrences(self, warmup_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(replicate position, start, end) of every occurrence, by replicate then start."""
        if self.spec.start_day is None:
            replicates, starts = _sorted_starts(self.counts, self.offsets, self.days,
                                                warmup_days)
        else:
            replicates = np.repeat(np.arange(self.counts.size), self.counts)
            starts = np.full(replicates.size, self.spec.start_day + warmup_days, dtype=np.int64)
        return replicates, starts, starts + _whole(self.spec, self.lengths, starts.size)


def _sorted_starts(counts: np.ndarray, offsets: list[np.ndarray], days: int,
                   warmup_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(replicate position, start day) of drawn occurrences, each replicate's in day order.

    ``offsets`` are each replicate's draws in [0, days), replicates in order; they are sorted
    within replicates at once, as keys ``replicate * days + offset``.
    """
    replicates = np.repeat(np.arange(counts.size), counts)
    span = replicates * days
    drawn = np.concatenate(offsets) if offsets else span
    return replicates, np.sort(drawn + span) - span + warmup_days


def _events(spec: Timed, layout: Layout, replicates: np.ndarray, starts: np.ndarray,
            ends: np.ndarray) -> np.ndarray:
    """Event rows of every effect of a spec, for occurrences (replicate, start, end)."""
    if not starts.size:
        return events_array(0)
    rows = [event_rows(kind, targets, replicates, starts, ends, severity,
                       spec.ramp_days, RAMP_CODES[spec.ramp])
            for kind, targets, severity in effects(spec, layout)]
    return np.concatenate(rows) if rows else events_array(0)



# --------------------------------------------------------------------------------------------
# The shipped kinds
# --------------------------------------------------------------------------------------------


@effects.register
def _(spec: NodeOutage, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
    """One node-capacity effect on the selected nodes."""
    targets = _select_nodes(layout, f"disruption {spec.kind}", nodes=spec.node,
                            node_kind=spec.node_kind, region=spec.region,
                            cluster=spec.cluster)
    return [(NODE_CAPACITY, targets, float(spec.severity))]


@effects.register
def _(spec: LaneDisruption, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
    """Lane-capacity and lead-time effects on the selected lanes."""
    targets = _select_lanes(layout, f"disruption {spec.kind}", lanes=spec.lane,
                            mode=spec.mode, carrier=spec.carrier, region=spec.region,
                            cluster=spec.cluster)
    out = []
    if spec.closure > 0:
        out.append((LANE_CAPACITY, targets, float(spec.closure)))
    if spec.lead_time_factor > 1:
        out.append((LANE_LEAD, targets, float(spec.lead_time_factor)))
    return out


@effects.register
def _(spec: DemandShock, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
    """One demand effect on the selected zones."""
    targets = _select_zones(layout, f"disruption {spec.kind}", zones=spec.zone,
                            region=spec.region)
    return [(DEMAND, targets, float(spec.factor))]


@effects.register
def _(spec: RegionalEvent, layout: Layout) -> list[tuple[int, np.ndarray, float]]:
    """Node, lane and demand effects on everything in the region or cluster."""
    where = f"disruption {spec.kind}"
    nodes = _select_nodes(layout, where, region=spec.region, cluster=spec.cluster)
    lanes = _select_lanes(layout, where, region=spec.region, cluster=spec.cluster)
    out = []
    if spec.severity > 0:
        out.append((NODE_CAPACITY, nodes, float(spec.severity)))
    if spec.lane_closure > 0:
        out.append((LANE_CAPACITY, lanes, float(spec.lane_closure)))
    if spec.lead_time_factor > 1:
        out.append((LANE_LEAD, lanes, float(spec.lead_time_factor)))
    region = selectors.resolve_name(layout, where, "region", spec.region)
    if spec.demand_factor != 1 and region is not None:
        zones = np.array([i for i, r in enumerate(layout.zone_region) if r == region],
                         dtype=np.int64)
        out.append((DEMAND, zones, float(spec.demand_factor)))
    return out


def _random_targets(spec: RandomOutages, layout: Layout) -> np.ndarray:
    """Indices of the exposed nodes."""
    try:
        return _select_nodes(layout, f"disruption {spec.kind}", nodes=spec.nodes,
                             node_kind=spec.node_kind)
    except ConfigError as error:
        raise ConfigError([Issue(i.where, "nodes" if i.key == "node" else i.key, i.value,
                                 i.rule) for i in error.issues]) from None


@validate.register
def _(spec: RandomOutages, layout: Layout, warmup_days: int) -> None:
    """Check the spec against a network."""
    _random_targets(spec, layout)


@sample.register
def _(spec: RandomOutages, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
           warmup_days: int) -> np.ndarray:
    """Down spells of a chunk of replicates (one stream each), as events to the horizon."""
    targets = _random_targets(spec, layout)
    m = targets.size
    p_fail, p_recover = 1.0 / spec.mttf_days, 1.0 / spec.mttr_days
    p_down = spec.mttr_days / (spec.mttf_days + spec.mttr_days)
    # only the draws loop; which spells are outages, and their rows, are found at once after
    clocks, downs, spells, spans = [], [], [], []
    for rng in rngs:
        down = rng.random(m) < p_down
        clock = np.zeros(m, dtype=np.int64)
        spans.append(0)
        while m and (clock < horizon).any():
            spell = np.where(down, rng.geometric(p_recover, m), rng.geometric(p_fail, m))
            clocks.append(clock)
            downs.append(down)
            spells.append(spell)
            spans[-1] += m
            clock = clock + spell
            down = ~down
    if not clocks:
        return events_array(0)
    clock, spell = np.concatenate(clocks), np.concatenate(spells)
    hit = np.concatenate(downs) & (clock < horizon)  # (replicate, spell, node) in draw order
    replicates = np.repeat(np.arange(len(spans)), spans)[hit]
    nodes = np.tile(targets, clock.size // m)[hit]
    ends = np.minimum(clock[hit] + spell[hit], horizon)
    return _node_outages([replicates], [clock[hit]], [ends], [nodes], spec.severity)


@validate.register
def _(spec: CorrelatedOutages, layout: Layout, warmup_days: int) -> None:
    """Check the region or cluster against a network."""
    _select_nodes(layout, f"disruption {spec.kind}", region=spec.region,
                  cluster=spec.cluster)


@sample.register
def _(spec: CorrelatedOutages, rngs: Sequence[np.random.Generator], layout: Layout, horizon: int,
           warmup_days: int) -> np.ndarray:
    """Outages of a chunk of replicates: driver arrivals, then which nodes each one hits."""
    nodes = _select_nodes(layout, f"disruption {spec.kind}", region=spec.region,
                          cluster=spec.cluster)
    days = horizon - warmup_days
    expected = spec.rate_per_year * days / DAYS_PER_YEAR
    assert isinstance(spec.duration, Duration)  # cleaned by the spec
    counts = np.zeros(len(rngs), dtype=np.int64)
    offsets, hits, lengths = [], [], []
    for position, rng in enumerate(rngs):  # only the draws loop, as in _Draws
        count = int(rng.poisson(expected))
        if count:
            counts[position] = count
            offsets.append(rng.integers(0, days, count))
            hits.append(rng.random((count, nodes.size)) < spec.hit_probability)
            lengths.append(spec.duration.draw(rng, int(hits[-1].sum())))
    if not hits:
        return events_array(0)
    replicates, arrivals = _sorted_starts(counts, offsets, days, warmup_days)
    arrival, node = np.nonzero(np.concatenate(hits))  # by replicate, arrival, node: as drawn
    starts = arrivals[arrival]
    ends = starts + spec.duration.whole(np.concatenate(lengths))
    return _node_outages([replicates[arrival]], [starts], [ends], [nodes[node]], spec.severity)


# --------------------------------------------------------------------------------------------
# Event rows and target selection
# --------------------------------------------------------------------------------------------


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


def _named(ids: Iterable[str], index: dict[str, int], where: str, key: str,
           network: Network) -> np.ndarray:
    """Mask of the entities named in ``ids`` (all of them when none is named)."""
    chosen = np.ones(len(index), dtype=bool)
    ids = tuple(ids)
    if ids:
        unknown = [i for i in ids if i not in index]
        if unknown:
            raise fail(where, key, unknown[0], f"not a {key} of network {network.name!r}")
        chosen[:] = False
        chosen[[index[i] for i in ids]] = True
    return chosen


def _having(entities: Sequence[Any], key: str, value: str, where: str, network: Network,
            noun: str, verb: str) -> np.ndarray:
    """Mask of the entities whose ``key`` attribute is ``value`` (which some must have)."""
    values = [getattr(x, key) for x in entities]
    if value not in values:
        raise fail(where, key, value, f"no {noun} of network {network.name!r} {verb} this "
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
            raise fail(where, "node_kind", node_kind, f"must be one of {', '.join(KIND_CODES)}")
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
        raise fail(where, key, str(rule), f"the rule picks no {key} of network "
                    f"{layout.network.name!r} among those the other settings allow")
    return np.sort(picked)


def _rule_of(ids: tuple[str, ...], where: str, key: str,
             rules: tuple[str, ...]) -> tuple[selectors.Selector | None, tuple[str, ...]]:
    """The rule among target ids (it must stand alone), and the plain ids."""
    found = [i for i in ids if selectors.is_selector(i)]
    if not found:
        return None, ids
    if len(ids) > 1:
        raise fail(where, key, list(ids), "a rule (@...) stands alone, not in a list of ids")
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
            raise fail(where, "zone", unknown[0],
                        f"not a demand zone of network {network.name!r}")
        chosen[:] = False
        chosen[[zone_index[z] for z in zones]] = True
    region = selectors.resolve_name(layout, where, "region", region)
    if region is not None:
        regions = set(layout.zone_region)
        if region not in regions:
            raise fail(where, "region", region, f"no demand zone of network {network.name!r} "
                        f"is in this region (known: {', '.join(sorted(regions))})")
        chosen &= np.array([r == region for r in layout.zone_region])
    return np.flatnonzero(chosen)


def node_capacity_factor(events: np.ndarray, day: int, n_replicates: int,
                         n_nodes: int) -> np.ndarray:
    """Capacity factor of every node on one day, shaped (replicate, node) (reference)."""
    return effect_factors(events, day, NODE_CAPACITY, n_nodes, n_replicates).T


def _node_outages(replicates: list[np.ndarray], starts: list[np.ndarray], ends: list[np.ndarray],
                  targets: list[np.ndarray], severity: float) -> np.ndarray:
    """Node-capacity events, one per (replicate, start, end, node) of the per-draw pieces."""
    if not starts:
        return events_array(0)
    events = event_rows(NODE_CAPACITY, np.zeros(1, dtype=np.int64), np.concatenate(replicates),
                        np.concatenate(starts), np.concatenate(ends), severity)
    events["target"] = np.concatenate(targets)
    return events
