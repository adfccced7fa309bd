"""Targets chosen by rule (sim.compile.selectors); every shipped preset on every shipped network."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import yaml

import sim
from sim.compile import selectors
from sim.compile.layout import Layout
from sim.compile.plan import plan_policy, resolve_rules
from sim.compile.scenario import Scenario
from sim.io.paths import CONFIG_DIR
from sim.io.presets import policy_preset
from sim.io.template import template_network
from sim.studies.config import network_from_config

NETWORK_PRESETS = sorted(p.stem for p in (CONFIG_DIR / "network").glob("*.yaml")
                         if p.stem != "file")
DISRUPTION_PRESETS = sorted(p.stem for p in (CONFIG_DIR / "disruption").glob("*.yaml"))
POLICY_PRESETS = sorted(p.stem for p in (CONFIG_DIR / "policy").glob("*.yaml"))


def _network(name: str) -> sim.Network:
    if name == "template":
        return template_network()
    data = yaml.safe_load((CONFIG_DIR / "network" / f"{name}.yaml").read_text())
    return network_from_config(data)


def _events(name: str) -> list:
    return yaml.safe_load((CONFIG_DIR / "disruption" / f"{name}.yaml").read_text())["events"]


def _pick(network: sim.Network, text: str) -> list[str]:
    layout = Layout.of(network)
    rule = selectors.parse(text, "test", "node", selectors.NODE_RULES)
    return [network.nodes[i].id for i in
            selectors.select_nodes(layout, rule, np.ones(layout.n_nodes, dtype=bool))]


@pytest.mark.parametrize("text,expected", [
    ("@slowest", ["ctrl_a"]),  # 14 days by sea into the plant
    ("@critical", ["plant"]),
    ("@critical/supplier", ["chip_fab"]),  # sole chip source; ties steel_mill, ships more value
    ("@critical:3", ["plant", "chip_fab", "steel_mill"]),
    ("@customer_facing", ["dc_north", "dc_south"]),
    ("@all/warehouse", ["dc_north", "dc_south"]),
])
def test_node_rules_pick_what_they_say_on_the_demo(demo: sim.Network, text: str,
                                                   expected: list[str]) -> None:
    assert _pick(demo, text) == expected


def test_value_at_stake_follows_the_shares_through_the_chain(demo: sim.Network) -> None:
    at_stake = selectors._measures(Layout.of(demo))["at_stake"]
    by_id = dict(zip([n.id for n in demo.nodes], at_stake, strict=True))
    market = 50 * 155 + 50 * 156  # each centre's zones a day times its unit value
    assert by_id["plant"] == pytest.approx(market)  # everything is assembled there
    assert by_id["ctrl_a"] == pytest.approx(market / 2)  # half of the controllers
    assert by_id["dc_north"] == pytest.approx(50 * 155)
    assert by_id["ctrl_backup"] == 0  # a backup carries nothing day to day


@pytest.mark.parametrize("key,text,expected", [
    ("region", "@critical", "east"), ("region", "@slowest", "overseas"),
    ("region", "@demand", "north"), ("carrier", "@busiest", "east_road"),
    ("carrier", "@slowest", "ocean_line"), ("mode", "@slowest", "sea"),
    ("cluster", "@critical", "east-metals"),
])
def test_name_rules_on_the_demo(demo: sim.Network, key: str, text: str, expected: str) -> None:
    assert selectors.resolve_name(Layout.of(demo), "test", key, text) == expected


def test_the_demo_outage_preset_still_hits_ctrl_a(demo: sim.Network) -> None:
    by_rule = sim.simulate(demo, disruptions=_events("supplier_outage"), days=60, replicates=3,
                           engine="batch", record="kpis", seed=5)
    by_id = sim.simulate(demo, disruptions=[sim.NodeOutage("ctrl_a", start_day=30,
                                                           duration_days=30)],
                         days=60, replicates=3, engine="batch", record="kpis", seed=5)
    np.testing.assert_array_equal(by_rule.total_cost, by_id.total_cost)


def test_policy_rules_resolve_to_ids(demo: sim.Network) -> None:
    policy = resolve_rules(sim.io.presets.as_policy("shared_warehouse"), demo)
    store = policy.shared_warehouses[0]
    assert (store.members, store.item, store.region, store.cluster) == (
        ("plant",), "controller", "east", "east-metals")
    reserves = resolve_rules(sim.io.presets.as_policy("emergency_reserve"), demo).reserves
    assert [r.node for r in reserves] == ["dc_north", "dc_south"]
    assert resolve_rules(sim.io.presets.as_policy("pooling"), demo).pooling.groups == (
        ("dc_north", "dc_south"),)


@pytest.mark.parametrize("event,fragment", [
    ({"kind": "node_outage", "node": "@coolest", "start_day": 1, "duration_days": 2},
     "unknown rule @coolest; expected one of @critical"),
    ({"kind": "node_outage", "node": "@critical/robot", "start_day": 1, "duration_days": 2},
     "/robot is not a node kind"),
    ({"kind": "node_outage", "node": "@critical:0", "start_day": 1, "duration_days": 2},
     "whole number >= 1"),
    ({"kind": "node_outage", "node": ["@critical", "plant"], "start_day": 1,
      "duration_days": 2}, "a rule (@...) stands alone"),
    ({"kind": "regional_event", "region": "@busiest", "start_day": 1, "duration_days": 2},
     "unknown rule @busiest"),
    ({"kind": "node_outage", "node": "@slowest/warehouse", "start_day": 1,
      "duration_days": 2}, "the rule picks no node"),
])
def test_bad_rules_are_refused_by_name(demo: sim.Network, event: dict, fragment: str) -> None:
    with pytest.raises(sim.ConfigError, match="disruption") as error:
        Scenario(demo, days=10, disruptions=[event])
    assert fragment in str(error.value)


@pytest.mark.parametrize("network", [*NETWORK_PRESETS, "template"])
def test_every_preset_fits_every_shipped_network(network: str) -> None:
    """Each disruption preset draws and each policy preset plans on the network."""
    net = _network(network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sim.CapacityWarning)  # short networks run anyway
        for name in DISRUPTION_PRESETS:
            Scenario(net, days=40, warmup_days=5, disruptions=_events(name), seed=1).draw(2)
        for name in POLICY_PRESETS:
            plan_policy(sim.io.presets.as_policy(name), net)


@pytest.mark.parametrize("preset", [*(f"disruption:{d}" for d in DISRUPTION_PRESETS),
                                    *(f"policy:{p}" for p in POLICY_PRESETS)])
def test_every_preset_runs_on_the_template(preset: str) -> None:
    """A new user's network: every preset runs end to end (both engines agree on a day)."""
    group, name = preset.split(":")
    options = {"disruptions": _events(name)} if group == "disruption" else {
        "policy": policy_preset(name)}
    ds = sim.simulate(template_network(), days=45, warmup_days=5, replicates=2, engine="batch",
                      record="kpis", seed=3, **options)
    assert np.isfinite(ds.total_cost).all() and (ds.fill_rate <= 1).all()
