"""The compiled steps of the batch engine equal the array code they replaced, bit for bit.

:func:`sim.engines.kernels.allocate` replaced a sequence of numpy passes; the passes are kept
here as the reference and both are run on random states of the demo's lanes with a choice
(primaries, backups, unlimited and closed lanes, rooms tighter and looser than the split).
The dynamic-sourcing kernels (:mod:`sim.engines.kernels_sourcing`) replaced methods kept in
``tests/array_policy.py``: whole runs with every measure and disruption on go through both, on
the demo and on random networks, and every recorded number must be equal.
The compiled sparse product and group minimum equal scipy's product and numpy's reduceat.
The engines' agreement with the agents is checked in ``tests/test_equivalence.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import sparse

import sim
from sim.compile.plan import plan_policy
from sim.compile.scenario import Scenario
from sim.engines.batch import BatchEngine, added, product
from sim.engines.batch_parts import CompiledCSR, GroupMin, LaneSubset
from sim.engines.recording import ChunkRecord, Recording
from sim.io.presets import as_policy
from sim.io.risk_register import disruptions_from_config
from sim.testing import DEMO_EVERY_MEASURE
from sim.testing.strategies import all_disruptions, networks, policies
from tests.array_policy import ArrayEngine
from tests.conftest import DEMO, REPO

POLICY = {"sourcing": {"dynamic": True, "backup": {"activation_lag_days": 2}},
          "expedite": {"enabled": True}}


def _choice() -> LaneSubset:
    network = sim.load_network("configs/network/demo.yaml")
    return BatchEngine(plan_policy(as_policy(POLICY), network)).choice


CHOICE = _choice()


def _off_static(c, static, room, works, active):
    off = (c.primary & (~works | (room < static))) | active
    return c.same_input @ off.astype(float) > 0


def _spread(c, amount, room):
    unlimited = np.isinf(room)
    finite = np.where(unlimited, 0.0, room) if unlimited.any() else room
    total = c.by_input @ finite
    ratio = np.ones_like(total)
    np.divide(amount, total, out=ratio, where=total > 0)
    np.minimum(ratio, 1.0, out=ratio)
    out = finite * (c.input_of_lane @ ratio)
    if unlimited.any():
        count = c.by_input @ unlimited.astype(float)
        each = np.zeros_like(total)
        np.divide(amount, count, out=each, where=count > 0)
        out = np.where(c.input_of_lane @ count > 0,
                       np.where(unlimited, c.input_of_lane @ each, 0.0), out)
    return out


def _allocate_all(c, quantity, static, active, room, works, known_cap):
    primary = c.primary & works
    share = c.static_share[:, None]
    x = np.minimum(room, static) * primary
    left = np.maximum(0.0, quantity - c.by_input @ x)
    if left.any():
        x += _spread(c, left, np.where(primary, room - x, 0.0))
        left = np.maximum(0.0, quantity - c.by_input @ x)
    if active.any() and left.any():
        y = _spread(c, left, np.where(active, room, 0.0))
        left = np.maximum(0.0, left - c.by_input @ y)
        x += y
    if not left.any():
        return x
    left = c.input_of_lane @ left
    weights = np.where(np.isfinite(known_cap), known_cap, 1.0) * (primary | active)
    total = c.same_input @ weights
    queue = left * share
    np.divide(left * weights, total, out=queue, where=total > 0)
    return x + queue


def reference_allocate(c, quantity, active, room, works, known_cap):
    """The array passes the kernel replaced (``PolicySteps._allocate`` before the kernel)."""
    static = (c.input_of_lane @ quantity) * c.static_share[:, None]
    tight = _off_static(c, static, room, works, active)
    if not tight.any():
        return static
    cols = np.flatnonzero(tight.any(axis=0))
    full = _allocate_all(c, quantity[:, cols], static[:, cols], active[:, cols], room[:, cols],
                         works[:, cols], known_cap[:, cols])
    static[:, cols] = np.where(tight[:, cols], full, static[:, cols])
    return static


@st.composite
def lane_states(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Random states of the choice lanes over a few replicates."""
    lanes, inputs = CHOICE.lanes.size, CHOICE.inputs.size
    reps = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    quantity = rng.choice([0.0, 1.0, 37.5, 120.0, 400.0], (inputs, reps)) * rng.random((inputs,
                                                                                         reps))
    known_cap = rng.choice([0.0, 20.0, 80.0, 250.0, np.inf], (lanes, reps))
    works = (rng.random((lanes, reps)) < draw(st.floats(0.3, 1.0))) & (known_cap > 0)
    owed = rng.random((lanes, reps)) * rng.choice([0.0, 50.0, 300.0], (lanes, 1))
    room = np.where(works, np.maximum(0.0, known_cap - owed), 0.0)
    active = CHOICE.backup & works & (rng.random((lanes, reps)) < draw(st.floats(0.0, 1.0)))
    return quantity, active, room, works, known_cap


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=lane_states())
def test_compiled_allocation_equals_the_array_passes(state: tuple[np.ndarray, ...]) -> None:
    engine = ArrayEngine.__new__(ArrayEngine)
    engine.choice = CHOICE
    quantity, active, room, works, known_cap = state
    expected = reference_allocate(CHOICE, quantity, active, room, works, known_cap)
    np.testing.assert_array_equal(engine._allocate(quantity, active, room, works, known_cap),
                                  expected)


