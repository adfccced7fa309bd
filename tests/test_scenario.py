"""Scenario draws: seeding per replicate, demand laws, outage events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sim
from sim.compile.effects import NODE_CAPACITY
from sim.compile.events import node_capacity_factor
from sim.compile.layout import Layout
from sim.compile.scenario import ReplicateStreams, Scenario
from sim.compile.streams import SeededWords, stream_words
from sim.spec.errors import ConfigError
from tests.conftest import single_stage


def test_replicate_draws_do_not_depend_on_how_many_or_which(demo: sim.Network) -> None:
    scenario = Scenario(demo, days=40, warmup_days=5, seed=7,
                        disruptions=[sim.RandomOutages(mttf_days=20, mttr_days=5)])
    all_ten = scenario.draw(10)
    some = scenario.draw([7, 3])
    np.testing.assert_array_equal(some.demand[0], all_ten.demand[7])
    np.testing.assert_array_equal(some.demand[1], all_ten.demand[3])
    one = scenario.draw([7]).events
    ref = all_ten.replicate(7).events
    np.testing.assert_array_equal(one, ref)



def test_calm_draws_are_the_draws_with_every_disruption_muted(demo: sim.Network) -> None:
    # overlapping shocks (random ones on top of a scripted one, a ramp) share cells
    shocks = [sim.DemandShock(start_day=5, duration_days=5, factor=1.6, ramp_days=2),
              sim.DemandShock(zone="north_city", rate_per_year=30, duration_days=2, factor=0.5),
              sim.RandomOutages(mttf_days=20, mttr_days=5)]
    scenario = Scenario(demo, days=100, warmup_days=5, seed=3, disruptions=shocks)
    draws = scenario.draw(12)
    muted = Scenario(demo, days=100, warmup_days=5, seed=3, disruptions=shocks,
                     muted=(0, 1, 2)).draw(12)
    assert draws.unshocked is not None  # few cells: kept
    assert (draws.demand != muted.demand).any()  # the shocks act
    calm = draws.calm()
    np.testing.assert_array_equal(calm.demand, muted.demand)
    assert calm.events.size == 0 and calm.cause_kinds == muted.cause_kinds
    assert (draws.demand != muted.demand).any()  # the draws themselves keep their shocks
    for position in (0, 7):
        np.testing.assert_array_equal(draws.replicate(position).calm().demand,
                                      muted.demand[position:position + 1])


def test_shocks_over_most_of_the_demand_are_not_kept_and_the_twin_draws_again(
        demo: sim.Network) -> None:
    """Keeping every cell before its shock would take twice the demand's memory: not kept,
    and the run's twin draws the muted scenario instead, to the same calm KPIs."""
    surge = sim.DemandShock(start_day=0, duration_days=40, factor=1.5)  # every zone, every day
    scenario = Scenario(demo, days=40, seed=5, disruptions=[surge])
    draws = scenario.draw(3)
    assert draws.unshocked is None and draws.calm() is None
    assert draws.replicate(1).calm() is None
    brief = Scenario(demo, days=40, seed=5, disruptions=[
        sim.DemandShock(start_day=0, duration_days=2, factor=1.5)]).draw(3)
    assert brief.unshocked is not None and brief.unshocked.size == 3 * 2 * demo_zones(demo)
    kept, redrawn = (sim.simulate(demo, days=40, replicates=3, seed=5, engine="batch",
                                  disruptions=[shock]) for shock in (
        sim.DemandShock(start_day=0, duration_days=2, factor=1.5), surge))
    for run in (kept, redrawn):  # the calm twin is the run without the shock in both cases
        calm = sim.simulate(demo, days=40, replicates=3, seed=5, engine="batch")
        np.testing.assert_array_equal(run["calm_fill_rate"].values, calm["fill_rate"].values)


def demo_zones(network: sim.Network) -> int:
    return len(network.demand)

def test_streams_follow_seedsequence_spawn(demo: sim.Network) -> None:
    scenario = Scenario(demo, days=10, seed=123)
    child = np.random.SeedSequence(123).spawn(5)[3]
    assert scenario.seed_sequence(3, 0).entropy == child.entropy
    assert scenario.seed_sequence(3, 0).spawn_key == (*child.spawn_key, 0)


@settings(max_examples=100, deadline=None)
@given(seed=st.one_of(st.integers(0, 2**32), st.integers(0, 2**200)),
       replicates=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5),
       stream=st.integers(0, 40))
