"""What the engines do with each recorded day: full traces, streaming summaries, KPIs.

Both engines hand every recorded day to the same recorders as a mapping from variable name
(:mod:`sim.measures.trace`) to an array shaped (replicate, node | lane | input) in network order.
So the KPIs, summaries and traces of the two engines come from the same code.

Recording modes (``record=``):

* ``"summary"`` (default): per-replicate KPIs; for every node variable the exact daily mean and
  standard deviation over all replicates; and daily *network series* (service level, shortage,
  backlog, stock, cost) with quantiles over replicates. Memory does not grow with replicates:
  means and sds are streamed, and the quantiles use the first ``quantile_replicates`` replicates
  (default 10,000; all of them when fewer), which is the same set whatever the chunking.
* ``"full"``: every daily variable of every replicate (nodes, lanes, inputs), plus the above.
* ``"kpis"``: per-replicate KPIs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.compile.layout import Layout
from sim.measures.kpis import NETWORK_SERIES, KpiAccumulator, NodeTotals
from sim.measures.trace import NODE_VARS, DayBlock, Trace

__all__ = [
    "QUANTILES",
    "RECORD_MODES",
    "ChunkRecord",
    "Recording",
    "SummaryAccumulator",
    "TraceRecorder",
]

RECORD_MODES = ("summary", "full", "kpis")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DEFAULT_QUANTILE_REPLICATES = 10_000

class TraceRecorder:
    """Keeps every variable of every replicate of a chunk (``record="full"``)."""

    def __init__(self, replicates: int, days: int, layout: Layout) -> None:
        self.trace = Trace(replicates, days, layout.n_nodes, layout.n_lanes, layout.n_inputs)
        self.series = {name: np.zeros((replicates, days)) for name in NETWORK_SERIES}

    def record(self, day: int, block: DayBlock, series: np.ndarray) -> None:
        """Store one day (``series``: the network series, (series, replicate))."""
        self.trace.store(day, block)
        for row, array in zip(series, self.series.values(), strict=True):
            array[:, day] = row


class _Moments:
    """Count, sums and centred sums of squares per (day, ...), mergeable across chunks.

    Each chunk keeps, per day, the sum of its values and the sum of squared deviations from its
    own mean; chunks merge with Chan et al.'s pairwise formula. Unlike E[x^2] - E[x]^2 this
    loses nothing when the spread is tiny against the mean (identical replicates give sd 0).
    """

    def __init__(self, shape: tuple[int, ...], count: int) -> None:
        self.count = count
        # Written in full at once, not left to np.zeros's lazy pages: on chain 38 the pages
        # faulted in one by one inside the day's moments kernel cost 0.2-0.7 s a chunk, the
        # same number of faults taken in one pass here 0.04 s (measured 2026-12-04).
        self.sums = np.full(shape, 0.0)
        self.m2 = np.full(shape, 0.0)
        self.finished = False  # True once the sums hold means and m2 sds (mean_sd)

    def add(self, day: int, values: np.ndarray) -> None:
        """Add one day of values shaped (..., replicate)."""
        from sim.engines.kernels import moments  # numba, compiled on first use

        rows = np.ascontiguousarray(values).reshape(-1, values.shape[-1])
        moments(rows, self.sums[day].reshape(-1), self.m2[day].reshape(-1))

    def add_with_totals(self, day: int, values: np.ndarray) -> np.ndarray:
        """Add one day of values (variable, node, replicate); their sums over nodes.

        Returns (variable, replicate): what ``NodeTotals.nodes`` gives, from the same pass.
        """
        from sim.engines.kernels import moments_and_totals  # numba, compiled on first use

        values = np.ascontiguousarray(values)
        totals = np.empty((values.shape[0], values.shape[-1]))
        moments_and_totals(values, self.sums[day].reshape(-1), self.m2[day].reshape(-1),
                           totals)
        return totals

    def merge(self, other: _Moments) -> None:
        """Combine with another chunk's moments."""
        if self.finished or other.finished:
            raise ValueError("moments already turned into means and sds cannot be merged")
        from sim.engines.kernels import merge_moments  # numba, compiled on first use

        merge_moments(self.sums, self.m2, np.ascontiguousarray(other.sums),
                      np.ascontiguousarray(other.m2), self.count, other.count)
        self.count += other.count

    def mean_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sample standard deviation, computed once, in place of the sums.

        In place: new arrays as large as the summary (chain 38: three of 105 MB) had to be
        paged in by the process, 1.0 s at the end of every run, serial whatever the workers.
        Afterwards these moments are finished: asked again, they give the same arrays, and
        they refuse to merge.
        """
        if not self.finished:
            np.divide(self.sums, self.count, out=self.sums)
            np.divide(self.m2, max(self.count - 1, 1), out=self.m2)
            np.sqrt(self.m2, out=self.m2)
            self.finished = True
        return self.sums, self.m2


class SummaryAccumulator:
    """Streaming daily means and sds of node variables, network series of early replicates.

    Parameters
    ----------
    replicate_ids : ndarray
        Global numbers of the chunk's replicates.
    days : int
        Recorded days.
    layout : Layout
        The network's arrays.
    quantile_replicates : int
        Replicates with a global number below this keep their network series for quantiles.
    """

    def __init__(self, replicate_ids: np.ndarray, days: int, layout: Layout,
                 quantile_replicates: int) -> None:
        count = len(replicate_ids)
        self.nodes = _Moments((days, len(NODE_VARS), layout.n_nodes), count)
        self.inputs = _Moments((days, layout.n_inputs), count)
        self.series_sums = {name: np.zeros(days) for name in NETWORK_SERIES}
        keep = np.flatnonzero(replicate_ids < quantile_replicates)
        # usually every replicate of the chunk, or its first ones: a slice, not a gather
        whole = keep.size == 0 or (keep[0] == 0 and keep[-1] == keep.size - 1)
        self.keep: slice | np.ndarray = slice(0, keep.size) if whole else keep
        self.kept_ids = replicate_ids[keep]
        # (day, kept replicate): one contiguous row written per day
        self.series = {name: np.zeros((days, keep.size)) for name in NETWORK_SERIES}
        self.count = count

    def add_nodes(self, day: int, block: DayBlock) -> np.ndarray:
        """Add one day's node variables; their sums over nodes, (variable, replicate)."""
        return self.nodes.add_with_totals(day, block.nodes)

    def record(self, day: int, block: DayBlock, series: np.ndarray) -> None:
        """Add one day's inputs and network series (series, replicate), after :meth:`add_nodes`."""
        self.inputs.add(day, block.inputs)
        for row, name in zip(series, self.series, strict=True):
            self.series_sums[name][day] += row.sum()
            self.series[name][day] = row[self.keep]

    def merge(self, other: SummaryAccumulator) -> None:
        """Add another chunk's accumulator (chunks are merged in replicate order)."""
        self.nodes.merge(other.nodes)
        self.inputs.merge(other.inputs)
        for name in self.series:
            self.series_sums[name] += other.series_sums[name]
            self.series[name] = np.concatenate([self.series[name], other.series[name]], axis=1)
        self.kept_ids = np.concatenate([self.kept_ids, other.kept_ids])
        self.count += other.count

    def statistics(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]],
                                  dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Node means and sds ``{name: (mean, sd)}``; network ``{name: (quantiles, mean)}``."""
        mean, sd = self.nodes.mean_sd()
        nodes = {name: (mean[:, i], sd[:, i]) for i, name in enumerate(NODE_VARS)}
        nodes["input_stock"] = self.inputs.mean_sd()
        network = {}
        order = np.argsort(self.kept_ids, kind="stable")
        for name, kept in self.series.items():
            quantiles = np.quantile(kept[:, order], QUANTILES, axis=1) if kept.size else \
                np.full((len(QUANTILES), kept.shape[0]), np.nan)
            network[name] = (quantiles, self.series_sums[name] / self.count)
        return nodes, network


@dataclass
class ChunkRecord:
    """What one chunk of replicates produced, ready to merge."""

    replicates: np.ndarray
    kpis: dict[str, np.ndarray]
    trace: Trace | None = None
    series: dict[str, np.ndarray] | None = None
    summary: SummaryAccumulator | None = None
    timings: dict[str, float] = field(default_factory=dict)
    events: np.ndarray | None = None  # the event log (EVENT_DTYPE, global replicate numbers)
    event_values: dict[str, np.ndarray] = field(default_factory=dict)  # per event, as events
    daily: tuple[np.ndarray, np.ndarray] | None = None  # network (demand, served) per replicate


class Recording:
    """The recorders of one chunk for a recording mode."""

    def __init__(self, mode: str, replicate_ids: np.ndarray, days: int, layout: Layout,
                 quantile_replicates: int = DEFAULT_QUANTILE_REPLICATES) -> None:
        r = len(replicate_ids)
        self.replicate_ids = replicate_ids
        self.node_totals = NodeTotals(layout)
        self.kpis = KpiAccumulator(r, days, layout, self.node_totals)
        self.trace = TraceRecorder(r, days, layout) if mode == "full" else None
        self.summary = (SummaryAccumulator(replicate_ids, days, layout, quantile_replicates)
                        if mode == "summary" else None)
        self.wants_lanes = mode == "full"

    def record(self, day: int, block: DayBlock) -> None:
        """Hand one recorded day to every recorder.

        With summaries, the node variables' moments and their sums over nodes (which the KPIs
        start from) come from one pass over the block.
        """
        if self.summary is not None:
            totals = self.summary.add_nodes(day, block)
        else:
            totals = self.node_totals.nodes(block)
        series = self.kpis.record(day, block, totals)
        if self.trace is not None:
            self.trace.record(day, block, series)
        if self.summary is not None:
            self.summary.record(day, block, series)

    def result(self) -> ChunkRecord:
        """The chunk's output."""
        return ChunkRecord(
            replicates=self.replicate_ids,
            kpis=self.kpis.result(),
            trace=self.trace.trace if self.trace is not None else None,
            series=self.trace.series if self.trace is not None else None,
            summary=self.summary,
            daily=self.kpis.daily(),
        )
