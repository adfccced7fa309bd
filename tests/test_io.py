"""Loaders: YAML mapping, CSV folder, Willems (2008) chains; errors name file, row and column."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import sim
from sim.io import (
    example_networks,
    load_network,
    network_from_mapping,
    network_to_mapping,
    write_csv_folder,
)
from sim.spec.errors import NetworkError
from tests.conftest import DEMO, REPO, SHARED

WILLEMS_SHIPPED = {  # chain: (stages, arcs) as published
    "01": (8, 10), "08": (40, 48), "17": (152, 211), "22": (253, 253), "38": (2025, 16225),
}


# ----------------------------------------------------------------------------------------------
# YAML / mapping
# ----------------------------------------------------------------------------------------------
def test_yaml_demo_loads(demo: sim.Network) -> None:
    assert demo.name == "demo" and demo.source == str(DEMO)
    assert demo.node("plant").capacity_per_day == 130


def test_mapping_round_trip(demo: sim.Network) -> None:
    again = network_from_mapping(network_to_mapping(demo))
    assert again == demo
    assert [n.id for n in again.nodes] == [n.id for n in demo.nodes]


def test_mapping_accepts_lists_with_ids() -> None:
    net = network_from_mapping({
        "name": "l",
        "nodes": [{"id": "s", "kind": "supplier", "item": "x"},
                  {"id": "w", "kind": "warehouse", "item": "x"}],
        "lanes": [{"id": "l1", "source": "s", "target": "w"}],
        "demand": [{"id": "z", "node": "w", "mean": 1}],
    })
    assert net.lanes[0].id == "l1"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nnodes: {a: [1, 2}\n")
    with pytest.raises(NetworkError, match=r"bad.yaml line 2.*not valid YAML"):
        load_network(path)


def test_yaml_error_names_file_and_key(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("lead_time_days: 14", "lead_time_days: -14")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(NetworkError, match=r"broken.yaml: lanes.ctrl_a-plant: lead_time_days = -1"):
        load_network(path)


def test_load_network_unknown_path_and_format(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="no such file or folder"):
        load_network(tmp_path / "missing.yaml")
    other = tmp_path / "data.txt"
    other.write_text("hello")
    with pytest.raises(NetworkError, match="unknown network format"):
        load_network(other)


def test_load_network_overrides(demo: sim.Network) -> None:
    net = load_network(DEMO, name="renamed", unmet_demand="backorder")
    assert (net.name, net.unmet_demand) == ("renamed", "backorder")
    assert net.nodes == demo.nodes


# ----------------------------------------------------------------------------------------------
# CSV folder
# ----------------------------------------------------------------------------------------------
def test_csv_round_trip(tmp_path: Path, demo: sim.Network) -> None:
    write_csv_folder(demo, tmp_path / "demo")
    again = load_network(tmp_path / "demo")
    assert again == demo
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [
        "bom.csv", "demand.csv", "items.csv", "lanes.csv", "network.csv", "nodes.csv"]


def _write(folder: Path, name: str, rows: list[list[object]]) -> None:
    with (folder / name).open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def csv_net(tmp_path: Path) -> Path:
    folder = tmp_path / "net"
    folder.mkdir()
    _write(folder, "nodes.csv", [["id", "kind", "item", "capacity_per_day"],
                                 ["s", "supplier", "x", "100"],
                                 ["w", "warehouse", "x", ""]])
    _write(folder, "lanes.csv", [["id", "source", "target", "lead_time_days"], ["l", "s", "w", 2]])
    _write(folder, "demand.csv", [["id", "node", "mean", "sd"], ["z", "w", 10, 2]])
    return folder


def test_csv_minimal_folder(csv_net: Path) -> None:
    net = load_network(csv_net)
    assert net.name == "net" and net.node("w").capacity_per_day == float("inf")
    assert net.lanes[0].lead_time_days == 2


def test_csv_bad_cell_names_file_row_column(csv_net: Path) -> None:
    _write(csv_net, "nodes.csv", [["id", "kind", "item", "capacity_per_day"],
                                  ["s", "supplier", "x", "100"],
                                  ["w", "warehouse", "x", "-3"]])
    with pytest.raises(NetworkError, match=r"nodes.csv row 3: capacity_per_day = '-3': must be >="):
        load_network(csv_net)


def test_csv_unknown_and_missing_columns(csv_net: Path) -> None:
    _write(csv_net, "lanes.csv", [["id", "source", "leadtime"], ["l", "s", 2]])
    with pytest.raises(NetworkError) as info:
        load_network(csv_net)
    message = str(info.value)
    assert "lanes.csv row 1: leadtime" in message and "unknown column" in message
    assert "lanes.csv row 1: target" in message and "required column missing" in message


def test_csv_missing_file(csv_net: Path) -> None:
    (csv_net / "demand.csv").unlink()
    with pytest.raises(NetworkError, match=r"demand.csv.*required file missing"):
        load_network(csv_net)


def test_csv_bom_errors(csv_net: Path) -> None:
    _write(csv_net, "bom.csv", [["node", "item", "quantity"], ["ghost", "x", 1], ["w", "x", "two"]])
    with pytest.raises(NetworkError) as info:
        load_network(csv_net)
    message = str(info.value)
    assert "bom.csv row 3: quantity = 'two': must be a number" in message
    assert "bom.csv row 2: node = 'ghost': unknown node" in message


def test_csv_cross_reference_error_keeps_row(csv_net: Path) -> None:
    _write(csv_net, "lanes.csv", [["id", "source", "target"], ["l", "s", "nowhere"]])
    with pytest.raises(NetworkError, match=r"lanes.csv row 2: target = 'nowhere': unknown node"):
        load_network(csv_net)


def test_csv_too_many_cells(csv_net: Path) -> None:
    _write(csv_net, "demand.csv", [["id", "node", "mean"], ["z", "w", 10, 99]])
    with pytest.raises(NetworkError, match=r"demand.csv row 2.*4 cells but 3 columns"):
        load_network(csv_net)


# ----------------------------------------------------------------------------------------------
# Willems (2008)
# ----------------------------------------------------------------------------------------------
def _stage_and_arc_counts(path: Path) -> tuple[int, int]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header = rows[1]
    name, src = header.index("/stages/stage/@stageName"), header.index("/arcs/arc/@from")
    return (sum(1 for r in rows[2:] if r[name]), sum(1 for r in rows[2:] if r[src]))


@pytest.mark.parametrize("chain", sorted(WILLEMS_SHIPPED))
def test_shipped_willems_chains_load(chain: str) -> None:
    path = REPO / "sim" / "data" / "willems-2008" / f"chain-{chain}.csv"
    assert _stage_and_arc_counts(path) == WILLEMS_SHIPPED[chain]
    net = load_network(f"example:willems-2008/chain-{chain}.csv")
    stages, arcs = WILLEMS_SHIPPED[chain]
    trans = sum(1 for n in net.lanes if n.carrier != "default")
    assert len(net.nodes) <= stages and len(net.lanes) <= arcs
    assert len(net.demand) >= 1
    assert all(lane.lead_time_days >= 1 for lane in net.lanes)
    assert trans == 0 or len({la.carrier for la in net.lanes}) > 1


def test_shipped_chains_match_shared_data() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    for chain in WILLEMS_SHIPPED:
        shipped = REPO / "sim" / "data" / "willems-2008" / f"chain-{chain}.csv"
        original = SHARED / "data" / "willems-2008" / f"chain-{chain}.csv"
        assert shipped.read_bytes() == original.read_bytes()


def test_example_networks_listed() -> None:
    assert set(example_networks()) == {f"willems-{c}" for c in WILLEMS_SHIPPED}


def test_willems_chain_01_reading() -> None:
    net = load_network("example:willems-2008/chain-01.csv")
    kinds = {n.id: n.kind for n in net.nodes}
    assert kinds == {"Part_0001": "supplier", "Part_0002": "supplier", "Part_0003": "supplier",
                     "Manuf_0001": "manufacturer", "Manuf_0002": "manufacturer",
                     "Retail_0001": "warehouse", "Retail_0003": "warehouse",
                     # Retail_0002 is fed by two different products: it assembles them
                     "Retail_0002": "manufacturer"}
    lanes = {la.id: la for la in net.lanes}
    # root stage time (Part_0001: 28 days) plus the stage's own time (Manuf: 10) on its inbound lane
    assert lanes["Part_0001>Manuf_0001"].lead_time_days == 38
    assert lanes["Manuf_0001>Retail_0001"].lead_time_days == 1  # Retail time 0 -> minimum 1 day
    # value accumulates: Manuf_0001 = 39 + 12 + 5 + 9
    assert net.node("Manuf_0001").unit_value == pytest.approx(65)
    assert net.node("Retail_0001").item == "Manuf_0001"
    zone = {z.node: z for z in net.demand}["Retail_0001"]
    assert (zone.mean, zone.sd) == (253, 36.62)


def test_willems_transport_stages_become_carriers() -> None:
    net = load_network("example:willems-2008/chain-08.csv")
    assert not any(n.id.startswith("Trans") for n in net.nodes)
    via = [la for la in net.lanes if la.carrier.startswith("Trans")]
    assert len(via) == 14  # 12 Trans stages, two of which feed two successors
    assert all(la.id.count(">") == 2 for la in via)


def _willems_file(path: Path, stage_cols: list[str], stages: list[list[object]],
                  arcs: list[tuple[str, str]], extra_cols: tuple[str, ...] = ()) -> Path:
    columns = ["/@company", "/arcs/arc/@from", "/arcs/arc/@to",
               *(f"/stages/stage/@{c}" for c in stage_cols), *extra_cols]
    rows: list[list[object]] = [["/chain"] + [""] * (len(columns) - 1), columns]
    for source, target in arcs:
        rows.append(["1", source, target] + [""] * (len(columns) - 3))
    for stage in stages:
        rows.append(["1", "", "", *stage] + [""] * len(extra_cols))
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_willems_variants_columns_spelling_and_times(tmp_path: Path) -> None:
    # Columns in another order, no cost or sd columns, an unknown column, "Parts" spelling,
    # fractional and zero times, a Trans stage with two predecessors that must stay a node.
    path = _willems_file(
        tmp_path / "chain-99.csv",
        ["stageTime", "stageName", "stageClassification", "avgDemand"],
        [[2.4, "P1", "Parts", ""], [0.5, "P2", "Parts", ""], [0, "T1", "Trans", ""],
         [1.5, "D1", "Dist", 40]],
        [("P1", "T1"), ("P2", "T1"), ("T1", "D1")],
        extra_cols=("/stages/stage/@somethingNew",),
    )
    net = load_network(path)
    kinds = {n.id: n.kind for n in net.nodes}
    assert kinds == {"P1": "supplier", "P2": "supplier", "T1": "manufacturer", "D1": "warehouse"}
    lanes = {la.id: la.lead_time_days for la in net.lanes}
    assert lanes == {"P1>T1": 2, "P2>T1": 1, "T1>D1": 2}  # 0+2.4 -> 2, 0+0.5 -> 1, 1.5 -> 2
    assert net.demand[0].sd == 0 and net.demand[0].mean == 40


def test_willems_alternative_sources_share_orders(tmp_path: Path) -> None:
    path = _willems_file(
        tmp_path / "alt.csv", ["stageName", "stageClassification", "stageTime", "avgDemand"],
        [["M", "Manuf", 1, ""], ["D1", "Dist", 1, ""], ["D2", "Dist", 3, ""],
         ["R", "Retail", 0, 5]],
        [("M", "D1"), ("M", "D2"), ("D1", "R"), ("D2", "R")])
    net = load_network(path)
    assert net.node("R").kind == "warehouse"  # both sources hold M's item: alternatives
    shares = {la.id: la.share for la in net.lanes if la.target == "R"}
    assert shares == {"D1>R": 0.5, "D2>R": 0.5}


@pytest.mark.parametrize("arcs,stage_rows,fragment", [
    ([("A", "ghost")], [["A", "Part", 1]], "row 3: /arcs/arc/@to = 'ghost': unknown stage"),
    ([("A", "B"), ("B", "A")], [["A", "Manuf", 1], ["B", "Manuf", 1]], "arcs form a cycle"),
    ([], [["A", "Part", "soon"]], "row 3: /stages/stage/@stageTime = 'soon': must be a number"),
    ([], [["A", "Part", 1], ["A", "Part", 2]], "row 4: /stages/stage/@stageName = 'A': stage "
                                               "defined twice"),
])
def test_willems_errors_name_row_and_column(tmp_path: Path, arcs, stage_rows, fragment) -> None:
    path = _willems_file(tmp_path / "bad.csv", ["stageName", "stageClassification", "stageTime"],
                         stage_rows, arcs)
    with pytest.raises(NetworkError) as info:
        load_network(path)
    assert fragment in str(info.value)
    assert "bad.csv" in str(info.value)


def test_willems_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "nohead.csv"
    path.write_text("/chain,,\n/@company,/stages/stage/@stageName,/stages/stage/@stageTime\n")
    with pytest.raises(NetworkError, match=r"row 2: /arcs/arc/@from = None: required column"):
        load_network(path)


# ----------------------------------------------------------------------------------------------
# python -m sim check
# ----------------------------------------------------------------------------------------------
def test_check_command(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "sim", "check", str(DEMO)], capture_output=True,
                        text=True, check=False)
    assert ok.returncode == 0 and "ok: demo: 12 nodes" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes: {a: {kind: supplier}}\n")
    out = subprocess.run([sys.executable, "-m", "sim", "check", str(bad)], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "bad.yaml: nodes.a" in out.stderr and "missing required field" in out.stderr


def test_willems_high_variance_demand_uses_gamma(tmp_path: Path) -> None:
    path = _willems_file(
        tmp_path / "cv.csv",
        ["stageName", "stageClassification", "stageTime", "avgDemand", "stDevDemand"],
        [["S", "Part", 1, "", ""], ["A", "Retail", 0, 100, 30], ["B", "Retail", 0, 100, 40]],
        [("S", "A"), ("S", "B")])
    laws = {z.node: z.law for z in load_network(path).demand}
    assert laws == {"A": "normal", "B": "gamma"}  # normal only while sd <= mean / 3


# --------------------------------------------------------------------------------------------
# Encodings spreadsheets save
# --------------------------------------------------------------------------------------------
def chinese_network() -> sim.Network:
    return sim.Network(
        name="华东", unmet_demand="lost",
        nodes=[sim.Node("钢厂", "supplier", "钢材", region="华东", capacity_per_day=100),
               sim.Node("配送中心", "warehouse", "钢材", region="华北")],
        lanes=[sim.Lane("钢厂-配送中心", "钢厂", "配送中心", lead_time_days=2)],
        demand=[sim.DemandZone("北京", "配送中心", mean=40, sd=5)])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030",
                                      "gbk"])
def test_csv_folders_in_the_encodings_excel_saves_are_read(tmp_path: Path,
                                                            encoding: str) -> None:
    network = chinese_network()
    folder = tmp_path / "net"
    sim.io.write_csv_folder(network, folder)
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    again = sim.load_network(folder)
    assert again.nodes == network.nodes and again.lanes == network.lanes
    assert again.demand == network.demand


def test_a_file_in_no_known_encoding_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    sim.io.write_csv_folder(chinese_network(), folder)
    lanes = folder / "lanes.csv"
    lanes.write_bytes(lanes.read_bytes() + b"x,\xff\n")
    with pytest.raises(sim.NetworkError) as error:
        sim.load_network(folder)
    message = str(error.value)
    assert "lanes.csv line" in message and "0xff" in message and "gb18030" in message


def test_yaml_networks_in_utf16_and_gb18030_are_read(tmp_path: Path) -> None:
    from sim.io.mapping import network_to_mapping

    text = yaml.safe_dump(network_to_mapping(chinese_network()), allow_unicode=True)
    for encoding in ("utf-16", "gb18030"):
        path = tmp_path / f"net-{encoding}.yaml"
        path.write_bytes(text.encode(encoding))
        assert set(sim.load_network(path).node_index) == {"钢厂", "配送中心"}


def test_malformed_inputs_are_refused_by_name(tmp_path: Path, demo: sim.Network) -> None:
    sim.io.write_csv_folder(demo, str(tmp_path / "net"))  # a str path is a path
    lanes = tmp_path / "net" / "lanes.csv"
    rows = lanes.read_text(encoding="utf-8").splitlines()
    rows[2] = ",".join(rows[2].split(",")[:1])  # a short row: only the id
    lanes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(NetworkError) as error:
        sim.load_network(tmp_path / "net")
    assert "lanes.csv row 3: source" in str(error.value) and "required cell" in str(error.value)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(NetworkError, match="needs at least one node"):
        sim.load_network(empty)
    with pytest.raises(NetworkError, match=r"lead_time_days = 1000000000000.0: must be <= 3650"):
        sim.Lane("l", "a", "b", lead_time_days=1e12)
    with pytest.raises(sim.ConfigError, match=r"node = \[\]: must be an id or a non-empty list"):
        sim.NodeOutage(node=[], start_day=1, duration_days=2)
    with pytest.raises(sim.ConfigError, match="ids must be non-empty text"):
        sim.LaneDisruption(lane=["ctrl_a-plant", 3], start_day=1, duration_days=2)


def test_a_datasets_config_is_parsed_as_yaml_and_each_reader_gets_its_own_copy() -> None:
    from sim.io.datasets import dataset_config, parse_config, run_config

    ds = sim.simulate(DEMO, days=3, replicates=2, engine="batch")
    text = ds.attrs["config"]
    assert parse_config(text) == yaml.safe_load(text) == run_config(ds) == dataset_config(ds)
    first = dataset_config(ds)
    first["run"]["days"] = 99  # a reader that changes its copy changes nobody else's
    assert dataset_config(ds)["run"]["days"] == 3
    assert dataset_config(ds.drop_attrs()) == {}


def test_a_128_bit_seed_runs_saves_and_reruns(tmp_path: Path) -> None:
    seed = 0x8BADF00D_DEADBEEF_CAFEBABE_12345678  # 128 bits, as SeedSequence().entropy gives
    assert seed >= 2**64
    ds = sim.simulate(DEMO, days=5, replicates=3, seed=seed, engine="batch")
    sim.save_dataset(ds, tmp_path / "run.nc")
    assert xr.open_dataset(tmp_path / "run.nc", engine="h5netcdf").attrs["seed"] == str(seed)
    again = sim.rerun(tmp_path / "run.nc")
    assert again.attrs["seed"] == str(seed)
    np.testing.assert_array_equal(again.lost_sales.values, ds.lost_sales.values)
    assert sim.simulate(DEMO, days=5, replicates=3, seed=7, engine="batch").attrs["seed"] == 7
