"""The resilience readings in arrays, as they were computed before they were compiled.

:mod:`sim.measures.resilience_kernel` replaced :func:`event_resilience`'s array passes; they are
kept here, unchanged, as the reference the compiled code is held to bit for bit
(``tests/test_metrics.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["event_resilience"]


def event_resilience(gap: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                     tolerance: float,
                     hold_days: int,
                     until: np.ndarray | int | None = None) -> dict[str, np.ndarray]:
    """``sim.measures.resilience.event_resilience`` in array passes (its parameters)."""
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
