"""Each replicate against its undisrupted twin: resilience KPIs per replicate and per event.

The twin is the same replicate of the same scenario with every disruption muted: the same
demand draws (each spec draws from its own stream, :mod:`sim.compile.scenario`), the same policy, no
events. :func:`measure` compares the run's daily network service with the twin's
(:mod:`sim.measures.resilience`) for every event *occurrence* (the events of one replicate, cause
and start day together: a regional lockdown closing five nodes is one occurrence), and keeps the
twin's costs so that :func:`sim.measures.compare.cost_benefit` can split a strategy's running cost
from what it does in events.
"""

from __future__ import annotations

import numpy as np

from sim.measures.resilience import (
    RESILIENCE_KPIS,
    RecoveryRule,
    event_resilience,
    rows_resilience,
    shortfall,
    union_loss,
)

__all__ = ["CALM_KPIS", "EVENT_RESILIENCE", "measure", "occurrences"]

# KPIs of the twin kept beside the run's, as calm_<name>
CALM_KPIS = ("total_cost", "shortage_cost_total", "lost_sales", "fill_rate", "served_units",
             "co2e_kg")
# per-event results, as event_<name> in the event log
EVENT_RESILIENCE = RESILIENCE_KPIS


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
    replicate = events["replicate"][acting].astype(np.int64)
    cause, start = events["cause"][acting].astype(np.int64), start[acting]
    # one int64 key per (replicate, cause, start), ordered as the triples are: a sort of
    # integers, where np.unique(axis=0) sorted rows as bytes (two thirds of this function)
    causes, starts = int(cause.max()) + 1, int(start.max()) + 1
    unique, inverse = np.unique((replicate * causes + cause) * starts + start,
                                return_inverse=True)
    of_event[acting] = inverse.ravel()
    return of_event, unique // (causes * starts), unique % starts


def next_starts(series: np.ndarray, start: np.ndarray, days: int) -> np.ndarray:
    """For each occurrence, the start of the next later occurrence of its series (else days).

    Occurrences starting the same day read the same window: each is read until a later one.
    """
    if not len(series):
        return np.zeros(0, dtype=np.int64)
    key = series.astype(np.int64) * (days + 1) + start.astype(np.int64)
    ordered = np.sort(key)
    following = np.searchsorted(ordered, key + 1)  # the first key beyond this start
    found = np.minimum(following, len(ordered) - 1)
    same = (following < len(ordered)) & (ordered[found] // (days + 1) == series)
    return np.where(same, ordered[found] % (days + 1), days)


def measure(run_daily: tuple[np.ndarray, np.ndarray], twin_daily: tuple[np.ndarray, np.ndarray],
            events: np.ndarray, warmup_days: int, rule: RecoveryRule
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Resilience KPIs per replicate and per event of a chunk.

    Parameters
    ----------
    run_daily, twin_daily : (demand, served), each (replicate, day)
        Network demand and units served on the day, of the run and of its twin.
    events : ndarray of EVENT_DTYPE
        The chunk's events (``replicate``: position in the chunk).
    warmup_days : int
        Simulated days before recording.
    rule : RecoveryRule
        Tolerance and hold days.

    Returns
    -------
    (per replicate, per event)
        Per replicate: ``time_to_survive``, ``time_to_recover``, ``recovery_censored`` and
        ``fell_short`` of its first occurrence, ``resilience_loss`` over all of them (each day
        once) and ``disruption_count``; per event (aligned with ``events``): the
        :data:`EVENT_RESILIENCE` values of its occurrence (NaN when it does not act on
        recorded days).
    """
    demand, served = run_daily
    replicates, days = demand.shape
    gap = shortfall(served, demand, twin_daily[1], twin_daily[0])
    of_event, series, start = occurrences(events, warmup_days, days)
    tolerance, hold = rule.tolerance, rule.hold_days
    until = next_starts(series, start, days)
    per_occurrence = rows_resilience(gap, demand, series, start, tolerance=tolerance,
                                     hold_days=hold, until=until)
    per_event = {name: np.where(of_event >= 0, values[np.maximum(of_event, 0)], np.nan)
                 if values.size else np.full(len(events), np.nan)
                 for name, values in per_occurrence.items()}
    first = np.full(replicates, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, series, start)  # each replicate's earliest occurrence
    first = np.where(first < days, first, -1)
    second = np.full(replicates, days, dtype=np.int64)  # where the first one's window ends
    later = start > first[series]
    np.minimum.at(second, series[later], start[later])
    per_replicate = event_resilience(gap, demand, first, tolerance=tolerance, hold_days=hold,
                                     until=second)
    per_replicate["fell_short"] = per_replicate.pop("short")
    per_replicate["resilience_loss"] = union_loss(gap, demand, series, start,
                                                  per_occurrence["time_to_recover"])
    per_replicate["disruption_count"] = np.bincount(series, minlength=replicates).astype(float)
    return per_replicate, per_event
