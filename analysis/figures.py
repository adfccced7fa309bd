"""Figures: each a function that takes a dataset and returns a matplotlib figure.

The functions only read datasets (a run of :func:`sim.simulate` or :func:`sim.simulate_policies`,
or the tables of :func:`sim.criticality_scan` and :func:`sim.attribute`); none re-simulates.
A run with a ``policy`` dimension gets one colour per strategy.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no screen is needed

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.patches import Patch

from analysis import style
from sim.io.datasets import dataset_config
from sim.measures.compare import KPI_DIRECTION, combine, cost_benefit
from sim.spec.errors import ConfigError, Issue

__all__ = [
    "attribution_over_time",
    "bullwhip_by_tier",
    "cost_vs_loss_avoided",
    "costs_by_kind",
    "criticality_ranking",
    "disrupted_share",
    "kpi_heatmap",
    "network_map",
    "optimize_choice",
    "optimize_front",
    "paired_differences",
    "sensitivity_indices",
    "service_level_over_time",
    "tornado",
]

PALETTE = style.PALETTE
_theme = style.theme


def _policies(dataset: xr.Dataset) -> list[str | None]:
    return [str(p) for p in dataset.policy.values] if "policy" in dataset.dims else [None]


def _one(dataset: xr.Dataset, policy: str | None) -> xr.Dataset:
    return dataset if policy is None else dataset.sel(policy=policy)


def _bands(series: xr.DataArray, quantiles: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Low, median, high of a network series (per replicate, or stored quantiles)."""
    if "replicate" in series.dims:
        return tuple(series.quantile(q, dim="replicate").values
                     for q in (quantiles[0], 0.5, quantiles[1]))
    return tuple(series.sel(quantile=q, method="nearest").values
                 for q in (quantiles[0], 0.5, quantiles[1]))


def disrupted_share(dataset: xr.Dataset) -> xr.DataArray | None:
    """Share of logged replicates with at least one disruption active on each recorded day.

    Read from the event log (events are active on days ``start <= day < end``); ``None`` when
    the run logged no event.
    """
    if "event_start" not in dataset or dataset.sizes.get("event", 0) == 0:
        return None
    config = dataset_config(dataset)
    logged = min(dataset.sizes["replicate"],
                 int(config.get("run", {}).get("quantile_replicates", dataset.sizes["replicate"])))
    if dataset.attrs.get("record") == "full":
        logged = dataset.sizes["replicate"]
    days = dataset["day"].values
    replicate = dataset.event_replicate.values
    first = np.searchsorted(days, dataset.event_start.values)  # first day index it covers
    after = np.searchsorted(days, dataset.event_end.values)  # first day index it does not
    keep = (replicate < logged) & (after > first)
    # events active per (replicate, day), from +1 where each starts and -1 where it ends
    steps = np.zeros((logged, days.size + 1))
    np.add.at(steps, (replicate[keep], first[keep]), 1.0)
    np.add.at(steps, (replicate[keep], after[keep]), -1.0)
    active = np.cumsum(steps, axis=1)[:, :-1] > 0.5
    return xr.DataArray(active.mean(axis=0), dims="day", coords={"day": days},
                        name="disrupted_share")


def _shade_disruptions(ax: plt.Axes, dataset: xr.Dataset,
                       window: tuple[int, int] | None) -> None:
    if window is not None:
        ax.axvspan(window[0], window[1], color="tab:red", alpha=0.1, label="disruption")
        return
    share = disrupted_share(dataset)
    if share is None or not share.values.any():
        return
    days = share["day"].values
    ax.fill_between(days, 0, 1, where=share.values >= 0.5, step="mid", color="tab:red",
                    alpha=0.12, transform=ax.get_xaxis_transform(),
                    label="disrupted in most replicates")
    some = (share.values > 0) & (share.values < 0.5)
    if some.any():
        ax.fill_between(days, 0, 1, where=some, step="mid", color="tab:red", alpha=0.04,
                        transform=ax.get_xaxis_transform(), label="disrupted in some")


