"""The synthetic network generator: seeded, well formed, and the structure it is asked for."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import sim
from sim.spec.generate import generate_network


def test_same_seed_same_network_and_another_seed_another() -> None:
    assert generate_network(seed=3) == generate_network(seed=3)
    assert generate_network(seed=3) != generate_network(seed=4)


def test_structure_follows_the_arguments() -> None:
    net = generate_network(firms_per_tier=(6, 12, 6, 4), items_per_tier=(3, 4, 2, 0),
                           regions=("a", "b"), clusters_per_region=3, inputs_per_firm=2,
                           sources_per_input=2, seed=1)
    kinds = Counter(n.kind for n in net.nodes)
    assert kinds == {"supplier": 6, "manufacturer": 18, "warehouse": 4}
    assert {n.region for n in net.nodes} == {"a", "b"}
    assert {n.cluster for n in net.nodes} <= {f"{r}-c{k}" for r in "ab" for k in (1, 2, 3)}
    assert len(net.demand) == 4
    for node in net.nodes:
        if node.kind == "manufacturer":
            assert len(dict(node.bom)) == 2
            for item in dict(node.bom):
                lanes = [lane for lane in net.lanes if lane.target == node.id
                         and lane.role == "primary" and net.node(lane.source).item == item]
                assert len(lanes) == 2 and sum(lane.share for lane in lanes) == pytest.approx(1)
    corridors = {lane.carrier for lane in net.lanes
                 if net.node(lane.source).region != net.node(lane.target).region}
    assert corridors == {"corridor_a_b"}  # one shared corridor carrier per pair of regions
    backups = [lane for lane in net.lanes if lane.role == "backup"]
    assert backups and all(net.node(lane.target).id.startswith("t2_") for lane in backups)


def test_preferential_attachment_makes_hubs() -> None:
    """Over 20 seeds, the busiest supplier has more customers with attachment than without."""
    def busiest(degree: str, seed: int) -> int:
        net = generate_network(firms_per_tier=(4, 20, 4), items_per_tier=(1, 2, 0),
                               sources_per_input=2, degree=degree, attachment=2.0, seed=seed,
                               backup_lanes=False)
        return max(Counter(lane.source for lane in net.lanes
                           if lane.source.startswith("t0_")).values())
    uniform = np.mean([busiest("uniform", s) for s in range(20)])
    preferential = np.mean([busiest("preferential", s) for s in range(20)])
    assert preferential > uniform + 2


def test_capacities_carry_the_demand() -> None:
    net = generate_network(seed=5)
    calm = sim.simulate(net, days=120, warmup_days=30, replicates=20, engine="batch", seed=1,
                        record="kpis")
    assert float(calm.fill_rate.mean()) > 0.99
    spare_makers = {lane.source for lane in net.lanes if lane.role == "backup"}
    for node in net.nodes:  # a backup source can carry a typical firm's flow, not a trickle
        if node.id in spare_makers:
            assert node.capacity_per_day > 10


@pytest.mark.parametrize("key,value,fragment", [
    ("firms_per_tier", (5,), "two tiers or more"),
    ("degree", "random", "must be one of uniform, preferential"),
    ("sources_per_input", 0, "must be at least 1"),
])
def test_bad_arguments_are_named(key: str, value: object, fragment: str) -> None:
    with pytest.raises(sim.ConfigError, match=fragment):
        generate_network(**{key: value})


def test_a_generator_file_loads_like_a_network_file(tmp_path) -> None:
    """configs/network/cluster.yaml holds generator settings: load_network builds it, the same
    network the config path builds, and a wrong option is named."""
    from pathlib import Path

    from sim.io.mapping import network_to_mapping
    from sim.studies.config import network_from_config

    path = Path(__file__).parents[1] / "configs" / "network" / "cluster.yaml"
    loaded = sim.load_network(path)
    import yaml

    assert network_to_mapping(loaded) == network_to_mapping(network_from_config(
        yaml.safe_load(path.read_text(encoding="utf-8"))))
    bad = tmp_path / "bad.yaml"
    bad.write_text("generate: {firms_per_tier: [2, 2], colour: red}\n", encoding="utf-8")
    with pytest.raises(sim.ConfigError, match="colour"):
        sim.load_network(bad)
