"""All randomness of a run: demand and disruption events, drawn per replicate.

Replicate r draws from ``SeedSequence(seed).spawn(R)[r]`` (built directly as
``SeedSequence(seed, spawn_key=(r,))``, so it does not depend on R, on chunking or on workers).
Its children split the draws by purpose: child 0 draws demand, child 1 + i draws the events of
disruption i. No policy enters here, so two policies run on one scenario see the same demand and
the same events, day by day (common random numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.compile import events as disruption_events
from sim.compile.demand import ZoneLaws
from sim.compile.effects import DEMAND, EVENT_DTYPE, NODE_CAPACITY, effect_factors, event_weight
from sim.compile.layout import Layout
from sim.compile.streams import SeededWords, stream_words
from sim.io.risk_register import disruptions_from_config
from sim.spec.errors import ConfigError, Issue
from sim.spec.network import Network

__all__ = ["KEPT_UNSHOCKED_SHARE", "UNSHOCKED_DTYPE", "Scenario", "ScenarioDraws"]

DEMAND_STREAM = 0
UNSHOCKED_DTYPE = np.dtype([("cell", np.int64), ("demand", np.float64)])
"""A cell of the daily demand (flat index of (replicate, day, zone)) and its value before any
shock."""
KEPT_UNSHOCKED_SHARE = 0.25
"""Cells before their shocks are kept while they take at most this share of the demand's bytes
(16 bytes a cell against 8): beyond it the twin draws its demand again, so memory stays within
a quarter of the demand array whatever the shocks cover."""
MAX_HORIZON_DAYS = 1_000_000
"""Longest run (recorded or warm-up days): beyond it one replicate's daily draws alone would
outgrow memory (a typo such as 1e9 is refused by name, not met with a MemoryError)."""


@dataclass(frozen=True, eq=False)
class ScenarioDraws:
    """The draws of a set of replicates (one chunk).

    Attributes
    ----------
    replicates : ndarray, shape (replicate,)
        Global replicate numbers.
    demand : ndarray, shape (replicate, day, zone)
        Daily demand per zone over the whole horizon, warm-up included [units].
    events : ndarray of EVENT_DTYPE
        Disruption events; their ``replicate`` field is the position in this chunk.
    horizon : int
        Simulated days (warm-up + recorded).
    cause_kinds : tuple of str
        Kind of the disruption spec behind each ``cause`` number.
    unshocked : ndarray of UNSHOCKED_DTYPE or None
        The demand of each cell a demand shock changed, before the shock: what :meth:`calm`
        puts back (``None`` where shocks cover too much of the demand to keep them, see
        :data:`KEPT_UNSHOCKED_SHARE`).
    """

    replicates: np.ndarray
    demand: np.ndarray
    events: np.ndarray
    horizon: int
    cause_kinds: tuple[str, ...] = ()
    unshocked: np.ndarray | None = field(
        default_factory=lambda: np.zeros(0, dtype=UNSHOCKED_DTYPE))

    def node_capacity_factor(self, day: int, n_nodes: int) -> np.ndarray:
        """Capacity factor per (replicate, node) on a simulated day."""
        return effect_factors(self.events, day, NODE_CAPACITY, n_nodes, len(self.replicates)).T

    def warned(self, kinds: tuple[str, ...]) -> np.ndarray:
        """Which events an early warning for these disruption kinds covers (all if empty)."""
        if not kinds:
            return np.ones(len(self.events), dtype=bool)
        covered = np.array([kind in kinds for kind in self.cause_kinds], dtype=bool)
        return covered[self.events["cause"]] if covered.size else np.zeros(0, dtype=bool)

    def replicate(self, position: int) -> ScenarioDraws:
        """The draws of one replicate of the chunk, as a chunk of one."""
        events = self.events[self.events["replicate"] == position].copy()
        events["replicate"] = 0
        unshocked = self.unshocked
        if unshocked is not None:  # this replicate's cells, numbered in a chunk of one
            cells = self.demand[0].size
            unshocked = unshocked[unshocked["cell"] // cells == position].copy()
            unshocked["cell"] -= position * cells
        return ScenarioDraws(self.replicates[position:position + 1],
                             self.demand[position:position + 1], events, self.horizon,
                             self.cause_kinds, unshocked)

    def calm(self) -> ScenarioDraws | None:
        """The same draws with every disruption muted: no events, demand before any shock.

        Equal bit for bit to the draw of the scenario with all its disruptions muted (the
        demand stream is the same), without drawing the demand again: the counterfactual twin
        of every run with events (the demo's 1,000 replicates: a 2 ms copy, where drawing
        their demand again took 77 ms). ``None`` where the cells before the shocks were not
        kept: draw the muted scenario instead.
        """
        if self.unshocked is None:
            return None
        demand = self.demand.copy()
        demand.reshape(-1)[self.unshocked["cell"]] = self.unshocked["demand"]
        return ScenarioDraws(self.replicates, demand, np.zeros(0, dtype=EVENT_DTYPE),
                             self.horizon, self.cause_kinds)


@dataclass(frozen=True)
class Scenario:
    """Demand and disruptions of a study, with the seed that draws them.

    Parameters
    ----------
    network : Network
        The network the draws are for.
    days : int
        Recorded days (after warm-up).
    warmup_days : int
        Days simulated before recording starts.
    disruptions : sequence
        Disruption specs (:mod:`sim.spec.disruptions`) or their mapping forms.
    seed : int
        Root seed (non-negative integer).
    muted : tuple of int
        Disruptions (by position) left out, every other draw unchanged: the same scenario
        without those events, for attributing losses to their causes.
    """

    network: Network
    days: int
    warmup_days: int = 0
    disruptions: tuple[Any, ...] = field(default=())
    seed: int = 0
    muted: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        issues = []
        for key, minimum, maximum in (("days", 1, MAX_HORIZON_DAYS),
                                      ("warmup_days", 0, MAX_HORIZON_DAYS), ("seed", 0, None)):
            value = getattr(self, key)
            whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
            if not whole or value < minimum:
                issues.append(Issue("run", key, value, f"must be a whole number >= {minimum}"))
            elif maximum is not None and value > maximum:
                need = value * max(1, len(self.network.demand)) * 8 / 2**30
                issues.append(Issue("run", key, value, f"must be <= {maximum:,} days: the daily "
                                    f"demand of one replicate alone would need {need:,.1f} GiB"))
        if issues:
            raise ConfigError(issues)
        object.__setattr__(self, "disruptions", disruptions_from_config(self.disruptions))
        layout = self.layout
        for spec in self.disruptions:
            disruption_events.validate(spec, layout, self.warmup_days)

    @property
    def layout(self) -> Layout:
        """The network's arrays."""
        return Layout.of(self.network)

    @property
    def horizon(self) -> int:
        """Simulated days: warm-up plus recorded."""
        return self.warmup_days + self.days

    def seed_sequence(self, replicate: int, stream: int) -> np.random.SeedSequence:
        """Seed of one purpose (``stream``) of one replicate."""
        return np.random.SeedSequence(self.seed, spawn_key=(int(replicate), int(stream)))

    def draw(self, replicates: Iterable[int] | int) -> ScenarioDraws:
        """Draw demand and events for some replicates.

        Parameters
        ----------
        replicates : int or iterable of int
            Replicate numbers (an int r means ``range(r)``).
        """
        reps = np.arange(replicates) if isinstance(replicates, int) else np.asarray(
            list(replicates), dtype=np.int64)
        layout, horizon = self.layout, self.horizon
        demand = np.empty((reps.size, horizon, layout.n_zones))
        laws = ZoneLaws.of(layout)
        for position, rng in enumerate(ReplicateStreams(self, reps, DEMAND_STREAM)):
            laws.draw(rng, demand[position])
        tables = []
        for cause, spec in enumerate(self.disruptions):
            if cause in self.muted:  # left out; the others keep their own streams
                continue
            streams = ReplicateStreams(self, reps, 1 + cause)
            events = disruption_events.sample(spec, streams, layout, horizon, self.warmup_days)
            events["cause"] = cause
            tables.append(events)
        events = np.concatenate(tables) if tables else np.zeros(0, dtype=EVENT_DTYPE)
        unshocked = _shock_demand(demand, events, horizon)
        return ScenarioDraws(reps, demand, events, horizon,
                             tuple(spec.kind for spec in self.disruptions), unshocked)