def service_level_over_time(dataset: xr.Dataset, *, quantiles: tuple[float, float] = (0.05, 0.95),
                            disruption_days: tuple[int, int] | None = None) -> plt.Figure:
    """Daily network service level (served on arrival / demand) with a quantile band.

    Parameters
    ----------
    dataset : xarray.Dataset
        Output of :func:`sim.simulate` (``record="summary"`` or ``"full"``), or of
        :func:`sim.simulate_policies` (one median line and band per strategy).
    quantiles : (float, float)
        Band over replicates around the median (summary datasets store 0.05, 0.25, 0.5, 0.75,
        0.95).
    disruption_days : (int, int), optional
        First and last day of a disruption to shade; by default the days read from the event
        log are shaded (darker where most replicates are disrupted).
    """
    if "network_service_level" not in dataset:
        raise ConfigError(Issue("figures", "service_level_over_time", dataset.attrs.get(
            "record"), "needs daily network series: run with record='summary' or 'full'"))
    _theme()
    policies = _policies(dataset)
    fig, ax = plt.subplots(figsize=(9 if len(policies) == 1 else 12, 3.1))
    days = dataset["day"].values
    floor = 1.0
    if policies == [None]:
        colours = [sns.color_palette(PALETTE, 1)[0]]
    else:
        by_name = style.strategy_colours([str(p) for p in policies])
        colours = [by_name[str(p)] for p in policies]
    banded = len(policies) <= 3  # more bands would hide one another: means only
    for policy, colour in zip(policies, colours, strict=True):
        run = _one(dataset, policy)
        series = run["network_service_level"]
        low, mid, high = _bands(series, quantiles)
        if "replicate" in series.dims:
            mean, count = series.mean("replicate").values, series.sizes["replicate"]
        else:
            mean, count = run["network_service_level_mean"].values, run.sizes["replicate"]
        band = f"{quantiles[0]:.0%}-{quantiles[1]:.0%} of replicates"
        if policy is None:
            floor = min(floor, float(np.nanmin(low)))
            ax.fill_between(days, low, high, alpha=0.3, color=colour, label=band)
            ax.plot(days, mid, lw=1.5, color=colour, label="median")
            ax.plot(days, mean, lw=1, ls="--", color=colour, label=f"mean of {count} replicates")
            continue
        if banded:
            floor = min(floor, float(np.nanmin(low)))
            ax.fill_between(days, low, high, alpha=0.15, color=colour, lw=0)
        floor = min(floor, float(np.nanmin(mean)))
        ax.plot(days, mean, lw=1.6, color=colour, zorder=3,
                label=f"{policy} (mean{', ' + band if banded else ''})")
    _shade_disruptions(ax, dataset, disruption_days)
    ax.set_xlabel("day")
    ax.set_ylabel("service [share served]")
    bottom = max(0.0, floor - 0.05)
    ax.set_ylim(bottom, 1.0 + max(0.01, 0.04 * (1.0 - bottom)))  # a line at 1.0 stays in view
    ax.axhline(1.0, color="black", lw=0.6, alpha=0.5, zorder=1)
    ax.set_xlim(days[0], days[-1])
    ax.set_title(f"Service level: {dataset.attrs.get('network_name', '')}")
    if len(policies) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    else:
        ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    return fig


def paired_differences(dataset: xr.Dataset, kpi: str = "lost_sales", *,
                       baseline: str | None = None, kind: str = "violin") -> plt.Figure:
    """Per-replicate difference of a KPI between each strategy and the baseline.

    Under common random numbers replicate r of every strategy saw the same demand and events,
    so each point is what the strategy changed in that same world.

    Parameters
    ----------
    dataset : xarray.Dataset
        Runs with a ``policy`` dimension (or what :func:`sim.measures.compare.combine` accepts).
    kpi : str
        A per-replicate KPI.
    baseline : str, optional
        The reference (the first strategy by default).
    kind : {"violin", "box"}
        The plot.
    """
    data = combine(dataset)
    names = [str(p) for p in data.policy.values]
    baseline = baseline if baseline is not None else names[0]
    if kpi not in data:
        raise ConfigError(Issue("figures", "kpi", kpi, "not a per-replicate KPI of the runs"))
    if kind not in ("violin", "box"):
        raise ConfigError(Issue("figures", "kind", kind, "must be 'violin' or 'box'"))
    diff = (data[kpi] - data[kpi].sel(policy=baseline)).drop_sel(policy=baseline)
    frame = diff.to_dataframe(name="difference").reset_index()
    _theme()
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.7 * max(1, diff.sizes["policy"])))
    plot = sns.violinplot if kind == "violin" else sns.boxplot
    colours = style.strategy_colours(names, baseline)
    plot(data=frame, x="difference", y="policy", hue="policy", ax=ax, legend=False,
         palette={n: colours[n] for n in names if n != baseline},
         order=[n for n in names if n != baseline], saturation=1.0,
         **({"cut": 0, "inner": "quartile"} if kind == "violin" else {}))
    ax.axvline(0, color="black", lw=1)
    units = data[kpi].attrs.get("units", "")
    better = "lower" if KPI_DIRECTION.get(kpi, 1) < 0 else "higher"
    ax.set_xlabel(f"{kpi} minus {baseline} [{units}] ({better} is better)")
    ax.set_ylabel("")
    ax.set_title(f"Paired differences over {data.sizes['replicate']} replicates")
    fig.tight_layout()
    return fig


