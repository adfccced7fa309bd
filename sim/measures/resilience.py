r"""Time to survive, time to recover and resilience loss, measured against an undisrupted twin.

After Simchi-Levi, Schmidt & Wei (2014, *Harvard Business Review*) and Simchi-Levi et al. (2015,
*Interfaces* 45(5)), measured on the simulated service instead of assumed. What "normal" service
is comes from the run's **twin**: the same replicate with the same demand and no disruption
(common random numbers, :func:`sim.simulate` runs it). Demand noise and the policy's own
shortfalls happen in both, so they cancel; what is left is what the event did. For one series
(a replicate of the network, a region or a node) with daily demand :math:`D_t`, units served on
the day :math:`S_t`, the twin's :math:`D^0_t, S^0_t`, and an event starting on day :math:`t_0`:

* daily service :math:`s_t = S_t / D_t` (1 on days without demand) and the twin's :math:`s^0_t`;
* the shortfall :math:`g_t = s^0_t - s_t` (points of service the event took that day);
* a day is **short** when :math:`g_t > \text{tolerance}` (default 0.02, two points);
* **time to survive** (TTS): days from :math:`t_0` to the first short day (how long demand keeps
  being met as the twin meets it), looking until the next event of the same series starts (or
  the end): a shortfall that only begins after a later event is that event's, not this one's.
  Where no day of that window is short, TTS is the window's length and the event made no loss
  (``short = False``);
* **time to recover** (TTR): days from :math:`t_0` to the first day, after the first short day,
  that begins ``hold_days`` days in a row (default 7) that are not short. Where the run ends
  before that, TTR is the days observed to the end and ``censored = True``; an event that was
  never short has TTR 0;
* **resilience loss**: :math:`\sum_{t_0 \le t < t_0 + TTR} g_t D_t`, in units: what the twin
  served and the run did not, over the event (with equal demand, :math:`S^0_t - S_t`).

Because the twin is the reference, none of these grow with the run's length once the event is
over, and a run without events has none (NaN). The functions take arrays shaped (..., day) and a
start per series (-1: no event, giving NaN) and return arrays shaped (...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.spec.errors import ConfigError, Issue, refuse_unknown_keys

__all__ = ["DEFAULT_HOLD_DAYS", "DEFAULT_TOLERANCE", "RESILIENCE_KPIS", "RecoveryRule",
           "as_recovery_rule", "event_resilience", "rows_resilience", "service_level",
           "shortfall", "survival_time", "union_loss"]

DEFAULT_TOLERANCE = 0.02  # two points of service below the twin
DEFAULT_HOLD_DAYS = 7  # a week back within tolerance counts as recovered, one good day does not
RESILIENCE_KPIS = ("time_to_survive", "time_to_recover", "recovery_censored", "short",
                   "resilience_loss")
"""What :func:`event_resilience` returns for each series, in the kernel's order."""


@dataclass(frozen=True)
class RecoveryRule:
    """How the resilience KPIs read a run against its undisrupted twin.

    Parameters
    ----------
    tolerance : float
        Points of daily service below the twin that a day may fall before it counts as short
        [0-1).
    hold_days : int
        Days in a row within the tolerance that count as recovered (>= 1).
    counterfactual : bool
        Run the undisrupted twin of every replicate that has an event (one more calm run of
        those replicates). ``False`` skips it: the resilience KPIs and the calm costs are then
        missing (NaN), and :func:`sim.measures.compare.cost_benefit` falls back to the per-year
        reading.
    """

    tolerance: float = DEFAULT_TOLERANCE
    hold_days: int = DEFAULT_HOLD_DAYS
    counterfactual: bool = True

    def __post_init__(self) -> None:
        issues = []
        if (isinstance(self.tolerance, bool) or not isinstance(self.tolerance, int | float)
                or not math.isfinite(self.tolerance) or not 0 <= self.tolerance < 1):
            issues.append(Issue("resilience", "tolerance", self.tolerance,
                                "must be a number in [0, 1): points of service below the twin"))
        if (isinstance(self.hold_days, bool) or not isinstance(self.hold_days, int | np.integer)
                or self.hold_days < 1):
            issues.append(Issue("resilience", "hold_days", self.hold_days,
                                "must be a whole number of days >= 1"))
        if not isinstance(self.counterfactual, bool):
            issues.append(Issue("resilience", "counterfactual", self.counterfactual,
                                "must be true or false"))
        if issues:
            raise ConfigError(issues)

    def to_mapping(self) -> dict[str, Any]:
        """The rule as a plain mapping (the ``resilience`` section of a run's config)."""
        return {"tolerance": float(self.tolerance), "hold_days": int(self.hold_days),
                "counterfactual": bool(self.counterfactual)}


