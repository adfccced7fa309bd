"""Daily variables both engines record, with units and meaning, and the arrays that hold them.

Each recorded day an engine hands over a :class:`DayBlock`: all node variables stacked in one
array shaped (variable, node, replicate), the input stocks (input, replicate) and, when full
traces are kept, the lane variables (variable, lane, replicate). Stacking lets a recorder update
every statistic of every variable in one numpy call. A :class:`Trace` keeps the blocks of every
day, shaped (replicate, day, variable, node | lane) and (replicate, day, input); ``trace.node``
and friends give per-variable views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["INPUT_VARS", "LANE_VARS", "NODE_VARS", "DayBlock", "Trace", "Var"]


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
    "in_transit_value": Var("money", "value of the units on their way to the node, at their "
                            "sources' unit values, end of day"),
    "capacity_factor": Var("1", "fraction of capacity available (1 = no disruption)"),
    "holding_cost": Var("money/day", "holding cost of finished and input stock"),
    "pipeline_holding_cost": Var("money/day", "holding cost of the units in transit the node "
                                 "owns (its inbound lanes' by default)"),
    "transport_cost": Var("money/day", "freight of the units shipped to the node"),
    "shortage_cost": Var("money/day", "penalties for unmet and backordered demand"),
    "premium_cost": Var("money/day", "per-unit charges of measures: backup and expedite "
                        "premiums, pooling transfers, reserve releases"),
    "reservation_cost": Var("money/day", "running charges of measures: backup reservation and "
                            "shared-warehouse fees, reserve holding"),
    "fixed_cost": Var("money/day", "one-off charges of measures: backup activations, "
                      "switch-overs to alternate lanes"),
    "cost": Var("money/day", "holding + pipeline holding + transport + shortage + premium + "
                "reservation + fixed"),
    "public_cost": Var("money/day", "the part of the node's cost a public budget pays: "
                       "public reserves, shared warehouses, subsidised backup and notice fees "
                       "(also in cost)"),
    "co2e": Var("kg CO2e/day", "production emissions plus inbound transport emissions"),
    "transferred": Var("units/day", "pooling: units taken from peers minus units given"),
    "reserve_released": Var("units/day", "emergency reserve released into stock"),
    "backup_inflow": Var("units/day", "units shipped to the node over backup lanes"),
    "expedited_inflow": Var("units/day", "units shipped to the node over expedite lanes"),
    "rerouted": Var("units/day", "dynamic sourcing: owed orders the node cancelled at sources "
                    "that stopped delivering, to re-place them on lanes that work"),
}
LANE_VARS: dict[str, Var] = {
    "lane_ordered": Var("units/day", "units ordered over the lane (reaching the source next day)"),
    "lane_shipped": Var("units/day", "units the source put on the lane"),
    "lane_delivered": Var("units/day", "units that arrived at the target"),
    "lane_owed": Var("units", "ordered, not yet shipped, end of day"),
    "lane_in_transit": Var("units", "shipped, not yet delivered, end of day"),
    "lane_cancelled": Var("units/day", "owed units the target cancelled (dynamic sourcing); the "
                          "source drops them the next day"),
}
INPUT_VARS: dict[str, Var] = {
    "input_stock": Var("units of input", "stock of each input item at its node, end of day"),
}
NODE = {name: i for i, name in enumerate(NODE_VARS)}
LANE = {name: i for i, name in enumerate(LANE_VARS)}


@dataclass
class DayBlock:
    """One recorded day of a set of replicates.

    Attributes
    ----------
    nodes : ndarray, shape (variable, node, replicate)
        Node variables in the order of :data:`NODE_VARS`.
    inputs : ndarray, shape (input, replicate)
        Input stocks.
    lanes : ndarray or None, shape (variable, lane, replicate)
        Lane variables in the order of :data:`LANE_VARS` (only when full traces are kept).
    lane_ordered, lane_shipped : ndarray, shape (lane, replicate)
        Units ordered and shipped over each lane that day, in every recording mode (the KPIs'
        bullwhip and flow footprints use them); taken from ``lanes`` when not given.
    """

    nodes: np.ndarray
    inputs: np.ndarray
    lanes: np.ndarray | None = None
    lane_ordered: np.ndarray | None = None
    lane_shipped: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.lanes is not None:  # the lane flows the KPIs need, from the full lane block
            if self.lane_ordered is None:
                self.lane_ordered = self.lanes[LANE["lane_ordered"]]
            if self.lane_shipped is None:
                self.lane_shipped = self.lanes[LANE["lane_shipped"]]

    def node(self, name: str) -> np.ndarray:
        """One node variable, shape (node, replicate)."""
        return self.nodes[NODE[name]]


class Trace:
    """Every recorded day of a set of replicates.

    Parameters
    ----------
    replicates, days, nodes, lanes, inputs : int
        Array sizes.
    """

    def __init__(self, replicates: int, days: int, nodes: int, lanes: int, inputs: int) -> None:
        # Filled at once (np.full), not faulted in page by page as the days are stored, each
        # day across every replicate's rows (see sim.engines.recording._Moments).
        self.nodes = np.full((replicates, days, len(NODE_VARS), nodes), 0.0)
        self.lanes = np.full((replicates, days, len(LANE_VARS), lanes), 0.0)
        self.inputs = np.full((replicates, days, inputs), 0.0)

    def store(self, day: int, block: DayBlock) -> None:
        """Keep one day."""
        self.nodes[:, day] = block.nodes.transpose(2, 0, 1)
        self.inputs[:, day] = block.inputs.T
        if block.lanes is not None:
            self.lanes[:, day] = block.lanes.transpose(2, 0, 1)

    @property
    def shape(self) -> tuple[int, int]:
        """(replicates, days)."""
        return self.nodes.shape[:2]

    @property
    def node(self) -> dict[str, np.ndarray]:
        """Node variables by name, each shaped (replicate, day, node) (views)."""
        return {name: self.nodes[:, :, i] for name, i in NODE.items()}

    @property
    def lane(self) -> dict[str, np.ndarray]:
        """Lane variables by name, each shaped (replicate, day, lane) (views)."""
        return {name: self.lanes[:, :, i] for name, i in LANE.items()}

    @property
    def input(self) -> dict[str, np.ndarray]:
        """``{"input_stock": (replicate, day, input)}``."""
        return {"input_stock": self.inputs}

    def day(self, day: int) -> DayBlock:
        """One recorded day back as a block."""
        return DayBlock(self.nodes[:, day].transpose(1, 2, 0), self.inputs[:, day].T,
                        self.lanes[:, day].transpose(1, 2, 0))

    @classmethod
    def concatenate(cls, traces: list[Trace]) -> Trace:
        """Stack traces of consecutive replicate sets along the replicate axis."""
        out = cls.__new__(cls)
        out.nodes = np.concatenate([t.nodes for t in traces])
        out.lanes = np.concatenate([t.lanes for t in traces])
        out.inputs = np.concatenate([t.inputs for t in traces])
        return out

    def items(self) -> list[tuple[str, str, np.ndarray]]:
        """(group, name, array) for every variable."""
        return [(group, name, array) for group in ("node", "lane", "input")
                for name, array in getattr(self, group).items()]
