"""The batch engine's helpers: grouped minima, lane subsets and the state of dynamic sourcing."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sparse

from sim.compile.effects import LANE_CAPACITY, LANE_LEAD, NODE_CAPACITY, EffectSchedule
from sim.compile.grouping import incidence
from sim.compile.layout import Layout
from sim.compile.plan import PolicyPlan, lane_pairs

__all__ = ["CompiledCSR", "GroupMin", "Knowledge", "LaneSubset", "SourcingState",
           "compiled_products"]

PADDED_MAX_WIDTH = 8


class CompiledCSR:
    """A CSR matrix whose products with float arrays run the compiled kernel.

    ``matrix @ x`` with ``x`` a C-contiguous float64 array of one or two dimensions runs
    :func:`sim.engines.kernels.csr_product`: the sums of SciPy's CSR kernel in the same order, so
    the same bits, without SciPy's checks and dispatch around each call (about 10 us; the
    everything-on demo makes some 14,000 such products a run). Anything else goes to SciPy.
    """

    __slots__ = ("columns", "data", "indices", "indptr", "kernel", "matrix", "rows", "shape")

    def __init__(self, matrix: sparse.csr_matrix) -> None:
        from sim.engines.kernels import csr_product  # numba: compiled on first use

        self.matrix = matrix
        self.indptr, self.indices, self.data = matrix.indptr, matrix.indices, matrix.data
        self.shape = matrix.shape
        self.rows, self.columns = matrix.shape
        self.kernel = csr_product if self.data.dtype == np.float64 else None

    def __matmul__(self, x: Any) -> Any:
        # the checks are the cost of a product of a dozen rows: the common case first
        if type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous \
                and self.kernel is not None and x.ndim and x.shape[0] == self.columns:
            if x.ndim == 2:
                out = np.empty((self.rows, x.shape[1]))
                self.kernel(self.indptr, self.indices, self.data, x, out)
                return out
            if x.ndim == 1:
                out = np.empty(self.rows)
                self.kernel(self.indptr, self.indices, self.data, x[:, None], out[:, None])
                return out
        return self.matrix @ x

    def tocsr(self) -> sparse.csr_matrix:
        """The SciPy matrix, for code that wants one (as ``csr_matrix.tocsr`` does)."""
        return self.matrix

    def __getstate__(self) -> sparse.csr_matrix:
        return self.matrix

    def __setstate__(self, matrix: sparse.csr_matrix) -> None:
        self.__init__(matrix)  # type: ignore[misc]


def compiled_products(owner: object) -> None:
    """Replace every CSR matrix attribute of ``owner`` by its :class:`CompiledCSR`."""
    for name, value in vars(owner).items():
        if sparse.issparse(value) and value.format == "csr":
            setattr(owner, name, CompiledCSR(value))


class GroupMin:
    """Minimum over contiguous groups of rows (each manufacturer's inputs).

    ``values`` holds the rows plus one last row of +inf; small groups use a dense padded index
    whose missing entries point at that row (one gather and one min), wide ones reduceat.
    """

    def __init__(self, starts: np.ndarray, sizes: np.ndarray, n_rows: int) -> None:
        self.starts = starts
        widest = int(sizes.max()) if sizes.size else 0
        # measured: the padded gather wins for BOMs of a few items, reduceat for wide ones
        self.padded = sizes.size and widest <= PADDED_MAX_WIDTH
        if self.padded:
            self.index = np.full((sizes.size, widest), n_rows)
            for column in range(widest):
                has = sizes > column
                self.index[has, column] = starts[has] + column

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The minimum of each group's rows of ``values`` (rows, replicate)."""
        if self.padded:
            return values[self.index].min(axis=1)
        from sim.engines.kernels import group_min  # numba: compiled on first use

        out = np.empty((self.starts.size, values.shape[1]))
        group_min(values[:-1], self.starts, out)  # as np.minimum.reduceat, 10x faster
        return out


class LaneSubset:
    """Some inputs with all their lanes, re-indexed, for steps that only they need.

    Dynamic sourcing only changes the shares of inputs with a choice of lanes, and expediting
    only the orders of inputs with an expedite lane; every other input keeps its static share
    (one lane: share 1), so these steps run on the subset alone.
    """

    def __init__(self, layout: Layout, plan: PolicyPlan, inputs: np.ndarray) -> None:
        self.inputs = inputs
        self.lanes = np.flatnonzero(np.isin(layout.lane_input, inputs))  # in lane order
        local = np.searchsorted(inputs, layout.lane_input[self.lanes])
        self.by_input = incidence(local, inputs.size)  # (local input, local lane)
        self.input_of_lane = self.by_input.T.tocsr()
        # input_of_lane @ (by_input @ x) in one product: each lane gets its input's sum, added
        # in lane order as the agents add
        self.same_input = (self.input_of_lane @ self.by_input).tocsr()
        self.same_input.sort_indices()
        self.sources = layout.lane_source[self.lanes]
        self.nodes = layout.input_node[inputs]
        role = layout.lane_role[self.lanes]
        share = plan.share[self.lanes]
        self.primary_share = np.where(role == 0, share, 0.0)[:, None]
        self.expedite_share = np.where(role == 2, share, 0.0)[:, None]
        self.static_share = self.primary_share[:, 0]
        self.period = 1.0 + layout.lane_lead[self.lanes].astype(float)  # protection L_j
        static_period = self.period * (self.static_share > 0)
        order = np.argsort(local, kind="stable")  # lanes grouped by input, for group maxima
        self.grouped = order
        self.group_starts = np.searchsorted(local[order], np.arange(inputs.size))
        horizon = np.maximum.reduceat(static_period[order], self.group_starts) if order.size \
            else np.zeros(0)
        self.static_horizon = (self.input_of_lane @ horizon)[:, None]  # of the static split
        self.backup = (role == 1)[:, None]
        self.expedite_lane = (role == 2)[:, None]
        self.primary = (role == 0)[:, None]
        self.regular = (role != 2)[:, None]
        self.lag = plan.activation_lag[self.lanes][:, None]
        self.lane_capacity = layout.lane_capacity[self.lanes][:, None]
        self.source_room = plan.source_room[self.lanes][:, None]
        self.bom = layout.input_bom[inputs][:, None]
        self.cover = plan.expedite_cover[inputs][:, None]
        self.nominal_need = (layout.input_bom[inputs] * layout.mean_outflow[self.nodes])[:, None]
        # today's split -> protection: P = sum_j L_j f_j, V = sum_ij min(L_i, L_j) f_i f_j
        period = self.period
        self.period_sum = incidence(local, inputs.size, period)
        position = np.full(layout.n_lanes, -1, dtype=np.int64)
        position[self.lanes] = np.arange(self.lanes.size)
        first, second = lane_pairs(layout)
        mine = position[first] >= 0
        self.pair_first, self.pair_second = position[first[mine]], position[second[mine]]
        self.pair_sum = incidence(local[self.pair_first], inputs.size,
                                  np.minimum(period[self.pair_first], period[self.pair_second]))
        levels = plan.levels
        self.level_fixed = levels.level_fixed[inputs][:, None]
        self.safety_unit = levels.safety_unit[inputs][:, None]
        self.slope_unit = levels.slope_unit[inputs][:, None]
        compiled_products(self)

    def within(self, other: LaneSubset) -> np.ndarray:
        """Positions of this subset's lanes among ``other``'s (a superset)."""
        return np.searchsorted(other.lanes, self.lanes)


class Knowledge:
    """Schedules of what buyers know of node capacity, lane capacity and lane lead times."""

    KINDS = (NODE_CAPACITY, LANE_CAPACITY, LANE_LEAD)
    """The kinds of the three schedules, in the order the constructor takes them."""

    def __init__(self, nodes: EffectSchedule, closed: EffectSchedule,
                 slowed: EffectSchedule) -> None:
        self.nodes, self.closed, self.slowed = nodes, closed, slowed

    def at(self, day: int) -> tuple[int, int, int]:
        """Move to ``day``; the schedules' versions (they change when the factors do)."""
        for schedule in (self.nodes, self.closed, self.slowed):
            schedule.at(day)
        return self.nodes.version, self.closed.version, self.slowed.version


class SourcingState:
    """Dynamic sourcing state of the lanes of inputs with a choice, (choice lane, replicate)."""

    def __init__(self, lanes: int, inputs: int, all_lanes: int, replicates: int) -> None:
        shape = (lanes, replicates)
        self.known_cap = np.full(shape, np.inf)  # set from knowledge on the first day
        self.foreseen_cap = self.known_cap
        self.works = np.ones(shape, dtype=bool)
        self.room = np.zeros(shape)
        self.short_days = np.zeros(shape)
        self.stalled_days = np.zeros(shape)
        self.engaged = np.zeros(shape, dtype=bool)
        # the split of a nominal order and what it was computed for, per replicate
        self.split_works = np.zeros(shape, dtype=bool)  # differs from day 0's: computed then
        self.split_active = np.zeros(shape, dtype=bool)
        self.split_known = np.full(shape, np.inf)  # its own array: the kernels write it
        self.split_tight = np.zeros(replicates, dtype=bool)
        self.split_level_base = np.zeros((inputs, replicates))
        self.split_slope = np.zeros((inputs, replicates))
        self.horizon_lane = np.zeros(shape)
        self.rerouting = np.zeros(shape, dtype=bool)
        self.first_reroute = np.zeros(shape, dtype=bool)
        self.cancel = np.zeros((all_lanes, replicates))  # every lane; choice rows vary
