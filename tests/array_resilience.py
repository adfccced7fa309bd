"""The resilience readings in arrays, as they were computed before they were compiled.

:mod:`sim.measures.resilience_kernel` replaced :func:`event_resilience`'s array passes, and an
integer key :func:`occurrences`' sort of rows; they are kept here, unchanged, as the reference
the compiled code is held to bit for bit (``tests/test_metrics.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["event_resilience", "occurrences"]


def event_resilience(gap: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                     tolerance: float,
                     hold_days: int,
                     until: np.ndarray | int | None = None) -> dict[str, np.ndarray]:
    """TTS, TTR, censoring and loss of events, from the shortfall against the twin.

    Parameters
    ----------
    gap : ndarray, shape (..., day)
        Daily shortfall of service against the twin (:func:`shortfall`).
    demand : ndarray, shape (..., day)
        The run's daily demand [units].
    start : int or ndarray, shape (...)
        Day each series' event starts; -1 where there is none.
    tolerance, hold_days
        See :class:`RecoveryRule`.
    until : int or ndarray, shape (...), optional
        Day the next event of each series starts (default: none, the end of the series). A
        first short day is looked for before it only; once short, recovery is read to the end.

    Returns
    -------
    dict of ndarray, shape (...)
        ``time_to_survive`` and ``time_to_recover`` [days], ``recovery_censored`` (1: not
        recovered by the end, TTR counts the days observed; 0: recovered), ``short`` (1: service
        fell short at some point) and ``resilience_loss`` [units]; NaN where there is no event.
    """
    gap, demand = np.asarray(gap, dtype=float), np.asarray(demand, dtype=float)
    days = gap.shape[-1]
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), gap.shape[:-1])
    day = np.arange(days)
    after = day >= start[..., None]
    short = (gap > tolerance) & after
    limit = np.broadcast_to(np.asarray(days if until is None else until, dtype=np.int64),
                            gap.shape[:-1])
    window = short & (day < limit[..., None])
    fell = window.any(axis=-1)
    first_short = np.where(fell, np.argmax(window, axis=-1), np.minimum(limit, days))
    recovered_from = _first_calm_run(short, first_short, hold_days)
    censored = fell & (recovered_from >= days)
    end = np.where(fell, np.minimum(recovered_from, days), start)
    inside = after & (day < end[..., None])
    loss = np.where(inside, gap * demand, 0.0).sum(axis=-1)
    event = start >= 0
    return {
        "time_to_survive": np.where(event, first_short - start, np.nan),
        "time_to_recover": np.where(event, end - start, np.nan),
        "recovery_censored": np.where(event, censored.astype(float), np.nan),
        "short": np.where(event, fell.astype(float), np.nan),
        "resilience_loss": np.where(event, loss, np.nan),
    }


def _first_calm_run(short: np.ndarray, first_short: np.ndarray, hold_days: int) -> np.ndarray:
    """First day from ``first_short`` on that starts ``hold_days`` days not short (else days)."""
    days = short.shape[-1]
    calm = np.concatenate([np.zeros((*short.shape[:-1], 1)),
                           np.cumsum(~short, axis=-1, dtype=float)], axis=-1)
    if hold_days > days:
        return np.full(short.shape[:-1], days)
    window = calm[..., hold_days:] - calm[..., :-hold_days]  # calm days in [d, d + hold)
    candidate = (window >= hold_days) & (np.arange(days - hold_days + 1)
                                         >= first_short[..., None])
    return np.where(candidate.any(axis=-1), np.argmax(candidate, axis=-1), days)


def occurrences(events: np.ndarray, warmup_days: int, days: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group a chunk's events into occurrences acting on the recorded days.

    Returns
    -------
    (occurrence of each event, -1 when it does not act on recorded days;
     replicate position of each occurrence; recorded start day of each occurrence)
    """
    start = np.maximum(events["start"].astype(np.int64) - warmup_days, 0)
    acting = ((events["end"] + events["ramp_days"] > warmup_days)
              & (events["start"] - warmup_days < days))
    of_event = np.full(len(events), -1, dtype=np.int64)
    if not acting.any():
        empty = np.zeros(0, dtype=np.int64)
        return of_event, empty, empty
    keys = np.stack([events["replicate"][acting].astype(np.int64),
                     events["cause"][acting].astype(np.int64), start[acting]], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    of_event[acting] = inverse.ravel()
    return of_event, unique[:, 0], unique[:, 2]
