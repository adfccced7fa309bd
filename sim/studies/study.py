"""Studies: many parameter points x many replicates, on Dask, streamed to Zarr, resumable.

A study is a run config (the mapping :func:`sim.studies.config.build_run` reads) and a list of
points, each a set of changes to it by dotted path (``policy.inventory.safety_factor: 2``,
``disruption.events.0.duration_days: 30``). Every point runs the same replicates with the same
seed (common random numbers across points); its replicates are cut into chunks, and each
(point, chunk) is one task. Tasks run on a Dask distributed cluster (a ``LocalCluster`` by
default, or a scheduler address), or in this process with ``workers=0``; results are the same
bits either way and for any chunk size, because replicate r always draws from its own stream.

Results stream to a chunked Zarr store as tasks finish (one writer: this process), so memory
stays bounded whatever the number of points and replicates. Each finished task leaves a marker
with the checksum of what it wrote; a study started again with the same folder skips the
tasks whose data is there and intact, and redoes those that are missing, partial or corrupt.
Small results are also written as ``results.nc`` with the swept parameters as dimensions.

Files in the study folder: ``study.zarr`` (per-replicate KPIs: one array ``kpis`` with dims
``point``, ``replicate`` and ``kpi``, the KPI names in its attrs), ``study.json`` (what the
study is: a restart must match it), ``done/`` (one marker per finished task) and, when small
enough, ``results.nc``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from sim.compile.plan import plan_policy
from sim.engines.results import write_text_atomic
from sim.io.provenance import git_revision, package_version, seed_attr
from sim.spec.errors import ConfigError, Issue

__all__ = ["NETCDF_LIMIT_BYTES", "Study", "StudyResult", "along_parameters", "grid_points",
           "parameter_coords", "run_study", "set_path"]

NETCDF_LIMIT_BYTES = 256 * 2**20  # results above this stay in Zarr only
log = logging.getLogger(__name__)


def set_path(config: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``config`` with the value at a dotted path replaced (list items by index).

    Missing mapping keys are created (``policy.inventory.safety_factor`` on a policy without an
    ``inventory`` section); a list index must exist.
    """
    out = copy.deepcopy(dict(config))
    keys = path.split(".")
    node: Any = out
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[:depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(Issue("study", "parameter", path,
                                        f"{where}: no item {key} in a list of {len(node)}"))
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ConfigError(Issue("study", "parameter", path,
                                    f"{'.'.join(keys[:depth])} is a value, not a section"))
    return out


def grid_points(parameters: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the parameters' values (the first parameter varies slowest)."""
    for path, values in parameters.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(Issue("study", path, values, "a grid parameter needs a non-empty "
                                    "list of values"))
    names = list(parameters)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(parameters[n] for n in names))]


@dataclass(frozen=True)
class Study:
    """What a study runs: a base config, its points, replicates and chunking.

    Parameters
    ----------
    config : mapping
        The resolved run config (``network``, ``disruption``, ``policy``, ``engine``, ``run``).
    points : sequence of mapping
        Changes to ``config`` per point, by dotted path.
    replicates : int
        Replicates per point (the same replicate numbers, hence the same draws, at every point).
    chunk_size : int, optional
        Replicates per task and per Zarr chunk (by default the engine's choice for the
        network, :func:`sim.engines.runner.auto_chunk_size`: 1,000-2,000 on small networks).
    grid : bool
        The points form a full grid: results get one dimension per parameter.
    """

    config: Mapping[str, Any]
    points: tuple[Mapping[str, Any], ...]
    replicates: int
    chunk_size: int | None = None
    grid: bool = False
    parameters: tuple[str, ...] = field(default=())
    # the run config of each point as JSON: what a task receives (set in __post_init__)
    payloads: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.points:
            raise ConfigError(Issue("study", "points", [], "a study needs at least one point"))
        if int(self.replicates) < 1:
            raise ConfigError(Issue("study", "replicates", self.replicates, "must be >= 1"))
        if self.chunk_size is not None and int(self.chunk_size) < 1:
            raise ConfigError(Issue("study", "chunk_size", self.chunk_size, "must be >= 1"))
        names = tuple(dict.fromkeys(k for p in self.points for k in p))
        object.__setattr__(self, "parameters", names)
        object.__setattr__(self, "points", tuple(dict(p) for p in self.points))
        object.__setattr__(self, "payloads", tuple(
            json.dumps(_jsonable(self.point_config(i))) for i in range(len(self.points))))
        for payload in self.payloads:  # every point must be a valid run: fail before running
            _prepared(payload)
        if self.chunk_size is None:  # the engine's own choice for this network
            from sim.engines.runner import auto_chunk_size

            layout = _prepared(self.payloads[0])[1]
            object.__setattr__(self, "chunk_size", auto_chunk_size(layout, int(self.replicates)))

    def point_config(self, index: int) -> dict[str, Any]:
        """The run config of point ``index``."""
        config = dict(self.config)
        for path, value in self.points[index].items():
            config = set_path(config, path, value)
        return config

    def tasks(self) -> list[tuple[int, int, int]]:
        """(point, first replicate, end) of every task, point by point."""
        size = self._chunk()
        return [(p, start, min(start + size, self.replicates))
                for p in range(len(self.points))
                for start in range(0, self.replicates, size)]

    def _chunk(self) -> int:
        """Replicates per task (set in ``__post_init__`` when not given)."""
        assert self.chunk_size is not None
        return int(self.chunk_size)

    def manifest(self) -> dict[str, Any]:
        """What identifies the study (a restart must match it)."""
        return {"config": _jsonable(self.config), "points": _jsonable(list(self.points)),
                "replicates": int(self.replicates), "chunk_size": self._chunk(),
                "grid": bool(self.grid), "parameters": list(self.parameters)}


