"""Command line: ``python -m sim`` is a Hydra app over the config groups in ``configs/``.

``python -m sim [overrides...]`` runs one simulation (or a sweep with ``-m``; with
``compare=[...]`` several strategies on the same replicates), writes ``results.nc``, the
resolved ``config.yaml``, a service-level figure and the HTML ``report.html`` to the run folder,
and prints a KPI summary and where the files are. A bad override or input file gives a short
error and exit status 2, never a traceback. ``python -m sim check PATH`` validates a network
file; ``python -m sim report RUN [RUN...]`` writes the report of saved runs.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.io.paths import CONFIG_DIR

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by Ctrl-C (128 + SIGINT)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _disruption_window(spec: Any) -> tuple[int, int] | None:
    """First and last day of the scripted disruptions (to shade on the figure)."""
    scripted = [e for e in spec.disruptions if getattr(e, "start_day", None) is not None
                and getattr(e, "duration_days", None) is not None]
    if not scripted:
        return None
    return (min(e.start_day for e in scripted),
            max(e.start_day + e.duration_days - 1 for e in scripted))


def _print_summary(dataset: Any, spec: Any, paths: dict[str, Path], wall: float) -> None:
    from rich.console import Console

    wide = 40 + 14 * len(spec.policies)  # every strategy's column readable, even in a log
    console = Console(highlight=False, width=max(Console().width, 110, wide))
    from sim.cli.describe import describe_event, describe_policy

    console.print(f"[bold]{spec.network.summary()}[/bold]")
    for event in spec.disruptions:
        console.print(f"disruption: {describe_event(event, spec.network)}")
    if not spec.disruptions:
        console.print("disruptions: none")
    for name, policy in spec.policies.items():
        console.print(f"strategy {name}: {describe_policy(policy)}")
    simulated = float(dataset.attrs.get("wall_time_s", wall))
    console.print(f"engine {spec.engine}: {spec.replicates} replicates x {spec.days} days "
                  f"(+{spec.warmup_days} warm-up), seed {spec.seed}, record {spec.record}; "
                  f"simulation {simulated:.1f} s (as in the report), {wall:.1f} s in all with "
                  "the files and the report")
    if "policy" in dataset.dims:
        console.print(_comparison_table(dataset))
        console.print(_money_table(dataset))
    else:
        console.print(_kpi_table(dataset, spec.replicates))
    for label, path in paths.items():
        console.print(f"{label}: {path}")


def _kpi_table(dataset: Any, replicates: int) -> Any:
    from rich.table import Table

    from analysis.tables import format_number, kpi_summary

    table = Table(title=f"KPIs over {replicates} replicates (calm_*: their undisrupted twins, "
                  "in the dataset)")
    for column in ("KPI", "mean", "95 % CI of the mean", "5 %-95 % of replicates", "units",
                   "mean over"):
        table.add_column(column, justify="left" if column in ("KPI", "units", "mean over")
                         else "right")
    for name, row in kpi_summary(dataset).iterrows():
        if str(name).startswith("calm_"):
            continue
        table.add_row(name, format_number(row["mean"]),
                      f"{format_number(row['ci_low'])} .. {format_number(row['ci_high'])}",
                      f"{format_number(row['p05'])} .. {format_number(row['p95'])}",
                      row["units"], row["over"])
    return table


def _comparison_table(dataset: Any) -> Any:
    """Mean KPIs per strategy; + / - where the paired t interval says better / worse."""
    from rich.table import Table

    from analysis.tables import denominator, format_number
    from sim.measures.compare import combine, compare, recorded_days

    data = combine(dataset)
    names = [str(p) for p in data.policy.values]
    verdicts = compare(data, resamples=0)
    replicates = data.sizes["replicate"]
    days = recorded_days(data)
    table = Table(title=f"Mean KPIs over {replicates} replicates "
                  f"(+ better, - worse than {names[0]}: paired 95 % t interval)")
    table.add_column("KPI")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("units")
    table.add_column("mean over")
    for kpi in verdicts.kpi.values:
        cells = [format_number(float(data[kpi].sel(policy=names[0]).mean()))]
        for name in names[1:]:
            mark = {1: " +", -1: " -"}.get(int(verdicts.better.sel(policy=name, kpi=kpi)), "  ")
            cells.append(format_number(float(data[kpi].sel(policy=name).mean())) + mark)
        counted = int(data[kpi].sel(policy=names[0]).count())
        table.add_row(str(kpi), *cells, str(verdicts.units.sel(kpi=kpi).values),
                      denominator(str(kpi), counted, replicates, days))
    return table


def _money_table(dataset: Any) -> Any:
    """What each strategy costs and saves against the baseline, in the reading that applies."""
    from rich.table import Table

    from analysis.tables import format_number
    from sim.measures.compare import cost_benefit

    money = cost_benefit(dataset)
    base = money.attrs["baseline"]
    columns: tuple[tuple[str, str], ...]
    if money.attrs["reading"] == "per event":
        title = (f"Money against {base}, per event (every replicate met the same scripted "
                 f"event; running cost from the undisrupted twins, a year)")
        columns = (("running_cost_per_year", "running cost a year"),
                   ("event_cost", "cost per event"),
                   ("loss_avoided_per_event", "loss avoided per event"),
                   ("net_benefit_per_event", "net benefit per event"),
                   ("breakeven_events_per_year", "break-even events a year"))
    else:
        title = (f"Money against {base}, expected a year (annualised over "
                 f"{money.attrs['days']} recorded days; random events, no per-event reading)")
        columns = (("added_cost_per_year", "added cost a year"),
                   ("loss_avoided_per_year", "loss avoided a year"),
                   ("net_saving_per_year", "net saving a year"))
    table = Table(title=title)
    table.add_column("strategy")
    for _, label in columns:
        table.add_column(label, justify="right")
    table.add_column("ROI")
    for name in money.policy.values:
        if name == base:
            continue
        row = money.sel(policy=name)
        cells = []
        for key, _ in columns:
            text = format_number(float(row[key]))
            if f"{key}_low" in money:
                text += (f" [{format_number(float(row[f'{key}_low']))}, "
                         f"{format_number(float(row[f'{key}_high']))}]")
            cells.append(text)
        reading = str(row.roi_reading.values)
        roi = format_number(float(row.roi)) if reading == "ROI" else reading
        table.add_row(str(name), *cells, roi)
    return table


def _simulate(spec: Any) -> Any:
    from sim.studies.simulate import simulate, simulate_policies

    if not spec.compare:
        return simulate(spec.network, **spec.simulate_kwargs())
    kwargs = {k: v for k, v in spec.simulate_kwargs().items() if k != "policy"}
    return simulate_policies(spec.network, spec.policies, **kwargs)


def _run(cfg: Any) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.spec.errors import SimError
    from sim.studies.config import build_run, build_study

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # and matplotlib its guesses
    logging.getLogger("distributed").setLevel(logging.WARNING)  # and Dask every connection
    started = time.perf_counter()
    try:
        data: Any = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        from sim.studies.optimize import optimize_plan

        optimization = optimize_plan(data)
        if optimization is not None:
            from sim.cli.optimize import run_optimize

            run_optimize(optimization, cfg, started)
            return
        plan = build_study(data)
        if plan is not None:
            _run_study(plan, cfg, started)
            return
        spec = build_run(data)
        dataset = _simulate(spec)
    except SimError as error:
        _error(str(error))
        sys.exit(EXIT_BAD_INPUT)
    except OmegaConfBaseException as error:  # e.g. a mandatory value (???) left unset
        _error(_omegaconf_message(error))
        sys.exit(EXIT_BAD_INPUT)
    from analysis.figures import service_level_over_time  # loaded once the config is good
    from sim.engines.results import save_dataset, save_figure_atomic

    out = Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"dataset": save_dataset(dataset, out / "results.nc")}
    paths["resolved config"] = _save_config(cfg, out)
    if "network_service_level" in dataset:
        figure = service_level_over_time(dataset, disruption_days=_disruption_window(spec))
        paths["figure"] = save_figure_atomic(figure, out / "service_level.png", dpi=120)
    status = 0
    if spec.report.enabled:
        try:
            paths["report"] = _write_report(dataset, out / "report.html", scan=spec.report.scan,
                                            attribution=spec.report.attribution,
                                            scan_replicates=spec.report.scan_replicates)
        except SimError as error:  # the results are saved; say why the report is not
            _error(f"report not written: {error}")
            status = EXIT_BAD_INPUT
    _print_summary(dataset, spec, paths, time.perf_counter() - started)
    if status:
        sys.exit(status)


def _omegaconf_message(error: Exception) -> str:
    """One paragraph for an OmegaConf error met while resolving the config."""
    from omegaconf.errors import MissingMandatoryValue

    key = getattr(error, "full_key", "") or ""
    if isinstance(error, MissingMandatoryValue) and key == "network.source":
        return ("network.source has no value: network=file reads your own network, give "
                "network.source=PATH (a CSV folder, an .xlsx workbook, a network YAML or a "
                "Willems chain .csv; `python -m sim new DIR` writes a template)")
    if isinstance(error, MissingMandatoryValue):
        return f"{key} has no value (??? in the config): set it, e.g. {key}=VALUE"
    return " ".join(f"{type(error).__name__}: {error}".split())


def _save_config(cfg: Any, out: Path) -> Path:
    from omegaconf import OmegaConf

    from sim.engines.results import write_text_atomic

    return write_text_atomic(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))


def _run_study(plan: Any, cfg: Any, started: float) -> None:
    """Run a study into the run folder (resuming what is there), analyse it, report it."""
    import matplotlib.pyplot as plt
    from hydra.core.hydra_config import HydraConfig
    from rich.console import Console

    from analysis import figures
    from analysis.report import write_study_report
    from sim.engines.results import save_dataset, save_figure_atomic
    from sim.studies.sensitivity import analyze
    from sim.studies.study import run_study

    out = Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = plan.study
    console = Console(highlight=False, width=max(Console().width, 110))
    console.print(f"study {plan.kind}: {len(study.points)} points x {study.replicates} "
                  f"replicates, chunks of {study.chunk_size}, "
                  + (f"scheduler {plan.scheduler}" if plan.scheduler
                     else f"{plan.workers} Dask workers" if plan.workers else "in process"))
    result = run_study(study, out, workers=plan.workers, scheduler=plan.scheduler)
    console.print(f"tasks: {result.computed} computed, {result.reused} reused from an earlier "
                  f"run, {result.redone} found corrupt or partial and redone")
    paths = {"study store": result.paths["zarr"], "resolved config": _save_config(cfg, out)}
    if "dataset" in result.paths:
        paths["dataset"] = result.paths["dataset"]
    dataset = result.dataset
    kpis = tuple(k for k in plan.kpis if k in dataset)
    indices = None
    if plan.design is not None:
        indices = analyze(dataset, plan.ranges, plan.design, method=plan.kind, kpis=kpis,
                          seed=plan.seed, levels=plan.levels)
        paths["sensitivity"] = save_dataset(indices, out / "sensitivity.nc")
        figure = figures.sensitivity_indices(indices, kpis[0])
        console.print(indices.to_dataframe().round(4).to_string())
    else:
        figure = figures.tornado(dataset, kpis[0])
        console.print(dataset[list(kpis)].mean("replicate").to_dataframe().to_string())
    paths["figure"] = save_figure_atomic(figure, out / "study.png", dpi=120)
    paths["report"] = write_study_report(dataset, out / "report.html", kpis=kpis,
                                         indices=indices,
                                         title=_study_title(plan, cfg))
    plt.close("all")
    console.print(f"{time.perf_counter() - started:.1f} s")
    for label, path in paths.items():
        console.print(f"{label}: {path}")


def _study_title(plan: Any, cfg: Any) -> str:
    """``Study cluster_policies (grid): policy.safety_factor, engine.replicates``."""
    name = str(cfg.study.get("name") or plan.kind)
    kind = f" ({plan.kind})" if name != plan.kind else ""
    return f"Study {name}{kind} over {', '.join(str(p) for p in plan.ranges)}"


def _write_report(dataset: Any, path: Path, *, baseline: str | None = None, scan: bool = True,
                  attribution: bool = True, scan_replicates: int = 20) -> Path:
    """Run what the report needs beyond the run (scan, attribution), then write it."""
    import matplotlib.pyplot as plt

    from analysis.report import write_report
    from sim.studies.report_inputs import report_inputs

    inputs = report_inputs(dataset, baseline=baseline, scan=scan, attribution=attribution,
                           scan_replicates=scan_replicates)
    written = write_report(dataset, path, baseline=baseline, scan=inputs["scan"],
                           attribution=inputs["attribution"])
    plt.close("all")
    return written


def register_schemas() -> None:
    """Register the typed config schema (``base_app``) with Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    from sim.studies.config import AppConfig

    ConfigStore.instance().store(name="base_app", node=AppConfig)


