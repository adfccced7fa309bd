"""The batch engine against the compiled reference kernel, measured in one run.

For each network and recording mode it times, on the same draws, the batch engine's run of a
chunk (``BatchEngine.run`` with its recorders: what ``simulation_s`` measures) and the compiled
bare day of ``benchmarks/reference_kernel.py`` recording the same things, and prints the engine's
*share* of the reference: reference time / engine time (1.0 = as fast as the compiled loop).
Everything-on runs (every shipped disruption, every measure) are timed against the bare run of
the same engine and against the bare reference; scenario sampling (``Scenario.draw``) against the
engine's run, and in a whole ``sim.simulate`` call (twin and resilience included). Per-phase
times show where the engine's day goes. The cases of a network and mode run in turn,
``--repeats`` rounds: times are medians, ratios the medians of each round's ratio. One thread
(BLAS limited to one), in this process. Networks: the demo (R = 1,000, bare and everything
on), Willems chains 08, 17 and 22 (R = 1,000) and 38 (R = 64).

    python benchmarks/bench_reference.py           # as above, then workers and phases
    python benchmarks/bench_reference.py --quick   # fewer days and replicates"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one thread, as the engine runs in each worker

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_engines import CHAIN38, DEMO, EVERY_MEASURE, every_disruption  # noqa: E402

WARMUP = 30
MID_SIZED_CHAINS = tuple((f"chain{number}", f"example:willems-2008/chain-{number}.csv")
                         for number in ("08", "17", "22"))  # 28, 151 and 249 stages


def _setup(network_path: str, days: int, replicates: int, everything: bool):
    import sim
    from sim.compile.plan import plan_policy
    from sim.compile.scenario import Scenario
    from sim.io.presets import as_policy

    network = sim.load_network(network_path)
    policy = as_policy(EVERY_MEASURE if everything else None)
    plan = plan_policy(policy, network)
    scenario = Scenario(network, days=days, warmup_days=WARMUP, seed=1,
                        disruptions=tuple(every_disruption()) if everything else ())
    return plan, scenario, scenario.draw(replicates)


def _engine_time(plan, draws, days: int, mode: str, phases: dict | None = None) -> float:
    from sim.engines.batch import BatchEngine
    from sim.engines.day import PHASES
    from sim.engines.recording import Recording

    engine = BatchEngine(plan)
    if phases is not None:  # instance attributes shadow the phase methods `run` looks up
        for name in PHASES:
            setattr(engine, name, _timed(getattr(engine, name), phases, name))
    recording = Recording(mode, draws.replicates, days, plan.layout)
    started = time.perf_counter()
    engine.run(draws, WARMUP, recording)
    recording.result()
    return time.perf_counter() - started


def _timed(phase, totals: dict, name: str):
    def wrapper(state, t):
        started = time.perf_counter()
        phase(state, t)
        totals[name] += time.perf_counter() - started
    return wrapper


def _reference_time(plan, draws, mode: str) -> float:
    from reference_kernel import run_reference

    started = time.perf_counter()
    run_reference(plan, draws, WARMUP, mode)
    return time.perf_counter() - started


def _rounds(repeats: int, cases: dict) -> dict[str, list[float]]:
    """Seconds of each case, the cases run in turn ``repeats`` times (one round each time).

    Interleaved, so the ratios of one round are measured side by side: on this shared machine
    the speed drifts by 30 % within a minute, and cases timed one after the other moved with it.
    """
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for name, (function, *args) in cases.items():
            times[name].append(function(*args))
    return times


def _ratio(times: dict[str, list[float]], top: str, bottom: str) -> float:
    """The median over rounds of one case's time over another's."""
    return statistics.median(a / b for a, b in zip(times[top], times[bottom], strict=True))


def bench_network(label: str, path: str, days: int, replicates: int, repeats: int,
                  everything: bool) -> list[str]:
    """Lines of the table for one network: times are medians, ratios medians of rounds."""
    plan, _, draws = _setup(path, days, replicates, everything=False)
    if everything:
        plan_all, scenario_all, draws_all = _setup(path, days, replicates, everything=True)
    bare_lines, everything_lines = [], []
    for mode in ("kpis", "summary"):
        cases = {"reference": (_reference_time, plan, draws, mode),
                 "bare": (_engine_time, plan, draws, days, mode)}
        if everything:
            cases["everything"] = (_engine_time, plan_all, draws_all, days, mode)
            cases["sampling"] = (_draw_time, scenario_all, replicates)
        times = _rounds(repeats, cases)
        median = {name: statistics.median(values) for name, values in times.items()}
        bare_lines.append(f"{label:8} {replicates:>6} {'bare':10} {mode:8} {median['bare']:9.3f} "
                          f"{median['reference']:9.3f} "
                          f"{_ratio(times, 'reference', 'bare'):7.0%} {'':>9} {'':>9}")
        if everything:
            drawn_and_run = [d / (d + e) for d, e in
                             zip(times["sampling"], times["everything"], strict=True)]
            everything_lines.append(
                f"{label:8} {replicates:>6} {'everything':10} {mode:8} "
                f"{median['everything']:9.3f} {median['reference']:9.3f} "
                f"{_ratio(times, 'reference', 'everything'):7.0%} "
                f"{_ratio(times, 'everything', 'bare'):8.2f}x "
                f"{statistics.median(drawn_and_run):9.0%}")
    return bare_lines + everything_lines


def _draw_time(scenario, replicates: int) -> float:
    started = time.perf_counter()
    scenario.draw(replicates)
    return time.perf_counter() - started


def phase_table(path: str, days: int, replicates: int, everything: bool) -> list[str]:
    """Seconds per phase of the engine's day (summary recording), with recording as a phase."""
    plan, _, draws = _setup(path, days, replicates, everything)
    phases: dict[str, float] = defaultdict(float)
    total = _engine_time(plan, draws, days, "summary", phases)
    phases["recording and the rest"] = total - sum(phases.values())
    return [f"  {name:24} {seconds:8.3f} s {seconds / total:6.1%}"
            for name, seconds in phases.items()]


