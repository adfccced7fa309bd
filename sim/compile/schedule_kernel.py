"""One day of :class:`sim.compile.effects.EffectSchedule`, compiled (numba).

Which events act on a day, which cells (target, replicate) must be recomputed, and their
factors: about twenty numpy calls on arrays of a few dozen events each, a day, for each of up to
nine schedules of a run with every disruption and measure on (``benchmarks/bench_reference.py``),
now one call. Exponential ramp weights use ``pow``, which numpy and numba may take from different
maths libraries, so the schedule computes them with numpy, once per ramp length, and the kernel
reads them from a table: the factors keep the reference's bits (:func:`effect_factors`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["COMBINE_MAX", "COMBINE_MIN", "COMBINE_PRODUCT", "advance"]

COMBINE_MIN, COMBINE_MAX, COMBINE_PRODUCT = 0, 1, 2


@numba.njit(cache=True)
def advance(day: int, first: bool, begun_before: int, begun: int, active: np.ndarray,
            count: int, end: np.ndarray, stop: np.ndarray, cell: np.ndarray,
            severity: np.ndarray, ramp: np.ndarray, table_start: np.ndarray,
            table: np.ndarray, loss: bool, rule: int, flat: np.ndarray,
            mark: np.ndarray) -> tuple[int, bool]:  # pragma: no cover - compiled
    """Move the active events to ``day`` and recompute the factors of the cells that change.

    Parameters
    ----------
    day : int
        The day asked.
    first : bool
        Whether it is the schedule's first day (the cells of every event are recomputed).
    begun_before, begun : int
        Events (sorted by start) ``begun_before .. begun - 1`` start by ``day``.
    active : ndarray of int64, shape (event,)
        Its first ``count`` entries: the events that may act, in order; rewritten with those
        still acting on ``day`` (the ones active before, then those starting).
    count : int
        Valid entries of ``active``.
    end, stop, cell : ndarray of int64
        Each event's end day, its first day without effect and its flat cell
        (target x replicates + replicate).
    severity : ndarray of float64
        Each event's severity.
    ramp, table_start : ndarray of int64
        Each event's ramp days, and where its exponential weights start in ``table`` (-1 for a
        linear ramp).
    table : ndarray of float64
        Exponential weights: ``table[table_start + i] = 0.05 ** ((i + 1) / ramp)``.
    loss : bool
        Whether severity is a capacity loss (factor ``1 - s w``) or a multiplier (``1 + (s - 1)
        w``).
    rule : int
        How simultaneous events combine: :data:`COMBINE_MIN`, :data:`COMBINE_MAX` or
        :data:`COMBINE_PRODUCT`, in event order (as ``np.minimum.at`` and the others).
    flat : ndarray
        The factors, flat: recomputed cells are rewritten.
    mark : ndarray of int64
        Scratch, one per cell: the day + 1 on which it was last recomputed (0 never).

    Returns
    -------
    count : int
        Events now active.
    touched : bool
        Whether any cell was recomputed (else the factors are as before).
    """
    stamp = day + 1  # marks cells recomputed today: days increase, so no pass clears them
    kept, touched = 0, False
    for i in range(count + begun - begun_before):  # the active ones, then those starting
        event = active[i] if i < count else begun_before + i - count
        if stop[event] > day:  # still acting: kept, in order (kept <= i: nothing unread lost)
            active[kept] = event
            kept += 1
        if first or i >= count or stop[event] <= day or end[event] <= day:
            # on the first day every cell; later where an event starts, stops or ramps
            flat[cell[event]] = 1.0
            mark[cell[event]] = stamp
            touched = True
    if touched:
        for event in active[:kept]:
            where = cell[event]
            if mark[where] == stamp:
                value = _factor(day - end[event], ramp[event], table_start[event], table,
                                severity[event], loss)
                flat[where] = _combined(flat[where], value, rule)
    return kept, touched


@numba.njit(inline="always")
def _factor(since_end, ramp, start, table, severity, loss):  # pragma: no cover - compiled
    """An active event's factor: full severity before its end, then weighted by its ramp."""
    weight = 1.0
    if since_end >= 0:
        weight = table[start + since_end] if start >= 0 else (ramp - since_end) / (ramp + 1.0)
    return 1.0 - severity * weight if loss else 1.0 + (severity - 1.0) * weight


@numba.njit(inline="always")
def _combined(old, value, rule):  # pragma: no cover - compiled
    """``old`` combined with ``value`` as ``np.minimum``, ``np.maximum`` or ``np.multiply``."""
    if rule == COMBINE_PRODUCT:
        return old * value
    if rule == COMBINE_MIN:
        return value if value < old or value != value else old
    return value if value > old or value != value else old