def test_streams_hashed_at_once_are_numpys_seedsequence_streams(
        seed: int, replicates: list[int], stream: int) -> None:
    """The shortcut of sim.compile.streams gives the generators numpy's seeding gives."""
    scenario = Scenario(single_stage(), days=5, seed=seed)
    streams = ReplicateStreams(scenario, np.asarray(replicates), stream)
    for position, replicate in enumerate(replicates):
        expected = np.random.default_rng(scenario.seed_sequence(replicate, stream))
        assert streams[position].bit_generator.state == expected.bit_generator.state
    assert streams[-1].random() == np.random.default_rng(
        scenario.seed_sequence(replicates[-1], stream)).random()


def test_streams_beyond_32_bits_fall_back_to_numpys_seeding() -> None:
    scenario = Scenario(single_stage(), days=5, seed=3)
    assert stream_words(3, np.array([2**32]), 1) is None
    streams = ReplicateStreams(scenario, np.array([5, 2**32 + 1]), 1)
    expected = np.random.default_rng(scenario.seed_sequence(2**32 + 1, 1))
    assert streams[1].bit_generator.state == expected.bit_generator.state


def test_precomputed_words_serve_only_pcg64() -> None:
    words = stream_words(1, np.array([0]), 0)
    assert words is not None
    with pytest.raises(ValueError, match="PCG64"):
        SeededWords(words[0]).generate_state(2, np.uint32)


def test_different_seeds_differ(demo: sim.Network) -> None:
    a = Scenario(demo, days=20, seed=1).draw(2).demand
    b = Scenario(demo, days=20, seed=2).draw(2).demand
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


def _zone_net(law: str, mean: float, sd: float) -> sim.Network:
    return sim.Network(
        name="z", nodes=[sim.Node("s", "supplier", "x"), sim.Node("w", "warehouse", "x")],
        lanes=[sim.Lane("l", "s", "w")],
        demand=[sim.DemandZone("z", "w", mean=mean, sd=sd if law != "poisson" else 0, law=law)])


@pytest.mark.parametrize("law,mean,sd", [("normal", 50, 10), ("poisson", 12, 0), ("gamma", 8, 6),
                                         ("lognormal", 30, 15)])
def test_demand_laws_have_their_mean_and_sd(law: str, mean: float, sd: float) -> None:
    days = 40_000
    draws = Scenario(_zone_net(law, mean, sd), days=days, seed=11).draw(1).demand[0, :, 0]
    assert draws.min() >= 0
    expected_sd = np.sqrt(mean) if law == "poisson" else sd
    # 4 standard errors of the mean; the sd within 3 %.
    assert abs(draws.mean() - mean) < 4 * expected_sd / np.sqrt(days)
    assert draws.std() == pytest.approx(expected_sd, rel=0.03)
    if law == "poisson":
        assert np.all(draws == np.round(draws))


def test_constant_demand_when_sd_is_zero() -> None:
    draws = Scenario(_zone_net("gamma", 5, 0), days=30, seed=0).draw(2).demand
    assert np.all(draws == 5)


def test_normal_is_censored_at_zero() -> None:
    draws = Scenario(_zone_net("normal", 1, 5), days=5000, seed=0).draw(1).demand
    assert draws.min() == 0 and (draws == 0).mean() == pytest.approx(stats.norm.cdf(-0.2), abs=0.03)


def test_scripted_outage_events(demo: sim.Network) -> None:
    outage = sim.NodeOutage("ctrl_a", start_day=10, duration_days=5, severity=0.6)
    draws = Scenario(demo, days=30, warmup_days=4, disruptions=[outage]).draw(3)
    assert len(draws.events) == 3
    ctrl_a = demo.node_index["ctrl_a"]
    assert set(draws.events["target"]) == {ctrl_a}
    assert set(draws.events["start"]) == {14} and set(draws.events["end"]) == {19}
    factor = np.stack([draws.node_capacity_factor(t, len(demo.nodes)) for t in range(34)])
    expected = np.ones((34, 3, len(demo.nodes)))
    expected[14:19, :, ctrl_a] = 0.4
    np.testing.assert_array_equal(factor, expected)


def test_outage_past_the_horizon_acts_to_the_end(demo: sim.Network) -> None:
    outage = sim.NodeOutage("plant", start_day=8, duration_days=50)
    late = sim.NodeOutage("plant", start_day=12, duration_days=5)
    draws = Scenario(demo, days=10, disruptions=[outage, late]).draw(1)
    assert draws.events["start"].tolist() == [8]  # events starting after the run are dropped
    plant = demo.node_index["plant"]
    assert [draws.node_capacity_factor(t, 11)[0, plant] for t in (7, 8, 9)] == [1.0, 0.0, 0.0]