def _jsonable(value: Any) -> Any:
    # key order is kept: the order of nodes and lanes fixes the order of sums, hence the bits
    return json.loads(json.dumps(value, default=str))


@functools.lru_cache(maxsize=8)
def _prepared(config_json: str) -> tuple[Any, Any, int, int, tuple[str, ...]]:
    """Network, plan and days of a point (cached per worker process: tasks share them)."""
    from sim.compile.scenario import Scenario
    from sim.engines.runner import RunPlan
    from sim.studies.config import build_run
    from sim.studies.simulate import _check_run

    spec = build_run(json.loads(config_json))
    _check_run(spec.engine, 1, "kpis", None, 1, spec.quantile_replicates)
    scenario = Scenario(spec.network, days=spec.days, warmup_days=spec.warmup_days,
                        disruptions=tuple(spec.disruptions), seed=spec.seed)
    plan = RunPlan(scenario, plan_policy(spec.policy, spec.network), spec.engine, "kpis",
                   spec.quantile_replicates, spec.resilience)
    causes = tuple(d.kind for d in scenario.disruptions)
    return plan, plan.policy_plan.layout, spec.days, spec.warmup_days, causes


def run_task(config_json: str, start: int, stop: int) -> dict[str, np.ndarray]:
    """Per-replicate KPIs of replicates ``start..stop-1`` of one point (a study task)."""
    from sim.engines.results import to_dataset
    from sim.engines.runner import run_chunk

    plan, layout, days, warmup, causes = _prepared(config_json)
    record = run_chunk(plan, np.arange(start, stop))
    dataset = to_dataset(layout, record, days=days, mode="kpis", warmup_days=warmup,
                         causes=causes)
    return {str(name): np.asarray(var.values, dtype=np.float64)
            for name, var in dataset.data_vars.items()
            if var.attrs.get("kpi") == 1 and var.dims == ("replicate",)}


def _checksum(values: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(values):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values[name], dtype=np.float64).tobytes())
    return digest.hexdigest()


@dataclass
class StudyResult:
    """What :func:`run_study` did and where the results are."""

    dataset: xr.Dataset
    folder: Path
    computed: int
    reused: int
    redone: int
    wall_s: float
    paths: dict[str, Path]