class ReplicateStreams(Sequence[np.random.Generator]):
    """The generators of one stream for a chunk of replicates, made when first used.

    A spec that draws nothing (scripted, fixed length) never pays for making them. Their seeds
    are hashed for the whole chunk at once (:mod:`sim.compile.streams`): the same generators as
    ``default_rng(scenario.seed_sequence(r, stream))``, 5x cheaper to make.
    """

    def __init__(self, scenario: Scenario, replicates: np.ndarray, stream: int) -> None:
        self._scenario, self._replicates, self._stream = scenario, replicates, stream
        self._words: np.ndarray | None = None
        self._hashed = False

    def __len__(self) -> int:
        return len(self._replicates)

    def __getitem__(self, position: int) -> np.random.Generator:  # type: ignore[override]
        if not -len(self) <= position < len(self):
            raise IndexError(position)
        return self._generator(position)

    def __iter__(self) -> Iterator[np.random.Generator]:
        # every spec walks all the streams: skip the bounds check and the two len() calls that
        # Sequence's own iterator makes per item (12,000 items per 1,000 replicates)
        return (self._generator(position) for position in range(len(self)))

    def _generator(self, position: int) -> np.random.Generator:
        if not self._hashed:
            self._words = stream_words(self._scenario.seed, self._replicates, self._stream)
            self._hashed = True
        if self._words is None:  # numbers beyond the shortcut: numpy's own seeding
            return np.random.default_rng(
                self._scenario.seed_sequence(self._replicates[position], self._stream))
        # numpy's stubs name SeedSequence; PCG64 takes any ISeedSequence (numpy.random docs)
        words = SeededWords(self._words[position])
        return np.random.Generator(np.random.PCG64(words))  # type: ignore[arg-type]