def test_overlapping_events_take_the_worst() -> None:
    events = np.zeros(2, dtype=sim.compile.effects.EVENT_DTYPE)
    events["kind"] = NODE_CAPACITY
    events["target"] = 1
    events["start"] = [0, 3]
    events["end"] = [5, 8]
    events["severity"] = [0.5, 0.8]
    assert node_capacity_factor(events, 4, 1, 2)[0].tolist() == [1.0, pytest.approx(0.2)]
    assert node_capacity_factor(events, 6, 1, 2)[0].tolist() == [1.0, pytest.approx(0.2)]
    assert node_capacity_factor(events, 2, 1, 2)[0].tolist() == [1.0, 0.5]


def test_random_outages_match_mttf_and_mttr() -> None:
    net = single_stage()
    mttf, mttr, days = 40.0, 8.0, 20_000
    spec = sim.RandomOutages(mttf_days=mttf, mttr_days=mttr, nodes=("source",))
    events = Scenario(net, days=days, disruptions=[spec], seed=5).draw(1).events
    durations = events["end"] - events["start"]
    inner = durations[(events["start"] > 0) & (events["end"] < days)]  # not clipped
    assert inner.mean() == pytest.approx(mttr, rel=0.1)
    ups = events["start"][1:] - events["end"][:-1]
    assert ups.mean() == pytest.approx(mttf, rel=0.1)
    down_share = durations.sum() / days
    assert down_share == pytest.approx(mttr / (mttf + mttr), abs=0.02)
    assert set(events["target"]) == {Layout.of(net).network.node_index["source"]}


def test_random_outages_select_by_kind(demo: sim.Network) -> None:
    spec = sim.RandomOutages(mttf_days=5, mttr_days=2, node_kind="supplier")
    events = Scenario(demo, days=200, disruptions=[spec]).draw(1).events
    kinds = {demo.nodes[t].kind for t in events["target"]}
    assert kinds == {"supplier"}