class _Store:
    """The study folder: Zarr results, manifest, done markers."""

    def __init__(self, folder: Path, study: Study) -> None:
        self.folder = folder
        self.study = study
        self.zarr = folder / "study.zarr"
        self.done_dir = folder / "done"
        self._names: list[str] | None = None
        self._writable: Any = None  # the `kpis` array, opened once for all writes

    def marker(self, task: tuple[int, int, int]) -> Path:
        return self.done_dir / f"p{task[0]}-r{task[1]}-{task[2]}.json"

    def open(self) -> None:
        """Create the folder, or check that it holds this study."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest_path = self.folder / "study.json"
        manifest = self.study.manifest()
        if manifest_path.exists():
            existing = json.loads(manifest_path.read_text(encoding="utf-8"))
            if existing != manifest:
                changed = sorted(k for k in manifest if existing.get(k) != manifest[k])
                raise ConfigError(Issue("study", "folder", str(self.folder),
                                        f"holds another study (its {', '.join(changed)} "
                                        "differ): use a new folder, or delete this one"))
        else:
            write_text_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
        self.done_dir.mkdir(exist_ok=True)

    def initialise(self, names: Sequence[str], attrs: Mapping[str, Any]) -> None:
        """Write the Zarr metadata (no data) for KPIs ``names``, unless it is there.

        One array ``kpis`` (point, replicate, kpi) chunked (1, chunk_size, all KPIs): a task
        writes one chunk in one call (a few ms), and no string coordinate goes into the store
        (the KPI names and the parameters live in its attrs and ``study.json``).
        """
        if self.zarr.exists():
            return
        import dask.array as da

        study = self.study
        shape = (len(study.points), study.replicates, len(names))
        template = xr.Dataset(
            {"kpis": (("point", "replicate", "kpi"),
                      da.full(shape, np.nan, chunks=(1, study.chunk_size, len(names))))},
            coords={"point": np.arange(shape[0]), "replicate": np.arange(shape[1])})
        template.attrs.update(attrs, kpis=json.dumps(list(names)))
        partial = self.zarr.with_name(".study.zarr.partial")
        template.to_zarr(partial, mode="w", compute=False, consolidated=False)
        partial.replace(self.zarr)

    def _array(self, mode: Literal["r", "r+", "a", "w", "w-"] = "r+") -> Any:
        import zarr

        return zarr.open_group(str(self.zarr), mode=mode)["kpis"]

    def names(self) -> list[str]:
        import zarr

        return json.loads(str(zarr.open_group(str(self.zarr), mode="r").attrs["kpis"]))

    def write(self, task: tuple[int, int, int], values: Mapping[str, np.ndarray]) -> None:
        point, start, stop = task
        if self._names is None:
            self._names = self.names()
        names = self._names
        block = np.stack([values[name] for name in names], axis=1)
        if self._writable is None:
            self._writable = self._array()
        self._writable[point, start:stop, :] = block
        write_text_atomic(self.marker(task), json.dumps(
            {"point": point, "start": start, "stop": stop,
             "sha256": _checksum(dict(zip(names, block.T, strict=True)))}))

    def intact(self, tasks: Sequence[tuple[int, int, int]]) -> tuple[set, int]:
        """The tasks already done whose data matches its checksum; and how many did not."""
        done: set[tuple[int, int, int]] = set()
        broken = 0
        marked = [t for t in tasks if self.marker(t).exists()]
        if not marked or not self.zarr.exists():
            for task in marked:
                self.marker(task).unlink()
            return done, len(marked)
        names = self.names()
        array = self._array("r")
        for point, group in itertools.groupby(marked, key=lambda t: t[0]):
            try:
                row = np.asarray(array[point])  # (replicate, kpi): one point at a time
            except Exception as error:  # unreadable chunk files: redo the point's tasks
                log.warning("study: point %d unreadable (%s); redoing it", point, error)
                row = None
            for task in group:
                expected = json.loads(self.marker(task).read_text(encoding="utf-8"))
                values = (None if row is None else
                          dict(zip(names, row[task[1]:task[2]].T, strict=True)))
                if values is not None and _checksum(values) == expected.get("sha256"):
                    done.add(task)
                else:
                    self.marker(task).unlink()
                    broken += 1
        return done, broken


def parameter_coords(points: Sequence[Mapping[str, Any]], names: Sequence[str]
                     ) -> dict[str, tuple[str, np.ndarray]]:
    """Each parameter's value at every point, as a coordinate along ``point``.

    Values of mixed or non-numeric types become strings (a NetCDF or Zarr coordinate needs one
    type).
    """
    coords = {}
    for name in names:
        values = [p.get(name) for p in points]
        array = np.asarray(values)
        if array.dtype == object:
            array = np.asarray([str(v) for v in values])
        coords[name] = ("point", array)
    return coords


class _Runner:
    """Runs tasks in this process or on a Dask cluster, yielding results as they finish."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.workers = int(workers)
        self.scheduler = scheduler
        self.client: Any = None
        self.cluster: Any = None
        self.log_level: int | None = None

    def __enter__(self) -> _Runner:
        if self.scheduler or self.workers > 0:
            from dask.distributed import Client, LocalCluster

            # Hydra's logging sends every INFO record to the console: a study printed some 20
            # lines of scheduler and nanny chatter at start and end (silence_logs does not
            # reach the loggers of the scheduler and nannies that run in this process)
            distributed_log = logging.getLogger("distributed")
            self.log_level = distributed_log.level
            distributed_log.setLevel(logging.WARNING)

            from sim.engines.runner import _worker_environment

            if self.scheduler:
                self.client = Client(self.scheduler)
            else:
                # the engine's worker settings (glibc keeps freed memory, one BLAS thread):
                # measured 35 % faster tasks in Dask workers than without
                with _worker_environment():
                    self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                processes=True, dashboard_address=None,
                                                silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.log_level is not None:
            logging.getLogger("distributed").setLevel(self.log_level)

    @property
    def slots(self) -> int:
        if self.client is None:
            return 1
        return max(1, sum(self.client.nthreads().values()))

    def results(self, jobs: Iterator[tuple[Any, str, int, int]]
                ) -> Iterator[tuple[Any, dict[str, np.ndarray]]]:
        """(tag, result) of every job (tag, config_json, start, stop), in finishing order."""
        if self.client is None:
            for tag, config_json, start, stop in jobs:
                yield tag, run_task(config_json, start, stop)
            return
        from dask.distributed import as_completed

        window = 2 * self.slots  # bounded: results wait for the writer, not in memory
        pending = as_completed()
        tags = {}
        for tag, config_json, start, stop in itertools.islice(jobs, window):
            future = self.client.submit(run_task, config_json, start, stop, pure=False)
            tags[future.key] = tag
            pending.add(future)
        for future in pending:
            result = future.result()
            tag = tags.pop(future.key)
            future.release()
            for next_tag, config_json, start, stop in itertools.islice(jobs, 1):
                nxt = self.client.submit(run_task, config_json, start, stop, pure=False)
                tags[nxt.key] = next_tag
                pending.add(nxt)
            yield tag, result


