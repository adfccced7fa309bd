"""Metrics on hand-built series and small runs with answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.compile.effects import events_array
from sim.compile.layout import Layout
from sim.measures import metrics
from sim.measures.counterfactual import measure, occurrences
from sim.measures.kpis import replicate_kpis
from sim.measures.resilience import (
    RecoveryRule,
    as_recovery_rule,
    event_resilience,
    shortfall,
    survival_time,
    union_loss,
)
from sim.measures.trace import LANE, NODE, Trace
from sim.spec.errors import ConfigError
from tests import array_resilience


# --------------------------------------------------------------------------------------------
# Time to survive, time to recover, resilience loss, against the undisrupted twin
# --------------------------------------------------------------------------------------------
def step_outage() -> tuple[np.ndarray, np.ndarray]:
    """Demand 100 a day; full service, then 50 % on days 20-29, then full again."""
    demand = np.full(60, 100.0)
    served = demand.copy()
    served[20:30] = 50.0
    return served, demand


def read(served: np.ndarray, demand: np.ndarray, twin_served: np.ndarray, start: int,
         **options: float) -> dict[str, float]:
    gap = shortfall(served, demand, twin_served, demand)
    return {k: float(v) for k, v in event_resilience(gap, demand, start, **options).items()}


def test_step_outage_has_known_tts_ttr_and_area() -> None:
    served, demand = step_outage()
    out = read(served, demand, demand, 15, tolerance=0.0, hold_days=1)
    assert out["time_to_survive"] == 5  # full days 15-19
    assert out["time_to_recover"] == 15  # back on day 30
    assert out["resilience_loss"] == pytest.approx(500)
    assert out["recovery_censored"] == 0 and out["short"] == 1
    # a week back within tolerance counts: days 30-36 are, so recovery is still day 30
    assert read(served, demand, demand, 15)["time_to_recover"] == 15
    # no disruption: NaN; never short: TTS runs to the end, TTR 0, no loss
    assert np.isnan(read(served, demand, demand, -1)["time_to_survive"])
    calm = read(demand, demand, demand, 15)
    assert (calm["time_to_survive"], calm["time_to_recover"], calm["resilience_loss"]) == (45, 0, 0)


def test_a_dip_shorter_than_the_hold_does_not_count_as_recovery() -> None:
    served, demand = step_outage()
    served[33] = 50.0  # one more bad day three days after service came back
    out = read(served, demand, demand, 15, tolerance=0.0, hold_days=7)
    assert out["time_to_recover"] == 34 - 15  # the calm week starts on day 34
    assert out["resilience_loss"] == pytest.approx(550)
    assert read(served, demand, demand, 15, tolerance=0.0, hold_days=1)["time_to_recover"] == 15


def test_the_twin_removes_what_the_policy_misses_anyway() -> None:
    demand = np.full(40, 100.0)
    twin = np.full(40, 95.0)  # a lean stage: 95 % without any event
    served = twin.copy()
    served[20:25] = 0.0
    out = read(served, demand, twin, 20, tolerance=0.02, hold_days=3)
    assert out["time_to_survive"] == 0 and out["time_to_recover"] == 5
    assert out["resilience_loss"] == pytest.approx(5 * 95)  # what the twin served, not 100


def test_not_recovered_by_the_end_is_censored() -> None:
    demand = np.full(30, 10.0)
    served = demand.copy()
    served[25:] = 0.0
    out = read(served, demand, demand, 20, tolerance=0.0, hold_days=2)
    assert out["recovery_censored"] == 1
    assert out["time_to_recover"] == 10  # observed to the end: a lower bound
    assert out["resilience_loss"] == pytest.approx(50)


def test_series_are_vectorised_over_leading_dimensions() -> None:
    served, demand = step_outage()
    gap = shortfall(np.stack([served, demand]), demand, demand, demand)
    out = event_resilience(gap, np.stack([demand, demand]), np.array([15, 15]),
                           tolerance=0.0, hold_days=1)
    np.testing.assert_array_equal(out["time_to_recover"], [15, 0])


def test_union_loss_counts_overlapping_windows_once() -> None:
    demand = np.full((1, 20), 10.0)
    gap = np.full((1, 20), 0.5)
    loss = union_loss(gap, demand, np.array([0, 0]), np.array([2, 5]), np.array([6.0, 6.0]))
    assert loss[0] == pytest.approx(9 * 5.0)  # days 2-10, not 12 days


def test_occurrences_group_simultaneous_events_of_one_cause() -> None:
    events = events_array(4)
    events["replicate"] = [0, 0, 0, 1]
    events["cause"] = [0, 0, 1, 0]
    events["start"] = [15, 15, 40, 15]
    events["end"] = [25, 25, 50, 25]
    of_event, series, start = occurrences(events, warmup_days=10, days=100)
    assert of_event[0] == of_event[1] != of_event[2]
    assert sorted(zip(series.tolist(), start.tolist(), strict=True)) == [(0, 5), (0, 30),
                                                                         (1, 5)]



def _same_bits(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        assert got[name].shape == values.shape, name
        assert got[name].tobytes() == values.tobytes(), name


@settings(max_examples=60, deadline=None)
@given(series=st.integers(1, 6), days=st.sampled_from([1, 5, 8, 9, 127, 128, 129, 300, 777]),
       hold=st.integers(1, 12), tolerance=st.sampled_from([0.0, 0.02, 0.3]),
       seed=st.integers(0, 2**32 - 1), with_until=st.booleans())
def test_compiled_resilience_is_the_array_codes_bit_for_bit(
        series: int, days: int, hold: int, tolerance: float, seed: int,
        with_until: bool) -> None:
    """Ties at the tolerance, no event (-1), starts past the end, windows cut short, and rows
    across numpy's pairwise blocks (8, 128): the same bits as the array passes."""
    rng = np.random.default_rng(seed)
    gap = rng.choice([0.0, tolerance, 0.01, 0.5, -0.2], size=(series, days)) * rng.random(
        (series, days)) ** rng.integers(0, 2)  # exact ties at the tolerance, or spread
    demand = rng.gamma(2.0, 5.0, (series, days)) * (rng.random((series, days)) > 0.1)
    start = rng.integers(-1, days + 2, series)
    until = rng.integers(0, days + 3, series) if with_until else None
    for hold_days in (hold, days, days + 1):
        expected = array_resilience.event_resilience(gap, demand, start, tolerance=tolerance,
                                                     hold_days=hold_days, until=until)
        _same_bits(event_resilience(gap, demand, start, tolerance=tolerance,
                                    hold_days=hold_days, until=until), expected)