def test_the_allocation_test_reaches_every_pass() -> None:
    """The random states above do take the passes (not only the static split)."""
    rng = np.random.default_rng(7)
    lanes, inputs = CHOICE.lanes.size, CHOICE.inputs.size
    quantity = np.full((inputs, 50), 300.0)
    known_cap = rng.choice([20.0, 80.0, np.inf], (lanes, 50))
    works = rng.random((lanes, 50)) < 0.7
    room = np.where(works, known_cap * rng.random((lanes, 50)), 0.0)
    active = CHOICE.backup & works
    static = (CHOICE.input_of_lane @ quantity) * CHOICE.static_share[:, None]
    assert _off_static(CHOICE, static, room, works, active).any()
    out = reference_allocate(CHOICE, quantity, active, room, works, known_cap)
    assert (out[CHOICE.backup[:, 0]] > 0).any()  # backups took some
    assert not np.array_equal(out, static)


def _run(engine: type[BatchEngine], plan, draws, warmup_days: int, days: int) -> ChunkRecord:
    recording = Recording("full", draws.replicates, days, plan.layout)
    engine(plan).run(draws, warmup_days, recording)
    return recording.result()


def _assert_same_runs(plan, scenario: Scenario, replicates: int) -> ChunkRecord:
    """Run both forms of dynamic sourcing on the same draws; every recorded number equal."""
    draws = scenario.draw(replicates)
    days = scenario.days
    expected = _run(ArrayEngine, plan, draws, scenario.warmup_days, days)
    actual = _run(BatchEngine, plan, draws, scenario.warmup_days, days)
    assert expected.trace is not None and actual.trace is not None
    for part in ("nodes", "lanes", "inputs"):
        np.testing.assert_array_equal(getattr(actual.trace, part),
                                      getattr(expected.trace, part), err_msg=part)
    for name, values in expected.kpis.items():
        np.testing.assert_array_equal(actual.kpis[name], values, err_msg=name)
    return actual


EVERY_MEASURE = {**DEMO_EVERY_MEASURE,  # and stalled lanes count as short after 3 days
                 "sourcing": {**DEMO_EVERY_MEASURE["sourcing"], "reroute_after_days": 3}}


def _every_shipped_disruption() -> tuple:
    events: list = []
    for path in sorted((REPO / "configs" / "disruption").glob("*.yaml")):
        events.extend(yaml.safe_load(path.read_text())["events"])
    return tuple(disruptions_from_config(events))


def test_expedite_and_pool_kernels_equal_the_array_steps_with_static_sourcing() -> None:
    """Without dynamic sourcing the expedite split is the static one's: its own code path."""
    static = {name: rule for name, rule in EVERY_MEASURE.items()  # these need dynamic sourcing
              if name not in ("early_warning", "shared_warehouses")}
    static["sourcing"] = {**EVERY_MEASURE["sourcing"], "dynamic": False}
    plan = plan_policy(as_policy(static), sim.load_network(DEMO))
    assert plan.expedite and not plan.dynamic and plan.uses_pooling
    scenario = Scenario(plan.network, days=150, warmup_days=10, seed=5,
                        disruptions=_every_shipped_disruption())
    run = _assert_same_runs(plan, scenario, replicates=40)
    for kpi in ("expedited_units", "transferred_units"):
        assert run.kpis[kpi].sum() > 0, kpi


