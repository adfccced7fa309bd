r"""Time to survive, time to recover and resilience loss of daily service series.

After Simchi-Levi, Schmidt & Wei (2014, *Harvard Business Review*) and Simchi-Levi et al. (2015,
*Interfaces* 45(5)), measured on the simulated service instead of assumed. For one series
(a replicate of a node, a region or the network) with daily demand :math:`D_t`, units served on
the day :math:`S_t` and a disruption starting on day :math:`t_0`:

* daily service :math:`s_t = S_t / D_t` (1 on days without demand), smoothed as the trailing
  mean :math:`\bar s_t` over ``window`` days (1 = no smoothing);
* the *normal* level :math:`\nu`: the fill rate over the days before :math:`t_0` when there
  are at least ``window`` of them, else 1;
* the threshold :math:`h = \nu - \text{tolerance}`;
* **time to survive** (TTS): days from :math:`t_0` to the first day with :math:`\bar s_t < h`
  (how long demand keeps being met); censored at the end of the series when that never happens;
* **time to recover** (TTR): days from :math:`t_0` to the day after the last day with
  :math:`\bar s_t < h` (service is back to normal for good); 0 when it never falls;
* **resilience loss**: :math:`\sum_{t_0 \le t < t_0 + TTR} (\nu D_t - S_t)`, the area between
  normal and realised service over the event, in units (unit-days of service lost).

All functions take arrays shaped (..., day) and a start per series (-1 = no disruption, giving
NaN), and return arrays shaped (...). With ``window=1`` and ``tolerance=0`` on a deterministic
run, TTS is the number of full-service days (``../shared/validation`` case 3).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TOLERANCE", "DEFAULT_WINDOW", "normal_level", "resilience_loss",
           "service_level", "smoothed", "survival_time", "time_to_recover", "time_to_survive"]

DEFAULT_WINDOW = 7  # days: a week, so that single noisy days do not count as falls
DEFAULT_TOLERANCE = 0.02  # two points of service below normal
FULL = 1.0 - 1e-9  # a day whose service rounds to 1 is a full-service day


def service_level(served: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Daily share of demand served on the day; 1 where there is no demand."""
    served, demand = np.asarray(served, dtype=float), np.asarray(demand, dtype=float)
    out = np.ones(np.broadcast_shapes(served.shape, demand.shape))
    np.divide(served, demand, out=out, where=demand > 0)
    return out


def smoothed(service: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` days (the first days average what there is)."""
    if window <= 1:
        return np.asarray(service, dtype=float)
    cumulative = np.cumsum(service, axis=-1)
    days = service.shape[-1]
    out = cumulative.copy()
    out[..., window:] = cumulative[..., window:] - cumulative[..., :-window]
    counts = np.minimum(np.arange(1, days + 1), window)
    return out / counts


def _starts(start: np.ndarray | int, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(start, dtype=np.int64), shape)


def normal_level(served: np.ndarray, demand: np.ndarray, start: np.ndarray | int,
                 window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Fill rate before the disruption (1 when fewer than ``window`` days precede it)."""
    days = demand.shape[-1]
    start = _starts(start, demand.shape[:-1])
    before = np.arange(days) < start[..., None]
    total = np.where(before, demand, 0.0).sum(axis=-1)
    met = np.where(before, served, 0.0).sum(axis=-1)
    level = np.ones(start.shape)
    np.divide(met, total, out=level, where=(start >= max(window, 1)) & (total > 0))
    return level


def _below(served: np.ndarray, demand: np.ndarray, start: np.ndarray, window: int,
           tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """(days below the threshold at or after the start, normal level)."""
    normal = normal_level(served, demand, start, window)
    threshold = np.minimum(normal - tolerance, FULL)
    below = smoothed(service_level(served, demand), window) < threshold[..., None]
    after = np.arange(demand.shape[-1]) >= start[..., None]
    return below & after & (start[..., None] >= 0), normal


def time_to_survive(served: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                    window: int = DEFAULT_WINDOW,
                    tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Days from the start until service first falls below normal (see the module docstring).

    Parameters
    ----------
    served, demand : ndarray, shape (..., day)
        Units served on the day and units demanded.
    start : int or ndarray, shape (...)
        Day the disruption starts in each series; -1 when there is none.
    window : int
        Days of the trailing mean of service.
    tolerance : float
        How far below its normal level service may fall before it counts.

    Returns
    -------
    ndarray, shape (...)
        TTS in days; NaN where there is no disruption; censored at the end of the series.
    """
    demand = np.asarray(demand, dtype=float)
    start = _starts(start, demand.shape[:-1])
    below, _ = _below(np.asarray(served, dtype=float), demand, start, window, tolerance)
    days = demand.shape[-1]
    first = np.where(below.any(axis=-1), np.argmax(below, axis=-1), days)
    return np.where(start >= 0, first - start, np.nan)


def time_to_recover(served: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                    window: int = DEFAULT_WINDOW,
                    tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Days from the start until service is back to normal for good (0 if it never fell).

    Parameters and returns as :func:`time_to_survive`. A series still below normal on its last
    day gives the days to its end (censored).
    """
    demand = np.asarray(demand, dtype=float)
    start = _starts(start, demand.shape[:-1])
    below, _ = _below(np.asarray(served, dtype=float), demand, start, window, tolerance)
    days = demand.shape[-1]
    last = days - np.argmax(below[..., ::-1], axis=-1)  # the day after the last day below
    recovered = np.where(below.any(axis=-1), last - start, 0)
    return np.where(start >= 0, recovered, np.nan)


def resilience_loss(served: np.ndarray, demand: np.ndarray, start: np.ndarray | int, *,
                    window: int = DEFAULT_WINDOW,
                    tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Units of service lost against the normal level, from the start until recovery.

    Parameters as :func:`time_to_survive`; returns units (NaN without a disruption).
    """
    served, demand = np.asarray(served, dtype=float), np.asarray(demand, dtype=float)
    start = _starts(start, demand.shape[:-1])
    ttr = time_to_recover(served, demand, start, window=window, tolerance=tolerance)
    normal = normal_level(served, demand, start, window)
    day = np.arange(demand.shape[-1])
    inside = (day >= start[..., None]) & (day < (start + np.nan_to_num(ttr))[..., None])
    gap = np.where(inside, normal[..., None] * demand - served, 0.0).sum(axis=-1)
    return np.where(start >= 0, gap, np.nan)


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