def cost_vs_loss_avoided(dataset: xr.Dataset, *, baseline: str | None = None) -> plt.Figure:
    """Each strategy's added cost against the loss it avoids, and the cost-service Pareto front.

    Left: added operating cost against shortage cost avoided (above the diagonal a strategy
    pays for itself in this scenario). Right: operating cost against fill rate, the marker's
    fill giving CO2e per unit served; the strategies on the Pareto front of (cost, service,
    CO2e) are ringed and joined. Every point is labelled, the labels moved apart with leader
    lines (adjustText), and each strategy has its colour of every figure.
    """
    table = cost_benefit(dataset, baseline=baseline)
    names = [str(p) for p in table.policy.values]
    base = str(table.attrs["baseline"])
    colours = style.strategy_colours(names, base)
    _theme()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2),
                                      gridspec_kw={"width_ratios": [1, 1.15]})
    added, avoided = table.added_cost.values, table.loss_avoided.values
    for i, name in enumerate(names):
        left.scatter(added[i], avoided[i], s=70, color=colours[name], zorder=3, label=name,
                     edgecolors="black", linewidths=0.5)
    _fit_limits(left, added, avoided)
    low, high = min(left.get_xlim()[0], left.get_ylim()[0]), max(left.get_xlim()[1],
                                                                  left.get_ylim()[1])
    limits = left.get_xlim(), left.get_ylim()
    left.plot([low, high], [low, high], color="grey", ls="--", lw=1,
              label="break-even (avoided = added)")
    left.set_xlim(*limits[0])
    left.set_ylim(*limits[1])
    left.axhline(0, color="black", lw=0.5)
    left.axvline(0, color="black", lw=0.5)
    left.set_xlabel(f"added operating cost vs {base} [money]")
    left.set_ylabel("shortage cost avoided [money]")
    left.set_title("Cost against loss avoided")
    _label_points(left, added, avoided, names)
    cost, fill = table.operating_cost.values, table.fill_rate.values
    co2e = table.co2e_per_unit_served.values
    points = right.scatter(cost, fill, c=co2e, cmap="viridis", s=90, zorder=3,
                           edgecolors=[colours[n] for n in names], linewidths=2)
    front = table.pareto.values.astype(bool)
    right.scatter(cost[front], fill[front], s=260, facecolors="none", edgecolors="black",
                  zorder=4, label="Pareto front (cost, service, CO2e)")
    order = np.argsort(cost[front])
    right.plot(cost[front][order], fill[front][order], color="black", lw=0.8, zorder=2)
    _fit_limits(right, cost, fill)
    if np.nanmax(fill) >= 0.995:  # a fill rate of 1.0 is drawn inside the frame, not on it
        right.set_ylim(right.get_ylim()[0], max(right.get_ylim()[1], 1.0 + 0.02 * (
            1.0 - right.get_ylim()[0])))
    _label_points(right, cost, fill, names)
    fig.colorbar(points, ax=right, label="kg CO2e per unit served", pad=0.02)
    right.set_xlabel("operating cost [money]")
    right.set_ylabel("fill rate [share served]")
    right.set_title("Cost, service and footprint")
    thousands = plt.FuncFormatter(lambda v, _: f"{v:,.0f}")
    for axis in (left.xaxis, right.xaxis, left.yaxis):  # few ticks, separators: none collide
        axis.set_major_locator(plt.MaxNLocator(5))
        axis.set_major_formatter(thousands)
    handles, labels = left.get_legend_handles_labels()
    ring, ring_label = right.get_legend_handles_labels()
    handles, labels = handles + ring, labels + ring_label
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize="small",
               frameon=False)
    fig.tight_layout(rect=(0, 0.09 + 0.04 * (len(labels) > 5), 1, 1))
    return fig


