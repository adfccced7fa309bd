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

import numpy as np

from sim.spec.units import whole_days

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
_RULE_CODE = {"min": 0, "max": 1, "product": 2}  # sim.compile.schedule_kernel.COMBINE_*


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

    Equal to :func:`effect_factors` on every day, but it keeps the events as plain columns
    sorted by start, scans only those active on a day, and recomputes only the cells (target,
    replicate) that an event enters, leaves or ramps in that day. Days must be asked in
    increasing order. ``version`` changes whenever the factors change.
    """

    def __init__(self, events: np.ndarray, kind: int, targets: int, replicates: int,
                 shift: int = 0) -> None:
        # the events of this kind by start (stable): their rows' positions, then only the
        # columns kept, gathered from the table (copying whole rows twice took twice as long)
        picked = np.flatnonzero(events["kind"] == kind)
        order = picked[np.argsort(events["start"][picked], kind="stable")]

        def column(name: str) -> np.ndarray:
            return events[name][order]

        self.kind = kind
        self.start = column("start") + shift  # a shifted schedule: what is known `shift` late
        self.end = (column("end") + shift).astype(np.int64)
        self.ramp = np.ascontiguousarray(column("ramp_days"), dtype=np.int64)
        self.severity = np.ascontiguousarray(column("severity"), dtype=np.float64)
        self.table_start, self.table = _exponential_table(
            self.ramp, column("ramp_kind") == RAMP_EXPONENTIAL)
        self._loss = kind in (NODE_CAPACITY, LANE_CAPACITY)
        self._rule = _RULE_CODE[_COMBINE[kind]]
        # flat (target, rep)
        self.cell = (column("target") * replicates + column("replicate")).astype(np.int64)
        self.stop = (self.end + self.ramp).astype(np.int64)  # first day without effect
        self.factors = np.ones((targets, replicates))
        self._flat = self.factors.reshape(-1)
        self._mark = np.zeros(self._flat.size, dtype=np.int64)  # scratch: day cells recomputed
        self.version = 0
        # indices of events that may act: the first `_count` (sim.compile.schedule_kernel)
        self._active = np.zeros(order.size, dtype=np.int64)
        self._count = 0
        self._next = 0
        self._day = -1
        # days on which some cell changes: an event starts, ends, or ramps
        horizon = int(self.stop.max()) + 2 if order.size else 1
        marks = np.zeros(horizon + 1, dtype=np.int64)
        np.add.at(marks, np.clip(self.end, 0, horizon), 1)
        np.add.at(marks, np.clip(self.stop + 1, 0, horizon), -1)
        changing = np.cumsum(marks)[:horizon] > 0
        changing[np.clip(self.start, 0, horizon - 1)] = True
        self._changing = changing
        # events started by each day: self.start is sorted
        self._started_by = np.searchsorted(self.start, np.arange(horizon), side="right")

    def _changes(self, day: int) -> bool:
        return day < self._changing.size and bool(self._changing[day])

    def at(self, day: int) -> np.ndarray:
        """Factors (target, replicate) on a simulated day."""
        if day <= self._day:
            raise ValueError(f"days must increase: asked {day} after {self._day}")
        first = self._day < 0
        skipped = not first and not self._changes(day) and not any(
            self._changes(d) for d in range(self._day + 1, day))
        self._day = day
        if skipped:
            return self.factors
        from sim.compile.schedule_kernel import advance  # numba: compiled on first use

        begun = int(self._started_by[min(day, self._started_by.size - 1)])
        self._count, touched = advance(day, first, self._next, begun, self._active, self._count,
                                       self.end, self.stop, self.cell, self.severity, self.ramp,
                                       self.table_start, self.table, self._loss, self._rule,
                                       self._flat, self._mark)
        self._next = begun
        if touched:
            self.version += 1
        return self.factors


def _exponential_table(ramp: np.ndarray,
                       exponential: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each event's exponential ramp weights start in a table of them, and the table.

    ``table[start[e] + i] = 0.05 ** ((i + 1) / ramp[e])``, computed by numpy as
    :func:`event_weight` computes it (so with its bits), once per ramp length; -1 for events
    with a linear ramp.
    """
    where = exponential & (ramp > 0)
    lengths = np.unique(ramp[where])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    pieces = [0.05 ** ((np.arange(r) + 1.0) / r) for r in lengths]
    table = np.concatenate(pieces) if pieces else np.zeros(0)
    start = np.full(ramp.size, -1, dtype=np.int64)
    start[where] = offsets[np.searchsorted(lengths, ramp[where])]
    return start, np.ascontiguousarray(table, dtype=np.float64)


def ring_size(max_lead: int, events: np.ndarray) -> int:
    """Slots of a pipeline ring: the longest lead time, stretched by the events, plus one."""
    stretches = events["severity"][events["kind"] == LANE_LEAD]
    factor = float(stretches.max()) if stretches.size else 1.0
    return int(whole_days(max_lead * max(factor, 1.0))) + 1


def knowledge_events(events: np.ndarray, delay: int, notice: int,
                     warned: np.ndarray, *, ahead: bool = True) -> np.ndarray:
    """The events as the network knows them: ``delay`` days late, or ``notice`` days early.

    A node learns that something started ``delay`` days after it did, or ``notice`` days before
    it does when the event is ``warned`` (early warning); it learns of the recovery ``delay``
    days late either way. With ``ahead=False``, what is known to be happening now: a warned
    event from the day it starts (no detection delay), others ``delay`` days late.
    """
    known = events.copy()
    early = warned & (notice > 0)
    shift = np.where(early, -notice if ahead else 0, delay)
    known["start"] = np.maximum(0, known["start"] + shift)
    known["end"] = known["end"] + delay
    return known
