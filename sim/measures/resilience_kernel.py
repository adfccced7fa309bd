"""TTS, TTR, censoring and loss of many series at once, compiled (numba).

:func:`sim.measures.resilience.event_resilience` over arrays (series, day) took about ten
passes with temporaries as large as the input (short days, windows, a cumulative count of calm
days, the loss terms); with every shipped disruption on the demo that was about 0.25 s of a
1,000-replicate run, more than sampling its events. Here each series is read once, day by day,
with the same comparisons; the loss is added as numpy adds a row (its pairwise sum, blocks of
eight), so the results are the same bits (``tests/test_metrics.py`` holds them to the array
code).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["PAIRWISE_BLOCK", "resilience_rows"]

PAIRWISE_BLOCK = 128
"""numpy's ``PW_BLOCKSIZE``: rows up to this length are added with eight accumulators."""


@numba.njit(cache=True, nogil=True)
def resilience_rows(gap: np.ndarray, demand: np.ndarray, rows: np.ndarray, start: np.ndarray,
                    until: np.ndarray, tolerance: float, hold_days: int,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The resilience KPIs of series ``i`` (row ``rows[i]`` of ``gap`` and ``demand``).

    ``out`` (5, series) receives time to survive, time to recover, censored, short and
    resilience loss, in that order (NaN where ``start[i] < 0``); see ``event_resilience``.
    """
    days = gap.shape[1]
    short = np.empty(days, dtype=np.bool_)
    terms = np.empty(days)
    frames = np.empty((64, 3), dtype=np.int64)  # the pairwise sum's stack: depth < 64
    sums = np.empty(64)
    for i in range(rows.size):
        row, begin, limit = rows[i], start[i], until[i]
        if begin < 0:  # no event in this series
            out[:, i] = np.nan
            continue
        first_short = -1
        for day in range(days):
            short[day] = gap[row, day] > tolerance and day >= begin
            if first_short < 0 and short[day] and day < limit:
                first_short = day
        fell = first_short >= 0
        if not fell:
            first_short = min(limit, days)
        recovered = _first_calm_run(short, first_short, hold_days)
        end = min(recovered, days) if fell else begin
        for day in range(days):
            inside = begin <= day < end
            terms[day] = gap[row, day] * demand[row, day] if inside else 0.0
        out[0, i] = first_short - begin
        out[1, i] = end - begin
        out[2, i] = 1.0 if fell and recovered >= days else 0.0
        out[3, i] = 1.0 if fell else 0.0
        out[4, i] = 0.0 + _pairwise_sum(terms, days, frames, sums)  # a reduction starts at 0


@numba.njit(cache=True, nogil=True)
def _first_calm_run(short, first_short, hold_days):  # pragma: no cover - compiled
    """First day from ``first_short`` on that begins ``hold_days`` days not short (else days)."""
    days = short.size
    run_start, run = 0, 0
    for day in range(max(first_short, 0), days):
        if short[day]:
            run = 0
            continue
        if run == 0:
            run_start = day
        run += 1
        if run >= hold_days:
            return run_start
    return days


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(values, count, frames, sums):  # pragma: no cover - compiled
    """``values[:count].sum()`` as numpy adds it (``pairwise_sum`` in its loops).

    numpy halves a row (at a multiple of eight) until the halves are blocks of at most
    :data:`PAIRWISE_BLOCK`, adds each block, then the halves back up the tree. The tree is
    walked here with a stack (``frames``: first, count, stage; ``sums``: finished halves), not
    by recursion: numba's cache does not load recursive functions back (they crashed).
    """
    depth, finished = 0, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, count, 0
    while depth >= 0:
        first, length, stage = frames[depth, 0], frames[depth, 1], frames[depth, 2]
        if length <= PAIRWISE_BLOCK:
            sums[finished] = _block_sum(values, first, length)
            finished += 1
            depth -= 1
        elif stage < 2:  # the left half, then the right half
            half = length // 2
            half -= half % 8
            frames[depth, 2] = stage + 1
            depth += 1
            frames[depth, 0] = first if stage == 0 else first + half
            frames[depth, 1] = half if stage == 0 else length - half
            frames[depth, 2] = 0
        else:  # both halves added: their sum
            finished -= 1
            sums[finished - 1] = sums[finished - 1] + sums[finished]
            depth -= 1
    return sums[0]


@numba.njit(cache=True, nogil=True)
def _block_sum(values, first, count):  # pragma: no cover - compiled
    """A block of at most :data:`PAIRWISE_BLOCK` values added as numpy adds it."""
    if count < 8:
        total = 0.0
        for k in range(first, first + count):
            total += values[k]
        return total
    r0, r1, r2, r3 = values[first], values[first + 1], values[first + 2], values[first + 3]
    r4, r5, r6, r7 = values[first + 4], values[first + 5], values[first + 6], values[first + 7]
    k = 8
    while k < count - count % 8:
        at = first + k
        r0 += values[at]
        r1 += values[at + 1]
        r2 += values[at + 2]
        r3 += values[at + 3]
        r4 += values[at + 4]
        r5 += values[at + 5]
        r6 += values[at + 6]
        r7 += values[at + 7]
        k += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < count:
        total += values[first + k]
        k += 1
    return total
