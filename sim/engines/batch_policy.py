"""The batch engine's policy steps: dynamic sourcing and expediting.

Each method is the array form of the agents' step of the same name (its docstring names it);
:class:`sim.engines.batch.BatchEngine` mixes them in and owns the attributes they read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engines.batch_parts import Knowledge, LaneSubset, SourcingState

__all__ = ["PolicySteps"]


class PolicySteps:
    """The policy steps of the batch engine's day (mixed into ``BatchEngine``)."""

    if TYPE_CHECKING:  # set by BatchEngine.__init__
        plan: Any
        choice: LaneSubset
        choice_arrays: Any  # kernels_sourcing.ChoiceArrays of `choice`, if sourcing is dynamic
        expediting: LaneSubset
        expediting_in_choice: np.ndarray
        expedite_arrays: Any  # kernels_sourcing.ChoiceArrays of `expediting`, if expediting
        expediting_inputs_in_choice: np.ndarray

    def _known_lanes(self, known: Knowledge) -> tuple[np.ndarray, np.ndarray]:
        """What buyers know of the lanes with a choice (``SupplyChainModel._known_capacity``).

        Returns the known capacity factor of each lane (for the expedite split) and its known
        capacity for its buyer [units/day].
        """
        from sim.engines.kernels_sourcing import known_lanes  # numba: compiled on first use

        shape = (self.choice.lanes.size, known.nodes.factors.shape[1])
        known_lane, known_cap = np.empty(shape), np.empty(shape)
        known_lanes(self.choice_arrays, known.nodes.factors, known.closed.factors,
                    known.slowed.factors, float(self.plan.stretch_tolerance), known_lane,
                    known_cap)
        return known_lane, known_cap

    def _review_lanes(self, state: SourcingState, owed: np.ndarray, shipped: np.ndarray,
                      position: np.ndarray, level: np.ndarray, forecast: np.ndarray,
                      ring: np.ndarray, t: int, last_arrival: np.ndarray) -> None:
        """Stalls, what works, rooms, cancellations and levels (``InputBuffer.review_lanes``).

        Compiled: :func:`sim.engines.kernels_sourcing.review_lanes` says what it writes.
        """
        from sim.engines.kernels_sourcing import review_lanes, sourcing_arrays

        review_lanes(self.choice_arrays, sourcing_arrays(state), owed, shipped, forecast,
                     float(self.plan.reroute_after), t, ring,
                     last_arrival.astype(np.int64, copy=False), position, level)

    def _choose_sources(self, state: SourcingState, quantity: np.ndarray,
                        expedited: np.ndarray | None, split: np.ndarray | None,
                        pending: np.ndarray, activated: np.ndarray,
                        forecast: np.ndarray) -> None:
        """Split orders by what lanes deliver, backups past their lag (``StockingPoint.order``).

        Compiled: :func:`sim.engines.kernels_sourcing.choose_sources` says what it writes.
        """
        from sim.engines.kernels_sourcing import choose_sources, sourcing_arrays

        replicates = quantity.shape[1]
        inputs, lanes = self.expediting_inputs_in_choice, self.expediting_in_choice
        if expedited is None or split is None:
            expedited, split = np.zeros((0, replicates)), np.zeros((0, replicates))
            inputs, lanes = inputs[:0], lanes[:0]
        choose_sources(self.choice_arrays, sourcing_arrays(state), quantity, forecast,
                       expedited, split, inputs, lanes, pending, activated)

    def _expedited(self, quantity: np.ndarray, known_lane: np.ndarray | None,
                   forecast: np.ndarray, net: np.ndarray,
                   owed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The urgent part of orders that goes over expedite lanes, and its split over them.

        Returns ``(expedited, split)``: units per expediting input and the fraction of them on
        each of its lanes (``StockingPoint.order``). Compiled:
        :func:`sim.engines.kernels_sourcing.expedite_orders` says how.
        """
        from sim.engines.kernels_sourcing import expedite_orders  # numba: compiled on first use

        replicates = quantity.shape[1]
        known = np.zeros((0, replicates)) if known_lane is None else known_lane
        expedited = np.empty((self.expediting.inputs.size, replicates))
        split = np.empty((self.expediting.lanes.size, replicates))
        expedite_orders(self.expedite_arrays, known, self.expediting_in_choice, owed, forecast,
                        net, quantity, expedited, split)
        return expedited, split
