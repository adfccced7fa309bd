"""Reading networks from files: YAML, a folder of CSV files, or a Willems (2008) chain."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sim.errors import Issue, NetworkError
from sim.io.csv_folder import read_csv_folder, write_csv_folder
from sim.io.mapping import network_from_mapping, network_to_mapping, read_yaml_network
from sim.io.willems import is_willems_file, read_willems
from sim.network import Network

__all__ = [
    "EXAMPLE_PREFIX",
    "example_networks",
    "load_network",
    "network_from_mapping",
    "network_to_mapping",
    "resolve_path",
    "write_csv_folder",
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
        files (``nodes.csv``, ``lanes.csv``, ``bom.csv``, ``demand.csv``), a Willems (2008) chain
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
    elif resolved.suffix.lower() == ".csv" and is_willems_file(resolved):
        network = read_willems(resolved, source=source)
    else:
        raise NetworkError(Issue(str(path), "", None,
                                 "unknown network format: expected a .yaml file, a folder of CSV "
                                 "files, or a Willems chain .csv starting with /chain"))
    changes = {key: value for key, value in (("name", name), ("unmet_demand", unmet_demand))
               if value is not None}
    return network.replace(**changes) if changes else network