def _shock_demand(demand: np.ndarray, events: np.ndarray, horizon: int) -> np.ndarray | None:
    """Multiply demand (replicate, day, zone) by the demand shocks among ``events``.

    Returns the cells the shocks act on with their demand before (:data:`UNSHOCKED_DTYPE`,
    each cell once), or ``None`` where they would take more than
    :data:`KEPT_UNSHOCKED_SHARE` of the demand's memory.
    """
    shocks = events[events["kind"] == DEMAND]
    if not shocks.size:
        return np.zeros(0, dtype=UNSHOCKED_DTYPE)
    last = np.minimum(horizon, shocks["end"] + shocks["ramp_days"])
    length = np.maximum(last - shocks["start"], 0)
    row = np.repeat(np.arange(shocks.size), length)  # one row per (shock, day it acts)
    day = shocks["start"][row] + np.arange(row.size) - np.repeat(np.cumsum(length) - length,
                                                                 length)
    expanded = shocks[row]
    factor = 1.0 + (expanded["severity"] - 1.0) * event_weight(expanded, day)
    cells = (expanded["replicate"], day, expanded["target"])
    touched = np.unique(np.ravel_multi_index(cells, demand.shape))
    unshocked = None
    if touched.size * UNSHOCKED_DTYPE.itemsize <= KEPT_UNSHOCKED_SHARE * demand.nbytes:
        unshocked = np.empty(touched.size, dtype=UNSHOCKED_DTYPE)
        unshocked["cell"], unshocked["demand"] = touched, demand.reshape(-1)[touched]
    np.multiply.at(demand, cells, factor)
    return unshocked
