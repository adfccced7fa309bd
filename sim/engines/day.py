"""The day both engines simulate: its phases, in order, and the scalar rules they share.

Every engine runs each simulated day as these phases, in this order, with the same arithmetic
(the Mesa model as methods that activate its agents, the batch engine as methods on arrays of
replicates; a test checks both call them in this order):

1. ``disrupt``: apply the day's events (node capacity, lane capacity and lead-time factors) and
   what the nodes know of them;
2. ``receive``: carriers unload shipments due today; yesterday's orders reach their sources;
3. ``produce``: suppliers and manufacturers make units;
4. ``serve``: demand arrives; reserves are released where service fell; each node serves its
   zones, rationing in proportion; pooled nodes pass spare stock to each other;
5. ``ship``: each node ships what it owes downstream, within lane capacity, rationing when
   short;
6. ``order``: forecasts are updated; each node orders its inputs up to their levels, split by
   lane shares or by what is known to work (backups, expediting);
7. ``account``: costs and emissions; then the day is recorded.
"""

from __future__ import annotations

from typing import overload

import numpy as np

from sim.spec.units import whole_days

__all__ = ["PHASES", "scaled", "stretched_lead"]

PHASES = ("disrupt", "receive", "produce", "serve", "ship", "order", "account")
"""The phases of a day, in the order every engine runs them."""


@overload
def scaled(capacity: float, factor: float) -> float: ...
@overload
def scaled(capacity: np.ndarray, factor: np.ndarray) -> np.ndarray: ...
def scaled(capacity, factor):
    """Capacity times a factor, exactly 0 where the factor is 0 (also for unlimited capacity).

    A stopped node or a closed lane has no room even when its capacity is ``inf``
    (``inf * 0`` would be NaN).
    """
    if isinstance(factor, int | float):
        return capacity * factor if factor > 0 else 0.0
    out = np.zeros(np.broadcast_shapes(np.shape(capacity), np.shape(factor)))
    np.multiply(capacity, factor, out=out, where=factor > 0)
    return out


@overload
def stretched_lead(lead: int, factor: float) -> int: ...
@overload
def stretched_lead(lead: np.ndarray, factor: np.ndarray) -> np.ndarray: ...
def stretched_lead(lead, factor):
    """A lead time [days] times a stretch factor, rounded up to whole days.

    :func:`sim.spec.units.whole_days` rounds with a slack: 3 x 1.0000000001 is 3 days.
    """
    if isinstance(factor, int | float):
        return lead if factor == 1.0 else int(whole_days(lead * factor))
    return whole_days(lead * factor)
