"""The network spec: every rule refuses bad input with a message naming where, key, value, rule."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings

import sim
from sim.io import network_from_mapping
from sim.spec.errors import NetworkError
from sim.testing.strategies import networks

BASE = {
    "name": "t",
    "nodes": {
        "raw": {"kind": "supplier", "item": "steel"},
        "raw2": {"kind": "supplier", "item": "steel"},
        "plant": {"kind": "manufacturer", "item": "widget", "bom": {"steel": 2}},
        "dc": {"kind": "warehouse", "item": "widget"},
    },
    "lanes": {
        "a": {"source": "raw", "target": "plant", "lead_time_days": 2, "share": 0.5},
        "b": {"source": "raw2", "target": "plant", "lead_time_days": 3, "share": 0.5},
        "c": {"source": "plant", "target": "dc", "lead_time_days": 1},
    },
    "demand": {"zone": {"node": "dc", "mean": 10, "sd": 2}},
}


def build(mutate=None) -> sim.Network:
    data = copy.deepcopy(BASE)
    if mutate:
        mutate(data)
    return network_from_mapping(data, where="t.yaml")


def refused(mutate, *fragments: str) -> NetworkError:
    with pytest.raises(NetworkError) as info:
        build(mutate)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return info.value


def test_base_network_is_valid() -> None:
    net = build()
    assert [n.id for n in net.nodes] == ["raw", "raw2", "plant", "dc"]
    assert net.tiers == {"raw": 2, "raw2": 2, "plant": 1, "dc": 0}
    assert {i.id for i in net.items} == {"steel", "widget"}
    assert net.node("plant").bom == (("steel", 2.0),)


def test_duplicate_node_id() -> None:
    def mutate(d):
        d["nodes"] = [{"id": "raw", "kind": "supplier", "item": "steel"},
                      {"id": "raw", "kind": "supplier", "item": "steel"}]
        d["lanes"], d["demand"] = {}, {}
    refused(mutate, "t.yaml: nodes[1]", "id = 'raw'", "duplicate node id")


def test_unknown_node_in_lane() -> None:
    refused(lambda d: d["lanes"]["c"].update(target="nowhere"),
            "t.yaml: lanes.c", "target = 'nowhere'", "unknown node")


def test_unknown_node_in_demand() -> None:
    refused(lambda d: d["demand"]["zone"].update(node="ghost"),
            "t.yaml: demand.zone", "node = 'ghost'", "unknown node")


def test_cycle() -> None:
    def mutate(d):
        d["nodes"]["dc2"] = {"kind": "warehouse", "item": "widget"}
        d["lanes"]["c"]["share"] = 0.5
        d["lanes"]["x"] = {"source": "dc2", "target": "dc", "share": 0.5}
        d["lanes"]["y"] = {"source": "dc", "target": "dc2"}
    refused(mutate, "t.yaml: lanes.", "lanes form a cycle", "dc2 -> dc")


def test_lane_to_itself() -> None:
    refused(lambda d: d["lanes"]["c"].update(source="dc"), "t.yaml: lanes.c",
            "a lane cannot go from a node to itself")


def test_shares_must_sum_to_one() -> None:
    refused(lambda d: d["lanes"]["b"].update(share=0.4), "t.yaml: lanes.b", "share = 0.4",
            "sum to 0.9, not 1")


def test_share_outside_unit_interval() -> None:
    refused(lambda d: d["lanes"]["a"].update(share=1.5), "lanes.a", "share = 1.5", "<= 1")
    refused(lambda d: d["lanes"]["a"].update(share=-0.5), "lanes.a", "share = -0.5", ">= 0")


@pytest.mark.parametrize("lead", [-1, 0])
def test_lead_time_below_one_day(lead: int) -> None:
    refused(lambda d: d["lanes"]["a"].update(lead_time_days=lead), "t.yaml: lanes.a",
            f"lead_time_days = {lead}", "must be >= 1")


def test_fractional_lead_time() -> None:
    refused(lambda d: d["lanes"]["a"].update(lead_time_days=2.5), "lead_time_days = 2.5",
            "whole number of days")


@pytest.mark.parametrize("section,entry", [("nodes", "plant"), ("lanes", "a")])
def test_negative_capacity(section: str, entry: str) -> None:
    refused(lambda d: d[section][entry].update(capacity_per_day=-5),
            f"t.yaml: {section}.{entry}", "capacity_per_day = -5", "must be >= 0")


@pytest.mark.parametrize("key", ["distance_km", "cost_per_unit", "co2e_kg_per_unit_km"])
def test_negative_lane_attributes(key: str) -> None:
    refused(lambda d: d["lanes"]["a"].update({key: -1}), f"{key} = -1", "must be >= 0")


@pytest.mark.parametrize("key", ["unit_value", "holding_cost_rate", "production_co2e_kg_per_unit",
                                 "initial_stock"])
def test_negative_node_attributes(key: str) -> None:
    refused(lambda d: d["nodes"]["plant"].update({key: -1}), f"{key} = -1", "must be >= 0")


def test_not_a_number() -> None:
    refused(lambda d: d["nodes"]["plant"].update(capacity_per_day="lots"),
            "capacity_per_day = 'lots'", "must be a number")


def test_bom_input_without_source() -> None:
    def mutate(d):
        d["nodes"]["plant"]["bom"] = {"steel": 2, "paint": 1}
    refused(mutate, "t.yaml: nodes.plant", "bom.paint = 'paint'",
            "no primary lane delivers this input item")


def test_warehouse_without_source() -> None:
    def mutate(d):
        d["nodes"]["dc2"] = {"kind": "warehouse", "item": "widget"}
    refused(mutate, "t.yaml: nodes.dc2", "item = 'widget'", "no primary lane delivers")


def test_lane_brings_an_item_the_target_does_not_use() -> None:
    def mutate(d):
        d["lanes"]["z"] = {"source": "raw", "target": "dc"}
    refused(mutate, "t.yaml: lanes.z", "delivers item 'steel'", "uses only widget")


def test_lane_into_a_supplier() -> None:
    def mutate(d):
        d["lanes"]["z"] = {"source": "raw2", "target": "raw"}
    refused(mutate, "t.yaml: lanes.z", "a supplier takes no deliveries")


def test_demand_on_a_node_that_cannot_get_its_item() -> None:
    def mutate(d):
        d["nodes"]["raw"]["capacity_per_day"] = 0
        d["nodes"]["raw2"]["capacity_per_day"] = 0
    refused(mutate, "t.yaml: demand.zone", "node = 'dc'",
            "demand on a node that cannot get its item")


def test_demand_behind_a_closed_lane() -> None:
    refused(lambda d: d["lanes"]["c"].update(capacity_per_day=0), "t.yaml: demand.zone",
            "cannot get its item", "no open lane")


def test_one_working_source_is_enough() -> None:
    net = build(lambda d: d["nodes"]["raw"].update(capacity_per_day=0))
    assert net.node("raw").capacity_per_day == 0


@pytest.mark.parametrize("kind,bom,rule", [
    ("supplier", {"steel": 1}, "a supplier has no BOM"),
    ("warehouse", {"steel": 1}, "a warehouse has no BOM"),
    ("manufacturer", {}, "a manufacturer needs a BOM"),
])
def test_bom_matches_kind(kind: str, bom: dict, rule: str) -> None:
    refused(lambda d: d["nodes"]["plant"].update(kind=kind, bom=bom), "t.yaml: nodes.plant", rule)


def test_bom_quantity_positive() -> None:
    refused(lambda d: d["nodes"]["plant"].update(bom={"steel": 0}), "bom.steel = 0", "must be > 0")


def test_bom_cannot_hold_own_item() -> None:
    refused(lambda d: d["nodes"]["plant"].update(bom={"steel": 1, "widget": 1}),
            "a node cannot consume its own item")


def test_unknown_kind() -> None:
    refused(lambda d: d["nodes"]["plant"].update(kind="factory"), "kind = 'factory'",
            "must be one of supplier, manufacturer, warehouse")


@pytest.mark.parametrize("change,fragment", [
    ({"law": "uniform"}, "must be one of normal, poisson, gamma, lognormal"),
    ({"mean": -1}, "mean = -1"),
    ({"sd": -1}, "sd = -1"),
    ({"law": "poisson", "sd": 7}, "a Poisson law has sd = sqrt(mean)"),
    ({"law": "gamma", "mean": 0, "sd": 1}, "needs mean > 0"),
])
def test_demand_zone_rules(change: dict, fragment: str) -> None:
    refused(lambda d: d["demand"]["zone"].update(change), "t.yaml: demand.zone", fragment)


def test_poisson_sd_is_derived() -> None:
    net = build(lambda d: d["demand"]["zone"].update(law="poisson", sd=None))
    assert net.demand[0].sd == pytest.approx(math.sqrt(10))


def test_unmet_demand_choice() -> None:
    refused(lambda d: d.update(unmet_demand="cancel"), "unmet_demand = 'cancel'",
            "must be one of lost, backorder")


def test_unknown_field_and_section() -> None:
    refused(lambda d: d["nodes"]["plant"].update(capcity=3), "t.yaml: nodes.plant",
            "capcity", "unknown field")
    refused(lambda d: d.update(suppliers={}), "suppliers", "unknown section")


def test_all_problems_are_reported_together() -> None:
    def mutate(d):
        d["lanes"]["a"]["lead_time_days"] = 0
        d["lanes"]["b"]["capacity_per_day"] = -1
        d["demand"]["zone"]["sd"] = -3
    error = refused(mutate, "3 problems")
    assert {i.key for i in error.issues} == {"lead_time_days", "capacity_per_day", "sd"}


def test_programmatic_errors_name_the_spec() -> None:
    with pytest.raises(NetworkError, match=r"lane 'x': lead_time_days = 0"):
        sim.Lane("x", "a", "b", lead_time_days=0)


def test_network_is_immutable_and_replace_revalidates(demo: sim.Network) -> None:
    with pytest.raises(AttributeError):
        demo.name = "other"  # type: ignore[misc]
    assert demo.replace(unmet_demand="backorder").unmet_demand == "backorder"
    with pytest.raises(NetworkError):
        demo.replace(unmet_demand="nope")


def test_demo_network_shape(demo: sim.Network) -> None:
    kinds = [n.kind for n in demo.nodes]
    assert kinds.count("warehouse") == 2 and len(demo.demand) == 4
    plant = demo.node("plant")
    assert len(plant.bom) == 3
    for item, _ in plant.bom:  # two regular suppliers per part
        assert len([la for la in demo.lanes if la.target == "plant" and la.role == "primary"
                    and demo.node(la.source).item == item]) == 2
    standby = {la.id: la.role for la in demo.lanes if la.role != "primary"}
    assert standby == {"ctrl_backup-plant": "backup", "ctrl_a-plant-air": "backup",
                       "motor_a-plant-express": "expedite"}
    assert {demo.node(z.node).region for z in demo.demand} == {"north", "south"}


@settings(max_examples=40, deadline=None)
@given(networks())
def test_topological_order_is_networkx_order_without_networkx(network: sim.Network) -> None:
    """The order sums over nodes follow is NetworkX's (so no result moved when it was dropped
    from validation), and every lane runs forward in it."""
    import networkx as nx

    order = network.topological_order
    assert order == tuple(nx.topological_sort(network.graph))
    position = {node: i for i, node in enumerate(order)}
    assert all(position[lane.source] < position[lane.target] for lane in network.lanes)
