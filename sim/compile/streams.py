"""The random streams of many replicates, seeded at once.

Replicate r's stream for a purpose s is ``PCG64(SeedSequence(seed, spawn_key=(r, s)))``
(:meth:`sim.compile.scenario.Scenario.seed_sequence`). Making one costs about 9 us, mostly
numpy's SeedSequence hashing in Python-level loops; with every shipped disruption on, a chunk
of 1,000 replicates makes about 11,000 of them (a quarter of its sampling time). Here the same
hashing (numpy's ``SeedSequence.mix_entropy`` and ``generate_state``, after O'Neill's
``seed_seq_fe``) runs on all replicates of a stream at once, in uint32 arithmetic that wraps as
the original does; each generator is then a ``PCG64`` seeded with its precomputed words, so its
state, and every number it draws, are the same (``tests/test_scenario.py`` checks the states
against numpy's).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

__all__ = ["SeededWords", "stream_words"]

_INIT_A, _MULT_A = np.uint32(0x43B0D7E5), np.uint32(0x931E8875)
_INIT_B, _MULT_B = np.uint32(0x8B51F9DD), np.uint32(0x58F38DED)
_MIX_MULT_L, _MIX_MULT_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_XSHIFT = np.uint32(16)
_POOL_SIZE = 4
_STATE_WORDS = 8  # PCG64 asks for 4 uint64 words


def _words(value: int) -> list[int]:
    """An int as uint32 words, least significant first (numpy's ``_int_to_uint32_array``)."""
    if value < 0:
        raise ValueError(f"seed words must be >= 0, got {value}")
    words = [0] if value == 0 else []
    while value > 0:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


class _Hash:
    """The running hash constant of a mixing pass (the same for every replicate)."""

    def __init__(self, init: np.uint32, mult: np.uint32) -> None:
        self.const, self.mult = init, mult

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = value ^ self.const
        self.const = self.const * self.mult
        value = value * self.const
        return value ^ (value >> _XSHIFT)


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = _MIX_MULT_L * x - _MIX_MULT_R * y
    return result ^ (result >> _XSHIFT)


def stream_words(seed: int, replicates: np.ndarray, stream: int) -> np.ndarray | None:
    """The seed words of stream ``stream`` of each replicate, shape (replicate, 8), uint32.

    Those of ``SeedSequence(seed, spawn_key=(r, stream)).generate_state(4, uint64)``; ``None``
    where the shortcut does not apply (replicate or stream numbers of more than 32 bits, a
    big-endian machine): build those one by one.
    """
    replicates = np.asarray(replicates, dtype=np.int64)
    if sys.byteorder != "little" or stream >= 2**32 or (replicates.size and (
            replicates.min() < 0 or replicates.max() >= 2**32)):
        return None
    run = _words(int(seed))
    run += [0] * max(0, _POOL_SIZE - len(run))  # padded: the spawn key follows
    with np.errstate(over="ignore"):
        entropy = [np.full(replicates.size, word, dtype=np.uint32) for word in run]
        entropy += [replicates.astype(np.uint32), np.full(replicates.size, stream, np.uint32)]
        hash_a = _Hash(_INIT_A, _MULT_A)
        pool = [hash_a(entropy[i]) for i in range(_POOL_SIZE)]
        for source in range(_POOL_SIZE):
            for target in range(_POOL_SIZE):
                if source != target:
                    pool[target] = _mix(pool[target], hash_a(pool[source]))
        for source in range(_POOL_SIZE, len(entropy)):
            for target in range(_POOL_SIZE):
                pool[target] = _mix(pool[target], hash_a(entropy[source]))
        hash_b = _Hash(_INIT_B, _MULT_B)
        state = [hash_b(pool[i % _POOL_SIZE]) for i in range(_STATE_WORDS)]
    return np.ascontiguousarray(np.stack(state, axis=1))


class SeededWords(ISeedSequence):
    """A seed sequence that hands a bit generator words computed beforehand."""

    def __init__(self, words: np.ndarray) -> None:
        self._words = words

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        """The words, as ``SeedSequence.generate_state`` gives them (4 uint64 for PCG64)."""
        if np.dtype(dtype) != np.uint64 or n_words != _STATE_WORDS // 2:
            raise ValueError("precomputed words serve PCG64's 4 uint64 words only")
        return self._words.view(np.uint64)
