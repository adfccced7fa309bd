"""The days of :class:`sim.compile.effects.EffectSchedules`, compiled (numba).

A cell (target, replicate) changes only on the days an event of it starts, fades (each ramp
day) or stops. So the kernel visits those events only, not every event acting: each cell keeps
its acting events in a list (in event order, the order the reference combines them in), a
cell is recomputed from its list on the days one of its events changes, and an event is seen
on its first day and on the days of its ramp. With every shipped disruption on the demo the
nine schedules of a chunk hold some 6.6 million (event, day) pairs of acting events in a year,
and 2.3 million of those changes. One call moves every schedule of a chunk by a day.

Exponential ramp weights use ``pow``, which numpy and numba may take from different maths
libraries, so the schedule computes them with numpy, once per ramp length, and the kernel reads
them from a table: the factors keep the reference's bits (:func:`sim.compile.effects.
effect_factors`).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

__all__ = ["COMBINE_MAX", "COMBINE_MIN", "COMBINE_PRODUCT", "ScheduleArrays", "advance"]

COMBINE_MIN, COMBINE_MAX, COMBINE_PRODUCT = 0, 1, 2
NONE = -1  # an empty link


class ScheduleArrays(NamedTuple):
    """The events of a set of schedules, by start (stable), and the set's state.

    Per event: ``start``, ``end`` (exclusive; the ramp follows), ``stop`` (its first day
    without effect), ``entry`` (the first day of its ramp or of its stop, ``max(start,
    end)``), ``cell`` (its flat (target, replicate) in the set's factors, every schedule's
    cells after the previous one's), ``schedule``, ``severity``, ``ramp`` days, ``table_start``
    (where its exponential weights start in ``table``, -1 for a linear ramp), ``rule``
    (``COMBINE_*``), ``loss`` (a capacity loss ``1 - s w``, else a multiplier ``1 + (s - 1)
    w``). ``by_entry`` orders the events by ``entry``.

    State: ``head``/``tail`` (per cell) and ``next``/``previous`` (per event) link each cell's
    acting events; ``linked`` marks them; ``ramping`` holds the events past their end (its
    first ``counters[2]`` entries); ``mark`` the day + 1 each cell was last marked to be
    recomputed, ``dirty`` (scratch) the marked cells; ``counters`` = (events started, events
    past their entry, events ramping, the day last advanced to).
    """

    start: np.ndarray
    end: np.ndarray
    stop: np.ndarray
    entry: np.ndarray
    cell: np.ndarray
    schedule: np.ndarray
    severity: np.ndarray
    ramp: np.ndarray
    table_start: np.ndarray
    table: np.ndarray
    rule: np.ndarray
    loss: np.ndarray
    by_entry: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    next: np.ndarray
    previous: np.ndarray
    linked: np.ndarray
    ramping: np.ndarray
    mark: np.ndarray
    dirty: np.ndarray
    counters: np.ndarray


@numba.njit(cache=True, nogil=True)
def advance(a: ScheduleArrays, day: int, factors: np.ndarray,
            touched: np.ndarray) -> None:  # pragma: no cover - compiled
    """Move every schedule of the set to ``day`` (later than the last) and update its cells.

    Events started since the last day join their cell's list, events past their end join the
    ramping ones, events stopped leave both; every cell where one of these happened (or which
    a ramping event fades) is marked. Then each marked cell is recomputed from its list on
    ``day``: 1, combined with each acting event's factor in event order. Days may be skipped:
    an event that started and stopped in between only marks its cell. ``touched[k]`` is set
    when a cell of schedule ``k`` was recomputed (else its factors are as before). On the first
    call every cell of every begun event is recomputed.

    The steps per event are written out here, not called: numba reference-counts every array
    of an argument on each call, and a helper taking the schedule's arrays per event made the
    first version 30x slower.
    """
    counters, head, tail, nxt, previous = a.counters, a.head, a.tail, a.next, a.previous
    mark, dirty, cell, schedule = a.mark, a.dirty, a.cell, a.schedule
    stamp, marked = day + 1, 0  # marks of this call: days increase, so no pass clears them
    # events started: their cells marked, those still acting appended to their cell's list
    # (events start in event order, so each list stays in it)
    event = counters[0]
    while event < a.start.size and a.start[event] <= day:
        where = cell[event]
        if mark[where] != stamp:
            mark[where], dirty[marked], touched[schedule[event]] = stamp, where, True
            marked += 1
        if a.stop[event] > day:
            last = tail[where]
            previous[event], nxt[event] = last, NONE
            if last == NONE:
                head[where] = event
            else:
                nxt[last] = event
            tail[where] = event
            a.linked[event] = True
        event += 1
    counters[0] = event
    # events past their end join the ramping ones
    position, ramping = counters[1], counters[2]
    while position < a.by_entry.size and a.entry[a.by_entry[position]] <= day:
        event = a.by_entry[position]
        if a.linked[event]:
            a.ramping[ramping] = event
            ramping += 1
        position += 1
    counters[1] = position
    # each ramping event marks its cell (its weight changes daily); stopped ones leave
    kept = 0
    for i in range(ramping):
        event = a.ramping[i]
        where = cell[event]
        if mark[where] != stamp:
            mark[where], dirty[marked], touched[schedule[event]] = stamp, where, True
            marked += 1
        if a.stop[event] <= day:
            before, after = previous[event], nxt[event]
            if before == NONE:
                head[where] = after
            else:
                nxt[before] = after
            if after == NONE:
                tail[where] = before
            else:
                previous[after] = before
            a.linked[event] = False
        else:
            a.ramping[kept] = event
            kept += 1
    counters[2], counters[3] = kept, day
    for i in range(marked):
        where = dirty[i]
        value = 1.0
        event = head[where]
        while event != NONE:
            # full severity before the event's end, then weighted by its ramp
            since_end, ramp, first = day - a.end[event], a.ramp[event], a.table_start[event]
            weight = 1.0
            if since_end >= 0:
                weight = a.table[first + since_end] if first >= 0 else \
                    (ramp - since_end) / (ramp + 1.0)
            value = _combined(value, _factor(weight, a.severity[event], a.loss[event]),
                              a.rule[event])
            event = nxt[event]
        factors[where] = value


@numba.njit(inline="always")
def _factor(weight, severity, loss):  # pragma: no cover - compiled
    """An event's factor at a weight: a capacity loss ``1 - s w``, else ``1 + (s - 1) w``."""
    return 1.0 - severity * weight if loss else 1.0 + (severity - 1.0) * weight


@numba.njit(inline="always")
def _combined(old, value, rule):  # pragma: no cover - compiled
    """``old`` combined with ``value`` as ``np.minimum``, ``np.maximum`` or ``np.multiply``."""
    if rule == COMBINE_PRODUCT:
        return old * value
    if rule == COMBINE_MIN:
        return value if value < old or value != value else old
    return value if value > old or value != value else old