def _fit_limits(ax: plt.Axes, x: np.ndarray, y: np.ndarray, margin: float = 0.12) -> None:
    """Axis limits around the points with room for their labels."""
    for values, setter in ((x, ax.set_xlim), (y, ax.set_ylim)):
        finite = values[np.isfinite(values)]
        if not finite.size:
            continue
        low, high = float(finite.min()), float(finite.max())
        pad = margin * (high - low) if high > low else max(abs(high) * 0.1, 1e-3)
        setter(low - pad, high + pad)


def _label_points(ax: plt.Axes, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    """Name every point; labels pushed apart (and off the points) with leader lines.

    Points that coincide on the axes (within 1 % of either span: strategies with the same
    result) share one label, their names joined by " = ".
    """
    from adjustText import adjust_text

    shown = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    groups: list[list[int]] = []
    for i in shown:
        for group in groups:
            j = group[0]
            if abs(x[i] - x[j]) <= 0.01 * (x1 - x0) and abs(y[i] - y[j]) <= 0.01 * (y1 - y0):
                group.append(int(i))
                break
        else:
            groups.append([int(i)])
    texts = [ax.text(x[g[0]], y[g[0]], " = ".join(names[i] for i in g), fontsize="small",
                     zorder=5) for g in groups]
    if texts:
        ax.figure.canvas.draw()  # the layout the labels are measured in
        adjust_text(texts, x=x[shown], y=y[shown], ax=ax, expand=(1.4, 1.9),
                    force_text=(0.4, 0.8), ensure_inside_axes=True,
                    arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.6})


def costs_by_kind(dataset: xr.Dataset) -> plt.Figure:
    """Mean cost over replicates by kind (stacked), one bar per strategy."""
    from sim.measures.metrics import costs

    frame = costs(dataset).mean("replicate").to_dataframe(name="cost").reset_index()
    if "policy" not in frame:
        frame["policy"] = dataset.attrs.get("network_name", "run")
    table = frame.pivot(index="policy", columns="cost_kind", values="cost")
    table = table.loc[[str(p) for p in dict.fromkeys(frame.policy)]]
    _theme()
    fig, ax = plt.subplots(figsize=(9, max(2.6, 0.8 + 0.45 * len(table))))
    table.plot.barh(stacked=True, ax=ax, color=sns.color_palette(PALETTE, table.shape[1]))
    ax.invert_yaxis()
    ax.set_xlabel("mean cost over the recorded days [money]")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(title="cost kind", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              ncol=2 if table.shape[1] > 5 else 1)  # beside the bars, never over them
    ax.set_title("Costs by kind")
    fig.tight_layout()
    return fig


