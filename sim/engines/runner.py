"""Running replicates in chunks, in this process or in worker processes, and merging them.

A chunk is a contiguous range of replicate numbers. Replicate r always draws from its own stream
(:mod:`sim.compile.scenario`), so per-replicate results do not depend on the chunk size or the
number of workers; chunk results are merged in replicate order, whatever order they finish in.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice

import numpy as np

from sim.compile.layout import Layout
from sim.compile.plan import PolicyPlan
from sim.compile.scenario import Scenario, ScenarioDraws
from sim.engines.recording import ChunkRecord, Recording
from sim.engines.registry import ENGINES
from sim.engines.transport import Packed, memory_folder, pack
from sim.measures.counterfactual import CALM_KPIS, EVENT_RESILIENCE, measure
from sim.measures.kpis import CALM_VARS, RESILIENCE_VARS
from sim.measures.resilience import RecoveryRule
from sim.measures.trace import Trace

__all__ = ["ENGINES", "RunPlan", "auto_chunk_size", "merge_chunks", "run_block", "run_chunk",
           "run_plan"]

# Measured on this 2-core machine (benchmarks/chunk_size.py, summary recording): a day costs a
# fixed overhead that grows with the network (Python calls, per-row work of sparse products) plus
# a per-replicate part that is cheapest while a (lane x replicate) array stays in a core's cache.
# The demo (18 lanes) runs fastest at 1,000-2,000 replicates per chunk (fixed costs dominate);
# Willems chain 38 (15,666 lanes) at 16 (19 % faster than at 64, 13 % than at 8, where merging
# 240 MB summaries per chunk adds up); chain 22 (249 lanes) 33 % faster at 1,052 than at 2,048
# and faster still below (2026-12-02, after the sparse products were compiled). 2**18 elements is
# 2 MiB of float64 per array, this machine's L2 per core.
CHUNK_ELEMENTS = 262_144
MAX_CHUNK = 2048
BLOCK_CHUNKS = 4
"""Chunk records merged in order into one block record before the blocks are merged: the
grouping of the merged sums (kept as it was when blocks were also what a worker ran, so the
results are the same bits). Workers now take single chunks: their records cross cheaply
(:mod:`sim.engines.transport`), and the merges are compiled."""
# The Mesa engine steps one model per replicate of a chunk in lockstep: a few dozen at a time
# keep its memory that of a few models, whatever the network.
MESA_CHUNK = 32


def auto_chunk_size(layout: Layout, replicates: int) -> int:
    """Replicates per chunk: (replicate x lane) arrays near :data:`CHUNK_ELEMENTS` elements."""
    width = max(layout.n_nodes, layout.n_lanes, 1)
    return int(max(1, min(replicates, MAX_CHUNK, CHUNK_ELEMENTS // width)))


@dataclass(frozen=True)
class RunPlan:
    """Everything a worker needs to run a chunk (picklable).

    ``scenario`` draws on the network as given; ``policy_plan`` holds the network the engines run
    (the same, or with what the policy adds after it, so the draws apply unchanged).
    """

    scenario: Scenario
    policy_plan: PolicyPlan
    engine: str
    record: str
    quantile_replicates: int
    recovery: RecoveryRule = field(default_factory=RecoveryRule)


def _chunks(replicates: int, size: int) -> Iterator[np.ndarray]:
    for start in range(0, replicates, size):
        yield np.arange(start, min(start + size, replicates))


def run_chunk(plan: RunPlan, replicates: np.ndarray) -> ChunkRecord:
    """Run one chunk of replicates (and their undisrupted twins) and return what it recorded."""
    scenario = plan.scenario
    started = time.perf_counter()
    draws = scenario.draw(replicates)
    sampled = time.perf_counter()
    record = _simulate(plan, scenario, draws, plan.engine, plan.record)
    per_event = _resilience(plan, replicates, draws, record)
    record.timings = {"sampling_s": sampled - started,
                      "simulation_s": time.perf_counter() - sampled}
    record.events, record.event_values = event_log(draws, plan.record, plan.quantile_replicates,
                                                   per_event)
    record.daily = None  # consumed: workers do not send the daily series back
    return record


def _simulate(plan: RunPlan, scenario: Scenario, draws: ScenarioDraws, engine: str,
              mode: str) -> ChunkRecord:
    """One engine's run of a chunk's draws."""
    recording = Recording(mode, draws.replicates, scenario.days, plan.policy_plan.layout,
                          plan.quantile_replicates)
    ENGINES[engine].run(plan.policy_plan, draws, scenario.warmup_days, recording)
    return recording.result()


def _resilience(plan: RunPlan, replicates: np.ndarray, draws: ScenarioDraws,
                record: ChunkRecord) -> dict[str, np.ndarray]:
    """Add the resilience and calm KPIs to a chunk's record; return the per-event values.

    The twin is the chunk again with every disruption muted. It runs on the batch engine
    whatever the run's engine (the engines agree to 1e-9 on calm runs; the tests check it),
    and only when the chunk has events: without any, the run is its own twin.
    """
    count = len(replicates)
    nan = np.full(count, np.nan)
    if not plan.recovery.counterfactual:
        record.kpis.update({name: nan.copy() for name in (*RESILIENCE_VARS, *CALM_VARS)})
        return {name: np.full(len(draws.events), np.nan) for name in EVENT_RESILIENCE}
    if len(draws.events):
        calm = replace(plan.scenario, muted=tuple(range(len(plan.scenario.disruptions))))
        calm_draws = draws.calm()  # the draws without their events, or None: draw them
        if calm_draws is None:  # the same bits either way
            calm_draws = calm.draw(replicates)
        twin = _simulate(plan, calm, calm_draws, "batch", "kpis")
    else:
        twin = record
    assert record.daily is not None and twin.daily is not None  # set by every Recording
    per_replicate, per_event = measure(record.daily, twin.daily, draws.events,
                                       plan.scenario.warmup_days, plan.recovery)
    record.kpis.update(per_replicate)
    record.kpis.update({f"calm_{name}": twin.kpis[name].copy() for name in CALM_KPIS})
    return per_event


def event_log(draws: ScenarioDraws, mode: str, detail_replicates: int,
              values: dict[str, np.ndarray] | None = None
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The chunk's events with global replicate numbers, kept like the daily detail.

    Full recording keeps every replicate's events; the other modes those of the first
    ``detail_replicates`` replicates (the quantile set), so the log stays bounded. ``values``
    (per-event arrays aligned with the draws' events) are kept and ordered alike.
    """
    events = draws.events.copy()
    events["replicate"] = draws.replicates[events["replicate"]]
    keep = np.arange(len(events))
    if mode != "full":
        keep = keep[events["replicate"] < detail_replicates]
    order = keep[np.lexsort((events["start"][keep], events["replicate"][keep]))]
    return events[order], {name: array[order] for name, array in (values or {}).items()}


