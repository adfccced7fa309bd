"""Compiled steps of sourcing (numba): what is known of lanes, their review, the choice, expediting.

With every measure and disruption on, these steps were half of the batch engine's day on the
demo (``benchmarks/bench_reference.py``): a few dozen numpy calls a day on arrays of a dozen
lanes by the replicates, each call's overhead larger than its arithmetic. Each kernel does the
same operations in the same order as the array code it replaced (kept in
``tests/array_policy.py``; ``tests/test_kernels.py`` holds a whole run with every measure on to it
bit for bit), column by column, so nothing depends on the chunk. Sums over an input's lanes
follow the CSR order of the incidence matrices, as scipy's products add them; numba does not
contract ``a * b + c`` into fused multiply-adds (``fastmath`` is off).

The arrays of the lane subset are passed as a :class:`ChoiceArrays`, the state as a
:class:`SourcingArrays`: numba unboxes named tuples of arrays, and a kernel is called a few
times a day, so their cost (microseconds) does not matter; helpers called per element take
scalars (see :mod:`sim.engines.kernels`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

from sim.engines.kernels import allocate, maximum, minimum
from sim.spec.units import SHORT_TOLERANCE, STALL_TOLERANCE

if TYPE_CHECKING:
    from sim.engines.batch_parts import LaneSubset, SourcingState

__all__ = ["ChoiceArrays", "SourcingArrays", "choice_arrays", "choose_sources", "expedite_orders",
           "known_lanes", "review_lanes", "sourcing_arrays"]


class ChoiceArrays(NamedTuple):
    """The constant arrays of the lanes of inputs with a choice (a ``LaneSubset``).

    ``starts``/``members``: lanes of local input ``g`` are ``members[starts[g]:starts[g + 1]]``
    (local lane indices, in lane order). The ``*_starts/_index/_weight`` triples are CSR rows of
    the protection's sums: ``period_sum`` (over lanes) and ``pair_sum`` (over lane pairs
    ``pair_first``, ``pair_second``).
    """

    lanes: np.ndarray  # engine lane of each local lane
    inputs: np.ndarray  # engine input of each local input
    nodes: np.ndarray  # the node each input belongs to
    sources: np.ndarray  # the source node of each lane
    starts: np.ndarray
    members: np.ndarray
    input_of: np.ndarray  # local input of each local lane
    regular: np.ndarray  # bool: not an expedite lane
    primary: np.ndarray
    backup: np.ndarray
    lag: np.ndarray  # activation lag [days] of each lane
    lane_capacity: np.ndarray
    source_room: np.ndarray
    bom: np.ndarray  # units of the input per unit of its node's output
    static_share: np.ndarray
    expedite_share: np.ndarray  # share of each expedite lane in its input's urgent units
    cover: np.ndarray  # days of forecast an input's urgent order covers
    nominal_need: np.ndarray  # units a nominal day orders of each input
    period: np.ndarray  # protection period 1 + L of each lane [days]
    period_starts: np.ndarray
    period_index: np.ndarray
    period_weight: np.ndarray
    pair_starts: np.ndarray
    pair_index: np.ndarray
    pair_weight: np.ndarray
    pair_first: np.ndarray
    pair_second: np.ndarray
    level_fixed: np.ndarray
    safety_unit: np.ndarray
    slope_unit: np.ndarray


class SourcingArrays(NamedTuple):
    """The state of dynamic sourcing the kernels update in place (a ``SourcingState``)."""

    known_cap: np.ndarray
    foreseen_cap: np.ndarray
    works: np.ndarray
    room: np.ndarray
    short_days: np.ndarray
    stalled_days: np.ndarray
    engaged: np.ndarray
    split_works: np.ndarray
    split_active: np.ndarray
    split_known: np.ndarray
    split_tight: np.ndarray
    split_level_base: np.ndarray
    split_slope: np.ndarray
    horizon_lane: np.ndarray
    rerouting: np.ndarray
    first_reroute: np.ndarray
    cancel: np.ndarray  # every lane of the network: only the choice lanes' rows are written


def choice_arrays(c: LaneSubset) -> ChoiceArrays:
    """The arrays of a lane subset, flat and contiguous, in the types the kernels take."""
    def flat(values: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(values).reshape(-1), dtype=dtype)

    local = np.repeat(np.arange(c.inputs.size), np.diff(c.by_input.indptr))
    input_of = np.empty(c.lanes.size, dtype=np.int64)
    input_of[c.by_input.indices] = local
    return ChoiceArrays(
        lanes=flat(c.lanes, np.int64), inputs=flat(c.inputs, np.int64),
        nodes=flat(c.nodes, np.int64), sources=flat(c.sources, np.int64),
        starts=flat(c.by_input.indptr, np.int64), members=flat(c.by_input.indices, np.int64),
        input_of=input_of, regular=flat(c.regular, np.bool_), primary=flat(c.primary, np.bool_),
        backup=flat(c.backup, np.bool_), lag=flat(c.lag), lane_capacity=flat(c.lane_capacity),
        source_room=flat(c.source_room), bom=flat(c.bom), static_share=flat(c.static_share),
        expedite_share=flat(c.expedite_share), cover=flat(c.cover),
        nominal_need=flat(c.nominal_need), period=flat(c.period),
        period_starts=flat(c.period_sum.indptr, np.int64),
        period_index=flat(c.period_sum.indices, np.int64),
        period_weight=flat(c.period_sum.data),
        pair_starts=flat(c.pair_sum.indptr, np.int64),
        pair_index=flat(c.pair_sum.indices, np.int64), pair_weight=flat(c.pair_sum.data),
        pair_first=flat(c.pair_first, np.int64), pair_second=flat(c.pair_second, np.int64),
        level_fixed=flat(c.level_fixed), safety_unit=flat(c.safety_unit),
        slope_unit=flat(c.slope_unit))


def sourcing_arrays(state: SourcingState) -> SourcingArrays:
    """The state's arrays as the kernels take them (the same arrays: updated in place)."""
    return SourcingArrays(*(getattr(state, name) for name in SourcingArrays._fields))


