"""Each disruption kind acts on its named targets only, in its named window only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim.compile.effects import (
    DEMAND,
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    effect_factors,
    knowledge_events,
)
from sim.compile.scenario import Scenario
from sim.io.risk_register import disruptions_from_config
from sim.spec.disruptions import disruption_from_mapping
from sim.spec.errors import ConfigError
from tests.conftest import single_stage


def factors(network: sim.Network, spec, kind: int, days: int, warmup: int = 0) -> np.ndarray:
    """(day, target) factors of one replicate."""
    draws = Scenario(network, days=days, warmup_days=warmup, disruptions=[spec], seed=1).draw(1)
    size = {NODE_CAPACITY: len(network.nodes), LANE_CAPACITY: len(network.lanes),
            LANE_LEAD: len(network.lanes), DEMAND: len(network.demand)}[kind]
    return np.stack([effect_factors(draws.events, t, kind, size, 1)[:, 0]
                     for t in range(days + warmup)])


def test_partial_outage_with_linear_recovery(demo: sim.Network) -> None:
    spec = sim.NodeOutage("plant", start_day=10, duration_days=5, severity=0.6, ramp_days=4)
    f = factors(demo, spec, NODE_CAPACITY, 30)
    plant = demo.node_index["plant"]
    np.testing.assert_allclose(f[:, plant], [1.0] * 10 + [0.4] * 5
                               + [1 - 0.6 * w for w in (4 / 5, 3 / 5, 2 / 5, 1 / 5)]
                               + [1.0] * 11)
    assert (np.delete(f, plant, axis=1) == 1).all()  # nowhere else


def test_exponential_recovery_fades_to_five_percent(demo: sim.Network) -> None:
    spec = sim.NodeOutage("motor_a", start_day=2, duration_days=3, ramp_days=5,
                          ramp="exponential")
    f = factors(demo, spec, NODE_CAPACITY, 15)[:, demo.node_index["motor_a"]]
    loss = 1 - f
    np.testing.assert_allclose(loss[5:10], 0.05 ** (np.arange(1, 6) / 5))
    assert loss[10] == 0 and (loss[2:5] == 1).all() and (loss[:2] == 0).all()


def test_the_engine_runs_at_the_scheduled_capacity(demo: sim.Network) -> None:
    spec = sim.NodeOutage("plant", start_day=10, duration_days=5, severity=0.6, ramp_days=4)
    ds = sim.simulate(demo, days=30, engine="batch", record="full", disruptions=[spec])
    np.testing.assert_allclose(ds.capacity_factor.sel(node="plant", replicate=0),
                               factors(demo, spec, NODE_CAPACITY, 30)[:, demo.node_index["plant"]])
    assert float(ds.production.sel(node="plant", day=slice(10, 14)).max()) <= 0.4 * 130 + 1e-9


@pytest.mark.parametrize("select,expected", [
    ({"lane": "ctrl_a-plant"}, {"ctrl_a-plant"}),
    ({"mode": "rail"}, {"steel-housing_b", "chip-ctrl_b", "housing_b-plant", "plant-dc_south"}),
    ({"carrier": "ocean_line"}, {"ctrl_a-plant"}),
    ({"region": "overseas"}, {"chip-ctrl_a", "chip-ctrl_b", "ctrl_a-plant", "ctrl_a-plant-air"}),
])
def test_lane_disruptions_hit_the_selected_lanes(demo: sim.Network, select: dict,
                                                 expected: set) -> None:
    spec = sim.LaneDisruption(start_day=5, duration_days=3, closure=1.0, lead_time_factor=2.0,
                              **select)
    for kind, value in ((LANE_CAPACITY, 0.0), (LANE_LEAD, 2.0)):
        f = factors(demo, spec, kind, 12)
        hit = {demo.lanes[j].id for j in np.flatnonzero((f != 1).any(axis=0))}
        assert hit == expected
        for lane in expected:
            column = f[:, demo.lane_index[lane]]
            assert (column[5:8] == value).all() and (np.delete(column, [5, 6, 7]) == 1).all()


def test_a_closed_lane_ships_nothing_and_catches_up_after(demo: sim.Network) -> None:
    spec = sim.LaneDisruption("plant-dc_north", start_day=10, duration_days=6)
    ds = sim.simulate(demo, days=40, record="full", disruptions=[spec],
                      seed=2).isel(replicate=0)
    shipped = ds.lane_shipped.sel(lane="plant-dc_north")
    assert (shipped.sel(day=slice(10, 15)) == 0).all()
    ordered = ds.lane_ordered.sel(lane="plant-dc_north", day=slice(9, 14)).sum().item()
    assert ds.lane_owed.sel(lane="plant-dc_north", day=15).item() == pytest.approx(ordered)
    assert float(shipped.sel(day=16)) > float(shipped.sel(day=9))  # the backlog goes out


def test_stretched_lead_times_delay_exactly_the_shipments_of_the_window() -> None:
    network = single_stage(lead=3, sd=0.0)  # ships 100 a day in the steady state
    spec = sim.LaneDisruption("supply", start_day=10, duration_days=2, closure=0.0,
                              lead_time_factor=2.5)
    ds = sim.simulate(network, days=30, record="full", disruptions=[spec]).isel(replicate=0)
    delivered = ds.lane_delivered.sel(lane="supply").values
    shipped = ds.lane_shipped.sel(lane="supply").values
    # leaving on days 10 and 11 takes ceil(3 x 2.5) = 8 days; every other day 3
    arrival = {d: d + (8 if d in (10, 11) else 3) for d in range(30) if shipped[d] > 0}
    expected = np.zeros(30)
    for day, when in arrival.items():
        if when < 30:
            expected[when] += shipped[day]
    np.testing.assert_allclose(delivered[3:], expected[3:])
    assert delivered[13] == 0 and delivered[18] == pytest.approx(shipped[10] + shipped[15])


def test_regional_event_hits_everything_in_the_region_and_nothing_else(
        demo: sim.Network) -> None:
    spec = sim.RegionalEvent("north", start_day=4, duration_days=3, severity=0.5,
                             lane_closure=1.0, demand_factor=0.5)
    nodes = factors(demo, spec, NODE_CAPACITY, 10)
    assert {demo.nodes[i].id for i in np.flatnonzero((nodes != 1).any(axis=0))} == {"dc_north"}
    lanes = factors(demo, spec, LANE_CAPACITY, 10)
    assert {demo.lanes[j].id for j in np.flatnonzero((lanes != 1).any(axis=0))} == {
        "plant-dc_north"}
    base = Scenario(demo, days=10, seed=1).draw(1).demand[0]
    hit = Scenario(demo, days=10, seed=1, disruptions=[spec]).draw(1).demand[0]
    ratio = hit / base
    north = [i for i, z in enumerate(demo.demand) if demo.node(z.node).region == "north"]
    np.testing.assert_allclose(ratio[4:7][:, north], 0.5)
    assert (np.delete(ratio, [4, 5, 6], axis=0) == 1).all()
    assert (np.delete(ratio, north, axis=1) == 1).all()


@pytest.mark.parametrize("select,zones", [({"zone": "south_city"}, ["south_city"]),
                                          ({"region": "south"}, ["south_city", "south_coast"])])
def test_demand_shock_by_zone_or_region(demo: sim.Network, select: dict, zones: list) -> None:
    spec = sim.DemandShock(start_day=3, duration_days=4, factor=1.6, **select)
    base = Scenario(demo, days=12, warmup_days=2, seed=4).draw(2).demand
    hit = Scenario(demo, days=12, warmup_days=2, seed=4, disruptions=[spec]).draw(2).demand
    ratio = hit / base
    index = [i for i, z in enumerate(demo.demand) if z.id in zones]
    window = slice(5, 9)  # recorded days 3-6 after 2 warm-up days
    np.testing.assert_allclose(ratio[:, window][:, :, index], 1.6)
    rest = ratio.copy()
    rest[:, window][:, :, index] = 1.0
    rest[:, 5:9, index] = 1.0
    assert (rest == 1).all()


def test_triggers_follow_with_their_probability_and_delay(demo: sim.Network) -> None:
    child = {"kind": "lane_disruption", "carrier": "east_road", "duration_days": 5,
             "closure": 0.0, "lead_time_factor": 2.0}
    always = disruption_from_mapping({"kind": "node_outage", "node": "chip_fab",
                                      "start_day": 10, "duration_days": 3,
                                      "triggers": [{"disruption": child, "probability": 1.0,
                                                    "delay_days": 4}]})
    draws = Scenario(demo, days=40, disruptions=[always]).draw(3)
    followers = draws.events[draws.events["kind"] == LANE_LEAD]
    assert set(followers["start"]) == {14} and set(followers["end"]) == {19}
    east_road = {j for j, lane in enumerate(demo.lanes) if lane.carrier == "east_road"}
    assert set(followers["target"]) == east_road
    never = disruption_from_mapping({**{k: getattr(always, k) for k in ("start_day",)},
                                     "kind": "node_outage", "node": "chip_fab",
                                     "duration_days": 3,
                                     "triggers": [{"disruption": child, "probability": 0.0}]})
    events = Scenario(demo, days=40, disruptions=[never]).draw(3).events
    assert (events["kind"] == NODE_CAPACITY).all()
    # a stochastic parent: the share of occurrences followed matches the probability
    sometimes = disruption_from_mapping({
        "kind": "node_outage", "node": "chip_fab", "rate_per_year": 40,
        "duration": {"law": "fixed", "mean_days": 2},
        "triggers": [{"disruption": {**child, "carrier": "ocean_line"}, "probability": 0.3,
                      "delay_days": 1}]})
    events = Scenario(demo, days=365, disruptions=[sometimes]).draw(20).events
    parents = int((events["kind"] == NODE_CAPACITY).sum())
    children = int((events["kind"] == LANE_LEAD).sum())
    assert stats.binomtest(children, parents, 0.3).pvalue > 0.001


def test_correlated_outages_strike_a_region_together(demo: sim.Network) -> None:
    spec = sim.CorrelatedOutages(region="east", rate_per_year=12, hit_probability=0.6,
                                 duration={"law": "fixed", "mean_days": 6})
    draws = Scenario(demo, days=365, disruptions=[spec], seed=3).draw(30)
    east = [demo.node_index[n] for n in ("housing_a", "motor_a")]
    down = np.stack([draws.node_capacity_factor(t, len(demo.nodes))[:, east] < 1
                     for t in range(365)])  # (day, replicate, node)
    both, a, b = (down[..., 0] & down[..., 1]).mean(), down[..., 0].mean(), down[..., 1].mean()
    assert both > 2 * a * b  # far more joint outages than independence would give
    outside = {demo.nodes[t].region for t in draws.events["target"]}
    assert outside == {"east"}


@pytest.mark.parametrize("law,expected_mean", [
    ({"law": "exponential", "mean_days": 6}, 6.5),  # rounded up to whole days
    ({"law": "lognormal", "mean_days": 10, "sd_days": 4}, 10.5),
    ({"law": "empirical", "values": [2, 5, 11]}, 6.0),
])
def test_stochastic_timing_rate_and_duration_laws(demo: sim.Network, law: dict,
                                                  expected_mean: float) -> None:
    spec = disruption_from_mapping({"kind": "node_outage", "node": "motor_b",
                                    "rate_per_year": 6, "duration": law})
    draws = Scenario(demo, days=365, disruptions=[spec], seed=9).draw(200)
    counts = np.bincount(draws.events["replicate"], minlength=200)
    assert counts.mean() == pytest.approx(6, abs=4 * np.sqrt(6 / 200))
    durations = draws.events["end"] - draws.events["start"]
    assert durations.min() >= 1
    assert durations.mean() == pytest.approx(expected_mean, rel=0.1)
    if law["law"] == "empirical":
        assert set(durations.tolist()) <= {2, 5, 11}


def test_probability_per_year_becomes_a_rate(demo: sim.Network) -> None:
    spec = disruption_from_mapping({"kind": "node_outage", "node": "motor_b",
                                    "probability_per_year": 0.5, "duration_days": 3})
    draws = Scenario(demo, days=365, disruptions=[spec], seed=2).draw(2000)
    at_least_one = np.bincount(draws.events["replicate"], minlength=2000) > 0
    assert at_least_one.mean() == pytest.approx(0.5, abs=4 * np.sqrt(0.25 / 2000))


def test_risk_register_csv_and_yaml(tmp_path: Path, demo: sim.Network) -> None:
    specs = sim.load_risk_register("example:risk-registers/demo.csv")
    assert [s.kind for s in specs][:3] == ["node_outage", "node_outage", "node_outage"]
    assert specs[0].probability_per_year == 0.1 and specs[0].duration.law == "lognormal"
    Scenario(demo, days=50, disruptions=specs).draw(2)  # every row fits the demo network
    register = tmp_path / "risks.yaml"
    register.write_text("- {kind: regional_event, region: east, rate_per_year: 1, "
                        "duration_days: 7}\n")
    assert disruptions_from_config([{"risk_register": str(register)}])[0].region == "east"


def test_risk_register_errors_name_file_row_and_column(tmp_path: Path) -> None:
    register = tmp_path / "bad.csv"
    register.write_text("id,kind,node,probability_per_year,duration_days\n"
                        "a,node_outage,plant,0.1,5\nb,node_outage,plant,often,5\n")
    with pytest.raises(ConfigError, match=r"bad.csv row 3: probability_per_year = 'often'"):
        sim.load_risk_register(register)
    register.write_text("id,kind,node,probability_per_year,duration_days\n"
                        "a,node_outage,plant,1.5,5\n")
    with pytest.raises(ConfigError, match=r"bad.csv row 2: probability_per_year = 1.5"):
        sim.load_risk_register(register)


def test_risk_registers_are_read_as_spreadsheets_save_them(tmp_path: Path) -> None:
    shipped = sim.load_risk_register("example:risk-registers/demo.csv")
    text = (Path(sim.__file__).parent / "data" / "risk-registers" / "demo.csv").read_text(
        encoding="utf-8").replace("key-supplier-fire", "关键供应商火灾")
    saved = {  # plain CSV from Chinese Excel; "Unicode text"; CSV from a decimal-comma locale
        "gbk.csv": (text, "gb18030"),
        "unicode.txt.csv": (text.replace(",", "\t"), "utf-16"),
        "semicolons.csv": (text.replace(",", ";").replace("0.10", "0,10").replace("0.5", "0,5")
                           .replace("probability_per_year", "Probability per year")
                           + ";;;;\n", "utf-8-sig"),  # a header typed freely, a blank row
    }
    for name, (content, encoding) in saved.items():
        (tmp_path / name).write_text(content, encoding=encoding)
        assert sim.load_risk_register(tmp_path / name) == shipped, name


def test_every_problem_of_a_risk_register_is_reported_at_once(tmp_path: Path) -> None:
    register = tmp_path / "bad.csv"
    register.write_text("id,kind,node,probability_per_year,duration_days\n"
                        "a,node_outage,plant,often,5\n,,,,\nb,node_outage,plant,1.5,5\n"
                        'c,node_outage,plant,"0,5",5\n')
    with pytest.raises(ConfigError) as error:
        sim.load_risk_register(register)
    assert [(i.where, i.key) for i in error.value.issues] == [
        ("bad.csv row 2", "probability_per_year"), ("bad.csv row 4", "probability_per_year"),
        ("bad.csv row 5", "probability_per_year")]
    assert "with a decimal point" in error.value.issues[2].rule
    register.write_text("id,kind,node,duration_days,start_day\na,node_outage,plant,5,1,9\n")
    with pytest.raises(ConfigError, match=r"bad.csv row 2: .*6 cells but 5 columns"):
        sim.load_risk_register(register)
    register.write_text("id,kind,Node,node,start_day,duration_days\na,node_outage,x,plant,1,5\n")
    with pytest.raises(ConfigError, match=r"bad.csv row 1: .*a column appears twice"):
        sim.load_risk_register(register)
    listed = tmp_path / "risks.yaml"
    listed.write_text("- {kind: regional_event, region: east, kind: node_outage}\n")
    with pytest.raises(ConfigError, match=r"risks.yaml line 1: not valid YAML: key 'kind' "
                                          r"appears twice"):
        sim.load_risk_register(listed)
    listed.write_text("- 3\n- {kind: regional_event, region: east, rate_per_year: -1, "
                      "duration_days: 7}\n")
    with pytest.raises(ConfigError) as error:
        sim.load_risk_register(listed)
    assert [i.key for i in error.value.issues] == ["events[0]", "rate_per_year"]
    (tmp_path / "risks.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(ConfigError, match="a risk register is a CSV or YAML file"):
        sim.load_risk_register(tmp_path / "risks.xlsx")
    (tmp_path / "latin.csv").write_bytes(b"id,kind\n\xff\xfe\xfa,node_outage\n")
    with pytest.raises(ConfigError, match=r"latin.csv line 2 column 1: byte 0x"):
        sim.load_risk_register(tmp_path / "latin.csv")


@pytest.mark.parametrize("mapping,fragment", [
    ({"kind": "lane_disruption", "mode": "teleport", "start_day": 1, "duration_days": 2},
     "mode = 'teleport': no lane of network 'demo' has this mode"),
    ({"kind": "regional_event", "region": "moon", "start_day": 1, "duration_days": 2},
     "region = 'moon': no node of network 'demo' is in this region"),
    ({"kind": "demand_shock", "zone": "mars", "start_day": 1, "duration_days": 2},
     "zone = 'mars': not a demand zone"),
    ({"kind": "demand_shock", "zone": "north_city", "start_day": 1, "duration_days": 2,
      "factor": 0}, "factor = 0: must be > 0"),
    ({"kind": "lane_disruption", "lane": "ctrl_a-plant", "start_day": 1, "duration_days": 2,
      "lead_time_factor": 0.5}, "lead_time_factor = 0.5: must be a number >= 1"),
    ({"kind": "node_outage", "node": "plant", "start_day": 1, "duration_days": 2,
      "rate_per_year": 3}, "not both or neither"),
    ({"kind": "node_outage", "node": "plant", "rate_per_year": 3,
      "duration": {"law": "weibull"}}, "law = 'weibull'"),
    ({"kind": "node_outage", "node": "plant", "start_day": 1, "duration_days": 2,
      "ramp": "sudden"}, "ramp = 'sudden'"),
])
def test_bad_disruptions_name_key_value_and_rule(demo: sim.Network, mapping: dict,
                                                 fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Scenario(demo, days=10, disruptions=[mapping])
    assert fragment in str(info.value)


def test_knowledge_is_late_or_early() -> None:
    events = np.zeros(2, dtype=sim.compile.effects.EVENT_DTYPE)
    events["start"], events["end"] = [10, 20], [15, 30]
    known = knowledge_events(events, delay=2, notice=5, warned=np.array([False, True]))
    assert known["start"].tolist() == [12, 15] and known["end"].tolist() == [17, 32]
