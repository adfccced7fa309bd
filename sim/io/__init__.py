"""Reading networks from files: YAML, a folder of CSV files, an Excel workbook, a Willems chain."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sim.io.csv_folder import CSV_FILES, read_csv_folder, write_csv_folder
from sim.io.excel import EXCEL_SUFFIXES, OLD_EXCEL_SUFFIXES, read_workbook, write_workbook
from sim.io.mapping import network_from_mapping, network_to_mapping, read_yaml_network
from sim.io.willems import is_willems_file, read_willems
from sim.spec.errors import Issue, NetworkError
from sim.spec.network import Network

__all__ = [
    "EXAMPLE_PREFIX",
    "example_networks",
    "load_network",
    "network_from_mapping",
    "network_to_mapping",
    "resolve_path",
    "write_csv_folder",
    "write_workbook",
]

EXAMPLE_PREFIX = "example:"


def _examples_root() -> Path:
    return Path(str(resources.files("sim") / "data"))


def example_networks() -> dict[str, str]:
    """Shipped example networks: name -> source string for :func:`load_network`."""
    root = _examples_root()
    out = {}
    for path in sorted((root / "willems-2008").glob("chain-*.csv")):
        out[f"willems-{path.stem.split('-')[1]}"] = f"{EXAMPLE_PREFIX}willems-2008/{path.name}"
    return out


def resolve_path(source: str | Path) -> Path:
    """Turn ``example:willems-2008/chain-01.csv`` or a path into a filesystem path."""
    text = str(source)
    if text.startswith(EXAMPLE_PREFIX):
        return _examples_root() / text[len(EXAMPLE_PREFIX):]
    return Path(text).expanduser()


def load_network(path: str | Path, *, name: str | None = None,
                 unmet_demand: str | None = None) -> Network:
    """Read a network from a file or folder.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml`` file (the shape of the Hydra ``network`` group), a folder of CSV
        files (``nodes.csv``, ``lanes.csv``, ``bom.csv``, ``demand.csv``), an ``.xlsx`` workbook
        with one sheet per table (:mod:`sim.io.excel`), a Willems (2008) chain
        (``.csv`` starting with ``/chain``), or ``example:<relative path>`` for a shipped example.
    name : str, optional
        Replace the network's name.
    unmet_demand : {"lost", "backorder"}, optional
        Replace what happens to unmet end-customer demand.

    Returns
    -------
    Network
        Validated; its ``source`` records ``path`` for provenance.

    Raises
    ------
    NetworkError
        When the file is missing, of an unknown kind, or breaks a rule (named with file, row or
        key, and column).
    """
    resolved, source = resolve_path(path), str(path)
    if resolved.is_dir():
        network = read_csv_folder(resolved, source=source)
    elif not resolved.is_file():
        raise NetworkError(Issue(str(path), "", None, "no such file or folder"))
    elif resolved.suffix.lower() in (".yaml", ".yml"):
        network = read_yaml_network(resolved, source=source)
    elif resolved.suffix.lower() in EXCEL_SUFFIXES:
        network = read_workbook(resolved, source=source)
    elif resolved.suffix.lower() == ".csv" and is_willems_file(resolved):
        network = read_willems(resolved, source=source)
    else:
        raise NetworkError(Issue(str(path), "", None, _unknown_format(resolved)))
    changes = {key: value for key, value in (("name", name), ("unmet_demand", unmet_demand))
               if value is not None}
    return network.replace(**changes) if changes else network


def _unknown_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in OLD_EXCEL_SUFFIXES:
        return (f"{suffix} workbooks are not read: save it from Excel as 'Excel Workbook "
                "(.xlsx)', or as CSV UTF-8 files in a folder")
    if suffix == ".csv" and path.stem in {name.removesuffix(".csv") for name in CSV_FILES}:
        return (f"one table of a CSV network: give the folder that holds it "
                f"({path.parent}) and its nodes.csv, lanes.csv, bom.csv and demand.csv")
    return ("unknown network format: expected a .yaml file, an .xlsx workbook, a folder of CSV "
            "files (nodes.csv, lanes.csv, bom.csv, demand.csv), or a Willems chain .csv "
            "starting with /chain")