def bullwhip_by_tier(dataset: xr.Dataset) -> plt.Figure:
    """Bullwhip ratio (order variance over end-demand variance) per ordering tier, with 95 % CI."""
    if "bullwhip" not in dataset:
        raise ConfigError(Issue("figures", "bullwhip", None, "the dataset has no bullwhip KPI"))
    frame = dataset.bullwhip.to_dataframe(name="bullwhip").reset_index().dropna(
        subset=["bullwhip"])
    _theme()
    fig, ax = plt.subplots(figsize=(8, 2.7))
    hue = "policy" if "policy" in frame else None
    sns.barplot(data=frame, x="tier", y="bullwhip", hue=hue, errorbar=("ci", 95), ax=ax)
    ax.axhline(1.0, color="black", lw=1, ls="--", label="no amplification")
    means = frame.groupby([c for c in ("policy", "tier") if c in frame]).bullwhip.mean()
    if means.max() > 20 * max(means.min(), 1e-9):  # ratios spanning decades: read them on a log
        ax.set_yscale("log")
    ax.set_xlabel("ordering tier (0 = nearest the customers)")
    ax.set_ylabel("Var(orders) / Var(end demand)")
    ax.set_title("Bullwhip by tier")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def kpi_heatmap(dataset: xr.Dataset, kpi: str, x: str, y: str) -> plt.Figure:
    """Mean of a KPI over two swept parameters (dimensions of the dataset), annotated."""
    for dim in (x, y):
        if dim not in dataset[kpi].dims:
            dims = ", ".join(map(str, dataset[kpi].dims))
            raise ConfigError(Issue("figures", "kpi_heatmap", dim,
                                    f"not a dimension of {kpi} ({dims})"))
    mean = dataset[kpi]
    if "replicate" in mean.dims:
        mean = mean.mean("replicate")
    rest = [d for d in mean.dims if d not in (x, y)]
    if rest:
        raise ConfigError(Issue("figures", "kpi_heatmap", rest[0],
                                "select one value of the other swept dimensions first"))
    table = mean.transpose(y, x).to_pandas()
    _theme()
    fig, ax = plt.subplots(figsize=(2.5 + 1.1 * table.shape[1], 1.5 + 0.55 * table.shape[0]))
    cmap = "viridis_r" if KPI_DIRECTION.get(kpi, 1) < 0 else "viridis"
    large = float(np.nanmax(np.abs(table.values))) >= 1000
    sns.heatmap(table, annot=True, fmt=",.0f" if large else ".3g", cmap=cmap, ax=ax,
                cbar_kws={"label": f"{kpi} [{dataset[kpi].attrs.get('units', '')}]"})
    labels = _short_names([x, y])
    ax.set_xlabel(labels[x])
    ax.set_ylabel(labels[y])
    ax.invert_yaxis()
    ax.set_title(f"Mean {kpi}")
    fig.tight_layout()
    return fig


def _short_names(paths: list[str]) -> dict[str, str]:
    """The last part of each dotted parameter path, or the whole path where that is ambiguous."""
    last = [str(p).split(".")[-1] for p in paths]
    return {p: (short if last.count(short) == 1 else str(p))
            for p, short in zip(paths, last, strict=True)}


def tornado(dataset: xr.Dataset, kpi: str) -> plt.Figure:
    """Tornado chart: the KPI's range as each swept parameter moves alone over its values.

    Every dimension of the KPI other than ``replicate`` is a parameter; the others are held at
    their middle value. Bars are sorted by range, the widest on top.
    """
    mean = dataset[kpi]
    if "replicate" in mean.dims:
        mean = mean.mean("replicate")
    params = list(mean.dims)
    if not params:
        raise ConfigError(Issue("figures", "tornado", kpi, "has no swept dimension"))
    centre = {d: mean.sizes[d] // 2 for d in params}
    base = float(mean.isel(centre))
    rows = []
    short = _short_names([str(d) for d in params])
    for dim in params:
        held = {d: i for d, i in centre.items() if d != dim}
        line = mean.isel(held)
        values = line.values
        low_at, high_at = line[dim].values[0], line[dim].values[-1]
        rows.append({"parameter": short[str(dim)], "at_low": float(values[0]),
                     "at_high": float(values[-1]), "low_label": f"{low_at:g}"
                     if isinstance(low_at, (int, float, np.number)) else str(low_at),
                     "high_label": f"{high_at:g}"
                     if isinstance(high_at, (int, float, np.number)) else str(high_at),
                     "range": float(np.nanmax(values) - np.nanmin(values))})
    table = pd.DataFrame(rows).sort_values("range", ascending=True)
    _theme()
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.6 * len(table)))
    positions = np.arange(len(table))
    blue, orange = sns.color_palette(PALETTE, 2)
    ax.barh(positions, table.at_low - base, left=base, color=blue, label="lowest value")
    ax.barh(positions, table.at_high - base, left=base, color=orange, label="highest value")
    ax.set_yticks(positions, table.parameter)
    ax.axvline(base, color="black", lw=1)
    for p, row in zip(positions, table.itertuples(), strict=True):
        for value, label, dy in ((row.at_low, row.low_label, -0.2),
                                 (row.at_high, row.high_label, 0.2)):
            left = value < base  # the label sits just beyond the bar's end, clear of it
            ax.annotate(label, (value, p + dy), xytext=(-4 if left else 4, 0),
                        textcoords="offset points", fontsize="small", va="center",
                        ha="right" if left else "left")
    ax.set_xlabel(f"mean {kpi} [{dataset[kpi].attrs.get('units', '')}] "
                  f"(centre: all parameters at their middle value, {base:,.4g})")
    ax.margins(x=0.15)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Sensitivity of {kpi}")
    fig.tight_layout()
    return fig