def run_app(argv: list[str]) -> int:
    """Run the Hydra app on ``argv``; a config error is one paragraph and exit status 2.

    Hydra prints its own errors over several lines and exits 1; with ``HYDRA_FULL_ERROR`` set
    for this process it raises them instead, and :func:`hydra_message` says them our way.
    """
    import os

    import hydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register_schemas()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = [sys.argv[0], *argv]
    app = hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
    try:
        app(_run)()
    except (HydraException, OmegaConfBaseException) as error:
        _error(hydra_message(error, argv))
        return EXIT_BAD_INPUT
    return 0


def hydra_message(error: BaseException, argv: list[str]) -> str:
    """One paragraph for a Hydra or OmegaConf error: what, where, and what would be valid."""
    from hydra.errors import ConfigCompositionException, MissingConfigException

    text = str(error)
    unknown = re.match(r"Could not override '([^']+)'", text)
    if isinstance(error, ConfigCompositionException) and unknown:
        key = unknown.group(1)
        if key.startswith("network.") and key.split(".")[1] in ("source", "generate"):
            return (f"{_given(key, argv)}: the chosen network has no {key}: read your own "
                    "with network=file network.source=PATH, or generate one with "
                    "network=cluster network.generate.KEY=VALUE")
        return (f"{key}: unknown config key ({_given(key, argv)}); "
                f"{_nearest_keys(key, argv)}; `python -m sim --cfg job` prints the whole config")
    if isinstance(error, MissingConfigException):
        text = text.split("Config search path")[0]
        text = re.sub(r"\s*\n\t", ", ", text.replace(":\n\t", ": "))
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        text += ": " + str(cause).splitlines()[0]
    text = " ".join(text.replace("Available options", ". Available options").split())
    return re.sub(r"\s+\.", ".", text)