@pytest.mark.parametrize("spec,fragment", [
    (lambda: sim.NodeOutage("nowhere", 1, 2), "node = 'nowhere': not a node of network 'demo'"),
    (lambda: sim.NodeOutage("plant", 1, 0), "duration_days = 0"),
    (lambda: sim.NodeOutage("plant", -50, 2), "starts before the simulation"),
    (lambda: sim.NodeOutage("plant", 1, 2, severity=1.5), "severity = 1.5"),
    (lambda: sim.RandomOutages(mttf_days=0.5, mttr_days=3), "mttf_days = 0.5"),
    (lambda: sim.RandomOutages(mttf_days=5, mttr_days=3, node_kind="port"), "node_kind = 'port'"),
    (lambda: sim.RandomOutages(5, 3, nodes=("ghost",)), "nodes = 'ghost'"),
    (lambda: {"kind": "meteor", "node": "plant"}, "kind = 'meteor'"),
    (lambda: {"kind": "node_outage", "node": "plant", "start": 3}, "start = 3: unknown field"),
    (lambda: {"kind": "node_outage", "node": "plant"}, "give duration_days or a duration law"),
    (lambda: {"kind": "node_outage", "node": "plant", "duration_days": 3},
     "give either start_day (scripted) or rate_per_year"),
])
def test_bad_disruptions_are_refused(demo: sim.Network, spec, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Scenario(demo, days=10, warmup_days=5, disruptions=[spec()])
    assert fragment in str(info.value)


@pytest.mark.parametrize("key,value", [("days", 0), ("warmup_days", -1), ("seed", -3),
                                       ("seed", 1.5)])
def test_bad_run_settings(demo: sim.Network, key: str, value) -> None:
    kwargs = {"days": 10, key: value}
    with pytest.raises(ConfigError, match=f"{key} = {value}"):
        Scenario(demo, **kwargs)


def _spell_by_spell(spec: sim.RandomOutages, rngs, targets: np.ndarray,
                    horizon: int) -> list[tuple[int, int, int, int]]:
    """(replicate, start, end, node) of each outage, found spell by spell as the chain runs."""
    p_down = spec.mttr_days / (spec.mttf_days + spec.mttr_days)
    rows = []
    for position, rng in enumerate(rngs):
        m = targets.size
        down = rng.random(m) < p_down
        clock = np.zeros(m, dtype=np.int64)
        while m and (clock < horizon).any():
            spell = np.where(down, rng.geometric(1 / spec.mttr_days, m),
                             rng.geometric(1 / spec.mttf_days, m))
            for i in np.flatnonzero(down & (clock < horizon)):
                rows.append((position, int(clock[i]), int(min(clock[i] + spell[i], horizon)),
                             int(targets[i])))
            clock = clock + spell
            down = ~down
    return rows


@settings(max_examples=30, deadline=None)
@given(mttf=st.floats(1.5, 80), mttr=st.floats(1.0, 30), horizon=st.integers(1, 200),
       replicates=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_random_outages_are_the_spells_of_each_replicates_chain(
        demo: sim.Network, mttf: float, mttr: float, horizon: int, replicates: int,
        seed: int) -> None:
    """The outage rows, in order, are those a spell-by-spell walk of the same draws finds."""
    from sim.compile.events import sample

    spec = sim.RandomOutages(mttf_days=mttf, mttr_days=mttr)
    layout = Layout.of(demo)
    scenario = Scenario(demo, days=horizon, warmup_days=0, seed=seed, disruptions=[spec])
    reps = np.arange(replicates)
    events = sample(spec, ReplicateStreams(scenario, reps, 1), layout, horizon, 0)
    expected = _spell_by_spell(spec, ReplicateStreams(scenario, reps, 1),
                               np.arange(layout.n_nodes), horizon)
    got = list(zip(events["replicate"].tolist(), events["start"].tolist(),
                   events["end"].tolist(), events["target"].tolist(), strict=True))
    assert got == expected
    assert (events["kind"] == NODE_CAPACITY).all()


def _occurrence_by_occurrence(spec, rngs, warmup: int, days: int) -> list[tuple[int, int, int]]:
    """(replicate, start, end) of a spec's occurrences and its triggered ones, drawn one
    replicate at a time in the stream's order: count, start days (sorted), durations, then per
    trigger whether it follows each occurrence and how long it lasts."""
    def lengths(timed, rng, size):
        if timed.duration_days is not None:
            return np.full(size, timed.duration_days)
        return timed.duration.sample(rng, size)

    parents, children = [], [[] for _ in spec.triggers]
    for position, rng in enumerate(rngs):
        if spec.start_day is not None:
            starts = np.array([spec.start_day + warmup])
        else:
            count = int(rng.poisson(spec.rate * days / 365))
            starts = np.sort(rng.integers(0, days, count)) + warmup
        ends = starts + lengths(spec, rng, starts.size)
        parents += [(position, int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
        for t, trigger in enumerate(spec.triggers):
            follows = starts[rng.random(starts.size) < trigger.probability] + trigger.delay_days
            child_ends = follows + lengths(trigger.disruption, rng, follows.size)
            children[t] += [(position, int(a), int(b))
                            for a, b in zip(follows, child_ends, strict=True)]
    return parents + [row for rows in children for row in rows]


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.0, 60.0), scripted=st.booleans(),
       law=st.sampled_from(["fixed", "exponential", "lognormal", "empirical", None]),
       child_law=st.sampled_from(["exponential", "empirical", None]),
       probability=st.floats(0.0, 1.0), days=st.integers(1, 120), warmup=st.integers(0, 9),
       replicates=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_event_windows_are_each_replicates_draws_in_stream_order(
        demo: sim.Network, rate: float, scripted: bool, law: str | None, child_law: str | None,
        probability: float, days: int, warmup: int, replicates: int, seed: int) -> None:
    """Occurrences drawn for a chunk at once are those drawn replicate by replicate."""
    from sim.compile.events import sample

    def timing(chosen: str | None) -> dict:
        if chosen is None:
            return {"duration_days": 4}
        return {"duration": {"law": chosen, "mean_days": 6, "sd_days": 3, "values": [2, 5, 9]}
                if chosen == "empirical" else {"law": chosen, "mean_days": 6, "sd_days": 3}}

    child = {"kind": "node_outage", "node": "@slowest", **timing(child_law)}
    when = {"start_day": 2} if scripted else {"rate_per_year": rate}
    spec = sim.io.risk_register.disruptions_from_config([{
        "kind": "node_outage", "node": "@critical", **when, **timing(law),
        "triggers": [{"disruption": child, "probability": probability, "delay_days": 3}]}])[0]
    layout = Layout.of(demo)
    scenario = Scenario(demo, days=days, warmup_days=warmup, seed=seed, disruptions=[spec])
    reps = np.arange(replicates)
    events = sample(spec, ReplicateStreams(scenario, reps, 1), layout, warmup + days, warmup)
    expected = [row for row in _occurrence_by_occurrence(
        spec, ReplicateStreams(scenario, reps, 1), warmup, days) if row[1] < warmup + days]
    got = list(zip(events["replicate"].tolist(), events["start"].tolist(),
                   events["end"].tolist(), strict=True))
    assert got == expected