@numba.njit(cache=True, nogil=True)
def known_lanes(c: ChoiceArrays, node_factor: np.ndarray, closed_factor: np.ndarray,
                slowed_factor: np.ndarray, stretch_tolerance: float,
                known_lane: np.ndarray, known_cap: np.ndarray) -> None:  # pragma: no cover
    """What buyers know of the lanes with a choice (``SupplyChainModel._known_capacity``).

    Writes each lane's known capacity factor (``known_lane``, for the expedite split) and known
    capacity for its buyer (``known_cap``, units/day; 0 where stretched past tolerance).
    """
    for j in range(c.lanes.size):
        lane, source = c.lanes[j], c.sources[j]
        for r in range(known_cap.shape[1]):
            by_source, closure = node_factor[source, r], closed_factor[lane, r]
            usable = slowed_factor[lane, r] <= stretch_tolerance
            known_lane[j, r] = by_source * closure * (1.0 if usable else 0.0)
            lane_cap = c.lane_capacity[j] * closure if closure > 0 else 0.0
            source_cap = c.source_room[j] * by_source if by_source > 0 else 0.0
            known_cap[j, r] = min(lane_cap, source_cap) if usable else 0.0


@numba.njit(cache=True, nogil=True)
def review_lanes(c: ChoiceArrays, s: SourcingArrays, owed: np.ndarray, shipped: np.ndarray,
                 forecast: np.ndarray, reroute_after: float, t: int, ring: np.ndarray,
                 last_arrival: np.ndarray, position: np.ndarray,
                 level: np.ndarray) -> None:  # pragma: no cover - compiled
    """Stalls, what works, rooms and cancellations; today's levels from the split.

    ``InputBuffer.review_lanes``, ``level_of_split`` and ``late_pipeline``: subtracts from
    ``position`` (input, replicate) the owed orders that will not come in time and the pipeline
    arriving beyond the split's horizon, and writes the levels of inputs with a choice into
    ``level``. ``last_arrival`` (choice lane,): days from today to the latest arrival a lane can
    have in transit (ring slots further out hold a past cycle's values).
    """
    reps = s.works.shape[1]
    changed = np.zeros(reps, dtype=np.bool_)
    stuck = np.zeros(reps, dtype=np.bool_)  # some lane owes but does not work, or did
    for j in range(c.lanes.size):
        _review_lane(j, c, s, owed[c.lanes[j]], shipped[c.lanes[j]], reroute_after, changed,
                     stuck)
    columns = np.flatnonzero(stuck)
    if columns.size:
        _move_stuck_orders(c, s, owed, forecast, position, columns)
    cols = np.flatnonzero(changed)
    if cols.size:
        _split_protection(c, s, cols)
    for g in range(c.inputs.size):
        for r in range(reps):
            if s.split_tight[r]:
                level[c.inputs[g], r] = s.split_level_base[g, r] + \
                    s.split_slope[g, r] * forecast[c.nodes[g], r]
    _subtract_late_pipeline(c, s.horizon_lane, t, ring, last_arrival, position)