def _given(key: str, argv: list[str]) -> str:
    """The command-line argument that set ``key``."""
    return next((a for a in argv if a.lstrip("+~").split("=")[0] == key), key)


def _nearest_keys(key: str, argv: list[str]) -> str:
    """The valid config keys nearest ``key`` (the config composed without the bad argument)."""
    import difflib

    from hydra import compose, initialize_config_dir

    others = [a for a in argv if "=" in a and not a.startswith(("-", "hydra"))
              and a.lstrip("+~").split("=")[0] != key]
    keys: list[str] = []
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        for overrides in (others, []):  # the others may fail too; then the defaults
            try:
                keys = _dotted_keys(compose(config_name="config", overrides=overrides))
                break
            except Exception:
                continue
    parent = key.rpartition(".")[0]
    siblings = [k for k in keys if k.rpartition(".")[0] == parent]
    near = difflib.get_close_matches(key, siblings or keys, n=3, cutoff=0.5)
    if near:
        return f"did you mean {' or '.join(near)}?"
    if siblings:
        return f"valid keys here: {', '.join(siblings)}"
    return "no config key is near it"


def _dotted_keys(cfg: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a composed config (lists are leaves)."""
    from omegaconf import DictConfig

    keys = []
    for name in cfg:
        path = f"{prefix}{name}"
        keys.append(path)
        child = cfg._get_node(name)
        if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
            keys.extend(_dotted_keys(child, f"{path}."))
    return keys


EXAMPLES = (
    ("python -m sim experiment=demo", "what `make demo` runs: an outage, four strategies"),
    ("python -m sim network=file network.source=my_chain/ compare=[backup_supplier]",
     "your own network (CSV folder, .xlsx, YAML or Willems file) against a strategy"),
    ("python -m sim -m experiment=demo engine.replicates=200 run.seed=1,2,3",
     "a sweep over seeds (one run folder per job; `python -m sim merge` stacks them)"),
)


def help_text() -> str:
    """``python -m sim --help``: usage, subcommands, config groups with their options, examples."""
    lines = ["usage: python -m sim [KEY=VALUE | GROUP=OPTION ...]   run a simulation (Hydra)",
             "       python -m sim -m [KEY=V1,V2 ...]               run a sweep (one job a point)",
             "       python -m sim SUBCOMMAND [ARGS]                see below",
             "",
             "Runs one simulation (or a study or sweep) and writes results.nc, the resolved",
             "config.yaml, a figure and report.html to a run folder under outputs/.",
             "",
             "subcommands:"]
    for name, (_, summary) in SUBCOMMANDS.items():
        lines.append(f"  {name:<8} {summary}")
    lines += ["", "config groups (GROUP=OPTION; files in " + str(CONFIG_DIR) + "):"]
    for group in sorted(p for p in CONFIG_DIR.iterdir() if p.is_dir()):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        lines.append(f"  {group.name:<11} {', '.join(options)}")
    lines += ["", "settings (KEY=VALUE): run.days, run.warmup_days, run.seed, run.record,",
              "  engine.name (mesa|batch), engine.replicates, engine.workers, compare=[...],",
              "  policy.*, disruption.events.N.* (retarget an event), resilience.*, report.*;",
              "  `python -m sim [overrides] --cfg job` prints the resolved config.",
              "", "examples:"]
    for command, summary in EXAMPLES:
        lines += [f"  {command}", f"      {summary}"]
    lines += ["", "Errors are one paragraph and exit status 2. More: README.md, docs/."]
    return "\n".join(lines)


def new(argv: list[str]) -> int:
    """``python -m sim new DIR [--excel]``: write the template network to edit."""
    import argparse

    from sim.io.template import write_template
    from sim.spec.errors import SimError

    parser = argparse.ArgumentParser(
        prog="python -m sim new",
        description="Write a small documented network to start from: a CSV folder (nodes, "
                    "lanes, bom, demand and a README), or with --excel one .xlsx workbook.")
    parser.add_argument("path", type=Path, help="the folder (or, with --excel, the workbook) "
                        "to create; it must not exist yet")
    parser.add_argument("--excel", action="store_true", help="write one .xlsx workbook")
    options = parser.parse_args(argv)
    try:
        written = write_template(options.path, excel=options.excel)
    except SimError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    print(f"template network: {written}")
    print(f"next: python -m sim check {written}")
    print(f"      python -m sim experiment=demo network=file network.source={written}")
    return 0


def check(argv: list[str]) -> int:
    """``python -m sim check PATH...``: validate network files and print a one-line summary."""
    from sim.io import load_network
    from sim.spec.errors import SimError

    if not argv:
        _error("usage: python -m sim check PATH [PATH...]")
        return EXIT_BAD_INPUT
    from sim.compile.layout import Layout, nominal_overloads
    from sim.compile.shares import green_label_conflicts

    status = 0
    for path in argv:
        try:
            network = load_network(path)
        except SimError as error:
            _error(str(error))
            status = EXIT_BAD_INPUT
            continue
        print(f"ok: {network.summary()}")
        layout = Layout.of(network)
        for issue in nominal_overloads(layout) + green_label_conflicts(layout):  # runs anyway
            print(f"warning: {issue}")
    return status


def report(argv: list[str]) -> int:
    """``python -m sim report RUN [RUN...]``: write the HTML report of one or several runs."""
    import argparse

    from sim.measures.compare import combine
    from sim.spec.errors import SimError
    from sim.studies.simulate import stack_policies

    parser = argparse.ArgumentParser(
        prog="python -m sim report",
        description="Write one self-contained HTML report of a run folder (or results file); "
                    "several runs of the same scenario are compared strategy by strategy.")
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or results .nc files")
    parser.add_argument("--out", type=Path, help="report file (default: report.html in the "
                        "run folder; needed with several runs)")
    parser.add_argument("--baseline", help="reference strategy (default: the first)")
    parser.add_argument("--no-scan", action="store_true", help="skip the criticality scan")
    parser.add_argument("--no-attribution", action="store_true",
                        help="skip attributing losses to each disruption")
    parser.add_argument("--scan-replicates", type=int, default=20)
    options = parser.parse_args(argv)
    files = [r / "results.nc" if r.is_dir() else r for r in options.runs]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        _error(f"{missing[0]}: no such run folder or results file")
        return EXIT_BAD_INPUT
    if len(files) > 1 and options.out is None:
        _error("give --out FILE when reporting on several runs")
        return EXIT_BAD_INPUT
    out = options.out or files[0].with_name("report.html")
    try:
        runs = [_load_results(f) for f in files]
        if len(runs) > 1:
            named = combine(runs).policy.values  # checks common random numbers, names runs
            dataset = stack_policies(dict(zip([str(n) for n in named], runs, strict=True)))
        else:
            dataset = runs[0]
        path = _write_report(dataset, out, baseline=options.baseline,
                             scan=not options.no_scan, attribution=not options.no_attribution,
                             scan_replicates=options.scan_replicates)
    except SimError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    print(f"report: {path}")
    return 0


def _load_results(path: Path) -> Any:
    """A saved results file, or a SimError naming it when it is not one."""
    import xarray as xr

    from sim.spec.errors import InputError, Issue

    try:
        return xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as error:
        raise InputError(Issue(str(path), "", None, f"not a results file written by python -m "
                               f"sim (NetCDF): {type(error).__name__}")) from None


def merge(argv: list[str]) -> int:
    """``python -m sim merge SWEEP_DIR [--out FILE]``: one dataset of a Hydra multirun sweep."""
    import argparse

    from sim.engines.results import save_dataset
    from sim.spec.errors import SimError
    from sim.studies.merge import merge_sweep

    parser = argparse.ArgumentParser(
        prog="python -m sim merge",
        description="Stack the per-replicate KPIs of every job of a multirun sweep folder along "
                    "the swept parameters into one NetCDF file.")
    parser.add_argument("folder", type=Path, help="the sweep folder (multirun/DATE/TIME)")
    parser.add_argument("--out", type=Path, help="output file (default: FOLDER/merged.nc)")
    options = parser.parse_args(argv)
    try:
        merged = merge_sweep(options.folder)
    except SimError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    path = save_dataset(merged, options.out or options.folder / "merged.nc")
    dims = {d: n for d, n in merged.sizes.items()}
    print(f"merged {merged.attrs['jobs']} jobs: {dims}")
    print(f"dataset: {path}")
    return 0


APP_PAGE = Path(__file__).resolve().parents[2] / "analysis" / "app" / "page.py"


def app(argv: list[str]) -> int:
    """``python -m sim app [NETWORK...] [--port N]``: serve the dashboard on localhost."""
    import argparse
    import os

    from analysis.app.inputs import EXTRA_NETWORKS_ENV
    from sim.io import load_network
    from sim.spec.errors import SimError

    parser = argparse.ArgumentParser(
        prog="python -m sim app",
        description="Serve the dashboard: watch a disruption ripple through a network (Mesa) "
                    "and compare strategies (batch engine) in the browser.")
    parser.add_argument("networks", nargs="*", help="more networks to offer: a CSV folder, a "
                        "network YAML or a Willems chain file")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="localhost")
    options = parser.parse_args(argv)
    for path in options.networks:  # a bad file is refused here, not in the page
        try:
            load_network(path)
        except SimError as error:
            _error(str(error))
            return EXIT_BAD_INPUT
    env = {**os.environ, EXTRA_NETWORKS_ENV: os.pathsep.join(
        str(Path(p).resolve()) for p in options.networks),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}  # nothing leaves the machine
    print(f"dashboard: http://{options.host}:{options.port}/ (Ctrl-C to stop)", flush=True)
    command = [sys.executable, "-m", "solara", "run", str(APP_PAGE), "--port",
               str(options.port), "--host", options.host, "--production", "--no-open",
               "--no-check-version", "--log-level", "warning"]
    return _serve(command, env)


def _serve(command: list[str], env: dict[str, str]) -> int:
    """Run the server as a child that stops with this process, however this one is stopped.

    Ctrl-C, ``kill PID`` (SIGTERM) and a closed terminal (SIGHUP) are passed on to the child;
    on Linux the child also gets SIGTERM if this process dies without a word (SIGKILL).
    """
    import signal
    import subprocess

    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)

    def stop(signum: int, _frame: Any) -> None:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
        sys.exit(0 if signum == signal.SIGINT else 128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    return child.wait()


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the parent dies (elsewhere no-op)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


SUBCOMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "new": (new, "write a template network to edit (CSV folder, or --excel one workbook)"),
    "check": (check, "validate network files: a one-line summary, warnings, or every error"),
    "report": (report, "write the HTML report of saved runs (several: compared)"),
    "merge": (merge, "stack the jobs of a multirun sweep folder into one dataset"),
    "app": (app, "serve the dashboard on localhost"),
}


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim`` and the ``scsim`` script.

    Ctrl-C ends it with one line instead of a traceback: the results, figure and report are
    written whole or not at all (:mod:`sim.io.atomic`), and a study keeps its finished tasks
    for the same command to reuse (a task cut short is found and redone).
    """
    try:
        _main(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        _error("interrupted; a study run again with the same command reuses the tasks it "
               "finished")
        sys.exit(EXIT_INTERRUPTED)


def _main(args: list[str]) -> None:
    if args and args[0] in SUBCOMMANDS:
        sys.exit(SUBCOMMANDS[args[0]][0](args[1:]))
    if any(a in ("-h", "--help") for a in args):  # ours; Hydra's is --hydra-help
        print(help_text())
        sys.exit(0)
    if not CONFIG_DIR.is_dir():
        _error(f"config folder {CONFIG_DIR} not found: reinstall the package "
               "(`pip install scresilience-sim`, or `make install` in a checkout)")
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(run_app(args))
