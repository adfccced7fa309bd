"""Daily traces: the variables both engines record, with their units and meaning.

A :class:`Trace` holds arrays shaped (replicate, day, node), (replicate, day, lane) and
(replicate, day, input) for the recorded days of a set of replicates. Both engines write the same
variables with the same meaning; the engine-equivalence tests compare them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["INPUT_VARS", "LANE_VARS", "NODE_VARS", "Trace", "Var"]


@dataclass(frozen=True)
class Var:
    """A recorded variable: its units and a one-line description."""

    units: str
    description: str


NODE_VARS: dict[str, Var] = {
    "stock": Var("units", "finished stock on hand at the end of the day"),
    "production": Var("units/day", "units made (suppliers, manufacturers)"),
    "received": Var("units/day", "units delivered into the node, all inputs"),
    "demand": Var("units/day", "end-customer demand of the zones the node serves"),
    "served": Var("units/day", "units served to end customers (backorders included)"),
    "shortage": Var("units/day", "units of the day's demand not served that day"),
    "lost": Var("units/day", "end-customer demand lost (lost-sales networks)"),
    "backlog": Var("units", "end-customer backorders at the end of the day"),
    "shipped": Var("units/day", "units shipped to downstream nodes"),
    "owed": Var("units", "downstream orders not yet shipped, end of day"),
    "in_transit": Var("units", "units on their way to the node, end of day"),
    "capacity_factor": Var("1", "fraction of capacity available (1 = no disruption)"),
    "holding_cost": Var("money/day", "holding cost of finished and input stock"),
    "transport_cost": Var("money/day", "freight of the units shipped to the node"),
    "shortage_cost": Var("money/day", "penalties for unmet and backordered demand"),
    "cost": Var("money/day", "holding + transport + shortage cost"),
    "co2e": Var("kg CO2e/day", "production emissions plus inbound transport emissions"),
}
LANE_VARS: dict[str, Var] = {
    "lane_ordered": Var("units/day", "units ordered over the lane (reaching the source next day)"),
    "lane_shipped": Var("units/day", "units the source put on the lane"),
    "lane_delivered": Var("units/day", "units that arrived at the target"),
    "lane_owed": Var("units", "ordered, not yet shipped, end of day"),
    "lane_in_transit": Var("units", "shipped, not yet delivered, end of day"),
}
INPUT_VARS: dict[str, Var] = {
    "input_stock": Var("units of input", "stock of each input item at its node, end of day"),
}


class Trace:
    """Preallocated daily arrays for ``replicates`` x ``days`` of one network.

    Parameters
    ----------
    replicates, days, nodes, lanes, inputs : int
        Array sizes.
    """

    def __init__(self, replicates: int, days: int, nodes: int, lanes: int, inputs: int) -> None:
        self.node = {name: np.zeros((replicates, days, nodes)) for name in NODE_VARS}
        self.lane = {name: np.zeros((replicates, days, lanes)) for name in LANE_VARS}
        self.input = {name: np.zeros((replicates, days, inputs)) for name in INPUT_VARS}

    @property
    def shape(self) -> tuple[int, int]:
        """(replicates, days)."""
        return self.node["stock"].shape[:2]

    @classmethod
    def concatenate(cls, traces: list[Trace]) -> Trace:
        """Stack traces of consecutive replicate sets along the replicate axis."""
        out = cls.__new__(cls)
        for group in ("node", "lane", "input"):
            setattr(out, group, {name: np.concatenate([getattr(t, group)[name] for t in traces])
                                 for name in getattr(traces[0], group)})
        return out

    def items(self) -> list[tuple[str, str, np.ndarray]]:
        """(group, name, array) for every variable."""
        return [(group, name, array) for group in ("node", "lane", "input")
                for name, array in getattr(self, group).items()]
