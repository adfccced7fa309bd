"""Compiled steps of the batch engine, where numpy cannot fuse the arithmetic (numba).

Only steps that measurements showed to be dear are here (``benchmarks/bench_reference.py``).
:func:`allocate` computes each replicate's column from that column alone, so its results do
not depend on the chunk, with the same operations in the same order as the array code it
replaced (``tests/test_kernels.py`` holds it to that code bit for bit); :func:`moments` sums over
the replicates of a chunk, as the recorder it serves always did. numba does not contract
a*b + c into fused multiply-adds unless ``fastmath`` is on; it is off. Kernels are compiled on
first use (about a second) and cached beside this module.

Measured lesson: a helper called once per element must take scalars, not arrays; numba
reference-counts array arguments on every call, even of an inlined function, and that made the
first version of :func:`allocate` 2x slower than numpy instead of 3.7x faster.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np

__all__ = ["CSR", "allocate", "csr", "csr_product", "csr_product_added", "csr_row", "csr_rows",
           "group_min", "maximum", "minimum", "moments", "moments_and_totals", "node_costs",
           "order_up_to", "pool_transfers", "production_room", "rationed", "scaled_capacity",
           "ship_stretched", "slot_sum", "taken_from"]


@numba.njit(cache=True, nogil=True)
def allocate(quantity: np.ndarray, active: np.ndarray, room: np.ndarray, works: np.ndarray,
             known_cap: np.ndarray, starts: np.ndarray, lanes: np.ndarray, primary: np.ndarray,
             share: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Units of each input's order on each of its lanes (``InputBuffer.allocate``).

    Inputs with no backup active and room on every primary for its share keep the static split;
    elsewhere the passes: primaries up to their share, then their spare room, then active
    backups' room, then a queue by known capacity. Every pass runs on every replicate, loops
    over replicates innermost (the compiler vectorises them): a pass with nothing left to place
    adds exact zeros, so running it where the agents skip it changes no bit.

    Parameters
    ----------
    quantity : ndarray, shape (input, replicate)
        Units to place.
    active, works : ndarray of bool, shape (lane, replicate)
        Active backups; lanes that work.
    room, known_cap : ndarray, shape (lane, replicate)
        Room left on each lane today; its known capacity (``inf``: unlimited).
    starts, lanes : ndarray of int
        Lanes of input ``g`` are ``lanes[starts[g]:starts[g + 1]]``, in lane order (the
        rows of the subset's by-input incidence).
    primary : ndarray of bool, shape (lane,)
        Primary lanes.
    share : ndarray, shape (lane,)
        Static share of each lane.
    out : ndarray, shape (lane, replicate)
        Written: the units on each lane.
    """
    inputs, reps = quantity.shape
    widest = 0
    for g in range(inputs):
        widest = max(widest, starts[g + 1] - starts[g])
    x = np.empty((widest, reps))
    tight, left = np.empty(reps, dtype=np.bool_), np.empty(reps)
    for g in range(inputs):
        group = lanes[starts[g]:starts[g + 1]]
        q = quantity[g]
        tight[:] = False
        for j in range(group.size):
            lane = group[j]
            for r in range(reps):
                static = (0.0 + q[r]) * share[lane]
                out[lane, r] = static
                off = (primary[lane] and (not works[lane, r] or room[lane, r] < static)) or \
                    active[lane, r]
                tight[r] = tight[r] or off
                x[j, r] = min(room[lane, r], static) if primary[lane] and works[lane, r] \
                    else 0.0
        _left(q, x, group.size, left)
        _spread(left, group, room, works, primary, active, False, x)
        _left(q, x, group.size, left)
        _spread(left, group, room, works, primary, active, True, x)
        _queue(left, group, known_cap, works, primary, active, share, x)
        for j in range(group.size):
            for r in range(reps):
                if tight[r]:
                    out[group[j], r] = x[j, r]


@numba.njit(inline="always")
def _left(q, x, width, left):  # pragma: no cover - compiled
    """What is left of the order after the lanes' units so far: max(0, q - sum)."""
    left[:] = 0.0
    for j in range(width):
        for r in range(q.size):
            left[r] += x[j, r]
    for r in range(q.size):
        left[r] = max(0.0, q[r] - left[r])