@numba.njit(inline="always")
def _review_lane(j, c, s, owed, shipped, reroute_after, changed, stuck):  # pragma: no cover
    """One lane's stall count, whether it works, its room, and the replicates it changes.

    Over the lane's rows, with ``&`` and ``|`` where the first version short-circuited: its
    branches on every (lane, replicate) made this pass 2.4x slower (the same values).
    """
    regular, backup, lag = c.regular[j], c.backup[j], c.lag[j]
    stalled_days, works_row, room, known_cap = s.stalled_days[j], s.works[j], s.room[j], \
        s.known_cap[j]
    short_days, split_works, split_active, split_known = s.short_days[j], s.split_works[j], \
        s.split_active[j], s.split_known[j]
    rerouting, first_reroute = s.rerouting[j], s.first_reroute[j]
    for r in range(owed.size):
        owed_r, known = owed[r], known_cap[r]
        stalled = (owed_r > STALL_TOLERANCE) & (shipped[r] <= STALL_TOLERANCE)
        days = stalled_days[r] + 1.0 if stalled else 0.0
        stalled_days[r] = days
        works = regular & (known > 0) & (days < reroute_after)
        works_row[r] = works
        room[r] = max(0.0, known - owed_r) if works else 0.0
        active = backup & works & (short_days[r] > lag)
        changed[r] |= (works != split_works[r]) | (active != split_active[r]) | \
            (known != split_known[r])
        split_works[r], split_active[r], split_known[r] = works, active, known
        stuck[r] |= (regular & (not works) & (owed_r > 0)) | rerouting[r] | first_reroute[r]


@numba.njit(cache=True, nogil=True)
def _move_stuck_orders(c, s, owed, forecast, position, columns):  # pragma: no cover
    """Owed orders on lanes that do not work: uncounted, cancelled within spare room.

    For the replicates ``columns``, where some lane is stuck or was rerouting: elsewhere no
    lane owes without working and none is flagged, so (cancellations being positive only on
    rerouting lanes) there is nothing to cancel or clear, as in the array code.
    """
    for g in range(c.inputs.size):
        group = c.members[c.starts[g]:c.starts[g + 1]]
        for r in columns:
            ready_room, stuck = 0.0, 0.0
            for j in group:
                lane = c.lanes[j]
                ready = s.works[j, r] and (c.primary[j] or s.short_days[j, r] >= c.lag[j])
                ready_room += s.room[j, r] if ready else 0.0
                bad = c.regular[j] and not s.works[j, r] and owed[lane, r] > 0
                stuck += owed[lane, r] if bad else 0.0
            need = c.bom[g] * forecast[c.nodes[g], r]
            spare = max(0.0, ready_room - need)
            ratio = min(spare / stuck, 1.0) if stuck > 0 else 0.0
            for j in group:
                lane = c.lanes[j]
                bad = c.regular[j] and not s.works[j, r] and owed[lane, r] > 0
                cancel = owed[lane, r] * ratio if bad else 0.0
                if cancel <= STALL_TOLERANCE:
                    cancel = 0.0  # rounding, not a switch (nor its cost)
                s.cancel[lane, r] = cancel
                s.first_reroute[j, r] = cancel > 0 and not s.rerouting[j, r]
                s.rerouting[j, r] = (s.rerouting[j, r] or cancel > 0) and bad
            position[c.inputs[g], r] -= stuck if ready_room > 0 else 0.0