def worker_scaling(path: str, days: int, replicates: int = 128, repeats: int = 3) -> str:
    """Wall time of the batch engine's ``sim.simulate`` on one worker and on two, and the ratio.

    ``replicates`` in the automatic chunks (8 of 16 on chain 38); with two workers this process
    runs chunks too (``sim.engines.runner.run_plan``). One and two workers alternate, ``repeats``
    times each, and the medians are compared: on this shared machine single runs of either
    moved by 10 %, enough to swing the ratio from 1.5x to 1.7x.
    """
    import sim
    from sim.engines.runner import auto_chunk_size

    network = sim.load_network(path)
    plan, _, _ = _setup(path, 1, 1, everything=False)
    chunk = auto_chunk_size(plan.layout, replicates)
    walls: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            started = time.perf_counter()
            sim.simulate(network, days=days, replicates=replicates, seed=1, engine="batch",
                         workers=workers, warmup_days=WARMUP)
            walls[workers].append(time.perf_counter() - started)
    one, two = (statistics.median(walls[w]) for w in (1, 2))
    chunks = -(-replicates // chunk)
    runs = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(walls[1], walls[2], strict=True))
    return (f"# workers, {path}, batch engine, R = {replicates} ({chunks} chunks of {chunk}), "
            f"summary, medians of {repeats}: one {one:.1f} s, two {two:.1f} s, "
            f"speed-up {one / two:.2f}x (one/two s per round: {runs})")