def _criticality_of_nodes(scan: xr.Dataset | None) -> dict[str, float]:
    if scan is None:
        return {}
    nodes = scan.target_kind.values == "node"
    return {str(n): float(v) for n, v in zip(scan.target_name.values[nodes],
                                             scan.loss.values[nodes], strict=True)}


def network_map(dataset: xr.Dataset, *, criticality: xr.Dataset | None = None) -> plt.Figure:
    """The network drawn by tier (raw materials left, customers right).

    Nodes are coloured by criticality (mean loss when the node fails, from
    :func:`sim.criticality_scan`) when given, else by region; lanes are drawn with a width
    proportional to their mean flow when the run recorded it, dashed for standby lanes
    (backup, expedite).

    Parameters
    ----------
    dataset : xarray.Dataset
        A run (its node and lane coordinates describe the network).
    criticality : xarray.Dataset, optional
        A criticality scan of the same network.
    """
    nodes = [str(n) for n in dataset.node.values]
    tiers = dict(zip(nodes, dataset.node_tier.values.tolist(), strict=True))
    regions = dict(zip(nodes, [str(r) for r in dataset.node_region.values], strict=True))
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    lanes = list(zip([str(s) for s in dataset.lane_source.values],
                     [str(t) for t in dataset.lane_target.values],
                     [str(r) for r in dataset.lane_role.values], strict=True))
    graph.add_edges_from((s, t) for s, t, _ in lanes)
    top = max(tiers.values())
    positions = {}
    for tier in sorted(set(tiers.values())):
        members = sorted((n for n in nodes if tiers[n] == tier), key=lambda n: (regions[n], n))
        for k, node in enumerate(members):
            positions[node] = (top - tier, (len(members) - 1) / 2 - k)
    flow = None
    if "lane_flow" in dataset:
        flow = dataset.lane_flow
        for dim in ("policy", "replicate"):
            if dim in flow.dims:
                flow = flow.isel({dim: 0}) if dim == "policy" else flow.mean(dim)
        flow = flow.values
    widths = (0.5 + 5.0 * flow / max(float(np.nanmax(flow)), 1e-12) if flow is not None
              else np.full(len(lanes), 1.5))
    _theme()
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.36 * max(
        sum(1 for n in nodes if tiers[n] == t) for t in set(tiers.values()))))
    for j, (source, target, role) in enumerate(lanes):
        nx.draw_networkx_edges(graph, positions, edgelist=[(source, target)], ax=ax,
                               width=float(np.nan_to_num(widths[j], nan=0.5)),
                               style="solid" if role == "primary" else "dashed",
                               edge_color="grey", arrows=True, arrowsize=10,
                               connectionstyle="arc3,rad=0.08", node_size=600)
    loss = _criticality_of_nodes(criticality)
    if loss:
        assert criticality is not None  # the losses come from it
        values = np.array([loss.get(n, 0.0) for n in nodes])
        drawn = nx.draw_networkx_nodes(graph, positions, nodelist=nodes, node_color=values,
                                       cmap="Reds", vmin=0.0, node_size=600, ax=ax,
                                       edgecolors="black")
        fig.colorbar(drawn, ax=ax, label=f"criticality: mean {criticality.attrs.get('kpi')} "
                     "added when the node fails [units]")
    else:
        names = sorted(set(regions.values()))
        colours = dict(zip(names, sns.color_palette(PALETTE, len(names)), strict=True))
        nx.draw_networkx_nodes(graph, positions, nodelist=nodes, ax=ax, node_size=600,
                               node_color=[colours[regions[n]] for n in nodes],
                               edgecolors="black")
        for name, colour in colours.items():
            ax.scatter([], [], color=colour, label=name)
        ax.legend(title="region", fontsize="small", loc="upper left")
    nx.draw_networkx_labels(graph, {n: (x, y - 0.32) for n, (x, y) in positions.items()},
                            font_size=7, ax=ax)
    ax.set_xticks(range(top + 1), [f"tier {top - k}" for k in range(top + 1)])
    ax.tick_params(left=False, labelleft=False, bottom=True, labelbottom=True)
    ax.grid(False)
    ax.set_title(f"{dataset.attrs.get('network_name', 'network')}: by tier"
                 + (" (width: mean flow; dashed: standby lanes)" if flow is not None else ""))
    fig.tight_layout()
    return fig


