"""The bookkeeping of :class:`sim.compile.effects.EffectSchedule`, compiled (numba).

Which events act on a day and which cells (target, replicate) must be recomputed: about twenty
numpy calls on arrays of a few dozen events each, a day, for each of up to nine schedules of a
run with every disruption and measure on (``benchmarks/bench_reference.py``). The factors
themselves (ramp weights use ``pow``, which numpy and numba take from different maths
libraries) stay in numpy, so they keep their bits.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["step"]


@numba.njit(cache=True)
def step(day: int, first: bool, begun_before: int, begun: int, active: np.ndarray, count: int,
         end: np.ndarray, stop: np.ndarray, cell: np.ndarray, flat: np.ndarray,
         mark: np.ndarray) -> tuple[int, np.ndarray, bool]:  # pragma: no cover - compiled
    """Move the active events to ``day``; reset the cells to recompute; the events acting there.

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
    flat : ndarray
        The factors, flat: touched cells are set to 1.0.
    mark : ndarray of bool
        Scratch, one per cell: all False on entry and on exit.

    Returns
    -------
    count : int
        Events now active.
    acting : ndarray of int64
        The active events on a touched cell, in order (their effects are to be combined).
    touched : bool
        Whether any cell was touched (else nothing changed).
    """
    candidates = np.empty(count + begun - begun_before, dtype=np.int64)
    candidates[:count] = active[:count]
    candidates[count:] = np.arange(begun_before, begun)
    kept = 0
    for event in candidates:
        if stop[event] > day:
            active[kept] = event
            kept += 1
    touched = False
    for i in range(candidates.size):
        event = candidates[i]
        if first or i >= count or stop[event] <= day or end[event] <= day:
            # on the first day every cell; later where an event starts, stops or ramps
            flat[cell[event]] = 1.0
            mark[cell[event]] = True
            touched = True
    if not touched:
        return kept, active[:0], False
    acting = np.empty(kept, dtype=np.int64)
    n_acting = 0
    for event in active[:kept]:
        if mark[cell[event]]:
            acting[n_acting] = event
            n_acting += 1
    for event in candidates:
        mark[cell[event]] = False
    return kept, acting[:n_acting], True
