"""The industry-chain map from the structure alone: who depends on whom (the guide's measure 18).

:func:`exposure` reads each firm's upstream suppliers at tier 2 and beyond, the regions they are
in, and its single points of failure (an upstream node whose loss cuts every path of some input,
whatever the alternatives). The simulated view is :func:`sim.studies.criticality.criticality_scan`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import xarray as xr

from sim.io import load_network
from sim.spec.network import Network

__all__ = ["exposure"]


def exposure(network: Network | str, *, count_backups: bool = False) -> xr.Dataset:
    """Indirect upstream exposure and single points of failure of every node.

    Parameters
    ----------
    network : Network or path
        The network.
    count_backups : bool
        Count backup and expedite lanes as alternatives. Off (default): the map of sourcing as
        it runs day to day; on: whether the standby options remove a single point of failure.

    Returns
    -------
    xarray.Dataset
        Dimensions ``node`` and ``upstream`` (both the network's nodes): ``hops`` (fewest lanes
        from the upstream node to the node, NaN when it is not upstream), ``indirect`` (upstream
        at tier 2 or beyond: two hops or more), ``single_point`` (losing the upstream node cuts
        every path of some input of the node); per node:
        ``indirect_suppliers``, ``single_points`` (counts) and ``upstream_regions`` (how many
        regions its upstream nodes are in).
    """
    net = network if isinstance(network, Network) else load_network(network)
    ids = [n.id for n in net.nodes]
    index = {n: i for i, n in enumerate(ids)}
    graph = net.graph
    size = len(ids)
    hops = np.full((size, size), np.nan)
    for target in ids:
        lengths = dict(nx.single_target_shortest_path_length(graph, target))
        for source, length in lengths.items():
            if source != target:
                hops[index[target], index[source]] = length
    # single points of failure, upstream first: for each input, what every one of its lanes
    # depends on (its source and the source's own single points)
    critical: dict[str, set[str]] = {}
    item_of = {n.id: n.item for n in net.nodes}
    for node in nx.topological_sort(graph):
        lanes_by_item: dict[str, list[str]] = {}
        for lane in net.lanes:
            if lane.target == node and (count_backups or lane.role == "primary"):
                lanes_by_item.setdefault(item_of[lane.source], []).append(lane.source)
        points: set[str] = set()
        for sources in lanes_by_item.values():
            common = None
            for source in sources:
                needs = {source} | critical.get(source, set())
                common = needs if common is None else common & needs
            points |= common or set()
        critical[node] = points
    single = np.zeros((size, size), dtype=bool)
    for node, points in critical.items():
        for point in points:
            single[index[node], index[point]] = True
    regions = np.array([n.region for n in net.nodes])
    upstream = ~np.isnan(hops)
    return xr.Dataset(
        {"hops": (("node", "upstream"), hops),
         "indirect": (("node", "upstream"), np.nan_to_num(hops, nan=0) >= 2),
         "single_point": (("node", "upstream"), single),
         "indirect_suppliers": ("node", (np.nan_to_num(hops, nan=0) >= 2).sum(axis=1)),
         "single_points": ("node", single.sum(axis=1)),
         "upstream_regions": ("node", [len(set(regions[row])) for row in upstream])},
        coords={"node": ids, "upstream": ids,
                "node_region": ("node", list(regions)), "node_kind": ("node", [
                    n.kind for n in net.nodes])})
