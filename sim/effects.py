"""What disruption events do on a given day: their effect kinds and how effects combine.

An event (a row of :data:`EVENT_DTYPE`) acts on one target from ``start`` (inclusive) to ``end``
(exclusive) with full ``severity``, then fades over ``ramp_days`` days:

* linear ramp: on day ``end + i`` the remaining weight is ``(ramp - i) / (ramp + 1)``;
* exponential ramp: ``0.05 ** ((i + 1) / ramp)`` (5 % left on the last ramp day).

Kinds and their ``severity``:

* ``NODE_CAPACITY``: fraction of a node's capacity lost, in (0, 1]. Factor ``1 - severity x w``;
  simultaneous events take the worst (smallest) factor.
* ``LANE_CAPACITY``: fraction of a lane's capacity lost (1 closes it). Combined the same way.
* ``LANE_LEAD``: lead-time multiplier k >= 1 for shipments leaving that day: ``1 + (k - 1) w``;
  the largest applies. A stretched lead time is rounded up to whole days.
* ``DEMAND``: demand multiplier m > 0 (surge > 1, drop < 1): ``1 + (m - 1) w``; multipliers of
  simultaneous events multiply. Demand shocks are applied to the drawn demand itself, so both
  engines see the same demand.

:func:`effect_factors` is the reference used by the Mesa engine; :class:`EffectSchedule` keeps
the same values incrementally for the batch engine (only the events active on a day are scanned,
and only on days when something changes).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DEMAND",
    "EVENT_DTYPE",
    "KINDS",
    "LANE_CAPACITY",
    "LANE_LEAD",
    "NODE_CAPACITY",
    "RAMP_EXPONENTIAL",
    "RAMP_LINEAR",
    "EffectSchedule",
    "effect_factors",
    "event_weight",
    "events_array",
    "knowledge_events",
    "ring_size",
]

EVENT_DTYPE = np.dtype([
    ("replicate", np.int64),  # position of the replicate within its chunk
    ("kind", np.int8),
    ("target", np.int64),  # node, lane or zone index, by kind
    ("start", np.int64),  # simulated day (0 = first warm-up day), inclusive
    ("end", np.int64),  # exclusive; the ramp follows
    ("ramp_days", np.int64),
    ("ramp_kind", np.int8),
    ("severity", np.float64),  # capacity loss, or a lead-time or demand multiplier, by kind
    ("cause", np.int64),  # index of the disruption spec that made the event
])
NODE_CAPACITY, LANE_CAPACITY, LANE_LEAD, DEMAND = 0, 1, 2, 3
KINDS = {"node_capacity": NODE_CAPACITY, "lane_capacity": LANE_CAPACITY,
         "lane_lead": LANE_LEAD, "demand": DEMAND}
RAMP_LINEAR, RAMP_EXPONENTIAL = 0, 1
_COMBINE = {NODE_CAPACITY: "min", LANE_CAPACITY: "min", LANE_LEAD: "max", DEMAND: "product"}


def events_array(n: int) -> np.ndarray:
    """An empty-valued event table of ``n`` rows."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def event_weight(events: np.ndarray, day: int) -> np.ndarray:
    """Strength of each event on a day: 1 in its window, fading over its ramp, else 0."""
    since_end = day - events["end"]
    ramp = events["ramp_days"]
    weight = np.where((events["start"] <= day) & (since_end < 0), 1.0, 0.0)
    fading = (since_end >= 0) & (since_end < ramp)
    if fading.any():
        i, r = since_end[fading], ramp[fading]
        linear = (r - i) / (r + 1.0)
        exponential = 0.05 ** ((i + 1.0) / r)
        weight[fading] = np.where(events["ramp_kind"][fading] == RAMP_EXPONENTIAL,
                                  exponential, linear)
    return weight


def _values(events: np.ndarray, weight: np.ndarray, kind: int) -> np.ndarray:
    if kind in (NODE_CAPACITY, LANE_CAPACITY):
        return 1.0 - events["severity"] * weight
    return 1.0 + (events["severity"] - 1.0) * weight


def _combine(out: np.ndarray, events: np.ndarray, values: np.ndarray, kind: int) -> None:
    index = (events["target"], events["replicate"])
    rule = _COMBINE[kind]
    if rule == "min":
        np.minimum.at(out, index, values)
    elif rule == "max":
        np.maximum.at(out, index, values)
    else:
        np.multiply.at(out, index, values)


def effect_factors(events: np.ndarray, day: int, kind: int, targets: int,
                   replicates: int) -> np.ndarray:
    """Factor of every target of one kind on a day, shaped (target, replicate).

    The reference computation (a full scan of the events); 1 where nothing acts.
    """
    factors = np.ones((targets, replicates))
    chosen = events[events["kind"] == kind]
    weight = event_weight(chosen, day)
    active = weight > 0
    if active.any():
        chosen = chosen[active]
        _combine(factors, chosen, _values(chosen, weight[active], kind), kind)
    return factors


class EffectSchedule:
    """The factors of one kind, day after day, for a chunk of replicates (batch engine).

    Equal to :func:`effect_factors` on every day, but it scans only the events active that day
    and recomputes only on days when an event starts, ends or is ramping. Days must be asked in
    increasing order. ``version`` changes whenever the factors change.
    """

    def __init__(self, events: np.ndarray, kind: int, targets: int, replicates: int,
                 shift: int = 0) -> None:
        chosen = events[events["kind"] == kind].copy()
        chosen["start"] += shift  # a shifted schedule: what is known `shift` days late
        chosen["end"] += shift
        self.kind = kind
        self.events = chosen[np.argsort(chosen["start"], kind="stable")]
        days: set[int] = set()
        for event in self.events:
            days.update((int(event["start"]), int(event["end"])))
            days.update(range(int(event["end"]), int(event["end"] + event["ramp_days"]) + 1))
        self.change_days = days
        self.factors = np.ones((targets, replicates))
        self.version = 0
        self._active = self.events[:0]
        self._next = 0
        self._started = False

    def at(self, day: int) -> np.ndarray:
        """Factors (target, replicate) on a simulated day."""
        if self._started and day not in self.change_days:
            return self.factors
        self._started = True
        stop = int(np.searchsorted(self.events["start"], day, side="right"))
        active = np.concatenate([self._active, self.events[self._next:stop]])
        self._active = active[active["end"] + active["ramp_days"] > day]
        self._next = stop
        self.factors.fill(1.0)
        self.version += 1
        weight = event_weight(self._active, day)
        acting = weight > 0
        if acting.any():
            chosen = self._active[acting]
            _combine(self.factors, chosen, _values(chosen, weight[acting], self.kind), self.kind)
        return self.factors


def ring_size(max_lead: int, events: np.ndarray) -> int:
    """Slots of a pipeline ring: the longest lead time, stretched by the events, plus one."""
    stretches = events["severity"][events["kind"] == LANE_LEAD]
    factor = float(stretches.max()) if stretches.size else 1.0
    return math.ceil(max_lead * max(factor, 1.0) - 1e-9) + 1


def knowledge_events(events: np.ndarray, delay: int, notice: int,
                     warned: np.ndarray) -> np.ndarray:
    """The events as the network knows them: ``delay`` days late, or ``notice`` days early.

    A node learns that something started ``delay`` days after it did, or ``notice`` days before
    it does when the event is ``warned`` (early warning); it learns of the recovery ``delay``
    days late either way.
    """
    known = events.copy()
    known["start"] = np.maximum(0, known["start"] + np.where(warned, -notice, delay))
    known["end"] = known["end"] + delay
    return known