def merge_chunks(records: Iterable[ChunkRecord]) -> ChunkRecord:
    """Merge chunk records in replicate order (all at once; see :class:`_Merger` to stream)."""
    records = sorted(records, key=lambda rec: int(rec.replicates[0]))
    first = records[0]
    merged = ChunkRecord(
        replicates=np.concatenate([rec.replicates for rec in records]),
        kpis={name: np.concatenate([rec.kpis[name] for rec in records]) for name in first.kpis},
        trace=Trace.concatenate([rec.trace for rec in records if rec.trace is not None])
        if first.trace else None,
        series=({name: np.concatenate([rec.series[name] for rec in records
                                       if rec.series is not None])
                 for name in first.series} if first.series else None),
        summary=first.summary,
        timings={key: sum(rec.timings.get(key, 0.0) for rec in records)
                 for key in ("sampling_s", "simulation_s")},
        events=(np.concatenate([rec.events for rec in records])
                if first.events is not None else None),
        event_values={name: np.concatenate([rec.event_values[name] for rec in records])
                      for name in first.event_values},
        daily=_merged_daily(records),
    )
    if merged.summary is not None:
        for rec in records[1:]:
            assert rec.summary is not None  # every chunk of a run records alike
            merged.summary.merge(rec.summary)
    return merged


def _merged_daily(records: list[ChunkRecord]) -> tuple[np.ndarray, np.ndarray] | None:
    dailies = [rec.daily for rec in records if rec.daily is not None]
    if len(dailies) < len(records):
        return None
    return (np.concatenate([d[0] for d in dailies]), np.concatenate([d[1] for d in dailies]))


# Workers keep freed memory for reuse instead of returning every multi-MB temporary to the
# system: with glibc's defaults each such array is a fresh mmap whose pages fault in on first
# touch, which cost 20-35 % of the batch engine's time on chain 38 (measured). Applied only to
# the worker processes this module starts, and only when the user has not set the variable.
WORKER_ENVIRONMENT = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


