"""How throughput depends on the chunk size (replicates simulated together).

    python benchmarks/chunk_size.py configs/network/demo.yaml --replicates 8000 \
        --chunks 500,1000,2000,4000,8000
    python benchmarks/chunk_size.py example:willems-2008/chain-38.csv --replicates 64 \
        --chunks 2,8,16,32,64

Prints the median wall time of three runs per chunk size, node-days per second end to end, and
the sampling and simulation seconds; these measurements set
:data:`sim.engines.runner.CHUNK_ELEMENTS`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--chunks", default="250,500,1000,2000")
    parser.add_argument("--record", default="summary")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    network = sim.load_network(args.network)
    node_days = args.replicates * args.days * len(network.nodes)
    for chunk in (int(c) for c in args.chunks.split(",")):
        walls, last = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            last = sim.simulate(network, days=args.days, replicates=args.replicates,
                                engine="batch", record=args.record, chunk_size=chunk)
            walls.append(time.perf_counter() - started)
        wall = statistics.median(walls)
        print(f"chunk {chunk:6d}: {wall:7.2f} s  {node_days / wall:9.3g} node-days/s  "
              f"sampling {last.attrs['sampling_s']:.2f} s  simulation "
              f"{last.attrs['simulation_s']:.2f} s", flush=True)


if __name__ == "__main__":
    main()
