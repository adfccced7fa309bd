"""Records sent from worker processes with their large arrays in memory-backed files."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sim
from sim.engines import transport

LARGE = transport.SPILL_BYTES // 8 + 1  # float64 elements just over the threshold


def _value() -> dict[str, object]:
    events = np.zeros(LARGE // 2, dtype=[("start", "i8"), ("severity", "f8")])
    events["start"] = np.arange(events.size)
    return {"sums": np.arange(LARGE, dtype=float), "small": np.ones(3),
            "fortran": np.asfortranarray(np.arange(2 * LARGE, dtype=float).reshape(2, -1)),
            "events": events, "label": "chunk 0"}


def _assert_same(got: dict[str, object], want: dict[str, object]) -> None:
    assert got.keys() == want.keys() and got["label"] == want["label"]
    for name in ("sums", "small", "fortran", "events"):
        array, expected = got[name], want[name]
        assert isinstance(array, np.ndarray) and isinstance(expected, np.ndarray)
        assert array.dtype == expected.dtype and array.shape == expected.shape
        assert array.flags.f_contiguous == expected.flags.f_contiguous
        np.testing.assert_array_equal(array, expected)


def test_large_arrays_go_through_files_that_are_gone_once_mapped(tmp_path: Path) -> None:
    packed = transport.pack(_value(), str(tmp_path))
    assert len(packed.files) == 3  # the three large arrays; the small one stays in the pickle
    assert len(packed.payload) < transport.SPILL_BYTES  # what crosses the pipe is small
    assert len(pickle.dumps(packed)) < transport.SPILL_BYTES
    got = packed.unpack()
    _assert_same(got, _value())
    assert not list(tmp_path.iterdir())  # the names are removed; the arrays stay mapped
    got["sums"][0] = 42.0  # writable, as the merge that folds records into it needs
    assert got["sums"][0] == 42.0


def test_without_a_folder_or_room_everything_stays_in_the_pickle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without = transport.pack(_value(), None)
    assert without.files == () and len(without.payload) > 3 * transport.SPILL_BYTES
    _assert_same(without.unpack(), _value())
    monkeypatch.setattr(transport, "ROOM_MARGIN", 1 << 62)  # no file system has that free
    full = transport.pack(_value(), str(tmp_path))
    assert full.files == () and not list(tmp_path.iterdir())
    _assert_same(full.unpack(), _value())


def test_the_run_folder_is_removed_with_what_was_never_mapped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "MEMORY_FOLDER", str(tmp_path))
    with transport.memory_folder() as folder:
        assert folder is not None and Path(folder).parent == tmp_path
        left = transport.pack(_value(), folder)  # a block cancelled before it was received
        assert all(Path(path).exists() for path in left.files)
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(transport, "MEMORY_FOLDER", str(tmp_path / "absent"))
    with transport.memory_folder() as folder:
        assert folder is None


def test_a_record_packed_in_a_spawned_process_arrives_whole(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        packed = pool.submit(transport.pack, _value(), str(tmp_path)).result()
    assert len(packed.files) == 3
    _assert_same(packed.unpack(), _value())


def test_two_workers_send_summaries_through_files_and_change_no_bit(
        demo: sim.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long enough that a chunk's daily moments pass the threshold; ten chunks in three blocks."""
    mapped: list[str] = []
    original = transport._mapped

    def counted(path: str):  # the receiving side runs in this process
        mapped.append(path)
        return original(path)

    monkeypatch.setattr(transport, "_mapped", counted)
    kwargs = {"days": 1500, "replicates": 10, "seed": 3, "engine": "batch", "chunk_size": 1,
              "disruptions": [sim.RandomOutages(mttf_days=60, mttr_days=5)]}
    one = sim.simulate(demo, workers=1, **kwargs)
    assert not mapped
    two = sim.simulate(demo, workers=2, **kwargs)
    assert mapped  # the worker's chunks came through files
    xr.testing.assert_identical(two.drop_attrs(), one.drop_attrs())