def as_recovery_rule(rule: RecoveryRule | dict[str, Any] | None) -> RecoveryRule:
    """A rule from itself, its mapping form (unknown keys refused by name), or the default."""
    if rule is None:
        return RecoveryRule()
    if isinstance(rule, RecoveryRule):
        return rule
    if not isinstance(rule, dict):
        raise ConfigError(Issue("resilience", "", rule, "must be a mapping of tolerance, "
                                "hold_days and counterfactual"))
    refuse_unknown_keys("resilience", rule, RecoveryRule.__dataclass_fields__)
    return RecoveryRule(**rule)


def service_level(served: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Daily share of demand served on the day; 1 where there is no demand."""
    served, demand = np.asarray(served, dtype=float), np.asarray(demand, dtype=float)
    out = np.ones(np.broadcast_shapes(served.shape, demand.shape))
    np.divide(served, demand, out=out, where=demand > 0)
    return out


def shortfall(served: np.ndarray, demand: np.ndarray, twin_served: np.ndarray,
              twin_demand: np.ndarray) -> np.ndarray:
    """Daily points of service the run fell below its twin: s0_t - s_t, shape (..., day)."""
    return service_level(twin_served, twin_demand) - service_level(served, demand)


def event_resilience(gap: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                     tolerance: float = DEFAULT_TOLERANCE,
                     hold_days: int = DEFAULT_HOLD_DAYS,
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
    shape = np.broadcast_shapes(gap.shape, demand.shape)
    days, series = shape[-1], shape[:-1]
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), series).reshape(-1)
    limit = np.broadcast_to(np.asarray(days if until is None else until, dtype=np.int64),
                            series).reshape(-1)
    rows = np.arange(start.size)
    gap_rows, demand_rows = (np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1, days)
                             for x in (gap, demand))
    out = rows_resilience(gap_rows, demand_rows, rows, start, tolerance=tolerance,
                          hold_days=hold_days, until=limit)
    return {name: values.reshape(series) for name, values in out.items()}


def rows_resilience(gap: np.ndarray, demand: np.ndarray, rows: np.ndarray, start: np.ndarray,
                    *, tolerance: float, hold_days: int,
                    until: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`event_resilience` of series read from rows of (row, day) arrays, without copies.

    Series ``i`` is row ``rows[i]`` of ``gap`` and ``demand`` (C-contiguous float arrays),
    starting ``start[i]``, its first short day looked for before ``until[i]``: many events of
    one replicate read its row.
    """
    from sim.measures.resilience_kernel import resilience_rows  # numba: compiled on first use

    out = np.full((len(RESILIENCE_KPIS), rows.size), np.nan)  # NaN too where no day is observed
    if rows.size and gap.shape[-1]:
        resilience_rows(np.ascontiguousarray(gap, dtype=np.float64),
                        np.ascontiguousarray(demand, dtype=np.float64),
                        np.ascontiguousarray(rows, dtype=np.int64),
                        np.ascontiguousarray(start, dtype=np.int64),
                        np.ascontiguousarray(until, dtype=np.int64), float(tolerance),
                        int(hold_days), out)
    return dict(zip(RESILIENCE_KPIS, out, strict=True))


def union_loss(gap: np.ndarray, demand: np.ndarray, series: np.ndarray, start: np.ndarray,
               recover: np.ndarray) -> np.ndarray:
    """Units lost per series over the union of its events' windows (no day counted twice).

    ``series``, ``start`` and ``recover`` (TTR) describe each event; a series without events
    gives NaN.
    """
    rows, days = gap.shape
    edges = np.zeros((rows, days + 1))
    ok = np.isfinite(recover) & (start >= 0)
    begin = start[ok].astype(np.int64)
    finish = np.minimum(begin + recover[ok].astype(np.int64), days)
    np.add.at(edges, (series[ok], begin), 1.0)
    np.add.at(edges, (series[ok], finish), -1.0)
    inside = np.cumsum(edges, axis=-1)[:, :days] > 0.5
    loss = np.where(inside, gap * demand, 0.0).sum(axis=-1)
    has_event = np.zeros(rows, dtype=bool)
    has_event[series[ok]] = True
    return np.where(has_event, loss, np.nan)


def survival_time(stock_past_node: np.ndarray | float, demand_per_day: np.ndarray | float,
                  spare_per_day: np.ndarray | float = 0.0) -> np.ndarray:
    """Analytic time to survive: stock past the disrupted node over the uncovered demand.

    TTS = (on hand + in transit past the node) / (demand - spare supply), inf when the spare
    supply covers demand (Simchi-Levi et al. 2015).
    """
    uncovered = np.asarray(demand_per_day, dtype=float) - np.asarray(spare_per_day, dtype=float)
    stock = np.asarray(stock_past_node, dtype=float)
    out = np.full(np.broadcast_shapes(stock.shape, uncovered.shape), np.inf)
    np.divide(stock, uncovered, out=out, where=uncovered > 0)
    return out
