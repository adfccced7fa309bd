"""Reader for the Willems (2008) real-world multi-echelon chains (the CSV flattening of the XML).

Willems, S. P. (2008), "Data Set: Real-World Multiechelon Supply Chains Used for Inventory
Optimization", *M&SOM* 10(1):19-23. Row 1 is the XML root, row 2 the column names
(``/stages/stage/@stageName``, ``/arcs/arc/@from``, ...); each later row is an arc, a stage, or
both. Columns differ between chains, so they are read by name; unknown columns are ignored.

How stages become agents (the reading this project uses, also in docs/networks.md):

* **Part** (also spelled ``Parts``) and any stage without predecessors: a **supplier** of its own
  item, with unlimited raw material and capacity.
* **Manuf**: a **manufacturer** of its own item. Its BOM holds one unit of each *distinct* item its
  predecessors hold (the guaranteed-service reading: all inputs are needed); predecessors that hold
  the same item are alternative sources and split its orders equally.
* **Dist** and **Retail**: a **warehouse** of its predecessors' item when they all hold one item;
  a stage fed by several distinct items assembles them and becomes a manufacturer (same reading).
* **Trans** with exactly one predecessor, at least one successor and no demand of its own: not a
  node but a **carrier**. Each path predecessor -> Trans -> successor becomes a lane operated by a
  carrier named after the Trans stage; its stage cost becomes the lane's freight per unit. Any
  other Trans stage stays a node under the rules above.
* Stages with ``avgDemand`` get a demand zone with sd ``stDevDemand``: a normal law when
  sd <= mean / 3 (a negative draw, read as zero, then happens on under 0.14 % of days), else a
  gamma law with that mean and sd (some chains have sd near twice the mean, where a normal law
  censored at zero would raise mean demand by a third).

Times. A stage's ``stageTime`` is the time it needs once its inputs are there, so it becomes the
lead time of the lanes *into* it; a root stage has no inbound lane, so its time is added to the
lanes *out of* it, and a collapsed Trans stage adds its time to the lane it becomes. Each lane's
total is rounded to the nearest whole day (halves up) with a minimum of one day: in a daily model
a shipment cannot arrive on the day it leaves. Rounding keeps path times unbiased, where
rounding up would add half a day per stage on average. The stage-time distributions
(``stDevStageTime``, ``StageTime_k_p/v``) are not simulated: lanes use the nominal time.

Value. A node's unit value is its ``stageCost`` plus, for each input item, the mean over its
sources of (the source's value + the lane's freight); holding cost is charged on it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from sim.io.text import read_text
from sim.spec.errors import InputError, Issue, NetworkError
from sim.spec.network import DemandZone, Lane, Network, Node

__all__ = ["WILLEMS_CLASSES", "is_willems_file", "read_willems"]

WILLEMS_CLASSES = ("part", "manuf", "dist", "trans", "retail")
STAGE_PREFIX = "/stages/stage/@"
ARC_PREFIX = "/arcs/arc/@"
NORMAL_MAX_CV = 3.0  # a normal law when mean / sd >= this, else gamma


@dataclass
class _Stage:
    name: str
    row: int
    cls: str
    time: float
    cost: float
    demand_mean: float | None
    demand_sd: float
    preds: list[tuple[str, int]] = field(default_factory=list)  # (stage, arc row)
    succs: list[str] = field(default_factory=list)


def is_willems_file(path: Path) -> bool:
    """True when the file looks like a Willems chain (first cell ``/chain``)."""
    try:
        first = next(csv.reader(io.StringIO(read_text(path), newline="")), [""])
    except InputError:
        return False
    return bool(first) and first[0].strip().lower() == "/chain"


def _class(raw: str) -> str:
    text = raw.strip().lower()
    for cls in WILLEMS_CLASSES:
        if text.startswith(cls):
            return cls
    return "other"


def _parse(path: Path) -> dict[str, _Stage]:
    label = path.name
    issues: list[Issue] = []
    try:
        text = read_text(path)
    except InputError as error:
        raise NetworkError(error.issues) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2:
        raise NetworkError(Issue(label, "", None, "needs the /chain row and a header row"))
    columns: dict[str, int] = {}  # "stage.stagetime" -> column index (names differ in case)
    header: dict[str, str] = {}  # the same key -> the column name as written
    for index, name in enumerate(rows[1]):
        name = name.strip()
        for prefix, kind in ((STAGE_PREFIX, "stage"), (ARC_PREFIX, "arc")):
            if name.lower().startswith(prefix.lower()):
                key = f"{kind}.{name[len(prefix):].lower()}"
                columns[key], header[key] = index, name
    for required in ("stage.stagename", "arc.from", "arc.to"):
        if required not in columns:
            original = (STAGE_PREFIX if required.startswith("stage") else ARC_PREFIX) + \
                required.split(".", 1)[1]
            issues.append(Issue(f"{label} row 2", original, None, "required column missing"))
    if issues:
        raise NetworkError(issues, source=str(path))

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    def number(row: list[str], number_: int, key: str, default: float | None) -> float | None:
        text = cell(row, key)
        if text == "":
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            issues.append(Issue(f"{label} row {number_}", header[key], text,
                                "must be a number >= 0"))
            return default
        return value

    stages: dict[str, _Stage] = {}
    arcs: list[tuple[str, str, int]] = []
    for number_, row in enumerate(rows[2:], start=3):
        name = cell(row, "stage.stagename")
        if name:
            if name in stages:
                issues.append(Issue(f"{label} row {number_}", STAGE_PREFIX + "stageName", name,
                                    f"stage defined twice (first on row {stages[name].row})"))
                continue
            stages[name] = _Stage(
                name=name,
                row=number_,
                cls=_class(cell(row, "stage.stageclassification")),
                time=number(row, number_, "stage.stagetime", 0.0) or 0.0,
                cost=number(row, number_, "stage.stagecost", 0.0) or 0.0,
                demand_mean=number(row, number_, "stage.avgdemand", None),
                demand_sd=number(row, number_, "stage.stdevdemand", 0.0) or 0.0,
            )
        source, target = cell(row, "arc.from"), cell(row, "arc.to")
        if source or target:
            if not (source and target):
                issues.append(Issue(f"{label} row {number_}", ARC_PREFIX + "from/to",
                                    [source, target], "an arc needs both ends"))
            else:
                arcs.append((source, target, number_))
    seen: set[tuple[str, str]] = set()
    for source, target, number_ in arcs:
        for key, end in (("from", source), ("to", target)):
            if end not in stages:
                issues.append(Issue(f"{label} row {number_}", ARC_PREFIX + key, end,
                                    "unknown stage"))
        if source in stages and target in stages and (source, target) not in seen:
            seen.add((source, target))  # a repeated arc adds nothing: the same flow
            stages[target].preds.append((source, number_))
            stages[source].succs.append(target)
    if issues:
        raise NetworkError(issues, source=str(path))
    return stages


def _is_carrier(stage: _Stage) -> bool:
    return (stage.cls == "trans" and len(stage.preds) == 1 and bool(stage.succs)
            and stage.demand_mean is None)


def read_willems(path: Path, *, name: str | None = None, source: str | None = None) -> Network:
    """Read one Willems (2008) chain as a :class:`~sim.spec.network.Network`.

    Parameters
    ----------
    path : Path
        A ``chain-NN.csv`` file of the data set.
    name : str, optional
        Network name; defaults to the file stem.
    """
    label = path.name
    stages = _parse(path)
    carriers = {s.name for s in stages.values() if _is_carrier(s)}

    # Where each arc into a real stage really starts: walk back through carrier stages.
    def trace(source: str, arc_row: int) -> tuple[str, float, float, list[str]]:
        time, cost, via, seen = 0.0, 0.0, [], set()
        while source in carriers:
            if source in seen:
                raise NetworkError(Issue(f"{label} row {arc_row}", ARC_PREFIX + "from", source,
                                         "transport stages form a cycle"), source=str(path))
            seen.add(source)
            stage = stages[source]
            time, cost = time + stage.time, cost + stage.cost
            via.append(source)
            source = stage.preds[0][0]
        return source, time, cost, via

    real = [s for s in stages.values() if s.name not in carriers]
    inbound: dict[str, list[tuple[str, float, float, list[str], int]]] = defaultdict(list)
    for stage in real:
        for pred, arc_row in stage.preds:
            origin, time, cost, via = trace(pred, arc_row)
            inbound[stage.name].append((origin, time, cost, via, arc_row))

    # Items: suppliers and manufacturers make their own; a warehouse holds its sources' item.
    order = _topological(real, inbound, label, path)
    item_of: dict[str, str] = {}
    kind_of: dict[str, str] = {}
    for stage in order:
        source_items = {item_of[origin] for origin, *_ in inbound[stage.name]}
        if not inbound[stage.name]:
            kind_of[stage.name] = "supplier"
            item_of[stage.name] = stage.name
        elif stage.cls in ("dist", "retail", "trans", "other") and len(source_items) == 1:
            kind_of[stage.name] = "warehouse"
            item_of[stage.name] = next(iter(source_items))
        else:
            kind_of[stage.name] = "manufacturer"
            item_of[stage.name] = stage.name

    value: dict[str, float] = {}
    nodes: list[Node] = []
    lanes: list[Lane] = []
    for stage in order:
        lanes_by_item: dict[str, list[tuple[str, float, float, list[str], int]]] = defaultdict(list)
        for entry in inbound[stage.name]:
            lanes_by_item[item_of[entry[0]]].append(entry)
        unit_value = stage.cost
        for entries in lanes_by_item.values():
            unit_value += sum(value[o] + c for o, _, c, _, _ in entries) / len(entries)
            for origin, time, cost, via, arc_row in entries:
                days = stage.time + time + (stages[origin].time if not inbound[origin] else 0.0)
                lanes.append(Lane(
                    id=">".join([origin, *reversed(via), stage.name]),
                    source=origin,
                    target=stage.name,
                    carrier=via[-1] if via else "default",
                    lead_time_days=max(1, math.floor(days + 0.5)),
                    cost_per_unit=cost,
                    share=1.0 / len(entries),
                    origin=f"{label} row {arc_row}",
                ))
        value[stage.name] = unit_value
        nodes.append(Node(
            id=stage.name,
            kind=kind_of[stage.name],
            item=item_of[stage.name],
            bom={item: 1.0 for item in lanes_by_item} if kind_of[stage.name] == "manufacturer"
            else {},
            unit_value=unit_value,
            origin=f"{label} row {stage.row}",
        ))
    demand = [
        DemandZone(id=f"{stage.name}-customers", node=stage.name, mean=stage.demand_mean,
                   sd=stage.demand_sd, law=_demand_law(stage.demand_mean, stage.demand_sd),
                   origin=f"{label} row {stage.row}")
        for stage in order if stage.demand_mean is not None
    ]
    return Network(name=name or path.stem, nodes=tuple(nodes), lanes=tuple(lanes),
                   demand=tuple(demand),
                   source=source or str(path))


def _demand_law(mean: float, sd: float) -> str:
    return "normal" if sd <= mean / NORMAL_MAX_CV or mean <= 0 else "gamma"


def _topological(real: list[_Stage], inbound: dict, label: str, path: Path) -> list[_Stage]:
    """File order, but every stage after its sources (values need the sources first)."""
    graph = {s.name: {origin for origin, *_ in inbound[s.name]} for s in real}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        cycle = error.args[1]
        row = next(s.row for s in real if s.name == cycle[0])
        raise NetworkError(Issue(f"{label} row {row}", STAGE_PREFIX + "stageName", cycle[0],
                                 f"arcs form a cycle ({' -> '.join(cycle)})"),
                           source=str(path)) from None
    return _stable_topological(sorted(real, key=lambda s: s.row), inbound)


def _stable_topological(stages: list[_Stage], inbound: dict) -> list[_Stage]:
    """File order, but every stage after its sources (values need the sources first)."""
    placed: set[str] = set()
    out: list[_Stage] = []
    pending = list(stages)
    while pending:
        rest = []
        for stage in pending:
            if all(origin in placed for origin, *_ in inbound[stage.name]):
                out.append(stage)
                placed.add(stage.name)
            else:
                rest.append(stage)
        pending = rest
    return out
