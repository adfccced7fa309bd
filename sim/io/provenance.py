"""Provenance: what a dataset needs in its attrs to be rerun exactly."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from sim.io.mapping import network_to_mapping
from sim.spec.network import Network

__all__ = ["INLINE_NETWORK_LIMIT", "git_revision", "network_sha256", "package_version",
           "run_attrs", "seed_attr"]

DISTRIBUTION = "scresilience-sim"
INLINE_NETWORK_LIMIT = 48_000  # characters; NetCDF/HDF5 attributes must stay below 64 KiB


@lru_cache(maxsize=1)
def package_version() -> str:
    """Installed version of this package."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


@lru_cache(maxsize=1)
def git_revision() -> str:
    """Git commit of the source tree (``+dirty`` when it has uncommitted changes)."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}+dirty" if dirty else rev


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available


def _canonical_yaml(data: Any) -> str:
    # Insertion order, not sorted: node and lane order fix the layout, hence the exact bits.
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def _canonical_json(network: Network) -> str:
    cached = network.__dict__.get("_canonical_json")
    if cached is None:
        cached = json.dumps(network_to_mapping(network), ensure_ascii=False,
                            separators=(",", ":"), default=str)
        network.__dict__["_canonical_json"] = cached
    return cached


def network_sha256(network: Network) -> str:
    """Hash of the network's content in mapping form, in order (not of the file's bytes)."""
    return hashlib.sha256(_canonical_json(network).encode()).hexdigest()


def network_record(network: Network) -> dict[str, Any]:
    """The network part of a run config: inline when small, else its source and hash."""
    record: dict[str, Any] = {"sha256": network_sha256(network)}
    if network.source:
        record["source"] = network.source
    if len(_canonical_json(network)) <= INLINE_NETWORK_LIMIT or not network.source:
        record["inline"] = network_to_mapping(network)
    return record


def seed_attr(seed: int) -> int | str:
    """The seed as a dataset attr: the integer, or its decimal text beyond 64 bits.

    NumPy's own advice is a 128-bit seed (``SeedSequence().entropy``); NetCDF keeps no integer
    wider than 64 bits, so such a seed ran and then failed to save. The resolved config keeps
    it as a number either way, which is what :func:`sim.rerun` reads.
    """
    return int(seed) if -(2**63) <= int(seed) < 2**63 else str(int(seed))


def run_attrs(config: dict[str, Any], *, seed: int, engine: str, wall_time_s: float,
              network: Network) -> dict[str, Any]:
    """Dataset attrs: resolved config (YAML), seed, engine, version, git revision, timing."""
    return {
        "config": _canonical_yaml(config),
        "seed": seed_attr(seed),
        "engine": engine,
        "network_name": network.name,
        "network_sha256": network_sha256(network),
        "sim_version": package_version(),
        "git_revision": git_revision(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": float(wall_time_s),
    }
