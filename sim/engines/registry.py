"""One interface for every engine, and the registry the runner picks them from.

An engine runs a chunk of replicates: it gets the compiled plan (:mod:`sim.compile.plan`), the
chunk's scenario draws (:mod:`sim.compile.scenario`), the warm-up and the recorders, and hands
every recorded day of the chunk to the recorders as one :class:`~sim.measures.trace.DayBlock`.
Both shipped engines are built from the same plan and draws, so nothing is re-planned per
replicate. A new engine (a compiled kernel, a GPU port) plugs in with :func:`register_engine`
and is then accepted as ``engine=NAME`` everywhere. Worker processes start fresh (``spawn``):
with ``workers > 1`` register it in a module the workers import, not only in a script.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from sim.compile.plan import PolicyPlan
from sim.compile.scenario import ScenarioDraws
from sim.engines.batch import BatchEngine
from sim.engines.recording import Recording
from sim.measures.trace import DayBlock

__all__ = ["ENGINES", "BatchRun", "Engine", "MesaRun", "register_engine"]


class Engine(Protocol):
    """What the runner needs of an engine."""

    def run(self, plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int,
            recording: Recording) -> None:
        """Simulate every day of the chunk ``draws``, recording days from ``warmup_days`` on."""


class BatchRun:
    """The vectorised engine (:class:`sim.engines.batch.BatchEngine`): a chunk at once."""

    def run(self, plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int,
            recording: Recording) -> None:
        """Run the chunk on arrays of (entity, replicate)."""
        # One BLAS thread: its products here are small, and threads cost more than they give
        # (measured: summary recording 17 % faster); parallelism comes from worker processes.
        with threadpool_limits(limits=1, user_api="blas"):
            BatchEngine(plan).run(draws, warmup_days, recording)


class MesaRun:
    """The Mesa reference engine: one model per replicate, stepped day by day in lockstep.

    Each day every model of the chunk runs its phases, then their day blocks are stacked into
    one block of the chunk, as the batch engine hands it over.
    """

    def run(self, plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int,
            recording: Recording) -> None:
        """Run one :class:`~sim.engines.mesa.model.SupplyChainModel` per replicate."""
        # imported here: Mesa brings pandas, networkx and scipy.spatial (0.4 s), which every
        # worker process of a batch run paid at its start, before its first block
        from sim.engines.mesa.model import SupplyChainModel

        models = [SupplyChainModel.from_plan(plan, draws.replicate(position), warmup_days)
                  for position in range(len(draws.replicates))]
        for t in range(draws.horizon):
            for model in models:
                model.step()
            if t >= warmup_days:
                recording.record(t - warmup_days, stack_blocks([m.day_block() for m in models]))


def stack_blocks(blocks: list[DayBlock]) -> DayBlock:
    """Day blocks of single replicates as one block of them all (replicates in order)."""
    lanes = [b.lanes for b in blocks if b.lanes is not None]
    return DayBlock(np.concatenate([b.nodes for b in blocks], axis=-1),
                    np.concatenate([b.inputs for b in blocks], axis=-1),
                    np.concatenate(lanes, axis=-1) if len(lanes) == len(blocks) else None)


ENGINES: dict[str, Engine] = {"mesa": MesaRun(), "batch": BatchRun()}
"""The engines by name (``engine=`` of :func:`sim.simulate` and the configs)."""


def register_engine(name: str, engine: Engine) -> None:
    """Make ``engine`` available as ``engine=name`` (replacing an engine of that name)."""
    ENGINES[name] = engine