def whole_run(days: int, replicates: int, repeats: int) -> str:
    """``sim.simulate`` on the demo with everything on, as a user runs it, and its sampling share.

    Unlike the table's sampling column (the draw against the engine's run of the chunk), the
    run here also simulates each replicate's undisrupted twin and measures resilience against
    it, and builds the dataset: ``sampling_s`` over the wall time of the whole call. In this
    process, after a small run has loaded the kernels; medians of ``repeats``.
    """
    import sim

    network = sim.load_network(DEMO)
    kwargs = {"seed": 1, "engine": "batch", "warmup_days": WARMUP,
              "disruptions": every_disruption(), "policy": EVERY_MEASURE}
    sim.simulate(network, days=5, replicates=2, **kwargs)
    walls, shares = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        ds = sim.simulate(network, days=days, replicates=replicates, **kwargs)
        walls.append(time.perf_counter() - started)
        shares.append(ds.attrs["sampling_s"] / walls[-1])
    return (f"# whole run, demo, everything on, R = {replicates}, summary, twin and resilience "
            f"included: {statistics.median(walls):.2f} s, sampling "
            f"{statistics.median(shares):.0%} of the wall time (median of {repeats})")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer days and replicates")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (median shown)")
    args = parser.parse_args()
    from sim.engines.runner import WORKER_ENVIRONMENT

    if "GLIBC_TUNABLES" not in os.environ:  # as the engine runs in its workers: measured
        # 20-35 % faster, and without it timings drift with what the process freed before
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {**os.environ, **WORKER_ENVIRONMENT})

    import mesa
    import numba
    from reference_kernel import run_reference

    import sim

    days = 120 if args.quick else 365
    demo_reps, chain_reps = (200, 16) if args.quick else (1000, 64)
    print(f"# {date.today()} | {platform.processor() or platform.machine()} | "
          f"{platform.python_version()} | sim {sim.__version__} | numpy {np.__version__} | "
          f"numba {numba.__version__} | mesa {mesa.__version__} | {days} days + {WARMUP} warm-up"
          f" | GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES')}")
    plan, _, draws = _setup(DEMO, 5, 2, everything=False)
    started = time.perf_counter()
    for mode in ("kpis", "summary", "trace"):  # compile outside the timings
        run_reference(plan, draws, WARMUP, mode)
    print(f"# reference kernel compiled in {time.perf_counter() - started:.1f} s")
    for everything in (False, True):  # the engine's kernels loaded from numba's cache, too
        plan_small, _, draws_small = _setup(DEMO, 5, 2, everything)
        for mode in ("kpis", "summary"):
            _engine_time(plan_small, draws_small, 5, mode)
    print(f"{'network':8} {'reps':>6} {'case':10} {'record':8} {'engine s':>9} {'ref s':>9} "
          f"{'share':>7} {'vs bare':>9} {'sampling':>9}")
    for line in bench_network("demo", DEMO, days, demo_reps, args.repeats, everything=True):
        print(line, flush=True)
    for label, chain in MID_SIZED_CHAINS:
        for line in bench_network(label, chain, days, demo_reps, args.repeats, everything=False):
            print(line, flush=True)
    for line in bench_network("chain38", CHAIN38, days, chain_reps, args.repeats,
                              everything=False):
        print(line, flush=True)
    print("# engine s, ref s: medians; share = reference time / engine time on the same draws; "
          "vs bare = engine time everything on / bare; sampling = Scenario.draw / (draw + "
          "engine); each ratio the median of the rounds' ratios")
    print(whole_run(days, demo_reps, args.repeats), flush=True)
    if not args.quick:
        print(worker_scaling(CHAIN38, days, repeats=args.repeats), flush=True)
    for label, path, reps, everything in (("demo bare", DEMO, demo_reps, False),
                                          ("demo everything on", DEMO, demo_reps, True),
                                          ("chain38 bare", CHAIN38, chain_reps, False)):
        print(f"# phases, {label}, R = {reps}, summary recording")
        for line in phase_table(path, days, reps, everything):
            print(line)


if __name__ == "__main__":
    main()