@numba.njit(inline="always")
def _room(room, placed, working, active, backups):  # pragma: no cover - compiled
    """A lane's room in a pass.

    Helpers called per element take scalars: arrays passed to a function, even an inlined one,
    are reference-counted per call (measured 50x slower).
    """
    if backups:
        return room if active else 0.0
    return room - placed if working else 0.0


@numba.njit(inline="always")
def _spread(left, group, room, works, primary, active, backups, x):  # pragma: no cover
    """Add ``left`` over the lanes in proportion to room (``agents._spread``).

    Lanes of unlimited room take it all, equally. Over backups it also takes what it placed
    from ``left`` (the agents' second pass).
    """
    reps = left.size
    rooms = np.empty((group.size, reps))  # each lane's room in this pass, before it changes
    total, count = np.zeros(reps), np.zeros(reps)
    for j in range(group.size):
        lane = group[j]
        for r in range(reps):
            rooms[j, r] = _room(room[lane, r], x[j, r], primary[lane] and works[lane, r],
                                active[lane, r], backups)
            unlimited = np.isinf(rooms[j, r])
            count[r] += 1.0 if unlimited else 0.0
            total[r] += 0.0 if unlimited else rooms[j, r]
    ratio, each, added = np.empty(reps), np.empty(reps), np.zeros(reps)
    for r in range(reps):
        ratio[r] = min(left[r] / total[r] if total[r] > 0.0 else 1.0, 1.0)
        each[r] = left[r] / count[r] if count[r] > 0.0 else 0.0
    for j in range(group.size):
        for r in range(reps):
            unlimited = np.isinf(rooms[j, r])
            if count[r] > 0.0:
                more = each[r] if unlimited else 0.0
            else:
                more = (0.0 if unlimited else rooms[j, r]) * ratio[r]
            added[r] += more
            x[j, r] += more
    if backups:
        for r in range(reps):
            left[r] = max(0.0, left[r] - added[r])


@numba.njit(inline="always")
def _queue(left, group, known_cap, works, primary, active, share, x):  # pragma: no cover
    """Queue what is left on the lanes that may deliver, in proportion to known capacity."""
    reps = left.size
    total = np.zeros(reps)
    for j in range(group.size):
        for r in range(reps):
            lane = group[j]
            total[r] += _weight(known_cap[lane, r], (primary[lane] and works[lane, r])
                                or active[lane, r])
    for j in range(group.size):
        lane = group[j]
        for r in range(reps):
            queue = left[r] * share[lane]
            if total[r] > 0.0:
                weight = _weight(known_cap[lane, r], (primary[lane] and works[lane, r])
                                 or active[lane, r])
                queue = left[r] * weight / total[r]
            x[j, r] = x[j, r] + queue


@numba.njit(inline="always")
def _weight(cap, usable):  # pragma: no cover - compiled
    """A lane's weight in the queue: its known capacity (1 if unlimited), if it may deliver."""
    return (cap if np.isfinite(cap) else 1.0) * (1.0 if usable else 0.0)


@numba.njit(cache=True, nogil=True)
def moments(values: np.ndarray, sums: np.ndarray, m2: np.ndarray) -> None:  # pragma: no cover
    """Sum and centred sum of squares of each row of ``values`` (row, replicate).

    Two passes over each row while it is in cache, with eight interleaved partial sums (the
    compiler vectorises them); numpy needed three passes and a written temporary (measured
    2.5x slower on the demo's day block at R = 1,000).
    """
    partial = np.empty(8)
    for i in range(values.shape[0]):
        sums[i], m2[i] = _row_moments(values[i], partial)