@contextmanager
def _worker_environment() -> Iterator[None]:
    added = {key: value for key, value in WORKER_ENVIRONMENT.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _merge_stream(records: Iterable[ChunkRecord]) -> ChunkRecord:
    """Merge records arriving in replicate order, one at a time, so memory stays bounded.

    Per-replicate arrays are small and kept; each chunk's summary is folded into the running
    one as soon as it arrives (with chain 38 a chunk's summary is about 240 MB).
    """
    merged: ChunkRecord | None = None
    parts: list[ChunkRecord] = []
    for record in records:
        summary, record.summary = record.summary, None
        parts.append(record)
        if merged is None:
            merged = ChunkRecord(record.replicates, {}, summary=summary)
        elif summary is not None:
            assert merged.summary is not None  # every chunk of a run records alike
            merged.summary.merge(summary)
    combined = merge_chunks(parts)
    assert merged is not None  # a run has at least one chunk
    combined.summary = merged.summary
    return combined


def run_plan(plan: RunPlan, replicates: int, *, chunk_size: int | None = None,
             workers: int = 1) -> ChunkRecord:
    """Run all replicates of a plan in chunks, in ``workers`` processes (this one included).

    Chunk records merge in blocks of :data:`BLOCK_CHUNKS` (the same blocks for any number of
    workers, so the merged sums are too). With more than one worker, ``workers - 1`` processes
    are spawned and chunks are shared out one at a time (:func:`_shared_chunks`): this process
    runs chunks too, while the workers start and whenever the chunk due next is not ready.
    """
    size = chunk_size or auto_chunk_size(plan.policy_plan.layout, replicates)
    if plan.engine == "mesa" and not chunk_size:
        size = min(size, MESA_CHUNK)
    chunks = list(_chunks(replicates, size))
    blocks = [chunks[i:i + BLOCK_CHUNKS] for i in range(0, len(chunks), BLOCK_CHUNKS)]
    if workers <= 1 or len(chunks) == 1:
        return _merge_stream(run_block(plan, block) for block in blocks)
    helpers = min(workers, len(chunks)) - 1
    context = multiprocessing.get_context("spawn")
    with memory_folder() as folder, _worker_environment(), \
            ProcessPoolExecutor(max_workers=helpers, mp_context=context) as pool, \
            closing(_shared_chunks(pool, plan, chunks, helpers, folder)) as records:
        return _merge_stream(_merge_stream(islice(records, len(block))) for block in blocks)


def run_block(plan: RunPlan, chunks: list[np.ndarray]) -> ChunkRecord:
    """Run consecutive chunks and merge them in order into one record."""
    return _merge_stream(run_chunk(plan, chunk) for chunk in chunks)


def run_chunk_packed(plan: RunPlan | str, replicates: np.ndarray, folder: str | None) -> Packed:
    """:func:`run_chunk` in a worker: the record packed, its large arrays in ``folder``.

    ``plan`` is the plan or the file it was pickled to (:func:`_plan_file`), read once per
    worker: sent with every chunk, chain 38's plan (15 MB pickled) cost 0.15 s a chunk.
    """
    return pack(run_chunk(_plan_in(plan) if isinstance(plan, str) else plan, replicates), folder)


def _plan_file(plan: RunPlan, folder: str | None) -> RunPlan | str:
    """The plan pickled to a file in the run's memory folder (the plan itself without one)."""
    if folder is None:
        return plan
    path = os.path.join(folder, "plan.pickle")
    with open(path, "wb") as file:
        pickle.dump(plan, file, protocol=pickle.HIGHEST_PROTOCOL)
    return path


@functools.lru_cache(maxsize=1)
def _plan_in(path: str) -> RunPlan:
    """The plan a worker serves (a pool's workers serve one run, whose folder names the file)."""
    with open(path, "rb") as file:
        plan: RunPlan = pickle.load(file)
    return plan


def _shared_chunks(pool: ProcessPoolExecutor, plan: RunPlan, chunks: list[np.ndarray],
                   helpers: int, folder: str | None = None) -> Generator[ChunkRecord, None, None]:
    """Chunk records in replicate order, run by ``helpers`` spawned workers and this process.

    Chunks are claimed in order. A worker that finishes claims the next chunk at once (its
    future's callback), even while this process is busy with a chunk of its own; this process
    claims the next chunk whenever the record due next is not ready, else waits for it. A
    worker's record comes packed (:mod:`sim.engines.transport`), its large arrays in
    ``folder``. Chunks, not blocks, are shared out: with an odd number of blocks (a
    4,812-lane chain's 1,000 replicates are five), one process would run a block more.
    """
    lock = threading.Lock()
    done: dict[int, ChunkRecord | Future[Packed]] = {}
    claimed, stopped = 0, False
    sent = _plan_file(plan, folder)

    def claim() -> int | None:  # with the lock held
        nonlocal claimed
        if stopped or claimed == len(chunks):
            return None
        claimed += 1
        return claimed - 1

    def hand_out(_finished: object = None) -> None:
        with lock:
            index = claim()
            if index is None:
                return
            job = done[index] = pool.submit(run_chunk_packed, sent, chunks[index], folder)
        job.add_done_callback(hand_out)

    try:
        for _ in range(helpers):
            hand_out()
        for due in range(len(chunks)):
            while True:
                with lock:
                    job = done.get(due)
                    ready = job is not None and not (isinstance(job, Future) and not job.done())
                    index = None if ready else claim()
                if index is None:  # ready, or every chunk claimed: `due` is in `done`
                    break
                record = run_chunk(plan, chunks[index])
                with lock:
                    done[index] = record
            job = done.pop(due)
            yield job.result().unpack() if isinstance(job, Future) else job
    finally:  # on an error or an early close: no more chunks handed out
        with lock:
            stopped = True
        for job in done.values():
            if isinstance(job, Future):
                job.cancel()