def criticality_ranking(scan: xr.Dataset, *, top: int = 15) -> plt.Figure:
    """The most critical targets of a criticality scan, with the t interval of their loss."""
    table = scan[["loss", "loss_low", "loss_high", "criticality_rank"]].to_dataframe()
    table = table[table.criticality_rank > 0].sort_values("criticality_rank").head(top)
    table["kind"] = [str(k) for k in scan.target_kind.sel(target=table.index).values]
    _theme()
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.27 * len(table)))
    kinds = sorted(set(table.kind))
    colours = dict(zip(kinds, sns.color_palette(PALETTE, len(kinds)), strict=True))
    positions = np.arange(len(table))
    ax.barh(positions, table.loss, color=[colours[k] for k in table.kind],
            xerr=[table.loss - table.loss_low, table.loss_high - table.loss], capsize=2)
    ax.set_yticks(positions, table.index)
    ax.invert_yaxis()
    ax.legend(handles=[Patch(color=colour, label=kind) for kind, colour in colours.items()],
              title="target", fontsize="small", loc="lower right")
    ax.set_xlabel(f"mean {scan.attrs.get('kpi')} added [{scan.loss.attrs.get('units', '')}] "
                  f"by a {scan.attrs.get('duration_days')}-day disruption")
    ax.set_title("Criticality scan: what hurts most when it fails")
    fig.tight_layout()
    return fig


def attribution_over_time(attribution: xr.Dataset, *, policy: str | None = None) -> plt.Figure:
    """Mean daily shortage each disruption added (from :func:`sim.attribute`), per cause."""
    if "daily_shortage" not in attribution:
        raise ConfigError(Issue("figures", "attribution_over_time", None,
                                "the attribution has no daily series (the run kept none)"))
    series = attribution.daily_shortage
    if "policy" in series.dims:
        series = series.sel(policy=policy if policy is not None else series.policy.values[0])
    _theme()
    fig, ax = plt.subplots(figsize=(9, 2.7))
    days = series["day"].values
    colours = sns.color_palette(PALETTE, series.sizes["cause"])
    for cause, colour in zip(series.cause.values, colours, strict=True):
        values = series.sel(cause=cause).values
        ax.fill_between(days, 0, values, color=colour, alpha=0.3, step="mid")
        ax.plot(days, values, color=colour, lw=1.2, drawstyle="steps-mid", label=str(cause))
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("day")
    ax.set_ylabel("shortage added [units/day]")
    ax.set_xlim(days[0], days[-1])
    ax.set_title("Why did this happen? Shortage attributed to each disruption")
    ax.legend(fontsize="small", loc="upper right")
    fig.tight_layout()
    return fig


def sensitivity_indices(indices: xr.Dataset, kpi: str | None = None) -> plt.Figure:
    """Sobol first-order and total indices (or Morris mu* and sigma) with their intervals.

    Parameters
    ----------
    indices : xarray.Dataset
        Output of :func:`sim.studies.sensitivity.analyze`.
    kpi : str, optional
        The KPI (the first by default).
    """
    kpi = kpi if kpi is not None else str(indices.kpi.values[0])
    table = indices.sel(kpi=kpi)
    sobol = indices.attrs.get("method", "sobol") == "sobol"
    pairs = ((("S1", "S1_conf", "first order"), ("ST", "ST_conf", "total")) if sobol
             else (("mu_star", "mu_star_conf", "mu* (mean |effect|)"),
                   ("sigma", None, "sigma (interactions, non-linearity)")))
    order = np.argsort(table[pairs[-1][0]].values)
    names = [str(p) for p in table.parameter.values[order]]
    positions = np.arange(len(names))
    _theme()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * len(names)))
    colours = sns.color_palette(PALETTE, 2)
    for k, (name, conf, label) in enumerate(pairs):
        values = table[name].values[order]
        errors = table[conf].values[order] if conf else None
        ax.barh(positions + (k - 0.5) * 0.38, values, height=0.38, color=colours[k], label=label,
                xerr=errors, capsize=3)
    ax.set_yticks(positions, [_short_names(names)[n] for n in names])
    ax.axvline(0, color="black", lw=0.5)
    level = indices.attrs.get("confidence", 0.95)
    ax.set_xlabel(f"{'Sobol index' if sobol else 'elementary effect'} of mean {kpi} "
                  f"({level:.0%} bootstrap intervals)")
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title(f"Global sensitivity ({indices.attrs.get('method', 'sobol')}, "
                 f"{indices.attrs.get('points', '?')} points)")
    fig.tight_layout()
    return fig