@numba.njit(cache=True, nogil=True)
def moments_and_totals(values: np.ndarray, sums: np.ndarray, m2: np.ndarray,
                       totals: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`moments` of every row of ``values`` (variable, node, replicate), and its totals.

    ``totals`` (variable, replicate) receives each variable summed over nodes, from 0.0 in node
    order (as ``NodeTotals.nodes``), from each row while the moments have it in cache: the day
    block is read once instead of twice (on the demo at R = 1,000 it is 3 MB a day).
    """
    variables, nodes = values.shape[0], values.shape[1]
    partial = np.empty(8)
    for v in range(variables):
        total = totals[v]
        total[:] = 0.0
        for i in range(nodes):
            row = values[v, i]
            sums[v * nodes + i], m2[v * nodes + i] = _row_moments(row, partial)
            for k in range(row.size):
                total[k] += row[k]


@numba.njit(inline="always")
def _row_moments(row, partial):  # pragma: no cover - compiled
    """A row's sum and centred sum of squares (``partial``: scratch for eight partial sums)."""
    reps = row.size
    width = partial.size
    whole = reps - reps % width
    partial[:] = 0.0
    for r in range(0, whole, width):
        for k in range(width):
            partial[k] += row[r + k]
    total = 0.0
    for k in range(width):
        total += partial[k]
    for r in range(whole, reps):
        total += row[r]
    mean = total / reps
    partial[:] = 0.0
    for r in range(0, whole, width):
        for k in range(width):
            centred = row[r + k] - mean
            partial[k] += centred * centred
    square = 0.0
    for k in range(width):
        square += partial[k]
    for r in range(whole, reps):
        centred = row[r] - mean
        square += centred * centred
    return total, square


@numba.njit(cache=True, nogil=True)
def merge_moments(sums: np.ndarray, m2: np.ndarray, other_sums: np.ndarray, other_m2: np.ndarray,
                  count: int, other_count: int) -> None:  # pragma: no cover - compiled
    """Fold another chunk's (sums, m2) into these, in place (Chan et al.'s pairwise formula).

    The arithmetic of ``delta = other_sums / n_b - sums / n_a; m2 += other_m2 + delta * delta
    * w; sums += other_sums`` with ``w = n_a n_b / (n_a + n_b)``, element by element in one pass.
    The numpy lines made four temporaries as large as the summary (chain 38: 105 MB each,
    freshly paged in by the main process), 0.1-0.4 s per merge.
    """
    weight = count * other_count / (count + other_count)
    flat_sums, flat_m2 = sums.reshape(-1), m2.reshape(-1)
    flat_other_sums, flat_other_m2 = other_sums.reshape(-1), other_m2.reshape(-1)
    for i in range(flat_sums.size):
        delta = flat_other_sums[i] / other_count - flat_sums[i] / count
        flat_m2[i] += flat_other_m2[i] + delta * delta * weight
        flat_sums[i] += flat_other_sums[i]


class CSR(NamedTuple):
    """A sparse matrix's CSR rows: ``indptr``, ``indices`` (columns) and ``data`` (weights)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


def csr(matrix: Any) -> CSR:
    """The CSR rows of a scipy sparse matrix, in the types the compiled phases take."""
    matrix = matrix.tocsr()
    return CSR(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64),
               matrix.data.astype(np.float64))


@numba.njit(inline="always")
def csr_row(matrix, i, x, out):  # pragma: no cover - compiled
    """``out = (row i of the CSR matrix) @ x``: from 0.0, in stored order (scipy's sums)."""
    out[:] = 0.0
    for entry in range(matrix.indptr[i], matrix.indptr[i + 1]):
        weight, source = matrix.data[entry], x[matrix.indices[entry]]
        for k in range(out.size):
            out[k] += weight * source[k]


@numba.njit(cache=True, nogil=True)
def csr_rows(matrix: CSR, x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``out = matrix @ x`` for a :class:`CSR` (:func:`csr_product`'s sums)."""
    for i in range(out.shape[0]):
        csr_row(matrix, i, x, out[i])


@numba.njit(inline="always")
def _row_product(starts, columns, weights, x, i, row):  # pragma: no cover - compiled
    """Row ``i`` of ``M @ x`` into ``row``: from 0, ``weight x x[column]`` in CSR order."""
    for k in range(row.size):
        row[k] = 0.0
    for entry in range(starts[i], starts[i + 1]):
        weight, source = weights[entry], x[columns[entry]]
        for k in range(row.size):
            row[k] += weight * source[k]


@numba.njit(cache=True, nogil=True)
def csr_product(starts: np.ndarray, columns: np.ndarray, weights: np.ndarray, x: np.ndarray,
                out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = M @ x`` for a CSR matrix M (rows ``starts``, ``columns``, ``weights``).

    The arithmetic of scipy's ``csr_matvecs``, row by row: each row of ``out`` starts at 0 and
    adds ``weight x x[column]`` in CSR order. Written row by row, ``out`` is not zeroed in a
    separate pass first: on chain 38 that pass over (lane, replicate) arrays of 4-8 MB was 10 %
    of the day (``benchmarks/bench_reference.py``).
    """
    for i in range(starts.size - 1):
        _row_product(starts, columns, weights, x, i, out[i])


@numba.njit(cache=True, nogil=True)
def csr_product_added(starts: np.ndarray, columns: np.ndarray, weights: np.ndarray,
                      x: np.ndarray, base: np.ndarray,
                      out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = base + M @ x``: numpy's ``base + (M @ x)`` (:func:`csr_product`'s sums) in one pass.

    ``out`` may be ``base`` (``base += M @ x``): each row's sums are made before it is written.
    The order phase made three such sums a day with a temporary each (12 % of the bare day on
    Willems chain 08).
    """
    row = np.empty(x.shape[1])
    for i in range(starts.size - 1):
        _row_product(starts, columns, weights, x, i, row)
        for k in range(row.size):
            out[i, k] = base[i, k] + row[k]


@numba.njit(cache=True, nogil=True)
def slot_sum(values: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = values[0] + values[1] + ...``, added slot after slot, whatever the shape.

    What ``values.sum(axis=0)`` gives, except where the rest of the shape is a single element:
    numpy then sums the slots pairwise (blocks of eight), so a one-replicate chunk got other
    bits than the same replicate in a larger chunk.
    """
    slots, rows, reps = values.shape
    for i in range(rows):
        for k in range(reps):
            out[i, k] = values[0, i, k]
    for slot in range(1, slots):
        for i in range(rows):
            for k in range(reps):
                out[i, k] += values[slot, i, k]


@numba.njit(cache=True, nogil=True)
def taken_from(stock: np.ndarray, taken: np.ndarray) -> None:  # pragma: no cover - compiled
    """``stock = np.maximum(stock - taken, 0.0)`` in place, in one pass and no temporary."""
    rows, reps = stock.shape
    for i in range(rows):
        for k in range(reps):
            stock[i, k] = maximum(stock[i, k] - taken[i, k], 0.0)


@numba.njit(cache=True, nogil=True)
def production_room(level: np.ndarray, owed: np.ndarray, backlog: np.ndarray,
                    stock: np.ndarray, capacity: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    """What each node can make today: its capacity, up to what its stock lacks of its level.

    ``np.minimum(capacity, np.maximum(0.0, level + (owed + backlog) - stock))``, in one pass
    where numpy made five with four temporaries (``StockingPoint.produce``).
    """
    rows, reps = out.shape
    for i in range(rows):
        for k in range(reps):
            room = maximum(0.0, level[i, k] + (owed[i, k] + backlog[i, k]) - stock[i, k])
            out[i, k] = minimum(capacity[i, k], room)


@numba.njit(cache=True, nogil=True)
def group_min(values: np.ndarray, starts: np.ndarray,
              out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Minimum over contiguous groups of rows, as ``np.minimum.reduceat(values, starts)``.

    Group ``g`` is rows ``starts[g]`` up to the next start (the last one up to the end of
    ``values``); NaN propagates as in ``np.minimum``. numpy's reduceat along the first axis
    took 8 ms a day on chain 38 for what one pass does in a fraction of it.
    """
    groups, rows = starts.size, values.shape[0]
    for g in range(groups):
        first = starts[g]
        last = starts[g + 1] if g + 1 < groups else rows
        smallest = out[g]
        smallest[:] = values[first]
        for i in range(first + 1, max(last, first + 1)):
            row = values[i]
            for k in range(row.size):
                if row[k] < smallest[k] or row[k] != row[k]:
                    smallest[k] = row[k]


@numba.njit(inline="always")
def minimum(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.minimum(a, b)`` of two numbers: NaN propagates, a tie gives ``b`` (so its zero sign)."""
    return a if (a < b or a != a) else b


@numba.njit(inline="always")
def maximum(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum(a, b)`` of two numbers: NaN propagates, a tie gives ``b`` (so its zero sign)."""
    return a if (a > b or a != a) else b


@numba.njit(cache=True, nogil=True)
def rationed(stock: np.ndarray, outflow: np.ndarray, wanted: np.ndarray,
             out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The fraction of what is wanted of each node that it can give, as the agents ration.

    ``available = max(0, min(stock, outflow))``, and ``out = available / wanted`` where more is
    wanted than available, else 1: what ``np.maximum``, ``np.minimum`` and ``np.divide(...,
    where=...)`` computed (:func:`maximum` and :func:`minimum` keep their ties and NaN), in one
    pass instead of four (numpy's masked division alone took 50 us a day on the demo's (node,
    replicate) arrays at R = 1,000).
    """
    rows, reps = out.shape
    for i in range(rows):
        for k in range(reps):
            have, limit, want = stock[i, k], outflow[i, k], wanted[i, k]
            available = maximum(0.0, minimum(have, limit))
            out[i, k] = available / want if want > available else 1.0



@numba.njit(cache=True, nogil=True)
def ship_stretched(ring: np.ndarray, lead: np.ndarray, stretch: np.ndarray, day: int,
                   rounding: float, shipped: np.ndarray,
                   latest: np.ndarray) -> None:  # pragma: no cover - compiled
    """Add today's shipments into their arrival slots when lead times are stretched.

    Each (lane, replicate)'s lead time is ``ceil(lead x stretch - rounding)`` days, as
    :func:`sim.engines.day.stretched_lead` rounds it; its shipment is added to the ring's slot
    ``(day + lead time) % slots`` (a lead time is shorter than the ring, so it wraps at most
    once), and ``latest`` (lane,) is raised to the last arrival day of each lane. One pass;
    numpy took nine, with an index array as large as the lanes' state (40 us a day on the demo
    at R = 1,000).
    """
    slots, lanes, reps = ring.shape
    today = day % slots
    for j in range(lanes):
        longest = np.int64(0)
        for k in range(reps):
            days = np.int64(np.ceil(lead[j] * stretch[j, k] - rounding))
            slot = today + days
            if slot >= slots:
                slot -= slots
            ring[slot, j, k] += shipped[j, k]
            if k == 0 or days > longest:
                longest = days
        if day + longest > latest[j]:
            latest[j] = day + longest


@numba.njit(cache=True, nogil=True)
def pool_transfers(starts: np.ndarray, members: np.ndarray, weights: np.ndarray,
                   nodes: np.ndarray, unmet: np.ndarray, stock: np.ndarray,
                   outflow_left: np.ndarray, transferred: np.ndarray,
                   taken_node: np.ndarray) -> None:  # pragma: no cover - compiled
    """Lateral transshipment within pooling groups (``StockingPoint.pool``), in place.

    Each member offers its spare stock ``max(0, min(stock, outflow_left))``; a group moves the
    smaller of its spare and its unmet demand, given in proportion to spare and taken in
    proportion to unmet demand. ``starts``, ``members`` and ``weights`` are the CSR rows of the
    (group, member) incidence, whose order the group sums follow as its product did; ``nodes``
    is each member's node and ``unmet`` (member, replicate) its unmet demand. Writes
    ``transferred`` (taken - given, 0 off the pool) and ``taken_node`` (0 off the pool), and
    takes what is given from ``stock`` and ``outflow_left``: the arithmetic of the numpy
    version, which made some twenty calls on (member, replicate) arrays.
    """
    reps = stock.shape[1]
    spare = np.empty((nodes.size, reps))
    for i in range(nodes.size):
        for k in range(reps):
            have, limit = stock[nodes[i], k], outflow_left[nodes[i], k]
            spare[i, k] = maximum(0.0, minimum(have, limit))
    transferred[:] = 0.0
    taken_node[:] = 0.0
    spare_group, unmet_group = np.empty(reps), np.empty(reps)
    for g in range(starts.size - 1):
        spare_group[:] = 0.0
        unmet_group[:] = 0.0
        for entry in range(starts[g], starts[g + 1]):
            i, weight = members[entry], weights[entry]
            for k in range(reps):
                spare_group[k] += weight * spare[i, k]
                unmet_group[k] += weight * unmet[i, k]
        for entry in range(starts[g], starts[g + 1]):
            i = members[entry]
            node = nodes[i]
            for k in range(reps):
                offered, wanted = spare_group[k], unmet_group[k]
                moved = minimum(offered, wanted)
                given = moved * spare[i, k] / offered if spare[i, k] > 0 and moved > 0 else 0.0
                taken = moved * unmet[i, k] / wanted if unmet[i, k] > 0 and moved > 0 else 0.0
                transferred[node, k] = taken - given
                left = stock[node, k] - given
                stock[node, k] = maximum(0.0, left)
                outflow_left[node, k] -= given
                taken_node[node, k] = taken


@numba.njit(cache=True, nogil=True)
def node_costs(nodes: np.ndarray, at: np.ndarray, full: np.ndarray, held_inputs: np.ndarray,
               stock: np.ndarray, production: np.ndarray, released: np.ndarray,
               reserve: np.ndarray, transferred: np.ndarray, freight_co2e: np.ndarray,
               pool_cost: float, pooling: bool, reserves: bool,
               public: bool) -> None:  # pragma: no cover - compiled
    """A day's costs [money/day] and emissions of every node, written into the day block.

    ``nodes`` is the block's (variable, node, replicate) array; ``at`` the positions in it of
    holding, pipeline holding, transport, shortage (penalties), premium, reservation, fixed,
    total, public cost and CO2e; ``full`` stacks the per-node constants unit value, holding
    rate per day, reservation fee, release cost, reserve holding cost, public fee, public
    share of reserves, public share of the node and CO2e per unit made. Holding is stock and
    inputs at their value times the daily rate; the premium adds pooled units moved in and
    released reserves; the total adds the parts in the order of ``StockingPoint.account``. The
    arithmetic of the numpy version, element by element (about twenty calls a day on
    (node, replicate) arrays before).
    """
    holding_at, pipeline_at, transport_at, penalties_at, premium_at = at[0], at[1], at[2], \
        at[3], at[4]
    reservation_at, fixed_at, cost_at, public_at, co2e_at = at[5], at[6], at[7], at[8], at[9]
    rows, reps = stock.shape
    for i in range(rows):
        for k in range(reps):
            holding = (stock[i, k] * full[0, i, k] + held_inputs[i, k]) * full[1, i, k]
            premium = nodes[premium_at, i, k]
            reservation = full[2, i, k]
            if pooling:
                premium += maximum(transferred[i, k], 0.0) * pool_cost
            if reserves:
                premium += released[i, k] * full[3, i, k]
                reservation += reserve[i, k] * full[4, i, k]
            cost = holding + nodes[pipeline_at, i, k]
            cost += nodes[transport_at, i, k]
            cost += nodes[penalties_at, i, k]
            cost += premium
            cost += reservation
            cost += nodes[fixed_at, i, k]
            nodes[holding_at, i, k] = holding
            nodes[premium_at, i, k] = premium
            nodes[reservation_at, i, k] = reservation
            nodes[cost_at, i, k] = cost
            if public:
                own = full[5, i, k] + full[6, i, k] * (
                    reserve[i, k] * full[4, i, k] + released[i, k] * full[3, i, k])
                share = full[7, i, k]
                nodes[public_at, i, k] = share * cost + (1.0 - share) * own
            nodes[co2e_at, i, k] = production[i, k] * full[8, i, k] + freight_co2e[i, k]


@numba.njit(cache=True, nogil=True)
def order_up_to(position: np.ndarray, level: np.ndarray, gap: np.ndarray,
                out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Units to order of each input, up to its level plus its order gap (``StockingPoint.order``).

    Only where the position is at or below the level, else none; never negative, NaN kept as
    ``np.maximum`` keeps it. One pass where numpy made four, with three temporaries (50 us a
    day on the demo's inputs at R = 1,000).
    """
    rows, reps = out.shape
    for i in range(rows):
        for k in range(reps):
            units = level[i, k] + gap[i, k] - position[i, k] if position[i, k] <= level[i, k] \
                else 0.0
            out[i, k] = maximum(units, 0.0)


@numba.njit(cache=True, nogil=True)
def scaled_capacity(base: np.ndarray, factor: np.ndarray, warehouse: np.ndarray,
                    capacity: np.ndarray, outflow: np.ndarray) -> None:  # pragma: no cover
    """Today's capacity of each node or lane, and what may leave it today.

    Capacity is ``base x factor``, 0 where the factor is 0 (a stopped site with unlimited
    capacity has none, not NaN), as :func:`sim.engines.day.scaled`. What may leave is unlimited
    where the row works and nothing where it is stopped, except for ``warehouse`` rows, whose
    capacity is their handling limit (for lanes, every row: ``outflow`` may be ``capacity``).
    """
    rows, reps = capacity.shape
    for i in range(rows):
        for k in range(reps):
            f = factor[i, k]
            units = base[i, k] * f if f > 0 else 0.0
            capacity[i, k] = units
            outflow[i, k] = units if warehouse[i] else (np.inf if f > 0 else 0.0)
