"""One run of the Mesa engine, day by day, for the dashboard: the model and what it shows.

:class:`WatchModel` is the Mesa model (:class:`sim.engines.mesa.model.SupplyChainModel`) built from
the dashboard's simple choices, with a Mesa ``DataCollector`` of the series the charts plot.
:func:`network_figure` draws the network by tier and region: nodes coloured by their stock against
its own normal level (1, the policy's steady state, reads green whatever the node's size), lanes
by the flow they carried today; failed nodes and closed lanes marked in red.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # drawn to images for the page

import matplotlib.pyplot as plt
import mesa
import networkx as nx
import numpy as np
from matplotlib.colors import ListedColormap

from analysis.app.inputs import disruption_of, load_choice
from sim.engines.mesa.model import SupplyChainModel
from sim.io.presets import policy_preset
from sim.measures.trace import DayBlock
from sim.spec.policy import policy_from_mapping

__all__ = ["WatchModel", "network_figure", "series_figure"]

STOCK_CAP = 1.5  # stock at 150 % of its own normal level and above shows the darkest green
LABEL_CHARACTERS = 10  # node labels longer than this are shortened (the full id on hover)


class WatchModel(SupplyChainModel):
    """The demo's Mesa model, built from the dashboard's checked choices.

    Parameters
    ----------
    network : str
        A choice of :func:`analysis.app.inputs.network_choices`.
    disruption : str
        One of :data:`analysis.app.inputs.DISRUPTION_KINDS`.
    target : str
        The node, lane, region or demand zone it hits.
    start_day, duration_days : int
        When it starts and how long it lasts.
    severity : float
        Capacity lost (outage, region), share of a lane closed, or demand factor (surge).
    policy : str
        A policy preset of ``configs/policy/``.
    seed : int
        Root seed of the scenario.
    days : int
        Days to run.
    """

    def __init__(self, network: str = "demo", disruption: str = "node_outage",
                 target: str = "ctrl_a", start_day: int = 20, duration_days: int = 30,
                 severity: float = 1.0, policy: str = "base_stock", seed: int = 0,
                 days: int = 180) -> None:
        net = load_choice(network)
        events = disruption_of(disruption, target, start_day, duration_days, severity)
        super().__init__(net, days=days, warmup_days=0, disruptions=events, seed=seed,
                         policy=policy_from_mapping(policy_preset(policy)), record=None)
        self.choices: dict[str, Any] = {
            "network": network, "disruption": disruption, "target": target,
            "start_day": start_day, "duration_days": duration_days, "severity": severity,
            "policy": policy, "seed": seed}
        layout = self.layout
        self.tiers = sorted(set(int(t) for t in layout.tier))
        self.block: DayBlock | None = None
        self.lost_total = 0.0
        reporters: dict[str, Callable[[WatchModel], float]] = {
            "service level": lambda m: m._latest("service", 1.0),
            "lost sales (cumulative)": lambda m: m.lost_total,
            "backlog": lambda m: m._latest("backlog", 0.0)}
        for tier in self.tiers:
            reporters[f"stock, tier {tier}"] = functools.partial(WatchModel._stock_of_tier,
                                                                 tier=tier)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.history: dict[str, list[float]] = {name: [] for name in reporters}

    def _latest(self, what: str, default: float) -> float:
        if self.block is None:
            return default
        demand = float(self.block.node("demand").sum())
        if what == "service":
            shortage = float(self.block.node("shortage").sum())
            return 1.0 - shortage / demand if demand > 0 else 1.0
        return float(self.block.node("backlog").sum())

    def _stock_of_tier(self, tier: int) -> float:
        return float(sum(node.stock for node, t in zip(self.node_list, self.layout.tier,
                                                       strict=True) if t == tier))

    def step(self) -> None:
        """Advance one day, then record what the charts and the network view show."""
        if not self.running:
            return
        super().step()
        self.block = self.day_block()
        self.lost_total += float(self.block.node("lost").sum())
        self.datacollector.collect(self)
        for name, value in self.datacollector.get_model_vars_dataframe().iloc[-1].items():
            self.history[name].append(float(value))

    # -- what the view reads --------------------------------------------------------------------
    def node_cover(self) -> np.ndarray:
        """Days of finished stock at today's nominal outflow, per node."""
        stock = np.array([node.stock for node in self.node_list], dtype=float)
        outflow = np.maximum(np.asarray(self.layout.mean_outflow, dtype=float), 1e-9)
        return stock / outflow

    def stock_against_normal(self) -> np.ndarray:
        """Finished stock over the node's own normal level (its policy's steady state).

        1 in the normal state whatever the node's size, below 1 while it is drawn down; NaN
        where the policy keeps no finished stock (nothing to compare).
        """
        stock = np.array([node.stock for node in self.node_list], dtype=float)
        normal = np.asarray(self.levels.initial_stock, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(normal > 1e-9, stock / normal, np.nan)

    def lane_flow(self) -> np.ndarray:
        """Units each lane shipped today."""
        if self.block is None or self.block.lane_shipped is None:
            return np.zeros(self.layout.n_lanes)
        return np.asarray(self.block.lane_shipped[:, 0], dtype=float)

    def failed_nodes(self) -> np.ndarray:
        """Nodes working below full capacity today."""
        return np.array([node.capacity_factor < 1.0 - 1e-9 for node in self.node_list])

    def closed_lanes(self) -> np.ndarray:
        """Lanes with part of their capacity closed today."""
        return np.array([lane.capacity_factor < 1.0 - 1e-9 for lane in self.lanes])


def network_figure(model: WatchModel) -> plt.Figure:
    """The network by tier (raw materials left) and region, as it stands today."""
    layout = model.layout
    names = list(layout.node_ids)
    tiers = [int(t) for t in layout.tier]
    regions = [model.network.node(n).region for n in names]
    top = max(tiers)
    positions = {}
    for tier in sorted(set(tiers)):
        members = sorted((i for i in range(len(names)) if tiers[i] == tier),
                         key=lambda i: (regions[i], names[i]))
        for k, i in enumerate(members):
            positions[names[i]] = (top - tier, (len(members) - 1) / 2 - k)
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    sources = [names[s] for s in layout.lane_source]
    targets = [names[t] for t in layout.lane_target]
    flow = model.lane_flow()
    closed = model.closed_lanes()
    widest = max(float(np.max(layout.lane_mean_flow)) if layout.n_lanes else 1.0, 1e-9)
    # drawn small, shown near its size: the page fits it in half its width
    fig, ax = plt.subplots(figsize=(6.4, 1.3 + 0.4 * max(tiers.count(t) for t in set(tiers))))
    for j, (source, target) in enumerate(zip(sources, targets, strict=True)):
        nx.draw_networkx_edges(graph, positions, edgelist=[(source, target)], ax=ax,
                               width=0.4 + 4.0 * min(flow[j] / widest, 2.0),
                               edge_color="tab:red" if closed[j] else "grey",
                               style="dashed" if layout.lane_role[j] != 0 else "solid",
                               arrows=True, arrowsize=8, node_size=420,
                               connectionstyle="arc3,rad=0.06")
    ratio = model.stock_against_normal()
    shown = np.clip(np.nan_to_num(ratio, nan=1.0), 0, STOCK_CAP)
    cmap = ListedColormap(plt.get_cmap("RdYlGn")(np.linspace(0.075, 0.925, 256)))  # no pale ends
    colours = cmap(shown / STOCK_CAP)
    colours[np.isnan(ratio)] = (0.8, 0.8, 0.8, 1.0)  # no finished stock kept: grey
    failed = model.failed_nodes()
    nx.draw_networkx_nodes(graph, positions, nodelist=names, node_color=colours,
                           node_size=420, ax=ax, edgecolors=["red" if f else "black"
                                                             for f in failed],
                           linewidths=[3 if f else 1 for f in failed])
    if len(names) <= 60:
        nx.draw_networkx_labels(graph, {n: (x, y - 0.42) for n, (x, y) in positions.items()},
                                labels=short_labels(names), font_size=9, ax=ax)
    scale = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, STOCK_CAP))
    fig.colorbar(scale, ax=ax, label="stock / normal level (grey: none kept)")
    ax.set_xticks(range(top + 1), [f"tier {top - k}" for k in range(top + 1)])
    ax.tick_params(left=False, labelleft=False, bottom=True, labelbottom=True)
    ax.set_title(f"{model.network.name}, day {model.t}: red rims = failed nodes, red lanes = "
                 "closed; width = today's flow", fontsize=9)
    fig.tight_layout()
    return fig