@settings(max_examples=40, deadline=None)
@given(events=st.integers(0, 60), replicates=st.integers(1, 5), causes=st.integers(1, 4),
       warmup=st.integers(0, 10), seed=st.integers(0, 2**32 - 1))
def test_occurrences_are_the_sorted_distinct_replicate_cause_start_triples(
        events: int, replicates: int, causes: int, warmup: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = events_array(events)
    table["replicate"] = rng.integers(0, replicates, events)
    table["cause"] = rng.integers(0, causes, events)
    table["start"] = rng.integers(0, 50, events)
    table["end"] = table["start"] + rng.integers(0, 10, events)
    days = 30
    triples = [(int(e["replicate"]), int(e["cause"]), max(int(e["start"]) - warmup, 0))
               if e["end"] > warmup and e["start"] - warmup < days else None for e in table]
    distinct = sorted({triple for triple in triples if triple is not None})
    of_event, series, start = occurrences(table, warmup, days)
    assert of_event.tolist() == [-1 if t is None else distinct.index(t) for t in triples]
    assert series.tolist() == [t[0] for t in distinct]
    assert start.tolist() == [t[2] for t in distinct]

def test_measure_per_replicate_and_per_event() -> None:
    served, demand = step_outage()
    events = events_array(2)
    events["replicate"] = [0, 0]
    events["cause"] = [0, 1]
    events["start"], events["end"] = [15, 40], [30, 45]
    run = (np.stack([demand, demand]), np.stack([served, demand]))
    twin = (run[0], run[0])
    per_replicate, per_event = measure(run, twin, events, 0, RecoveryRule(0.0, 1))
    assert per_replicate["time_to_recover"][0] == 15 and np.isnan(
        per_replicate["time_to_recover"][1])
    assert per_replicate["disruption_count"].tolist() == [2, 0]
    np.testing.assert_allclose(per_event["time_to_recover"], [15, 0])  # the second: no fall
    assert per_replicate["resilience_loss"][0] == pytest.approx(500)


def test_a_shortfall_after_a_later_event_is_not_the_earlier_events() -> None:
    """An event the strategy absorbed has TTR 0, even when a later one hits (found on a risk
    register: the first event read the whole year until the later one's shortfall, 333 days)."""
    served, demand = step_outage()  # short on days 20-29
    gap = shortfall(served, demand, demand, demand)
    alone = event_resilience(gap, demand, 5)  # nothing else: the shortfall is its own
    assert (alone["time_to_survive"], alone["short"]) == (15, 1)
    first = event_resilience(gap, demand, 5, until=18)  # a second event starts on day 18
    assert (first["time_to_survive"], first["time_to_recover"]) == (13, 0)
    assert (first["short"], first["resilience_loss"]) == (0, 0)
    long = event_resilience(gap, demand, 5, until=25)  # short before the next one: its own
    assert (long["time_to_survive"], long["time_to_recover"]) == (15, 25)
    events = events_array(2)
    events["replicate"], events["cause"] = [0, 0], [0, 1]
    events["start"], events["end"] = [5, 18], [8, 30]
    run = (demand[None], served[None])
    per_replicate, per_event = measure(run, (demand[None], demand[None]), events, 0,
                                       RecoveryRule())
    assert per_replicate["time_to_recover"][0] == 0 and per_replicate["fell_short"][0] == 0
    np.testing.assert_allclose(per_event["time_to_recover"], [0, 12])
    np.testing.assert_allclose(per_event["time_to_survive"], [13, 2])
    assert per_replicate["resilience_loss"][0] == pytest.approx(500)  # the second's, once


def test_recovery_rule_names_a_bad_key_and_value() -> None:
    with pytest.raises(ConfigError, match="resilience: hold_days = 0"):
        RecoveryRule(hold_days=0)
    with pytest.raises(ConfigError, match=r"resilience: tolerance = 1\.5"):
        as_recovery_rule({"tolerance": 1.5})
    with pytest.raises(ConfigError, match="unknown option"):
        as_recovery_rule({"window": 7})


def test_analytic_survival_time() -> None:
    assert survival_time(600, 100, 20) == pytest.approx(7.5)
    assert survival_time(600, 100) == pytest.approx(6.0)
    assert np.isinf(survival_time(600, 100, 100))


# --------------------------------------------------------------------------------------------
# Bullwhip and KPIs from a constructed trace
# --------------------------------------------------------------------------------------------
def test_bullwhip_of_constructed_order_series() -> None:
    network = sim.Network(
        name="two", nodes=[sim.Node("s", "supplier", "x"), sim.Node("w", "warehouse", "x")],
        lanes=[sim.Lane("l", "s", "w")], demand=[sim.DemandZone("c", "w", mean=10, sd=2)])
    layout = Layout.of(network)
    rng = np.random.default_rng(0)
    days = 500
    trace = Trace(3, days, layout.n_nodes, layout.n_lanes, layout.n_inputs)
    demand = 10 + rng.normal(0, 2, (3, days))
    trace.nodes[:, :, NODE["demand"], 1] = demand
    trace.lanes[:, :, LANE["lane_ordered"], 0] = 3 * demand - 20  # variance x 9
    kpis = replicate_kpis(trace, layout)
    np.testing.assert_allclose(kpis["bullwhip"][:, 0], 9.0, rtol=1e-10)


def test_cvar_of_a_known_sample() -> None:
    values = np.arange(1.0, 101.0)
    assert metrics.cvar(values, 0.95) == pytest.approx(98.0)  # mean of 96..100
    assert metrics.cvar(values, 0.99) == pytest.approx(100.0)
    assert metrics.cvar(values, 0.0) == pytest.approx(50.5)
    data = xr.DataArray(np.stack([values, 2 * values]), dims=("policy", "replicate"))
    np.testing.assert_allclose(metrics.cvar(data, 0.95), [98.0, 196.0])


# --------------------------------------------------------------------------------------------
# Dataset-level metrics
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outage_run(demo: sim.Network) -> xr.Dataset:
    return sim.simulate(demo, record="full", days=80, warmup_days=10, replicates=6, seed=3,
                        engine="batch",
                        disruptions=[sim.NodeOutage("ctrl_a", start_day=20, duration_days=25)])


def test_network_service_equals_the_kpis(outage_run: xr.Dataset) -> None:
    network = metrics.service(outage_run, by="network")
    np.testing.assert_allclose(network.fill_rate, outage_run.fill_rate, rtol=1e-12)
    np.testing.assert_allclose(network.lost_sales, outage_run.lost_sales, rtol=1e-12)
    by_node = metrics.service(outage_run, by="node")
    np.testing.assert_allclose(by_node.fill_rate.sel(node="dc_north"),
                               outage_run.node_fill_rate.sel(node="dc_north"), rtol=1e-12)
    by_region = metrics.service(outage_run, by="region")
    assert set(by_region.region.values) >= {"north", "south"}
    np.testing.assert_allclose(by_region.lost_sales.sum("region"), outage_run.lost_sales)


def test_resilience_by_group_equals_the_kpis_for_the_network(outage_run: xr.Dataset) -> None:
    assert (metrics.disruption_start(outage_run) == 20).all()
    twin = sim.calm_twin(outage_run)
    network = metrics.resilience(outage_run, by="network", twin=twin)
    for name in ("time_to_survive", "time_to_recover", "resilience_loss", "recovery_censored"):
        np.testing.assert_allclose(network[name], outage_run[name], rtol=1e-12)
    by_node = metrics.resilience(outage_run, by="node", twin=twin)
    assert (by_node.time_to_recover.sel(node="dc_north") > 0).all()
    assert by_node.time_to_survive.sel(node="dc_north").min() >= 1  # the DC's stock covers
    assert by_node.time_to_recover.sel(node="plant").isnull().all()  # no end customers


def test_inventory_and_costs(outage_run: xr.Dataset) -> None:
    stock = metrics.inventory(outage_run, by="node")
    dc = stock.sel(node="dc_north")
    outflow = (outage_run.served + outage_run.shipped).sel(node="dc_north").mean("day")
    np.testing.assert_allclose(dc.days_of_cover * outflow,
                               outage_run.stock.sel(node="dc_north").mean("day"))
    np.testing.assert_allclose(dc.turns * dc.days_of_cover, 365.0)
    by_kind = metrics.costs(outage_run)
    np.testing.assert_allclose(by_kind.sum("cost_kind"), outage_run.total_cost, rtol=1e-12)


def test_metrics_say_what_they_need(demo: sim.Network) -> None:
    summary = sim.simulate(demo, days=20, replicates=2, engine="batch")
    with pytest.raises(ConfigError, match="record='full'"):
        metrics.service(summary)
    with pytest.raises(ConfigError, match="by = 'planet'"):
        metrics.service(sim.simulate(demo, days=5, replicates=1, record="full"), by="planet")
    assert metrics.inventory(summary).days_of_cover.dims == ("node",)  # from daily means


def test_footprint_along_a_chain() -> None:
    """Supplier (1/unit) -> lane (0.5) -> maker (3, BOM 2) -> lane (0.2) -> warehouse."""
    network = sim.Network(
        name="chain",
        nodes=[sim.Node("s", "supplier", "ore", production_co2e_kg_per_unit=1.0),
               sim.Node("m", "manufacturer", "part", bom={"ore": 2},
                        production_co2e_kg_per_unit=3.0),
               sim.Node("w", "warehouse", "part")],
        lanes=[sim.Lane("s-m", "s", "m", distance_km=5, co2e_kg_per_unit_km=0.1),
               sim.Lane("m-w", "m", "w", distance_km=2, co2e_kg_per_unit_km=0.1)],
        demand=[sim.DemandZone("c", "w", mean=10, sd=3)])
    ds = sim.simulate(network, days=30, replicates=3, engine="batch", record="kpis")
    np.testing.assert_allclose(metrics.footprint(ds).sel(product="part"),
                               3.0 + 2 * (1.0 + 0.5) + 0.2)


def test_footprint_follows_the_actual_flows(demo: sim.Network) -> None:
    ds = sim.simulate(demo, days=60, replicates=4, engine="batch", record="kpis", seed=1,
                      disruptions=[sim.NodeOutage("motor_b", start_day=0, duration_days=60)])
    per_unit = metrics.footprint(ds).sel(product="widget")
    # with motor_b down all along, every motor comes from motor_a (6 kg + 200 km x 0.0015)
    calm = sim.simulate(demo, days=60, replicates=4, engine="batch", record="kpis", seed=1)
    flows = calm.lane_flow.sel(lane=["motor_a-plant", "motor_b-plant"])
    share_a = flows.sel(lane="motor_a-plant") / flows.sum("lane")
    motor_a, motor_b = 6 + 200 * 0.0015, 4.5 + 700 * 0.0015
    expected_shift = (motor_a - (share_a * motor_a + (1 - share_a) * motor_b)).values
    shift = (per_unit - metrics.footprint(calm).sel(product="widget")).values
    # the plant's output mixes in the motors that arrived; the shift is at most a motor's worth
    assert (shift > 0).all() and (shift <= expected_shift + 1e-9).all()


def test_tail_risk(outage_run: xr.Dataset) -> None:
    risk = metrics.tail_risk(outage_run, ["lost_sales"], level=0.5)
    values = np.sort(outage_run.lost_sales.values)
    assert risk.lost_sales_cvar.item() == pytest.approx(values[-3:].mean())
    assert risk.lost_sales_quantile.sel(quantile=0.5).item() == pytest.approx(
        np.median(values))


# --------------------------------------------------------------------------------------------
# The resilience KPIs measure the event, not the run's length or the noise
# --------------------------------------------------------------------------------------------
def test_recovery_does_not_grow_with_the_horizon(demo: sim.Network) -> None:
    outage = [sim.NodeOutage("ctrl_a", start_day=20, duration_days=30)]
    runs = {days: sim.simulate(demo, days=days, warmup_days=30, replicates=20, seed=1,
                               engine="batch", record="kpis", disruptions=outage)
            for days in (180, 730, 3650)}
    for name in ("time_to_recover", "resilience_loss", "time_to_survive"):
        short = runs[180][name].values
        assert np.isfinite(short).all()
        for days in (730, 3650):
            long = runs[days][name].values
            error = np.sqrt(short.var(ddof=1) / short.size + long.var(ddof=1) / long.size)
            assert abs(long.mean() - short.mean()) <= 4 * error + 1.0, (name, days)
    assert runs[3650].recovery_censored.sum() == 0
    assert (runs[3650].time_to_recover < 120).all()  # not the run's length


def test_a_noise_only_run_reports_no_recovery(demo: sim.Network) -> None:
    ds = sim.simulate(demo, days=120, replicates=5, seed=1, engine="batch", record="kpis")
    for name in ("time_to_survive", "time_to_recover", "resilience_loss", "recovery_censored"):
        assert ds[name].isnull().all()
    assert (ds.disruption_count == 0).all()
    np.testing.assert_array_equal(ds.calm_total_cost, ds.total_cost)  # its own twin
    from analysis.tables import kpi_summary

    assert "time_to_recover" not in kpi_summary(ds).index


def test_every_event_of_a_risk_register_is_read_on_its_own(demo: sim.Network) -> None:
    events = [sim.NodeOutage("ctrl_a", start_day=10, duration_days=10),
              sim.NodeOutage("motor_a", start_day=100, duration_days=20)]
    ds = sim.simulate(demo, days=200, warmup_days=30, replicates=4, seed=2, engine="batch",
                      record="full", disruptions=events)
    assert (ds.disruption_count == 2).all()
    first = ds.event_time_to_recover.where(ds.event_cause == 0, drop=True)
    np.testing.assert_allclose(first, ds.time_to_recover)  # the KPI reads the first event
    assert (first < 90).all()  # recovered before the second event starts, not after it
    per_event = ds.event_resilience_loss.groupby(ds.event_replicate).sum()
    assert (per_event.values >= ds.resilience_loss.values - 1e-6).all()
    without = sim.simulate(demo, days=200, warmup_days=30, replicates=4, seed=2,
                           engine="batch", record="kpis", disruptions=events,
                           resilience={"counterfactual": False})
    assert without.time_to_recover.isnull().all() and without.calm_total_cost.isnull().all()
    np.testing.assert_array_equal(without.total_cost, ds.total_cost)


# --------------------------------------------------------------------------------------------
# The compiled KPI accumulator against its numpy lines
# --------------------------------------------------------------------------------------------
def _assert_kpis_as_the_array_lines(trace: Trace, layout: Layout) -> None:
    from sim.measures.kpis import KpiAccumulator, NodeTotals
    from sim.measures.trace import DayBlock
    from tests.array_recording import array_kpis

    expected, expected_series = array_kpis(trace, layout)
    replicates, days = trace.shape
    accumulator = KpiAccumulator(replicates, days, layout)
    totals = NodeTotals(layout)
    for day in range(days):
        block = trace.day(day)
        block = DayBlock(np.ascontiguousarray(block.nodes), np.ascontiguousarray(block.inputs),
                         np.ascontiguousarray(block.lanes))
        series = accumulator.record(day, block, totals.nodes(block))
        np.testing.assert_array_equal(series, expected_series[day], err_msg=f"day {day}")
    for name, values in expected.items():
        np.testing.assert_array_equal(getattr(accumulator.arrays, name), values, err_msg=name)
    assert accumulator.arrays.counts[0] == days


def _full_trace(network: sim.Network, policy: object, disruptions: tuple, days: int,
                replicates: int, seed: int) -> tuple[Trace, Layout]:
    from sim.compile.plan import plan_policy
    from sim.compile.scenario import Scenario
    from sim.engines.batch import BatchEngine
    from sim.engines.recording import Recording
    from sim.io.presets import as_policy

    plan = plan_policy(as_policy(policy), network)
    scenario = Scenario(plan.network, days=days, warmup_days=5, seed=seed,
                        disruptions=disruptions)
    draws = scenario.draw(replicates)
    recording = Recording("full", draws.replicates, days, plan.layout)
    BatchEngine(plan).run(draws, 5, recording)
    trace = recording.result().trace
    assert trace is not None
    return trace, plan.layout


def test_compiled_kpis_are_the_array_lines_with_every_measure_and_disruption(
        demo: sim.Network) -> None:
    from sim.testing import DEMO_EVERY_MEASURE
    from tests.test_kernels import _every_shipped_disruption

    trace, layout = _full_trace(demo, DEMO_EVERY_MEASURE, _every_shipped_disruption(), 120, 9, 4)
    _assert_kpis_as_the_array_lines(trace, layout)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_compiled_kpis_are_the_array_lines_on_random_networks(data: st.DataObject) -> None:
    from sim.testing.strategies import all_disruptions, networks, policies

    network = data.draw(networks(max_tiers=4, extra_lanes=True))
    days = data.draw(st.integers(2, 30))
    trace, layout = _full_trace(network, data.draw(policies(network)),
                                data.draw(all_disruptions(network, days=days)), days,
                                data.draw(st.integers(1, 5)), data.draw(st.integers(0, 2**32)))
    _assert_kpis_as_the_array_lines(trace, layout)
