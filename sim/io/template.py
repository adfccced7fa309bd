"""A small documented network to start from: ``python -m sim new DIR [--excel]``.

Two controller-chip sources (an overseas one by sea, cheap and slow, with an air lane for
expediting, and a domestic green one by road), a standby chip supplier that ships nothing until a
backup policy calls on it, a housing supplier, one assembly plant and two distribution centres
serving two markets.
It is written as a CSV folder (with a ``README.md``) or one ``.xlsx`` workbook (with a
``README`` sheet); :func:`sim.load_network` reads either back, ``python -m sim check`` accepts
it, and every shipped experiment runs on it (their disruption and policy presets pick their
targets by rule, :mod:`sim.compile.selectors`).
"""

from __future__ import annotations

from pathlib import Path

from sim.spec.errors import Issue, NetworkError
from sim.spec.network import DemandZone, Item, Lane, Network, Node

__all__ = ["TEMPLATE_README", "template_network", "write_template"]


def template_network() -> Network:
    """The template network (what ``python -m sim new`` writes)."""
    nodes = [
        Node("chip_overseas", "supplier", "chip", region="asia", capacity_per_day=80,
             unit_value=8, production_co2e_kg_per_unit=0.5),
        Node("chip_domestic", "supplier", "chip", region="east", capacity_per_day=40,
             unit_value=10, production_co2e_kg_per_unit=0.3, green=True),
        Node("chip_standby", "supplier", "chip", region="west", capacity_per_day=30,
             unit_value=12, production_co2e_kg_per_unit=0.4),
        Node("housing_supplier", "supplier", "housing", region="east", capacity_per_day=80,
             unit_value=4, production_co2e_kg_per_unit=1.2),
        Node("plant", "manufacturer", "controller", bom={"chip": 2, "housing": 1}, region="east",
             cluster="east-park", capacity_per_day=60, unit_value=50,
             production_co2e_kg_per_unit=2.0),
        Node("dc_east", "warehouse", "controller", region="east", unit_value=55),
        Node("dc_west", "warehouse", "controller", region="west", unit_value=56),
    ]
    lanes = [
        Lane("chip_overseas-plant", "chip_overseas", "plant", carrier="ocean_line", mode="sea",
             lead_time_days=21, distance_km=4000, cost_per_unit=0.2,
             co2e_kg_per_unit_km=0.00001, share=0.7),
        Lane("chip_domestic-plant", "chip_domestic", "plant", carrier="east_road", mode="road",
             lead_time_days=2, capacity_per_day=40, distance_km=300, cost_per_unit=0.6,
             co2e_kg_per_unit_km=0.0001, share=0.3),
        Lane("chip_standby-plant", "chip_standby", "plant", carrier="west_road", mode="road",
             lead_time_days=3, capacity_per_day=30, distance_km=1200, cost_per_unit=1.0,
             co2e_kg_per_unit_km=0.0001, role="backup"),
        Lane("housing-plant", "housing_supplier", "plant", carrier="east_road", mode="road",
             lead_time_days=2, distance_km=150, cost_per_unit=0.3,
             co2e_kg_per_unit_km=0.0003),
        Lane("chip_overseas-plant-air", "chip_overseas", "plant", carrier="air_cargo",
             mode="air", lead_time_days=3, capacity_per_day=30, distance_km=4000,
             cost_per_unit=2.5, co2e_kg_per_unit_km=0.0005, role="expedite"),
        Lane("plant-dc_east", "plant", "dc_east", carrier="east_road", mode="road",
             lead_time_days=1, distance_km=100, cost_per_unit=0.8,
             co2e_kg_per_unit_km=0.001),
        Lane("plant-dc_west", "plant", "dc_west", carrier="cn_rail", mode="rail",
             lead_time_days=4, distance_km=1500, cost_per_unit=1.2,
             co2e_kg_per_unit_km=0.0003),
    ]
    demand = [
        DemandZone("east_market", "dc_east", mean=20, sd=6),
        DemandZone("west_market", "dc_west", mean=15, sd=5, law="gamma"),
    ]
    items = [Item("chip", "Controller chip", "pcs"), Item("housing", "Housing", "pcs"),
             Item("controller", "Motor controller (finished product)", "pcs")]
    return Network(name="my_chain", nodes=tuple(nodes), lanes=tuple(lanes), demand=tuple(demand),
                   items=tuple(items))


TEMPLATE_README = (
    "A template supply-chain network: edit it to describe your own, then check and run it.",
    "",
    "Tables (one CSV file or one sheet each); the header is row 1; an empty cell takes the "
    "default.",
    "  nodes   id, kind (supplier | manufacturer | warehouse), item it stocks and ships, region, "
    "cluster,",
    "          capacity_per_day (units/day; empty: unlimited), unit_value (money/unit), "
    "holding_cost_rate (1/year),",
    "          production_co2e_kg_per_unit, green (true/false), initial_stock (empty: steady "
    "state).",
    "  lanes   id, source, target (node ids; material flows source -> target), carrier, mode, "
    "lead_time_days (whole days >= 1),",
    "          capacity_per_day, distance_km, cost_per_unit (freight, paid by the target), "
    "co2e_kg_per_unit_km,",
    "          share (of the target's orders of that item; primary lanes of one input sum to 1),",
    "          role (primary | backup | expedite), pipeline_owner (buyer | seller).",
    "  bom     node, item, quantity: units of each input per unit a manufacturer makes.",
    "  demand  id, node serving the customers, mean and sd of daily demand (units/day), law "
    "(normal | poisson | gamma | lognormal),",
    "          shortage_cost_per_unit (empty: the node's unit value).",
    "  items   id, name, unit (optional).    network   key, value: name, unmet_demand "
    "(lost | backorder).",
    "",
    "Next:",
    "  python -m sim check PATH                                   validate (every problem at "
    "once, by file, row and column)",
    "  python -m sim experiment=demo network=file network.source=PATH",
    "                                                             an outage of the slowest "
    "supplier, four strategies compared",
    "  python -m sim experiment=enterprise network=file network.source=PATH",
    "                                                             random risks a year: the "
    "money read per year",
    "The report (report.html in the run folder) says which measure pays off, per event or per "
    "year.",
)


def write_template(path: str | Path, *, excel: bool = False) -> Path:
    """Write the template network to ``path``: a CSV folder, or an ``.xlsx`` workbook.

    Refuses to overwrite: an existing non-empty folder or an existing file is an error.
    """
    from sim.io import write_csv_folder, write_workbook
    from sim.io.atomic import write_text_atomic

    path = Path(path).expanduser()
    if excel:
        path = path if path.suffix.lower() == ".xlsx" else path.with_suffix(".xlsx")
        if path.exists():
            raise NetworkError(Issue(str(path), "", None, "already exists; choose a new name "
                                     "(nothing was overwritten)"))
        return write_workbook(template_network(), path, readme=TEMPLATE_README)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise NetworkError(Issue(str(path), "", None, "already exists and is not an empty "
                                 "folder; choose a new name (nothing was overwritten)"))
    folder = write_csv_folder(template_network(), path)
    write_text_atomic(folder / "README.md", "\n".join(TEMPLATE_README) + "\n")
    return folder