@numba.njit(cache=True, nogil=True)
def _split_protection(c, s, cols):  # pragma: no cover - compiled
    """The split of a nominal day's order in the replicates ``cols`` and its protection.

    ``level_of_split``: whether some input's split is not the static one, the level's parts
    there (``split_level_base + split_slope x m``) and each lane's horizon.
    """
    lanes, inputs, n = c.lanes.size, c.inputs.size, cols.size
    nominal = np.empty((inputs, n))
    capacity, known = np.empty((lanes, n)), np.empty((lanes, n))
    works, active = np.empty((lanes, n), dtype=np.bool_), np.empty((lanes, n), dtype=np.bool_)
    for j in range(lanes):
        for i in range(n):
            r = cols[i]
            works[j, i], active[j, i] = s.split_works[j, r], s.split_active[j, r]
            known[j, i] = s.known_cap[j, r]
            capacity[j, i] = known[j, i] if works[j, i] else 0.0
    for g in range(inputs):
        nominal[g] = c.nominal_need[g]
    amounts = np.empty((lanes, n))
    allocate(nominal, active, capacity, works, known, c.starts, c.members, c.primary,
             c.static_share, amounts)
    split = np.empty(lanes)
    for i in range(n):
        r = cols[i]
        any_tight = False
        for g in range(inputs):
            nominal_lane = 0.0 + nominal[g, i]  # as input_of_lane @ nominal adds it
            group = c.members[c.starts[g]:c.starts[g + 1]]
            off = False
            for j in group:
                static = nominal_lane * c.static_share[j]
                off = off or (c.primary[j] and (not works[j, i] or capacity[j, i] < static)) \
                    or active[j, i]
            tight = off and nominal_lane > 0
            any_tight = any_tight or tight
            for j in group:
                split[j] = amounts[j, i] / nominal_lane if tight else c.static_share[j]
        s.split_tight[r] = any_tight
        for g in range(inputs):
            mean, variance, horizon = 0.0, 0.0, -np.inf
            for k in range(c.period_starts[g], c.period_starts[g + 1]):
                mean += c.period_weight[k] * split[c.period_index[k]]
            for k in range(c.pair_starts[g], c.pair_starts[g + 1]):
                pair = c.pair_index[k]
                variance += c.pair_weight[k] * \
                    (split[c.pair_first[pair]] * split[c.pair_second[pair]])
            s.split_level_base[g, r] = c.level_fixed[g] + c.safety_unit[g] * np.sqrt(variance)
            s.split_slope[g, r] = c.slope_unit[g] * mean
            group = c.members[c.starts[g]:c.starts[g + 1]]
            for j in group:
                horizon = max(horizon, c.period[j] * (1.0 if split[j] > 0 else 0.0))
            for j in group:
                s.horizon_lane[j, r] = 0.0 + horizon


@numba.njit(cache=True, nogil=True)
def _subtract_late_pipeline(c, horizon_lane, t, ring, last_arrival,
                            position):  # pragma: no cover - compiled
    """Take from ``position`` the units in transit that land after the split's horizon.

    Only lanes with such arrivals in some replicate count, their days summed in increasing
    order (as the array code added its day axis; days it added where nothing was live added
    exact zeros).
    """
    lanes, reps = horizon_lane.shape
    slots = ring.shape[0]
    late = np.zeros((lanes, reps))
    beyond = False
    for j in range(lanes):
        first = np.inf  # the earliest horizon of this lane: days after it may be late
        for r in range(reps):
            first = min(first, horizon_lane[j, r])
        if not first < last_arrival[j]:
            continue
        beyond = True
        lane = c.lanes[j]
        for day in range(int(first) + 1, last_arrival[j] + 1):  # increasing, as numpy added
            slot = (t + day) % slots
            for r in range(reps):
                live = day > horizon_lane[j, r]
                late[j, r] += ring[slot, lane, r] * (1.0 if live else 0.0)
    if not beyond:
        return
    for g in range(c.inputs.size):
        total = np.zeros(reps)
        for j in c.members[c.starts[g]:c.starts[g + 1]]:
            for r in range(reps):
                total[r] += late[j, r]
        for r in range(reps):
            position[c.inputs[g], r] -= total[r]


