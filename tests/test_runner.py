"""How chunks are shared between this process and spawned workers, and merged in blocks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sim.engines import runner


def test_chunks_come_in_replicate_order_and_this_process_runs_some(
        monkeypatch: pytest.MonkeyPatch) -> None:
    here, main = [], threading.get_ident()

    def run_chunk(plan: object, replicates: np.ndarray) -> tuple[str, int]:
        if threading.get_ident() == main:
            here.append(int(replicates[0]))
        else:
            time.sleep(0.05)  # a worker slower than this process
        return "record", int(replicates[0])

    monkeypatch.setattr(runner, "run_chunk", run_chunk)
    chunks = list(runner._chunks(20, 2))
    with ThreadPoolExecutor(1) as pool:
        records = list(runner._shared_chunks(pool, None, chunks, helpers=1))  # type: ignore[arg-type]
    assert [first for _, first in records] == list(range(0, 20, 2))
    assert here and len(here) < len(chunks)  # both ran chunks
    assert 0 not in here  # the first chunk went to the worker, this process went on


def test_a_fast_worker_leaves_this_process_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    here, main = [], threading.get_ident()

    def run_chunk(plan: object, replicates: np.ndarray) -> int:
        if threading.get_ident() == main:
            here.append(int(replicates[0]))
            time.sleep(0.2)  # this process is slow: the worker does the rest meanwhile
        return int(replicates[0])

    monkeypatch.setattr(runner, "run_chunk", run_chunk)
    chunks = list(runner._chunks(6, 1))
    with ThreadPoolExecutor(2) as pool:
        records = list(runner._shared_chunks(pool, None, chunks, helpers=2))  # type: ignore[arg-type]
    assert records == list(range(6))
    assert len(here) <= 2


def test_chunks_run_in_blocks_of_consecutive_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[int]] = []

    def run_block(plan: object, block: list[np.ndarray]) -> list[int]:
        seen.append([int(chunk[0]) for chunk in block])
        return [int(chunk[0]) for chunk in block]

    monkeypatch.setattr(runner, "run_block", run_block)
    monkeypatch.setattr(runner, "_merge_stream", list)
    plan = type("Plan", (), {"engine": "batch", "policy_plan": None})()
    assert runner.run_plan(plan, 10, chunk_size=1) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_a_worker_that_finishes_takes_the_next_chunk_while_this_process_is_busy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Four chunks, one worker: it takes chunk 3 when done with 0, while this process runs 2."""
    ran_by: dict[int, str] = {}
    spans: dict[int, tuple[float, float]] = {}
    main = threading.get_ident()

    def run_chunk(plan: object, replicates: np.ndarray) -> int:
        first, start = int(replicates[0]), time.perf_counter()
        here = threading.get_ident() == main
        ran_by[first] = "here" if here else "worker"
        time.sleep(0.2 if here else 0.3)
        spans[first] = (start, time.perf_counter())
        return first

    monkeypatch.setattr(runner, "run_chunk", run_chunk)
    chunks = list(runner._chunks(4, 1))
    with ThreadPoolExecutor(1) as pool:
        records = list(runner._shared_chunks(pool, None, chunks, helpers=1))  # type: ignore[arg-type]
    assert records == [0, 1, 2, 3]
    assert ran_by == {0: "worker", 1: "here", 2: "here", 3: "worker"}
    assert spans[3][0] < spans[2][1]  # not left idle until this process was free again


def test_an_error_in_a_chunk_stops_handing_out_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []

    def run_chunk(plan: object, replicates: np.ndarray) -> int:
        first = int(replicates[0])
        ran.append(first)
        time.sleep(0.05)
        if first == 0:
            raise ValueError("chunk 0 failed")
        return first

    monkeypatch.setattr(runner, "run_chunk", run_chunk)
    chunks = list(runner._chunks(40, 1))
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="chunk 0 failed"):
        list(runner._shared_chunks(pool, None, chunks, helpers=1))  # type: ignore[arg-type]
    assert len(ran) < 10


def test_a_batch_worker_imports_neither_mesa_nor_pandas() -> None:
    """What a spawned worker imports before its first chunk (Mesa alone took 0.4 s)."""
    import subprocess
    import sys

    code = ("import sys, sim.engines.runner, sim.engines.batch, sim.engines.transport; "
            "print(sorted({'mesa', 'pandas', 'xarray', 'networkx'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