def test_sourcing_kernels_equal_the_array_steps_with_every_shipped_disruption() -> None:
    network = sim.load_network(DEMO)
    plan = plan_policy(as_policy(EVERY_MEASURE), network)
    scenario = Scenario(plan.network, days=200, warmup_days=10, seed=3,
                        disruptions=_every_shipped_disruption())
    run = _assert_same_runs(plan, scenario, replicates=60)
    for kpi in ("backup_units", "rerouted_units", "expedited_units", "transferred_units"):
        assert run.kpis[kpi].sum() > 0, kpi  # the steps compiled did act


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sourcing_kernels_equal_the_array_steps_on_random_networks(data: st.DataObject) -> None:
    network = data.draw(networks(max_tiers=5, max_lead=12, extra_lanes=True))
    policy = data.draw(policies(network))
    assume(policy.sourcing.dynamic)
    reroute = data.draw(st.sampled_from([None, 1, 3]))
    policy = replace(policy, sourcing=replace(policy.sourcing, reroute_after_days=reroute))
    plan = plan_policy(policy, network)
    days = data.draw(st.integers(10, 40))
    scenario = Scenario(plan.network, days=days, warmup_days=data.draw(st.integers(0, 8)),
                        seed=data.draw(st.integers(0, 2**32)),
                        disruptions=data.draw(all_disruptions(network, days=days)))
    _assert_same_runs(plan, scenario, replicates=data.draw(st.integers(1, 6)))


@st.composite
def sparse_products(draw: st.DrawFn) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Random CSR matrices (empty rows, repeated columns, any weights) and dense operands."""
    rows, columns, vectors = (draw(st.integers(1, 12)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random((rows, columns)) < draw(st.floats(0.0, 1.0))
    weights = rng.choice([1.0, -0.5, 0.1, 3.7], (rows, columns)) * mask
    x = rng.choice([0.0, -0.0, 1e-17, 2.5, 1e6, np.inf], (columns, vectors)) * \
        rng.random((columns, vectors))
    return sparse.csr_matrix(weights), x


@settings(max_examples=200, deadline=None)
@given(case=sparse_products())
def test_compiled_sparse_product_equals_scipy(case: tuple[sparse.csr_matrix, np.ndarray]) -> None:
    matrix, x = case
    out = np.full((matrix.shape[0], x.shape[1]), np.nan)  # every cell must be written
    product(matrix, x, out)
    np.testing.assert_array_equal(out, matrix @ x)


@settings(max_examples=200, deadline=None)
@given(case=sparse_products(), shape=st.sampled_from(["matrix", "vector", "strided", "int"]))
def test_compiled_csr_matmul_equals_scipy(case: tuple[sparse.csr_matrix, np.ndarray],
                                          shape: str) -> None:
    """``CompiledCSR @ x`` is SciPy's product, bit for bit, compiled or handed back to SciPy."""
    matrix, x = case
    x = {"matrix": x, "vector": x[:, 0].copy(), "strided": x[:, ::2],
         "int": (x != 0).astype(np.int64)}[shape]
    got, expected = CompiledCSR(matrix) @ x, matrix @ x
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(case=sparse_products(), seed=st.integers(0, 2**32 - 1), in_place=st.booleans())
def test_compiled_product_added_equals_numpy(case: tuple[sparse.csr_matrix, np.ndarray],
                                             seed: int, in_place: bool) -> None:
    """``added``: numpy's ``base + matrix @ x``, bit for bit, also written over ``base``."""
    matrix, x = case
    rng = np.random.default_rng(seed)
    base = rng.choice(VALUES, (matrix.shape[0], x.shape[1]))
    with np.errstate(invalid="ignore"):  # inf - inf
        expected = base + matrix @ x
        out = base if in_place else np.full_like(base, np.nan)
        got = added(base, matrix, x, out)
    assert got is out
    np.testing.assert_array_equal(got, expected)
    number = ~np.isnan(expected)  # a NaN's sign bit means nothing (and the compiler may take
    # either operand's NaN of an addition)
    assert np.array_equal(np.signbit(got[number]), np.signbit(expected[number]))