def short_labels(ids: list[str]) -> dict[str, str]:
    """Node ids shortened to :data:`LABEL_CHARACTERS` (kept unique), for the network view."""
    out: dict[str, str] = {}
    for node in ids:
        label = node if len(node) <= LABEL_CHARACTERS else node[:LABEL_CHARACTERS - 1] + "…"
        while label in out.values():
            label = label[:-1] + "'"
        out[node] = label
    return out


def series_figure(model: WatchModel) -> plt.Figure:
    """Service level, cumulative lost sales, backlog and stock by tier, day by day."""
    history = model.history
    days = np.arange(1, len(history["service level"]) + 1)
    fig, axes = plt.subplots(2, 2, figsize=(6.4, 4.6), sharex=True)
    panels = [("service level", ["service level"]),
              ("lost sales (cumulative)", ["lost sales (cumulative)"]),
              ("backlog", ["backlog"]),
              ("stock by tier", [k for k in history if k.startswith("stock, tier")])]
    for ax, (title, keys) in zip(axes.ravel(), panels, strict=True):
        for key in keys:
            ax.plot(days, history[key], label=key.replace("stock, ", ""))
        ax.set_title(title, fontsize=9)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    axes[0, 0].set_ylim(-0.02, 1.02)
    for ax in axes[1]:
        ax.set_xlabel("day")
    event = model.choices
    if event["disruption"] != "none":
        for ax in axes.ravel():
            ax.axvspan(event["start_day"] + 1, event["start_day"] + event["duration_days"],
                       color="tab:red", alpha=0.1)
    fig.tight_layout()
    return fig
