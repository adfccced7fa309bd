"""Reading what a dataset says about its run: the config, the network and one strategy.

Every dataset :func:`sim.simulate` writes carries its resolved config in its attrs; these read
it back without running anything (:func:`sim.rerun` runs it again).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import xarray as xr
import yaml

from sim.io import load_network, network_from_mapping
from sim.io.provenance import network_sha256
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import Network

__all__ = ["dataset_config", "network_of", "parse_config", "run_config", "select_policy"]

# libyaml's parser where PyYAML was built with it (the wheels are): 9x faster on a resolved
# config, which a report reads some 80 times (1-2 s of the demo's 11-12 s before)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_config(text: str) -> dict[str, Any]:
    """A resolved config from its YAML text (a dataset's ``config`` attr), parsed once per text.

    Each call returns its own copy, so a caller may change it.
    """
    return copy.deepcopy(_parsed(text))


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict[str, Any]:
    parsed = yaml.load(text, Loader=_LOADER)
    return parsed if isinstance(parsed, dict) else {}


def dataset_config(dataset: xr.Dataset) -> dict[str, Any]:
    """The resolved config in a dataset's attrs, or ``{}`` for a dataset without one."""
    text = dataset.attrs.get("config")
    return parse_config(text) if isinstance(text, str) and text else {}


def run_config(dataset: xr.Dataset | str | Path) -> dict[str, Any]:
    """The resolved config a dataset was made with (from its ``config`` attr)."""
    if not isinstance(dataset, xr.Dataset):
        with xr.open_dataset(dataset, engine="h5netcdf") as opened:
            attrs = dict(opened.attrs)
    else:
        attrs = dict(dataset.attrs)
    if "config" not in attrs:
        raise ConfigError(Issue("dataset attrs", "config", None,
                                "missing: the dataset was not written by sim.simulate"))
    return parse_config(attrs["config"])


def network_of(dataset: xr.Dataset | str | Path) -> Network:
    """Rebuild the network a dataset was simulated on, from its attrs alone.

    Raises
    ------
    ConfigError
        When the network file it names has changed since (its hash differs).
    """
    record = run_config(dataset)["network"]
    if "inline" in record:
        network = network_from_mapping(record["inline"], where="dataset attrs")
        network = network.replace(source=record.get("source", ""))
    else:
        network = load_network(record["source"])
    if network_sha256(network) != record["sha256"]:
        raise ConfigError(Issue("dataset attrs", "network.sha256", record["sha256"],
                                f"the network at {record.get('source')!r} has changed since the "
                                "run (its content hash differs)"))
    return network


def select_policy(dataset: xr.Dataset, name: str) -> xr.Dataset:
    """One strategy of a :func:`simulate_policies` run, as if it had been run alone.

    The selection keeps the variables shared by all strategies (the event log) and rewrites
    the ``config`` attr so that :func:`rerun` repeats only this strategy.
    """
    if "policy" not in dataset.dims:
        return dataset
    names = [str(p) for p in dataset.policy.values]
    if name not in names:
        raise ConfigError(Issue("select_policy", "name", name,
                                f"not one of the strategies ({', '.join(names)})"))
    config = run_config(dataset)
    one = dataset.sel(policy=name, drop=True)
    policies = config.pop("policies", {})
    config["policy"] = policies.get(name, {})
    one.attrs = dict(dataset.attrs)
    one.attrs["config"] = yaml.safe_dump(config, sort_keys=False)
    return one