def test_engine_products_are_compiled_and_survive_pickling() -> None:
    import pickle

    engine = BatchEngine(plan_policy(as_policy(DEMO_EVERY_MEASURE), sim.load_network(DEMO)))
    assert isinstance(engine.by_zone_node, CompiledCSR)
    assert isinstance(engine.choice.by_input, CompiledCSR)
    copy = pickle.loads(pickle.dumps(engine.by_target))
    x = np.arange(engine.by_target.shape[1] * 3, dtype=float).reshape(-1, 3)
    np.testing.assert_array_equal(copy @ x, engine.by_target.matrix @ x)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
       seed=st.integers(0, 2**32 - 1), replicates=st.integers(1, 9))
def test_compiled_group_minimum_equals_reduceat(sizes: list[int], seed: int,
                                                replicates: int) -> None:
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    values = rng.choice([0.0, 1.5, 7.0, np.inf, np.nan], (sum(sizes) + 1, replicates)) * \
        rng.random((sum(sizes) + 1, replicates))
    values[-1] = np.inf  # GroupMin's padding row
    wide = GroupMin(starts, np.asarray(sizes), sum(sizes))
    wide.padded = False  # the compiled path, whatever the widths
    np.testing.assert_array_equal(wide(values),
                                  np.minimum.reduceat(values[:-1], starts, axis=0))


VALUES = [0.0, -0.0, -1.0, 1e-12, 0.5, 2.0, 7.0, np.inf, np.nan]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6), reps=st.integers(1, 9))
def test_rationing_kernel_equals_the_numpy_steps(seed: int, rows: int, reps: int) -> None:
    """``rationed``: what np.maximum, np.minimum and a masked np.divide gave, NaN and inf too."""
    from sim.engines.kernels import rationed

    rng = np.random.default_rng(seed)
    stock, outflow, wanted = (rng.choice(VALUES, (rows, reps)) for _ in range(3))
    available = np.maximum(0.0, np.minimum(stock, outflow))
    expected = np.ones((rows, reps))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(available, wanted, out=expected, where=wanted > available)
    out = np.full((rows, reps), -5.0)
    rationed(stock, outflow, wanted, out)
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), variables=st.integers(1, 6), nodes=st.integers(1, 5),
       reps=st.integers(1, 40))
def test_moments_with_totals_are_the_moments_and_the_node_sums(seed: int, variables: int,
                                                               nodes: int, reps: int) -> None:
    """One pass over the day block gives the moments and ``NodeTotals.nodes``'s sums."""
    from sim.engines.kernels import moments, moments_and_totals
    from sim.measures.kpis import NodeTotals
    from sim.measures.trace import DayBlock

    rng = np.random.default_rng(seed)
    values = rng.choice([0.0, -0.0, 1e-300, 3.5, 1e12], (variables, nodes, reps)) * \
        rng.random((variables, nodes, reps))
    sums, m2 = np.empty(variables * nodes), np.empty(variables * nodes)
    expected_sums, expected_m2 = np.empty_like(sums), np.empty_like(m2)
    totals = np.full((variables, reps), np.nan)
    moments_and_totals(values, sums, m2, totals)
    moments(values.reshape(-1, reps), expected_sums, expected_m2)
    np.testing.assert_array_equal(sums, expected_sums)
    np.testing.assert_array_equal(m2, expected_m2)
    node_totals = NodeTotals.__new__(NodeTotals)  # its sums need no layout
    np.testing.assert_array_equal(totals, node_totals.nodes(DayBlock(values, values[0])))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
       counts=st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)),
       special=st.booleans())
def test_merged_moments_equal_the_numpy_formula(seed: int, shape: tuple[int, int],
                                                counts: tuple[int, int], special: bool) -> None:
    """``merge_moments`` folds chunks' moments as the numpy lines did, to the bit."""
    from sim.engines.kernels import merge_moments

    rng = np.random.default_rng(seed)

    def draw() -> np.ndarray:
        if special:
            return rng.choice(VALUES, shape)
        return rng.normal(0, 10.0 ** rng.integers(-3, 9), shape) * rng.integers(0, 2, shape)

    sums, m2, other_sums, other_m2 = draw(), np.abs(draw()), draw(), np.abs(draw())
    n_a, n_b = counts
    with np.errstate(invalid="ignore", over="ignore"):
        delta = other_sums / n_b - sums / n_a
        want_m2 = m2 + (other_m2 + delta * delta * (n_a * n_b / (n_a + n_b)))
        want_sums = sums + other_sums
        merge_moments(sums, m2, other_sums, other_m2, n_a, n_b)
    np.testing.assert_array_equal(sums, want_sums)
    np.testing.assert_array_equal(m2, want_m2)
    assert np.array_equal(np.signbit(sums), np.signbit(want_sums))


