"""The batch engine equals the Mesa engine, variable by variable, replicate by replicate.

Any difference beyond rounding (rtol 1e-9, atol 1e-8 for zeros) is a bug in one of the engines.
Also: batch results do not depend on chunk size or worker count, and the summary statistics equal
those computed from full traces.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.compile.effects import (
    KINDS,
    RAMP_EXPONENTIAL,
    RAMP_LINEAR,
    EffectSchedule,
    effect_factors,
    events_array,
    schedules,
)
from sim.compile.plan import plan_policy
from sim.engines.recording import QUANTILES
from sim.testing import assert_conserved as check_conservation
from sim.testing import assert_datasets_close, assert_engines_agree
from sim.testing.strategies import all_disruptions, disruptions, networks, policies


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engines_agree_on_random_networks(data: st.DataObject) -> None:
    network = data.draw(networks(max_tiers=6, max_lead=30))
    days = data.draw(st.integers(5, 45))
    shocks = data.draw(disruptions(network, days=days))
    _, batch = assert_engines_agree(network, days=days,
                                    warmup_days=data.draw(st.integers(0, 10)),
                                    replicates=data.draw(st.integers(1, 3)),
                                    seed=data.draw(st.integers(0, 2**32)), disruptions=shocks)
    check_conservation(batch, network)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engines_agree_with_every_disruption_and_policy(data: st.DataObject) -> None:
    """Random networks with backup and expedite lanes, every disruption kind, every measure."""
    network = data.draw(networks(max_tiers=5, max_lead=12, extra_lanes=True))
    days = data.draw(st.integers(10, 40))
    shocks = data.draw(all_disruptions(network, days=days))
    policy = data.draw(policies(network))
    _, batch = assert_engines_agree(network, days=days,
                                    warmup_days=data.draw(st.integers(0, 8)),
                                    replicates=data.draw(st.integers(1, 3)),
                                    seed=data.draw(st.integers(0, 2**32)), disruptions=shocks,
                                    policy=policy)
    check_conservation(batch, plan_policy(policy, network).network)


@pytest.mark.parametrize("unmet", ["lost", "backorder"])
def test_engines_agree_on_the_demo_under_every_disruption(demo: sim.Network, unmet: str) -> None:
    shocks = [sim.NodeOutage("ctrl_a", 20, 30), sim.NodeOutage("plant", 60, 5, severity=0.5),
              sim.NodeOutage("dc_north", 70, 3), sim.RandomOutages(mttf_days=40, mttr_days=6)]
    assert_engines_agree(demo.replace(unmet_demand=unmet), days=120, warmup_days=15,
                         replicates=3, seed=11, disruptions=shocks)


@pytest.mark.parametrize("chain", ["01", "08", "17", "22"])
def test_engines_agree_on_willems_chains(chain: str) -> None:
    network = sim.load_network(f"example:willems-2008/chain-{chain}.csv")
    shocks = [sim.RandomOutages(mttf_days=50, mttr_days=8, node_kind="supplier")]
    for unmet in ("lost", "backorder"):
        assert_engines_agree(network.replace(unmet_demand=unmet), days=60, replicates=2, seed=3,
                             disruptions=shocks)


def everything_on(network: sim.Network) -> tuple[list, sim.Policy]:
    """Every disruption kind and every measure at once, on any network."""
    serving = sorted({z.node for z in network.demand})
    maker = next(n for n in network.nodes if n.bom)
    first_lane, region = network.lanes[0], network.nodes[0].region
    zone_region = network.node(network.demand[0].node).region
    shocks = [
        sim.RandomOutages(mttf_days=40, mttr_days=5, node_kind="supplier"),
        sim.CorrelatedOutages(region=region, rate_per_year=12, hit_probability=0.5,
                              duration={"law": "lognormal", "mean_days": 4, "sd_days": 2}),
        sim.RegionalEvent(region, start_day=15, duration_days=6, severity=0.5,
                          lead_time_factor=1.5, demand_factor=0.8, ramp_days=3),
        sim.LaneDisruption(mode=first_lane.mode, start_day=5, duration_days=8, closure=0.0,
                           lead_time_factor=2.0),
        sim.DemandShock(region=zone_region, start_day=25, duration_days=5, factor=1.5,
                        ramp_days=2, ramp="exponential"),
        sim.spec.disruptions.disruption_from_mapping({
            "kind": "node_outage", "node": maker.id, "start_day": 10, "duration_days": 10,
            "severity": 0.7, "triggers": [{"disruption": {
                "kind": "lane_disruption", "lane": first_lane.id, "duration_days": 5,
                "closure": 1.0}, "probability": 0.8, "delay_days": 2}]}),
    ]
    policy = sim.spec.policy.policy_from_mapping({
        "inventory": {"rule": "base_stock", "safety_factor": 1.2,
                      "by_kind": {"supplier": {"safety_factor": 0.5}}},
        "sourcing": {"dynamic": True, "detection_delay_days": 2,
                     "backup": {"activation_lag_days": 2, "premium_per_unit": 1.0,
                                "reservation_fee_per_day": 3.0, "public_share": 0.5}},
        "forecast": {"method": "exp_smoothing", "alpha": 0.3, "signal": "pos",
                     "info_delay_days": 1, "vmi": serving[:1]},
        "expedite": {"enabled": True},
        "pooling": {"groups": [serving[:2]]} if len(serving) >= 2 else {},
        "reserves": [{"node": serving[0], "units": 100, "threshold": 0.9,
                      "release_per_day": 20}],
        "shared_warehouses": [{"id": "cluster_store", "members": [maker.id],
                               "item": maker.bom[0][0], "units": 200, "fee_per_day": 5}],
        "early_warning": {"notice_days": 3, "fee_per_notice_day": 2.0, "public_share": 1.0},
        "green": {"prefer_low_emission": 0.5},
    })
    return shocks, policy


@pytest.mark.parametrize("chain", ["01", "08", "17", "22"])
def test_engines_agree_on_willems_chains_with_everything_on(chain: str) -> None:
    network = sim.load_network(f"example:willems-2008/chain-{chain}.csv")
    shocks, policy = everything_on(network)
    _, batch = assert_engines_agree(network, days=40, warmup_days=5, replicates=2, seed=9,
                                    disruptions=shocks, policy=policy)
    check_conservation(batch, plan_policy(policy, network).network)


def test_engines_agree_on_the_demo_with_everything_on(demo: sim.Network) -> None:
    shocks, policy = everything_on(demo)
    _, batch = assert_engines_agree(demo, days=60, warmup_days=10, replicates=3, seed=4,
                                    disruptions=shocks, policy=policy)
    check_conservation(batch, plan_policy(policy, demo).network)
    for kpi in ("transferred_units", "reserve_released_units", "backup_units"):
        assert float(batch[kpi].sum()) > 0, kpi  # the measures did act


def test_engines_agree_on_the_largest_willems_chain() -> None:
    network = sim.load_network("example:willems-2008/chain-38.csv")
    shocks = [sim.RandomOutages(mttf_days=5, mttr_days=2, node_kind="manufacturer")]
    assert_engines_agree(network, days=4, replicates=1, seed=5, disruptions=shocks)


def test_one_replicate_chunks_keep_the_bits_of_sums_over_days(demo: sim.Network) -> None:
    """A moving average at one node, and lanes late past their horizon, summed day by day.

    With one node and one replicate a chunk's (slot, node, replicate) history is a line, and
    numpy's ``sum(axis=0)`` added it pairwise: other bits than in a chunk of several replicates.
    """
    policy = {"forecast": {"method": "moving_average", "window_days": 20, "nodes": ["dc_north"]},
              "sourcing": {"dynamic": True, "backup": {"activation_lag_days": 2}}}
    kwargs = {"days": 60, "replicates": 3, "seed": 4, "engine": "batch", "record": "full",
              "policy": policy, "disruptions": [sim.RandomOutages(mttf_days=10, mttr_days=5)]}
    reference = sim.simulate(demo, chunk_size=3, **kwargs)
    one_by_one = sim.simulate(demo, chunk_size=1, **kwargs)
    xr.testing.assert_identical(one_by_one.drop_attrs(), reference.drop_attrs())


def test_summary_and_kpis_agree_between_engines(demo: sim.Network) -> None:
    kwargs = {"days": 60, "replicates": 4, "seed": 2,
              "disruptions": [sim.NodeOutage("ctrl_b", 5, 20)]}
    mesa = sim.simulate(demo, engine="mesa", **kwargs)
    batch = sim.simulate(demo, engine="batch", **kwargs)
    assert_datasets_close(batch, mesa)


def test_results_do_not_depend_on_chunks_or_workers(demo: sim.Network) -> None:
    kwargs = {"days": 40, "replicates": 9, "seed": 5, "engine": "batch",
              "disruptions": [sim.RandomOutages(mttf_days=15, mttr_days=4)]}
    reference = sim.simulate(demo, record="full", chunk_size=9, **kwargs)
    for chunk_size, workers in [(1, 1), (4, 1), (2, 2)]:
        other = sim.simulate(demo, record="full", chunk_size=chunk_size, workers=workers, **kwargs)
        xr.testing.assert_identical(other.drop_attrs(), reference.drop_attrs())
    summaries = [sim.simulate(demo, chunk_size=c, workers=w, **kwargs)
                 for c, w in [(9, 1), (2, 1), (4, 2)]]
    for other in summaries[1:]:
        for name in other.data_vars:
            if {"replicate", "quantile", "event"} & set(other[name].dims):
                np.testing.assert_array_equal(other[name].values, summaries[0][name].values,
                                              err_msg=name)  # per replicate: the same bits
            else:  # means over replicates: chunks are summed in another grouping
                np.testing.assert_allclose(other[name].values, summaries[0][name].values,
                                           rtol=1e-12, atol=1e-12, err_msg=name)


def test_summary_statistics_equal_those_of_full_traces(demo: sim.Network) -> None:
    kwargs = {"days": 50, "replicates": 7, "seed": 9, "engine": "batch", "chunk_size": 3,
              "disruptions": [sim.NodeOutage("motor_a", 10, 15)]}
    full = sim.simulate(demo, record="full", **kwargs)
    summary = sim.simulate(demo, record="summary", quantile_replicates=5, **kwargs)
    for name in sim.measures.trace.NODE_VARS:
        np.testing.assert_allclose(summary[name], full[name].mean("replicate"), rtol=1e-10,
                                   atol=1e-10, err_msg=name)
        np.testing.assert_allclose(summary[f"{name}_sd"], full[name].std("replicate", ddof=1),
                                   rtol=1e-6, atol=1e-6, err_msg=name)
    for name in sim.measures.kpis.NETWORK_SERIES:
        np.testing.assert_allclose(summary[f"{name}_mean"], full[name].mean("replicate"),
                                   rtol=1e-10, atol=1e-12)
        first = full[name].isel(replicate=slice(0, 5)).values
        np.testing.assert_array_equal(summary[name].values,
                                      np.quantile(first, QUANTILES, axis=0))
    for name in sim.measures.kpis.KPI_VARS:
        np.testing.assert_array_equal(summary[name].values, full[name].values)
    for name in sim.measures.kpis.KPI_ARRAYS:
        np.testing.assert_array_equal(summary[name].values, full[name].values)
    assert summary.sizes == {"replicate": 7, "node": 12, "lane": 15, "input": 9, "day": 50,
                             "quantile": len(QUANTILES), "tier": 3, "event": 5}


def _random_events(data: st.DataObject, most: int = 12) -> np.ndarray:
    """Events of every kind on 4 targets x 3 replicates: overlapping, ramped, zero-length ramps."""
    count = data.draw(st.integers(0, most))
    events = events_array(count)
    events["kind"] = [data.draw(st.sampled_from(list(KINDS.values()))) for _ in range(count)]
    events["start"] = [data.draw(st.integers(0, 30)) for _ in range(count)]
    events["end"] = events["start"] + [data.draw(st.integers(1, 10)) for _ in range(count)]
    events["ramp_days"] = [data.draw(st.integers(0, 6)) for _ in range(count)]
    events["ramp_kind"] = [data.draw(st.sampled_from([RAMP_LINEAR, RAMP_EXPONENTIAL]))
                           for _ in range(count)]
    events["replicate"] = [data.draw(st.integers(0, 2)) for _ in range(count)]
    events["target"] = [data.draw(st.integers(0, 3)) for _ in range(count)]
    events["severity"] = [data.draw(st.sampled_from([1.0, 0.5, 2.0, 0.3])) for _ in range(count)]
    return events


def _shifted(events: np.ndarray, shift: int) -> np.ndarray:
    shifted = events.copy()
    shifted["start"] += shift
    shifted["end"] += shift
    return shifted


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_effect_schedule_matches_the_reference(data: st.DataObject) -> None:
    events = _random_events(data)
    shift = data.draw(st.integers(-3, 3))
    days = sorted(data.draw(st.sets(st.integers(0, 50), min_size=1)))  # with days skipped
    for kind in KINDS.values():
        schedule = EffectSchedule(events, kind, 4, 3, shift=shift)
        for day in days:
            before = (schedule.version, schedule.factors.copy())
            np.testing.assert_array_equal(schedule.at(day),
                                          effect_factors(_shifted(events, shift), day, kind,
                                                         4, 3))
            if schedule.version == before[0]:  # an unchanged version means unchanged factors
                np.testing.assert_array_equal(schedule.factors, before[1])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_schedules_moving_together_each_match_the_reference(data: st.DataObject) -> None:
    """One call a day moves them all: asked in any order, or some not at all on a day."""
    parts = [(_random_events(data, most=20), kind, 4, data.draw(st.integers(-3, 3)))
             for kind in data.draw(st.lists(st.sampled_from(list(KINDS.values())), min_size=1,
                                            max_size=4))]
    together = schedules(parts, 3)
    days = sorted(data.draw(st.sets(st.integers(0, 50), min_size=1)))
    for day in days:
        asked = data.draw(st.permutations(range(len(parts))))
        asked = asked[:data.draw(st.integers(1, len(parts)))]
        last = asked[0]
        for i in asked:
            events, kind, targets, shift = parts[i]
            before = (together[i].version, together[i].factors.copy())
            np.testing.assert_array_equal(
                together[i].at(day), effect_factors(_shifted(events, shift), day, kind,
                                                    targets, 3))
            if together[i].version == before[0]:
                np.testing.assert_array_equal(together[i].factors, before[1])
    with pytest.raises(ValueError, match="days must increase"):
        together[last].at(days[-1])

def test_a_schedule_of_events_all_before_its_first_day_is_calm() -> None:
    """Shifted wholly before day 0 (an event known 3 days early that ended by then)."""
    events = events_array(1)
    events["start"], events["end"], events["severity"] = 0, 1, 1.0
    schedule = EffectSchedule(events, KINDS["node_capacity"], 4, 3, shift=-3)
    for day in (0, 1, 5):
        np.testing.assert_array_equal(schedule.at(day), np.ones((4, 3)))
