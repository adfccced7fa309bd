"""Merge the runs of a Hydra multirun sweep into one dataset along the swept parameters.

``python -m sim -m policy.inventory.safety_factor=0,1,2 run.seed=1`` writes one run folder per
job, each with ``results.nc`` and Hydra's ``.hydra/overrides.yaml``. :func:`merge_sweep` reads
them, finds the overrides whose values differ between jobs (the swept parameters) and stacks
the per-replicate KPIs along them: one dimension per parameter when the jobs form a full grid,
a ``point`` dimension with the parameters as coordinates otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

from sim.spec.errors import ConfigError, Issue
from sim.studies.study import along_parameters, parameter_coords

__all__ = ["merge_sweep"]


def _overrides(job: Path) -> dict[str, Any]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        raise ConfigError(Issue(str(job), ".hydra/overrides.yaml", None,
                                "missing: not a run folder of a Hydra multirun"))
    out = {}
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        key, _, value = str(entry).partition("=")
        out[key.lstrip("+~")] = yaml.safe_load(value) if value else None
    return out


def _kpis(dataset: xr.Dataset) -> xr.Dataset:
    keep = [n for n, v in dataset.data_vars.items()
            if v.attrs.get("kpi") == 1 and set(v.dims) <= {"policy", "replicate"}]
    return dataset[keep]


def merge_sweep(folder: str | Path) -> xr.Dataset:
    """Per-replicate KPIs of every job of a sweep folder, along the swept parameters.

    Raises
    ------
    ConfigError
        When the folder holds no finished job, or the jobs do not share their replicates.
    """
    root = Path(folder)
    jobs = sorted((p.parent for p in root.glob("*/results.nc")),
                  key=lambda p: (len(p.name), p.name))
    if not jobs:
        raise ConfigError(Issue(str(root), "results.nc", None, "no finished job in the folder"))
    overrides = [_overrides(job) for job in jobs]
    keys = list(dict.fromkeys(k for o in overrides for k in o))
    swept = [k for k in keys if len({yaml.safe_dump(o.get(k)) for o in overrides}) > 1]
    runs = []
    config = None
    for job in jobs:
        with xr.open_dataset(job / "results.nc", engine="h5netcdf") as opened:
            runs.append(_kpis(opened).load().drop_encoding())
            config = config or opened.attrs.get("config")
    replicates = {tuple(r.replicate.values) for r in runs}
    if len(replicates) > 1:
        raise ConfigError(Issue(str(root), "replicates", "differ",
                                "every job of a sweep must run the same replicates"))
    merged = xr.concat(runs, dim="point", join="outer").assign_coords(
        {"point": np.arange(len(jobs)), **parameter_coords(overrides, swept)})
    sizes = [len(set(np.asarray(merged[k].values).tolist())) for k in swept]
    if swept and int(np.prod(sizes)) == len(jobs):
        merged = along_parameters(merged, swept)
    merged.attrs.update(config=config or "", sweep=str(root), parameters=yaml.safe_dump(swept),
                        jobs=len(jobs))
    return merged