@numba.njit(cache=True, nogil=True)
def choose_sources(c: ChoiceArrays, s: SourcingArrays, quantity: np.ndarray,
                   forecast: np.ndarray, expedited: np.ndarray, split: np.ndarray,
                   expedite_inputs: np.ndarray, expedite_lanes: np.ndarray,
                   pending: np.ndarray, activated: np.ndarray) -> None:  # pragma: no cover
    """Split orders of inputs with a choice by what lanes deliver (``StockingPoint.order``).

    Counts the days each input is short (its order beyond its primaries' room), activates
    backups past their lag, and marks in ``activated`` the backups first used in a shortfall.
    ``expedited`` (expediting input, replicate) and ``split`` (expedite lane, replicate) are
    the urgent units and their split; ``expedite_inputs`` / ``expedite_lanes`` place them among
    the choice's inputs and lanes (both empty without expediting).
    """
    lanes, reps = s.works.shape
    inputs = c.inputs.size
    regular = np.empty((inputs, reps))
    short = np.empty((inputs, reps), dtype=np.bool_)
    active = np.empty((lanes, reps), dtype=np.bool_)
    room, foreseen = np.empty(reps), np.empty(reps)
    urgent_row = np.zeros(reps)
    urgent_of = np.full(inputs, -1, dtype=np.int64)
    for k in range(expedite_inputs.size):
        urgent_of[expedite_inputs[k]] = k
    for g in range(inputs):
        room[:], foreseen[:] = 0.0, 0.0
        group = c.members[c.starts[g]:c.starts[g + 1]]
        for j in group:
            if not c.primary[j]:
                continue
            works, lane_room, lane_foreseen = s.works[j], s.room[j], s.foreseen_cap[j]
            for r in range(reps):
                working = works[r]
                room[r] += lane_room[r] if working else 0.0
                foreseen[r] += lane_foreseen[r] if working else 0.0
        ordered, need_row = quantity[c.inputs[g]], forecast[c.nodes[g]]
        urgent = expedited[urgent_of[g]] if urgent_of[g] >= 0 else urgent_row
        bom = c.bom[g]
        for r in range(reps):
            units = ordered[r] - urgent[r]
            regular[g, r] = units
            need = bom * need_row[r]
            short[g, r] = (max(units, need) - room[r] > SHORT_TOLERANCE) | \
                (need - foreseen[r] > SHORT_TOLERANCE)
        for j in group:
            backup, lag = c.backup[j], c.lag[j]
            short_days, works, is_short = s.short_days[j], s.works[j], short[g]
            for r in range(reps):
                days = short_days[r] + 1.0 if backup & is_short[r] else 0.0
                short_days[r] = days
                active[j, r] = backup & works[r] & (days > lag)
    amounts = np.empty((lanes, reps))
    allocate(regular, active, s.room, s.works, s.known_cap, c.starts, c.members, c.primary,
             c.static_share, amounts)
    split_of = np.full(lanes, -1, dtype=np.int64)
    for k in range(expedite_lanes.size):
        split_of[expedite_lanes[k]] = k
    for j in range(lanes):
        lane, g = c.lanes[j], c.input_of[j]
        engaged, is_short, placed = s.engaged[j], short[g], amounts[j]
        active_row, activated_row, pending_row = active[j], activated[lane], pending[lane]
        for r in range(reps):
            first_use = active_row[r] & (placed[r] > 0) & (not engaged[r])
            engaged[r] = (engaged[r] | first_use) & is_short[r]
            activated_row[r] = 1.0 if first_use else 0.0
        if urgent_of[g] >= 0 and split_of[j] >= 0:
            urgent, share = expedited[urgent_of[g]], split[split_of[j]]
            for r in range(reps):
                pending_row[r] = placed[r] + (0.0 + urgent[r]) * share[r]
        else:
            for r in range(reps):
                pending_row[r] = placed[r] + 0.0 * 0.0


@numba.njit(cache=True, nogil=True)
def expedite_orders(c: ChoiceArrays, known: np.ndarray, known_row: np.ndarray,
                    owed: np.ndarray, forecast: np.ndarray, net: np.ndarray,
                    quantity: np.ndarray, expedited: np.ndarray,
                    split: np.ndarray) -> None:  # pragma: no cover - compiled
    """The urgent part of the orders of inputs with expedite lanes, and its split over them.

    ``c`` holds the inputs with an expedite lane and all their lanes. Each lane weighs its
    expedite share times what is known of it (``known[known_row[j]]``; 1 with no knowledge,
    ``known`` then empty); ``split`` is each lane's weight over its input's total (0 where the
    total is 0). The urgent units are the order, capped by the gap between ``cover`` days of
    forecast and the net stock (times the BOM) and by the expedite lanes' room; ``expedited``
    holds them where some lane weighs. ``StockingPoint.order``: the arithmetic of the numpy
    version (kept in ``tests/array_policy.py``), sums in the incidence's CSR order.
    """
    reps = quantity.shape[1]
    has_known = known.shape[0] > 0
    total, room = np.empty(reps), np.empty(reps)
    for g in range(c.inputs.size):
        total[:] = 0.0
        room[:] = 0.0
        group = c.members[c.starts[g]:c.starts[g + 1]]
        for j in group:
            for r in range(reps):
                weight = c.expedite_share[j] * known[known_row[j], r] if has_known \
                    else c.expedite_share[j]
                split[j, r] = weight  # divided by the total below
                total[r] += weight
                spare = maximum(0.0, c.lane_capacity[j] - owed[c.lanes[j], r])
                room[r] += 0.0 if c.regular[j] else spare
        for j in group:
            for r in range(reps):
                lane_total = 0.0 + total[r]  # as input_of_lane @ total adds it
                split[j, r] = split[j, r] / lane_total if lane_total > 0 else 0.0
        node, item = c.nodes[g], c.inputs[g]
        for r in range(reps):
            needed = c.bom[g] * maximum(0.0, forecast[node, r] * c.cover[g] - net[node, r])
            urgent = minimum(minimum(quantity[item, r], needed), room[r])
            expedited[g, r] = urgent if total[r] > 0 else 0.0