def test_moments_finish_in_place_once_and_then_refuse_to_merge() -> None:
    """``mean_sd`` turns the sums into means in place: the numpy formula's bits, asked twice."""
    from sim.engines.recording import _Moments

    rng = np.random.default_rng(7)
    moments = _Moments((3, 4), 5)
    moments.sums[:], moments.m2[:] = rng.normal(size=(3, 4)), rng.random((3, 4))
    want = (moments.sums / 5, np.sqrt(moments.m2 / 4))
    mean, sd = moments.mean_sd()
    np.testing.assert_array_equal(mean, want[0])
    np.testing.assert_array_equal(sd, want[1])
    again = moments.mean_sd()
    np.testing.assert_array_equal(again[0], want[0])  # not divided a second time
    np.testing.assert_array_equal(again[1], want[1])
    with pytest.raises(ValueError, match="cannot be merged"):
        moments.merge(_Moments((3, 4), 2))
    with pytest.raises(ValueError, match="cannot be merged"):
        _Moments((3, 4), 2).merge(moments)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lanes=st.integers(1, 5), reps=st.integers(1, 7),
       day=st.integers(0, 60))
def test_stretched_shipments_land_where_the_index_arithmetic_put_them(
        seed: int, lanes: int, reps: int, day: int) -> None:
    """``ship_stretched``: the slots of :func:`stretched_lead` lead times, as the array code."""
    from sim.engines.day import stretched_lead
    from sim.engines.kernels import ship_stretched
    from sim.spec.units import ROUNDING

    rng = np.random.default_rng(seed)
    lead = rng.integers(1, 6, lanes)
    stretch = rng.choice([1.0, 1.0000000001, 1.5, 2.0, 2.35, 3.0], (lanes, reps))
    slots = int(np.ceil(lead.max() * 3.0)) + 1
    ring = rng.random((slots, lanes, reps))
    shipped = rng.random((lanes, reps))
    latest = rng.integers(0, day + 12, lanes)
    days = stretched_lead(lead[:, None], stretch)
    expected = ring.copy()
    cells = lanes * reps
    offsets = days * cells + np.arange(cells).reshape(lanes, reps)
    index = offsets + (day % slots) * cells
    index[index >= ring.size] -= ring.size
    expected.reshape(-1)[index] += shipped
    expected_latest = np.maximum(latest, day + days.max(axis=1))
    ship_stretched(ring, lead, stretch, day, ROUNDING, shipped, latest)
    np.testing.assert_array_equal(ring, expected)
    np.testing.assert_array_equal(latest, expected_latest)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6), reps=st.integers(1, 9))
def test_order_and_capacity_kernels_equal_the_numpy_steps(seed: int, rows: int,
                                                          reps: int) -> None:
    """``order_up_to`` and ``scaled_capacity``: the numpy steps they replaced, sign of 0 too."""
    from sim.engines.kernels import order_up_to, scaled_capacity

    rng = np.random.default_rng(seed)
    position, level, gap = (rng.choice(VALUES, (rows, reps)) for _ in range(3))
    with np.errstate(invalid="ignore"):  # inf - inf
        expected = np.where(position <= level, level + gap - position, 0.0)
    np.maximum(expected, 0.0, out=expected)
    out = np.full((rows, reps), -5.0)
    order_up_to(position, level, gap, out)
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))

    base = rng.choice([0.0, 3.0, 40.0, np.inf], (rows, reps))
    factor = rng.choice([0.0, 0.25, 1.0, np.nan], (rows, reps))
    warehouse = rng.random(rows) < 0.5
    capacity = np.zeros((rows, reps))
    with np.errstate(invalid="ignore"):
        np.multiply(base, factor, out=capacity, where=factor > 0)
    outflow = np.where(factor > 0, np.inf, 0.0)
    outflow[warehouse] = capacity[warehouse]
    got_capacity, got_outflow = np.full((rows, reps), -5.0), np.full((rows, reps), -5.0)
    scaled_capacity(base, factor, warehouse, got_capacity, got_outflow)
    np.testing.assert_array_equal(got_capacity, capacity)
    np.testing.assert_array_equal(got_outflow, outflow)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6), reps=st.integers(1, 9))