def optimize_front(result: xr.Dataset, *, service: str = "fill_rate_p05") -> plt.Figure:
    """Every plan of an optimisation: annual cost against service and against CO2e per unit.

    Grey: candidates that miss a constraint; blue: those that meet it; the line joins the plans
    no other beats on both axes (better service or less CO2e, and less cost); the star is the
    recommendation and the dashed line the base policy's cost (on the confirmation's
    replicates).
    """
    style.theme()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    cost = result.annual_total_cost.values
    feasible = result.feasible.values.astype(bool)
    picked = (np.flatnonzero(result.recommended.values) if "recommended" in result
              else np.zeros(0, dtype=int))
    stored = result.attrs.get("base_annual_total_cost")  # [estimate, standard error]
    base = None if stored is None else float(np.atleast_1d(stored)[0])
    panels = ((service, service.replace("_", " "), service != "lost_sales_cvar95"),
              ("co2e_per_unit", "kg CO2e per unit served", False))
    for ax, (name, label, higher_is_better) in zip(axes, panels, strict=True):
        level = result[name].values
        ax.scatter(level[~feasible], cost[~feasible], color="#bdbdbd", s=24,
                   label="misses the target")
        ax.scatter(level[feasible], cost[feasible], color="#0173b2", s=28,
                   label="meets the target")
        front = _front(level if higher_is_better else -level, cost)
        ax.plot(level[front], cost[front], color="#0173b2", lw=1, alpha=0.6,
                label="Pareto front")
        if len(picked):
            ax.scatter(level[picked], cost[picked], marker="*", s=220, color="#d55e00",
                       zorder=5, label="recommended")
        if base is not None and base <= 1.5 * np.nanmax(cost):
            ax.axhline(base, color=style.BASELINE_COLOUR, lw=1, ls="--",
                       label="base policy's cost")
        elif base is not None:  # a line far above would squash the candidates: say it
            ax.set_title(f"base policy: {base:,.0f} a year (above the chart)", fontsize=9)
        ax.set_xlabel(label)
    axes[0].set_ylabel("total cost a year")
    axes[0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _front(benefit: np.ndarray, cost: np.ndarray) -> list[int]:
    """Positions no other beats on both (more benefit, less cost), by falling benefit."""
    front, cheapest = [], np.inf
    for i in np.argsort(-benefit, kind="stable"):
        if cost[i] < cheapest:
            front.append(int(i))
            cheapest = cost[i]
    return front


CHOICE_METRICS = (("annual_total_cost", "total cost a year"),
                  ("fill_rate_p05", "fill rate, worst 5 % of years"),
                  ("co2e_per_unit", "kg CO2e per unit"),
                  ("annual_public_cost", "public cost a year"))


def optimize_choice(result: xr.Dataset) -> plt.Figure | None:
    """The recommended plan against the base policy, metric by metric (95 % intervals).

    Both on the confirmation's replicates (the same ones); ``None`` when nothing was
    recommended.
    """
    if "recommended" not in result or not result.recommended.values.any():
        return None
    style.theme()
    i = int(np.flatnonzero(result.recommended.values)[0])
    shown = [(name, label) for name, label in CHOICE_METRICS
             if f"base_{name}" in result.attrs and f"confirmed_{name}" in result
             and (result.attrs[f"base_{name}"][0] or result[f"confirmed_{name}"].values[i])]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.8 * len(shown), 3.4))
    for ax, (name, label) in zip(np.atleast_1d(axes), shown, strict=True):
        base, base_se = result.attrs[f"base_{name}"]
        plan = float(result[f"confirmed_{name}"].values[i])
        plan_se = float(result[f"confirmed_{name}_se"].values[i])
        errors = [1.96 * np.nan_to_num(base_se), 1.96 * np.nan_to_num(plan_se)]
        ax.bar(["base", "recommended"], [base, plan], yerr=errors, capsize=4,
               color=[style.BASELINE_COLOUR, "#d55e00"])
        ax.set_title(label, fontsize=9)
    fig.tight_layout()
    return fig
