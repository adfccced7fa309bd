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
the same values incrementally for the batch engine (a cell is recomputed only on the days one of
its events starts, fades or stops), and :func:`schedules` moves several together.
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
    "schedules",
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

    Equal to :func:`effect_factors` on every day, but recomputed only in the cells (target,
    replicate) where an event starts, fades or stops that day (:mod:`sim.compile.schedule_kernel`).
    Days must be asked in increasing order. ``version`` changes whenever the factors change.
    A schedule made alone moves by itself; the schedules of :func:`schedules` move together,
    in one compiled call a day, whichever of them is asked first.

    Parameters
    ----------
    events : ndarray of EVENT_DTYPE
        The chunk's events (those of other kinds are left out).
    kind : int
        The effect kind (:data:`NODE_CAPACITY`, ...).
    targets, replicates : int
        The factors' shape.
    shift : int
        Days added to every event's start and end (a schedule of what is known late).
    """

    def __init__(self, events: np.ndarray, kind: int, targets: int, replicates: int,
                 shift: int = 0) -> None:
        _join([self], [(events, kind, targets, shift)], replicates)

    def _attach(self, group: _Group, index: int, factors: np.ndarray) -> None:
        self._group, self._index = group, index
        self.factors = factors  # (target, replicate): a view of the group's flat factors
        self.version = 0
        self._day: int | None = None

    def at(self, day: int) -> np.ndarray:
        """Factors (target, replicate) on a simulated day."""
        if self._day is not None and day <= self._day:
            raise ValueError(f"days must increase: asked {day} after {self._day}")
        self._day = day
        self._group.advance(day)
        self.version = int(self._group.versions[self._index])
        return self.factors


def schedules(parts: list[tuple[np.ndarray, int, int, int]],
              replicates: int) -> list[EffectSchedule]:
    """Schedules that move together: one compiled call a day for all of them.

    Parameters
    ----------
    parts : list of (events, kind, targets, shift)
        Each schedule's events, kind, number of targets and shift (:class:`EffectSchedule`).
    replicates : int
        The chunk's replicates.
    """
    made = [EffectSchedule.__new__(EffectSchedule) for _ in parts]
    _join(made, parts, replicates)
    return made


class _Group:
    """The events and state of schedules moving together (``ScheduleArrays``)."""

    def __init__(self, parts: list[tuple[np.ndarray, int, int, int]], replicates: int) -> None:
        from sim.compile.schedule_kernel import ScheduleArrays  # numba: only for the engine

        sizes = [targets * replicates for _, _, targets, _ in parts]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.flat = np.ones(int(offsets[-1]))
        columns = [_columns(events, kind, replicates, shift, int(offsets[i]), i)
                   for i, (events, kind, _, shift) in enumerate(parts)]
        merged = {name: np.concatenate([part[name] for part in columns]) for name in columns[0]}
        order = np.argsort(merged["start"], kind="stable")  # by start; ties in schedule order
        column = {name: np.ascontiguousarray(values[order]) for name, values in merged.items()}
        table_start, table = _exponential_table(column["ramp"], column["exponential"])
        count, cells = order.size, self.flat.size
        entry = np.maximum(column["start"], column["end"])
        # days and event positions in 32 bits, cells in 64: the kernel's day visits a few
        # thousand events scattered over these arrays, which halved stay more in cache
        day, event = np.int32, np.int32

        def days(values: np.ndarray) -> np.ndarray:
            return values.astype(day)

        self.arrays = ScheduleArrays(
            start=days(column["start"]), end=days(column["end"]),
            stop=days(column["end"] + column["ramp"]), entry=days(entry), cell=column["cell"],
            schedule=column["schedule"].astype(np.int32), severity=column["severity"],
            ramp=days(column["ramp"]), table_start=table_start.astype(np.int32), table=table,
            rule=column["rule"].astype(np.int8), loss=column["loss"],
            by_entry=np.argsort(entry, kind="stable").astype(event),
            head=np.full(cells, -1, dtype=event), tail=np.full(cells, -1, dtype=event),
            next=np.full(count, -1, dtype=event), previous=np.full(count, -1, dtype=event),
            linked=np.zeros(count, dtype=np.bool_), ramping=np.zeros(count, dtype=event),
            mark=np.zeros(cells, dtype=day), dirty=np.zeros(cells, dtype=np.int64),
            counters=np.array([0, 0, 0, np.iinfo(np.int64).min], dtype=np.int64))
        self.offsets = offsets
        self.versions = np.zeros(len(parts), dtype=np.int64)
        self._touched = np.zeros(len(parts), dtype=np.bool_)
        self._day: int | None = None
        # days on which some cell changes (an event starts, ramps or stops): others are skipped
        self._changing = _changing_days(column["start"], column["end"], self.arrays.stop)

    def advance(self, day: int) -> None:
        """Move every schedule to ``day`` (once: the others asking the same day find it done)."""
        if self._day is not None and day <= self._day:
            return
        last, self._day = self._day, day
        if last is not None and not self._changing[min(last + 1, self._changing.size - 1):
                                                   min(day, self._changing.size - 1) + 1].any():
            return
        from sim.compile.schedule_kernel import advance  # numba: compiled on first use

        self._touched[:] = False
        advance(self.arrays, day, self.flat, self._touched)
        self.versions += self._touched


def _join(made: list[EffectSchedule], parts: list[tuple[np.ndarray, int, int, int]],
          replicates: int) -> None:
    group = _Group(parts, replicates)
    for i, (schedule, (_, _, targets, _)) in enumerate(zip(made, parts, strict=True)):
        flat = group.flat[group.offsets[i]:group.offsets[i + 1]]
        schedule._attach(group, i, flat.reshape(targets, replicates))


def _columns(events: np.ndarray, kind: int, replicates: int, shift: int, offset: int,
             index: int) -> dict[str, np.ndarray]:
    """The columns the kernel keeps of one kind's events, in table order."""
    from sim.compile.schedule_kernel import COMBINE_MAX, COMBINE_MIN, COMBINE_PRODUCT

    picked = np.flatnonzero(events["kind"] == kind)
    rule = {"min": COMBINE_MIN, "max": COMBINE_MAX, "product": COMBINE_PRODUCT}[_COMBINE[kind]]
    return {
        "start": events["start"][picked].astype(np.int64) + shift,
        "end": events["end"][picked].astype(np.int64) + shift,
        "ramp": events["ramp_days"][picked].astype(np.int64),
        "exponential": events["ramp_kind"][picked] == RAMP_EXPONENTIAL,
        "severity": events["severity"][picked].astype(np.float64),
        "cell": (events["target"][picked] * replicates + events["replicate"][picked]
                 + offset).astype(np.int64),
        "schedule": np.full(picked.size, index, dtype=np.int64),
        "rule": np.full(picked.size, rule, dtype=np.int64),
        "loss": np.full(picked.size, kind in (NODE_CAPACITY, LANE_CAPACITY), dtype=np.bool_),
    }


def _changing_days(start: np.ndarray, end: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Whether some cell may change on each day from day 0.

    On a day an event starts, or from its end up to the day it stops; the last entry stands
    for every later day (nothing changes any more).
    """
    horizon = max(int(stop.max()), int(start.max()), 0) + 2 if stop.size else 1
    marks = np.zeros(horizon + 1, dtype=np.int64)
    np.add.at(marks, np.clip(end, 0, horizon), 1)
    np.add.at(marks, np.clip(stop + 1, 0, horizon), -1)
    changing = np.cumsum(marks)[:horizon] > 0
    changing[np.clip(start, 0, horizon - 1)] = True
    return np.append(changing, False)


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
