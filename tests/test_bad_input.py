"""Bad input refused cleanly, by source: files (CSV, Excel, YAML), the Python API, the CLI.

Each case asserts that the message names where (file, sheet, row, column or key) and why.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

import sim
from sim.io.template import template_network, write_template
from sim.spec.errors import ConfigError, NetworkError

# -- files -----------------------------------------------------------------------------------


@pytest.fixture()
def csv_template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "chain")


@pytest.fixture()
def xlsx_template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "chain.xlsx", excel=True)


def _edit_csv(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _message(path: Path) -> str:
    with pytest.raises(NetworkError) as error:
        sim.load_network(path)
    return str(error.value)


def test_templates_read_back_equal_to_the_template(csv_template: Path,
                                                   xlsx_template: Path) -> None:
    expected = template_network()
    for path in (csv_template, xlsx_template):
        network = sim.load_network(path)
        assert (network.nodes, network.lanes, network.demand, network.items) == (
            expected.nodes, expected.lanes, expected.demand, expected.items)
    assert (csv_template / "README.md").is_file()
    assert load_workbook(xlsx_template).sheetnames[0] == "README"


def test_every_problem_of_a_csv_folder_is_reported_at_once(csv_template: Path) -> None:
    _edit_csv(csv_template, "nodes.csv", "plant,60.0", "plant,lots")  # a bad capacity
    _edit_csv(csv_template, "lanes.csv", "chip_domestic-plant,40.0", "chip_domestic-plant,-4")
    _edit_csv(csv_template, "demand.csv", "dc_west", "dc_nowhere")  # an unknown node
    message = _message(csv_template)
    assert "3 problems" in message
    assert "nodes.csv row 6: capacity_per_day = 'lots'" in message
    assert "lanes.csv row 3: capacity_per_day = '-4'" in message
    assert "demand.csv row 3: node = 'dc_nowhere': unknown node" in message


def test_what_only_follows_from_a_refused_row_is_not_repeated(csv_template: Path) -> None:
    _edit_csv(csv_template, "nodes.csv", "chip_domestic,", "chip_domestic,-1,")
    message = _message(csv_template)
    assert "nodes.csv row 3" in message
    assert "shares of the lanes" not in message and "1 problem" in message


def test_excel_cells_are_named_by_file_sheet_row_and_column(xlsx_template: Path) -> None:
    book = load_workbook(xlsx_template)
    lanes = book["lanes"]
    header = [c.value for c in lanes[1]]
    lanes.cell(row=2, column=header.index("lead_time_days") + 1, value="soon")
    demand = book["demand"]
    demand.cell(row=3, column=[c.value for c in demand[1]].index("mean") + 1).value = None
    book.save(xlsx_template)
    message = _message(xlsx_template)
    assert "chain.xlsx sheet lanes row 2: lead_time_days = 'soon'" in message
    assert "chain.xlsx sheet demand row 3: mean = None: required cell is empty" in message


def test_excel_missing_sheet_and_foreign_files_are_refused(tmp_path: Path,
                                                           xlsx_template: Path) -> None:
    book = load_workbook(xlsx_template)
    del book["lanes"]
    book.save(xlsx_template)
    assert "sheet = 'lanes': required sheet missing (the workbook has: README, nodes" in \
        _message(xlsx_template)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("id,kind\n", encoding="utf-8")
    assert "not a readable .xlsx workbook" in _message(fake)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert ".xls workbooks are not read: save it from Excel as 'Excel Workbook (.xlsx)'" in \
        _message(old)


@pytest.mark.parametrize("edit,fragment", [
    (lambda book: setattr(book["nodes"].cell(row=2, column=2), "value", "=40*2"),
     "sheet nodes row 2: column B = '=40*2': a formula with no computed value"),
    (lambda book: book["nodes"].merge_cells("A2:B2"),
     "sheet nodes: cells = 'A2:B2': merged cells"),
    (lambda book: book["demand"].delete_rows(2, 10),
     "a network needs at least one demand zone"),
])
def test_excel_cells_that_would_read_as_empty_are_refused(xlsx_template: Path, edit,
                                                          fragment: str) -> None:
    book = load_workbook(xlsx_template)
    edit(book)
    book.save(xlsx_template)
    assert fragment in _message(xlsx_template)


def test_excel_numbers_booleans_and_extra_sheets_are_read(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "notes"
    rows = {"nodes": [["ID", "Kind", "Item", "green", "Capacity per day"],  # headers typed freely
                      ["s", "supplier", "part", True, 50], ["w", "warehouse", "part", None, None]],
            "lanes": [["id", "source", "target", "lead-time-days"], ["s-w", "s", "w", 3]],
            "demand": [["id", "node", "mean", "sd"], ["m", "w", 10, 2.5]]}
    for name, table in rows.items():
        sheet = book.create_sheet(f" {name.upper()} ")  # names matched without case or spaces
        for row in table:
            sheet.append(row)
    book.save(tmp_path / "mine.xlsx")
    network = sim.load_network(tmp_path / "mine.xlsx")
    assert network.nodes[0].green and network.nodes[0].capacity_per_day == 50
    assert math.isinf(network.nodes[1].capacity_per_day) and network.lanes[0].lead_time_days == 3


def test_semicolon_and_tab_separated_csv_files_are_read(csv_template: Path) -> None:
    for name in ("nodes.csv", "demand.csv"):
        path = csv_template / name
        path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    path = csv_template / "lanes.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-16")
    assert sim.load_network(csv_template).nodes == template_network().nodes


def test_column_names_are_read_without_case_or_spaces(csv_template: Path) -> None:
    path = csv_template / "lanes.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    typed = ",".join(f" {name.replace('_', ' ').title()} " for name in header.split(","))
    path.write_text(f"{typed}\n{rest}", encoding="utf-8")
    assert "Lead Time Days" in typed
    assert sim.load_network(csv_template).lanes == template_network().lanes
    path.write_text(f"{header.replace('lead_time_days', 'lead time')}\n{rest}", encoding="utf-8")
    assert "lanes.csv row 1: lead_time = 'lead_time': unknown column" in _message(csv_template)


def test_note_columns_are_ignored_and_other_unknown_columns_refused(csv_template: Path,
                                                                    xlsx_template: Path) -> None:
    path = csv_template / "nodes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ",Notes,# owner,comment"
    lines[1] += ',"audited 2026, passed",Li,'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert sim.load_network(csv_template).nodes == template_network().nodes
    book = load_workbook(xlsx_template)
    book["nodes"].cell(row=1, column=book["nodes"].max_column + 1, value="Remarks")
    book["nodes"].cell(row=2, column=book["nodes"].max_column, value="see the audit")
    book.save(xlsx_template)
    assert sim.load_network(xlsx_template).nodes == template_network().nodes
    lines[0] = lines[0].replace("Notes", "capacity")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "nodes.csv row 1: capacity = 'capacity': unknown column" in _message(csv_template)


def test_a_word_for_no_limit_is_refused_with_what_to_write(csv_template: Path) -> None:
    _edit_csv(csv_template, "nodes.csv", "plant,60.0", "plant,unlimited")
    assert "capacity_per_day = 'unlimited': must be a number (inf for no limit; an empty cell " \
        "takes the default)" in _message(csv_template)
    _edit_csv(csv_template, "nodes.csv", "plant,unlimited", "plant,inf")
    assert math.isinf(sim.load_network(csv_template).node("plant").capacity_per_day)


def test_decimal_commas_of_semicolon_separated_files_are_read(csv_template: Path) -> None:
    # Excel in a decimal-comma locale: semicolons between cells, 0,6 for 0.6 (and 1e-05 stays)
    for name in ("nodes.csv", "lanes.csv", "demand.csv"):
        path = csv_template / name
        text = path.read_text(encoding="utf-8").replace(",", ";")
        path.write_text(re.sub(r"(\d)\.(\d)", r"\1,\2", text), encoding="utf-8-sig")
    assert "0,6;" in (csv_template / "lanes.csv").read_text(encoding="utf-8-sig")
    expected = template_network()
    network = sim.load_network(csv_template)
    assert (network.nodes, network.lanes, network.demand) == (
        expected.nodes, expected.lanes, expected.demand)


def test_a_decimal_comma_elsewhere_is_refused_with_the_reason(csv_template: Path) -> None:
    _edit_csv(csv_template, "lanes.csv", "0.6,300.0", '"0,6",300.0')  # comma-separated file
    message = _message(csv_template)
    assert "lanes.csv row 3: cost_per_unit = '0,6': must be a number, with a decimal point" \
        in message
    # tabs: Excel's "Unicode text" in any locale, where 1,000 may be a thousand: not guessed
    path = csv_template / "lanes.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", "\t").replace('"0\t6"', "1,000"),
                    encoding="utf-16")
    assert "cost_per_unit = '1,000': must be a number, with a decimal point" in \
        _message(csv_template)


def test_a_yaml_key_given_twice_is_refused_by_line(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("name: x\nnodes:\n  a: {kind: supplier, item: p}\n"
                    "  a: {kind: warehouse, item: p}\nlanes: {}\ndemand: {}\n")
    assert "net.yaml line 4: not valid YAML: key 'a' appears twice (first on line 3)" in \
        _message(path)


def test_a_single_table_of_a_csv_network_is_explained(csv_template: Path) -> None:
    assert "one table of a CSV network: give the folder" in _message(csv_template / "nodes.csv")


def test_templates_never_overwrite(csv_template: Path, xlsx_template: Path) -> None:
    for path, excel in ((csv_template, False), (xlsx_template, True)):
        with pytest.raises(NetworkError, match="already exists"):
            write_template(path, excel=excel)


# -- the Python API ----------------------------------------------------------------------------


@pytest.mark.parametrize("build,fragment", [
    (lambda: sim.SourcingPolicy(detection_delay_days=-1),
     "policy.sourcing: detection_delay_days = -1"),
    (lambda: sim.BackupPolicy(premium_per_unit=-2), "policy.sourcing.backup: premium_per_unit"),
    (lambda: sim.ForecastPolicy(method="crystal_ball"), "policy.forecast: method"),
    (lambda: sim.ExpeditePolicy(premium_per_unit=-1), "policy.expedite: premium_per_unit"),
    (lambda: sim.PoolingPolicy(cost_per_unit=-0.5), "policy.pooling: cost_per_unit"),
    (lambda: sim.Reserve("dc", units=-10), "policy.reserves: units = -10"),
    (lambda: sim.EarlyWarning(notice_days=2.5), "policy.early_warning: notice_days = 2.5"),
    (lambda: sim.GreenPolicy(prefer_low_emission=2), "policy.green: prefer_low_emission"),
    (lambda: sim.SharedWarehouse("h", members=(), item="x", units=5),
     "policy.shared_warehouses: members"),
    (lambda: sim.InventoryPolicy(rule="kanban"), "policy.inventory: rule = 'kanban'"),
    (lambda: sim.ForecastPolicy(window_days=10**9), "window_days = 1000000000: must be <= 3650"),
    (lambda: sim.NodeOutage([], start_day=1, duration_days=2), "non-empty list of ids"),
    (lambda: sim.RecoveryRule(tolerance=-1), "tolerance"),
])
def test_each_spec_validates_itself(build, fragment: str) -> None:
    with pytest.raises(ConfigError) as error:
        build()
    assert fragment in str(error.value)


@pytest.mark.parametrize("build,fragment", [
    (lambda: sim.Network("n", nodes=None, lanes=[], demand=[]), "nodes = None: must be a list"),
    (lambda: sim.Network("n", nodes=[{"id": "a"}], lanes=[], demand=[]), "must hold Node specs"),
    (lambda: sim.simulate(template_network(), days=10**9, replicates=1, engine="batch"),
     "days = 1000000000: must be <= 1,000,000 days: the daily demand of one replicate alone "
     "would need 14.9 GiB"),
    (lambda: sim.simulate(template_network(), days=5, policy=3), "policy: must be a Policy"),
    (lambda: sim.simulate(template_network(), days=5, disruptions="supplier_outage"),
     "disruption.events[0]: must be a disruption spec"),
])
def test_wrong_types_and_magnitudes_in_the_api_are_refused(build, fragment: str) -> None:
    with pytest.raises(sim.SimError) as error:
        build()
    assert fragment in str(error.value)


def test_api_paths_take_str_or_path(tmp_path: Path) -> None:
    for target in (str(tmp_path / "a"), tmp_path / "b"):
        folder = sim.io.write_csv_folder(template_network(), target)
        assert sim.load_network(str(folder)).name == "my_chain"


def test_a_lead_time_beyond_ten_years_is_refused() -> None:
    with pytest.raises(NetworkError, match=r"lead_time_days = 1000000000000\.0: must be <= 3650"):
        sim.Lane("l", "a", "b", lead_time_days=1e12)


def test_a_duration_beyond_any_horizon_is_refused(demo: sim.Network) -> None:
    with pytest.raises(ConfigError, match=r"duration_days = 1000000000: must be .* <= 36,500"):
        sim.NodeOutage("plant", start_day=1, duration_days=10**9)
    with pytest.raises(ConfigError, match=r"rate_per_year = 1000000000000\.0: .* <= 3650"):
        sim.NodeOutage("plant", rate_per_year=1e12, duration_days=3)
    with pytest.raises(ConfigError, match="mean_days"):
        sim.NodeOutage("plant", rate_per_year=1, duration={"law": "exponential",
                                                            "mean_days": 1e15})


# -- the command line ------------------------------------------------------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          check=False, cwd=cwd, timeout=300)


def test_help_lists_subcommands_groups_and_examples() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    for words in ("usage: python -m sim", "new ", "check ", "report ", "merge ", "app ",
                  "config groups", "disruption ", "supplier_outage", "policy ", "resilient",
                  "examples:", "experiment=demo", "--cfg job"):
        assert words in result.stdout, words
    assert "hydra:" not in result.stdout and len(result.stdout.splitlines()) < 60


@pytest.mark.parametrize("args,fragment", [
    (["policy=nonexistent"], "Could not find 'policy/nonexistent'"),
    (["run.seed=abc"], "run.seed=abc"),
    (["foo=bar"], "foo: unknown config key (foo=bar)"),
    (["compare=[a,b"], "no viable alternative"),
    (["engine.replicats=10"], "did you mean engine.replicates"),
    (["+engine.replicats=10"], "engine: replicats = 10: unknown option; did you mean "
                               "replicates?"),
    (["network=file"], "network.source"),
    (["disruption.events.0.node=@nowhere", "experiment=demo"], "unknown rule @nowhere"),
])
def test_every_config_error_is_one_paragraph_with_exit_status_2(tmp_path: Path, args: list[str],
                                                                fragment: str) -> None:
    result = _cli(*args, f"hydra.run.dir={tmp_path}", "report.enabled=false")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "+engine" not in result.stderr
    assert len(lines) <= 3  # one paragraph (a network error may list its problems below)


def test_new_then_check_then_run_the_demo_experiment(tmp_path: Path) -> None:
    """From the template to the report, on the CSV folder and on the Excel workbook."""
    assert _cli("new", "chain", cwd=tmp_path).returncode == 0
    assert _cli("new", "chain.xlsx", "--excel", cwd=tmp_path).returncode == 0
    assert _cli("new", "chain", cwd=tmp_path).returncode == 2  # never overwritten
    for source in ("chain", "chain.xlsx"):
        checked = _cli("check", source, cwd=tmp_path)
        assert checked.returncode == 0 and "ok: my_chain: 7 nodes" in checked.stdout
        out = tmp_path / f"run-{source}"
        run = _cli("experiment=demo", "network=file", f"network.source={source}",
                   "engine.replicates=8", "run.days=75", "report.scan=false",
                   "report.attribution=false", f"hydra.run.dir={out}", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert (out / "report.html").is_file() and (out / "results.nc").is_file()
        assert "node outage of node @slowest = chip_overseas: days 30-59" in run.stdout
    shutil.rmtree(tmp_path / "chain")