def test_production_and_stock_kernels_equal_the_numpy_steps(seed: int, rows: int,
                                                            reps: int) -> None:
    """``production_room`` and ``taken_from``: the numpy lines they replaced, sign of 0 too."""
    from sim.engines.kernels import production_room, taken_from

    rng = np.random.default_rng(seed)
    level, owed, backlog, stock, capacity, taken = (rng.choice(VALUES, (rows, reps))
                                                    for _ in range(6))
    with np.errstate(invalid="ignore"):  # inf - inf
        room = np.minimum(capacity, np.maximum(0.0, level + (owed + backlog) - stock))
        left = np.maximum(stock - taken, 0.0)
        out = np.full((rows, reps), -5.0)
        production_room(level, owed, backlog, stock, capacity, out)
        taken_from(stock, taken)
    for got, expected in ((out, room), (stock, left)):
        np.testing.assert_array_equal(got, expected)
        number = ~np.isnan(expected)  # a NaN's sign bit means nothing
        assert np.array_equal(np.signbit(got[number]), np.signbit(expected[number]))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.tuples(st.integers(1, 20), st.integers(1, 3),
                                                       st.integers(1, 3)))
def test_slot_sum_adds_slot_after_slot(seed: int, shape: tuple[int, int, int]) -> None:
    """``slot_sum``: ``((v0 + v1) + v2) + ...`` for every shape, one-element lines included."""
    from sim.engines.kernels import slot_sum

    values = np.random.default_rng(seed).random(shape) * 1e3
    expected = values[0].copy()
    for slot in values[1:]:
        expected += slot
    out = np.full(shape[1:], np.nan)
    slot_sum(values, out)
    np.testing.assert_array_equal(out, expected)


def _numpy_costs(nodes, held_inputs, stock, production, released, reserve, transferred,
                 co2e_shipped, pool_cost, constants) -> None:
    """The cost lines of ``BatchEngine._fill_block`` as numpy ran them (with every measure)."""
    from sim.measures.trace import NODE

    unit_value, rate, fee, release_cost, reserve_cost, public_fee, public_reserve, share, \
        co2e_unit = constants
    v = {name: nodes[i] for name, i in NODE.items()}
    holding = v["holding_cost"]
    np.multiply(stock, unit_value, out=holding)
    holding += held_inputs
    holding *= rate
    premium, reservation = v["premium_cost"], v["reservation_cost"]
    reservation[:] = fee
    premium += np.maximum(transferred, 0.0) * pool_cost
    premium += released * release_cost
    reservation += reserve * reserve_cost
    np.add(holding, v["pipeline_holding_cost"], out=v["cost"])
    for part in ("transport_cost", "shortage_cost", "premium_cost", "reservation_cost",
                 "fixed_cost"):
        v["cost"] += v[part]
    own = public_fee + public_reserve * (reserve * reserve_cost + released * release_cost)
    np.multiply(share, v["cost"], out=v["public_cost"])
    v["public_cost"] += (1.0 - share) * own
    np.multiply(production, co2e_unit, out=v["co2e"])
    v["co2e"] += co2e_shipped


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), reps=st.integers(1, 9))
def test_node_costs_kernel_equals_the_numpy_cost_lines(seed: int, n: int, reps: int) -> None:
    """``node_costs``: every cost the numpy lines wrote, bit for bit, every measure on."""
    from sim.engines.batch import COST_CONSTANTS, COST_VARS
    from sim.engines.kernels import node_costs
    from sim.measures.trace import NODE

    rng = np.random.default_rng(seed)
    nodes = rng.random((len(NODE), n, reps)) * rng.choice([1.0, 1e3, 1e-7], (len(NODE), n, 1))
    held_inputs, stock, production, released, reserve, co2e_shipped = \
        (rng.random((n, reps)) * 100 for _ in range(6))
    transferred = rng.normal(size=(n, reps)) * 10
    constants = rng.random((len(COST_CONSTANTS), n, reps))
    expected = nodes.copy()
    _numpy_costs(expected, held_inputs, stock, production, released, reserve, transferred,
                 co2e_shipped, 0.8, constants)
    node_costs(nodes, COST_VARS, constants, held_inputs, stock, production, released, reserve,
               transferred, co2e_shipped, 0.8, True, True, True)
    np.testing.assert_array_equal(nodes, expected)
