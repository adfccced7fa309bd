"""Disruptions: what can go wrong, as specs that turn into compact event lists.

An *event* is one row of :data:`EVENT_DTYPE`: which replicate, what kind, which target (a node
index), from which day to which day (``start`` inclusive, ``end`` exclusive, in simulated days
counted from the first warm-up day) and how hard (``severity``: the fraction of capacity lost).
Events stay a list; engines turn them into day-by-day capacity factors on the fly, so memory does
not grow with replicates x days x nodes.

Days in specs are *recorded* days: day 0 is the first day after the warm-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from sim.errors import ConfigError, Issue
from sim.layout import KIND_CODES, Layout

__all__ = [
    "DISRUPTIONS",
    "EVENT_DTYPE",
    "NODE_CAPACITY",
    "NodeOutage",
    "RandomOutages",
    "disruption_from_mapping",
    "disruptions_from_config",
    "node_capacity_factor",
]

EVENT_DTYPE = np.dtype([
    ("replicate", np.int64),  # position of the replicate within its chunk
    ("kind", np.int8),
    ("target", np.int64),
    ("start", np.int64),
    ("end", np.int64),
    ("severity", np.float64),
    ("cause", np.int64),  # index of the disruption spec that made the event
])
NODE_CAPACITY = 0


def _events(n: int) -> np.ndarray:
    return np.zeros(n, dtype=EVENT_DTYPE)


def _check_node(layout: Layout, node: str, where: str, key: str = "node") -> int:
    index = layout.network.node_index
    if node not in index:
        raise ConfigError(Issue(where, key, node,
                                f"not a node of network {layout.network.name!r}"))
    return index[node]


@dataclass(frozen=True)
class NodeOutage:
    """A scripted outage of one node: its capacity drops for a window of days.

    Parameters
    ----------
    node : str
        The node hit.
    start_day : int
        First day of the outage (recorded days: 0 is the first day after warm-up).
    duration_days : int
        Days the outage lasts (>= 1).
    severity : float
        Fraction of capacity lost, in (0, 1]; 1 is a full stop (nothing made, served or shipped).
    """

    node: str
    start_day: int
    duration_days: int
    severity: float = 1.0

    kind: ClassVar[str] = "node_outage"

    def __post_init__(self) -> None:
        issues = []
        where = f"disruption {self.kind}"
        if not isinstance(self.node, str) or not self.node:
            issues.append(Issue(where, "node", self.node, "must be a node id"))
        if not _is_int(self.start_day):
            issues.append(Issue(where, "start_day", self.start_day, "must be a whole day"))
        if not _is_int(self.duration_days) or self.duration_days < 1:
            issues.append(Issue(where, "duration_days", self.duration_days,
                                "must be a whole number of days >= 1"))
        if not isinstance(self.severity, int | float) or not 0 < self.severity <= 1:
            issues.append(Issue(where, "severity", self.severity, "must be in (0, 1]"))
        if issues:
            raise ConfigError(issues)

    def validate(self, layout: Layout, warmup_days: int) -> None:
        """Check the spec against a network; raise :class:`ConfigError` naming the key."""
        _check_node(layout, self.node, f"disruption {self.kind}")
        if self.start_day < -warmup_days:
            raise ConfigError(Issue(f"disruption {self.kind}", "start_day", self.start_day,
                                    f"starts before the simulation (warm-up {warmup_days} days)"))

    def sample(self, rng: np.random.Generator, layout: Layout, horizon: int,
               warmup_days: int) -> np.ndarray:
        """Events of one replicate (no randomness: the same in every replicate)."""
        events = _events(1)
        events["kind"] = NODE_CAPACITY
        events["target"] = layout.network.node_index[self.node]
        events["start"] = self.start_day + warmup_days
        events["end"] = min(self.start_day + warmup_days + self.duration_days, horizon)
        events["severity"] = self.severity
        return events[events["start"] < horizon]


@dataclass(frozen=True)
class RandomOutages:
    """Stochastic up/down outages: each node alternates between working and failed.

    A two-state Markov chain per node and day: a working node fails with probability
    1/``mttf_days``, a failed one recovers with probability 1/``mttr_days``, so up and down spells
    are geometric with those means. Each node starts in its long-run state (down with probability
    mttr / (mttf + mttr)) at the first warm-up day; nodes fail independently.

    Parameters
    ----------
    mttf_days : float
        Mean time to failure [days] (>= 1).
    mttr_days : float
        Mean time to recover [days] (>= 1).
    nodes : sequence of str
        Nodes exposed; empty means every node (of ``node_kind`` when given).
    node_kind : str, optional
        Only nodes of this kind (``supplier``, ``manufacturer``, ``warehouse``).
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
        object.__setattr__(self, "nodes", tuple(self.nodes))
        issues = []
        for key in ("mttf_days", "mttr_days"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 1:
                issues.append(Issue(where, key, value, "must be a number of days >= 1"))
        if self.node_kind is not None and self.node_kind not in KIND_CODES:
            issues.append(Issue(where, "node_kind", self.node_kind,
                                f"must be one of {', '.join(KIND_CODES)}"))
        if not isinstance(self.severity, int | float) or not 0 < self.severity <= 1:
            issues.append(Issue(where, "severity", self.severity, "must be in (0, 1]"))
        if issues:
            raise ConfigError(issues)

    def targets(self, layout: Layout) -> np.ndarray:
        """Indices of the exposed nodes."""
        if self.nodes:
            chosen = np.array([_check_node(layout, node, f"disruption {self.kind}", "nodes")
                               for node in self.nodes], dtype=np.int64)
        else:
            chosen = np.arange(layout.n_nodes)
        if self.node_kind is not None:
            chosen = chosen[layout.kind[chosen] == KIND_CODES[self.node_kind]]
        return chosen

    def validate(self, layout: Layout, warmup_days: int) -> None:
        """Check the spec against a network."""
        self.targets(layout)

    def sample(self, rng: np.random.Generator, layout: Layout, horizon: int,
               warmup_days: int) -> np.ndarray:
        """Down spells of one replicate, as events clipped to the horizon."""
        targets = self.targets(layout)
        m = targets.size
        p_fail, p_recover = 1.0 / self.mttf_days, 1.0 / self.mttr_days
        down = rng.random(m) < self.mttr_days / (self.mttf_days + self.mttr_days)
        clock = np.zeros(m, dtype=np.int64)
        starts, ends, nodes = [], [], []
        while m and (clock < horizon).any():
            spell = np.where(down, rng.geometric(p_recover, m), rng.geometric(p_fail, m))
            hit = down & (clock < horizon)
            starts.append(clock[hit])
            ends.append(np.minimum(clock[hit] + spell[hit], horizon))
            nodes.append(targets[hit])
            clock = clock + spell
            down = ~down
        if not nodes:
            return _events(0)
        events = _events(sum(len(x) for x in nodes))
        events["kind"] = NODE_CAPACITY
        events["target"] = np.concatenate(nodes)
        events["start"] = np.concatenate(starts)
        events["end"] = np.concatenate(ends)
        events["severity"] = self.severity
        return events


DISRUPTIONS: dict[str, type] = {cls.kind: cls for cls in (NodeOutage, RandomOutages)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def disruption_to_mapping(spec: Any) -> dict[str, Any]:
    """Plain-dict form of a disruption spec (``kind`` plus its fields)."""
    out: dict[str, Any] = {"kind": spec.kind}
    for f in fields(spec):
        value = getattr(spec, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def disruption_from_mapping(data: Mapping[str, Any], *, where: str = "disruption") -> Any:
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
    try:
        return cls(**{k: (tuple(v) if isinstance(v, list | tuple) else v) for k, v in data.items()})
    except ConfigError as error:
        raise ConfigError([Issue(where, i.key, i.value, i.rule) for i in error.issues]) from None


def disruptions_from_config(items: Iterable[Any] | None) -> tuple[Any, ...]:
    """Accept specs or mappings (the Hydra ``disruption.events`` list) and return specs."""
    out = []
    for i, item in enumerate(items or ()):
        if isinstance(item, Mapping):
            out.append(disruption_from_mapping(item, where=f"disruption.events[{i}]"))
        elif hasattr(item, "sample") and hasattr(item, "kind"):
            out.append(item)
        else:
            raise ConfigError(Issue(f"disruption.events[{i}]", "", item,
                                    "must be a disruption spec or a mapping with a kind"))
    return tuple(out)


def node_capacity_factor(events: np.ndarray, day: int, n_replicates: int,
                         n_nodes: int) -> np.ndarray:
    """Capacity factor of every node on one day: 1 minus the worst active severity.

    Parameters
    ----------
    events : ndarray of EVENT_DTYPE
        Events of the replicates in a chunk (``replicate`` indexes the chunk).
    day : int
        Simulated day (0 is the first warm-up day).
    n_replicates, n_nodes : int
        Output shape.

    Returns
    -------
    ndarray, shape (replicate, node)
        Multiplier on capacity, in [0, 1].
    """
    factor = np.ones((n_replicates, n_nodes))
    active = events[(events["kind"] == NODE_CAPACITY) & (events["start"] <= day)
                    & (day < events["end"])]
    if active.size:
        np.minimum.at(factor, (active["replicate"], active["target"]), 1.0 - active["severity"])
    return factor