def run_study(study: Study, folder: str | Path, *, workers: int = 2,
              scheduler: str | None = None, progress: bool | None = None,
              on_task: Callable[[tuple[int, int, int]], None] | None = None) -> StudyResult:
    """Run (or finish) a study into ``folder`` and return its results.

    Parameters
    ----------
    study : Study
        What to run.
    folder : str or Path
        The study folder; a folder holding part of the same study is resumed.
    workers : int
        Dask worker processes of the ``LocalCluster``; 0 runs every task in this process.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to use instead.
    progress : bool, optional
        Show a progress bar with ETA (tqdm); by default only on an interactive terminal.
    on_task : callable, optional
        Called with each task (point, start, stop) once its results are written.

    Returns
    -------
    StudyResult
        The dataset (``point``/``replicate``, or one dimension per parameter for a grid; lazy
        from Zarr when large), tasks computed, reused and redone, wall time and paths.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    store = _Store(Path(folder), study)
    store.open()
    tasks = study.tasks()
    done, redone = store.intact(tasks)
    todo = [t for t in tasks if t not in done]
    attrs = {"config": json.dumps(_jsonable(study.config)),
             "study": json.dumps(study.manifest()["points"]),
             "parameters": json.dumps(list(study.parameters)),
             "seed": seed_attr(int((study.config.get("run") or {}).get("seed", 0))),
             "sim_version": package_version(), "git_revision": git_revision()}
    bar = tqdm(total=len(tasks), initial=len(done), unit="task", desc="study",
               disable=not (sys.stderr.isatty() if progress is None else progress))
    computed = 0
    with _Runner(workers, scheduler) as runner:
        jobs = ((t, study.payloads[t[0]], t[1], t[2]) for t in todo)
        for task, values in runner.results(jobs):
            store.initialise(sorted(values), attrs)
            store.write(task, values)
            computed += 1
            bar.update(1)
            if on_task is not None:
                on_task(task)
    bar.close()
    paths = {"zarr": store.zarr}
    dataset = _result(store, study)
    if dataset.nbytes <= NETCDF_LIMIT_BYTES:
        from sim.engines.results import save_dataset

        dataset = dataset.load()
        paths["dataset"] = save_dataset(dataset, store.folder / "results.nc")
    return StudyResult(dataset, store.folder, computed, len(done), redone,
                       time.perf_counter() - started, paths)


def _result(store: _Store, study: Study) -> xr.Dataset:
    from sim.measures.kpis import KPI_VARS

    opened = xr.open_zarr(store.zarr, consolidated=False)
    kpis = opened.kpis
    if kpis.nbytes <= NETCDF_LIMIT_BYTES:  # small: read in one go, without a dask graph
        kpis = kpis.copy(data=np.asarray(store._array("r")[...]))
    dataset = kpis.assign_coords(kpi=store.names()).to_dataset(dim="kpi")
    dataset.attrs = {k: v for k, v in opened.attrs.items() if k != "kpis"}
    for name in dataset.data_vars:
        var = KPI_VARS.get(name)
        dataset[name].attrs = {"kpi": 1, **({"units": var.units, "description": var.description}
                                            if var is not None else {})}
    dataset = dataset.assign_coords(parameter_coords(study.points, study.parameters))
    if study.grid and study.parameters:
        dataset = along_parameters(dataset, study.parameters)
    return dataset


def along_parameters(dataset: xr.Dataset, parameters: Sequence[str]) -> xr.Dataset:
    """One dimension per parameter instead of a ``point`` dimension over a full grid.

    The parameters are coordinates along ``point`` (:func:`parameter_coords`); they come first.
    """
    if len(parameters) == 1:
        return dataset.swap_dims(point=parameters[0]).drop_vars("point")
    return dataset.set_index(point=list(parameters)).unstack("point").transpose(
        *parameters, ...)
