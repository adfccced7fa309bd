"""How chunks are shared between this process and spawned workers (``sim.engines.runner``)."""

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
