"""Command line: `kafkasim run`, `kafkasim scenarios`, `kafkasim config` (also `python -m sim`).

Bad input -- an unknown key, a wrong value, a malformed file -- prints one line to stderr
and exits with status 2, before anything runs and without writing any output file.

Exit status: 0 done; 2 bad input; 3 a class named by --fail-on was seen (CI gates); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .config import KafkasimInputError, load_config
from .config.errors import sanitize
from .scenarios import default_path

EXIT_OK, EXIT_INPUT, EXIT_FAIL_ON = 0, 2, 3
# what --fail-on can name: the outcome classes and the durability view's counts
FAIL_ON = ("duplicated", "delivered", "lost_acked", "failed_visible", "failed_silent", "lost_unacked", "unconsumed",
           "silent_loss", "loss", "acked_missing", "phantom_reads", "not_drained")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        text = " ".join(message.split())
        self.exit(EXIT_INPUT, f"{self.prog}: error: {sanitize(text if len(text) <= 300 else text[:297] + '...')}\n")


def _verbosity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="print no summary and no progress (notes still)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the wall time")


def _fail_on_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", metavar="CLASS,...", type=_fail_on_list, default=(),
                   help="exit with status 3 when any of these is non-zero (" + ", ".join(FAIL_ON) + ")")


def _fail_on_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    wrong = [name for name in names if name not in FAIL_ON]
    if wrong or not names:
        raise argparse.ArgumentTypeError(f"{(wrong or [text])[0]!r}: not one of " + ", ".join(FAIL_ON))
    return names


def _failures(names, rows) -> list[str]:
    """Of the --fail-on names, those non-zero over these replication rows, as 'name = count'."""
    out = []
    for name in names:
        if name == "not_drained":
            total = sum(1 for row in rows if str(row["drained"]) not in ("True", "true", "1", "1.0"))
        else:
            total = sum(float(row[name] or 0) for row in rows)
        if total:
            out.append(f"{name} = {total:g}")
    return out


def _gate(args, rows) -> int:
    failed = _failures(args.fail_on, rows)
    if failed:
        print(f"kafkasim: --fail-on: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAIL_ON
    return EXIT_OK


def _progress_enabled(args):
    return False if args.quiet else None


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario_file", nargs="?", metavar="SCENARIO",
                   help="scenario TOML file (default: the built-in default scenario)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config key (repeatable), e.g. --set producer.acks=1")
    parser.add_argument("--seed", type=int, help="root random seed (overrides sim.seed)")
    parser.add_argument("--producer-config", metavar="FILE", help="a Kafka producer .properties file")
    parser.add_argument("--broker-config", metavar="FILE", help="a Kafka broker .properties file")
    parser.add_argument("--consumer-config", metavar="FILE", help="a Kafka consumer .properties file")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="kafkasim", description="Simulate the Kafka message lifecycle and count lost and "
                                                  "duplicated messages. Exit status: 0 done, 2 bad input, 3 a "
                                                  "--fail-on class seen, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"kafkasim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run one scenario once and print its outcome table")
    _config_arguments(run)
    run.add_argument("--scenario", metavar="NAME",
                     help="run a built-in named scenario (see `kafkasim scenarios`): its unsafe and safe variants")
    run.add_argument("--plot", metavar="PNG",
                     help="also draw the replica timeline of partition 0 to PNG (with --scenario: of both variants)")
    run.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH ('-' for stdout)")
    run.add_argument("--follow", metavar="ID[,ID...]",
                     help="follow these message ids and print each one's story ('auto': a lost, a duplicated and a "
                          "delivered one); with --plot also draw their swimlane to PNG's name + '-swimlane' "
                          "(with --scenario: of each variant)")
    _verbosity_arguments(run)
    _fail_on_argument(run)
    sub.add_parser("scenarios", help="list the built-in named scenarios (known ways Kafka lost data)")
    bench = sub.add_parser("bench", help="simulated messages per wall and CPU second, and the cost of a produce "
                                         "request, on the fixed benchmark workload and two workloads people run")
    bench.add_argument("--messages", type=int, metavar="N",
                       help="about N messages per workload (by default 1,000,000 for bench, 200,000 for demo-like; "
                            "the default scenario runs its own 60,000, shortened if N is smaller)")
    bench.add_argument("--workload", metavar="NAME", help="run only this workload: bench, default or demo-like")
    bench.add_argument("--scaling", action="store_true", help="also 2x and 4x messages, 60 and 600 partitions")
    bench.add_argument("--sweep", action="store_true",
                       help="also the same sweep on 1 worker and on a local pool of --jobs workers")
    bench.add_argument("--jobs", type=int, default=2, metavar="N", help="workers for --sweep (default 2)")
    bench.add_argument("--json", metavar="PATH", help="also write the measurements as JSON ('-' for stdout)")
    bench.add_argument("--trace-limit", type=int, metavar="N",
                       help="sim.trace.limit for the main run (default 10,000 events; 0 turns the trace off)")
    demo = sub.add_parser("demo", help="where Kafka loses and duplicates messages, and what safety costs: "
                                       "three stages, replications, intervals, plots")
    demo.add_argument("--replications", type=int, default=6, metavar="N", help="per configuration (default 6)")
    demo.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    demo.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: all cores)")
    demo.add_argument("--out", default="results", metavar="DIR", help="results directory (default results/)")
    demo.add_argument("--quick", action="store_true", help="10 s runs instead of 30 s (for tests)")
    cfg = sub.add_parser("config", help="print the effective configuration of a scenario")
    _config_arguments(cfg)
    _verbosity_arguments(cfg)
    est = sub.add_parser("estimate", help="replicate a scenario: loss rates with confidence intervals")
    _config_arguments(est)
    est.add_argument("--replications", type=int, metavar="N", help="number of replications (default 30)")
    est.add_argument("--rel-error", type=float, metavar="E",
                     help="stop once the --metric rate's 95%% interval half-width is <= E x the rate")
    est.add_argument("--budget", type=float, metavar="SECONDS", help="stop after this much wall time")
    est.add_argument("--method", choices=("crude", "is", "conditional", "auto"), default="crude",
                     help="crude replications (default), importance sampling of the chaos faults (is), fault "
                          "windows from the steady state (conditional), or auto: picks one and says why "
                          "(docs/rare-events.md)")
    est.add_argument("--metric", default="silent_loss", choices=("silent_loss", "acked_missing", "lost_acked",
                                                                  "failed_visible", "duplicated"),
                     help="the rate --rel-error aims at (default silent_loss)")
    _executor_arguments(est)
    est.add_argument("--json", metavar="PATH", help="also write the estimates as JSON ('-' for stdout)")
    _verbosity_arguments(est)
    _fail_on_argument(est)
    sweep = sub.add_parser("sweep", help="run an experiment file: a grid of configurations x replications")
    sweep.add_argument("experiment", metavar="EXPERIMENT.toml")
    _executor_arguments(sweep)
    sweep.add_argument("--out", default="results", metavar="DIR", help="results directory (default results/)")
    sweep.add_argument("--resume", action="store_true", help="continue an interrupted sweep")
    sweep.add_argument("--overwrite", action="store_true",
                       help="delete the results of an earlier run of this experiment and start again")
    sweep.add_argument("--replications", type=int, metavar="N", help="override the file's replications")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--yes", action="store_true", help="run a grid of more than 10,000 points")
    _verbosity_arguments(sweep)
    _fail_on_argument(sweep)
    return parser


def _executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: all cores; 1 = in process)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT uses an existing one")


def _use_agg() -> None:
    """The command line draws to files: the Agg backend (library code never picks one)."""
    import matplotlib

    matplotlib.use("Agg")


def _load(args):
    scenario = args.scenario_file if args.scenario_file is not None else default_path()
    return load_config(scenario, sets=args.sets, producer_config=args.producer_config,
                       broker_config=args.broker_config, consumer_config=args.consumer_config, seed=args.seed)


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as open() would create it (mkstemp makes it 0600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_output_path(option: str, path: str | None) -> None:
    """Refuse an output path before anything runs (nothing half-written)."""
    if path is None or path == "-":
        return
    target = Path(path)
    if not path or target.is_dir():
        raise KafkasimInputError(f"{option} = {path!r}: not a file path")
    if not target.parent.is_dir():
        raise KafkasimInputError(f"{option} = {path!r}: directory {str(target.parent)!r} does not exist")


SCHEDULER_SCHEMES = ("tcp", "tls")
CONNECT_TIMEOUT = 5.0  # s to reach a Dask scheduler before giving up


def check_scheduler(address: str | None) -> None:
    """--scheduler: 'local', or tcp://HOST:PORT (tls://) that answers a TCP connection within 5 s."""
    import socket
    from urllib.parse import urlsplit

    if address is None or address == "local":
        return

    def bad(reason: str) -> KafkasimInputError:
        return KafkasimInputError(f"--scheduler = {address!r}: {reason}")
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise bad(f"not an address ({err}); use local or tcp://HOST:PORT") from None
    if parts.scheme not in SCHEDULER_SCHEMES or not host or port is None or parts.path not in ("", "/"):
        raise bad("not an address; use local or tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as err:
        raise bad(f"cannot connect: {err.strerror or err}") from None


def cmd_scenarios(_args) -> int:
    from .scenarios.catalog import CATALOG

    width = max(len(name) for name in CATALOG)
    for name, scenario in CATALOG.items():
        print(f"{name:<{width}}  {scenario.title}")
    print("\nrun one with: kafkasim run --scenario NAME [--plot timeline.png]")
    return EXIT_OK


def cmd_run_named(args) -> int:
    import json

    from .scenarios.named import lookup, plot, report, run_named

    if args.scenario_file is not None:
        raise KafkasimInputError(f"--scenario = {args.scenario!r}: give either a scenario file or --scenario")
    for option in ("producer_config", "broker_config", "consumer_config"):
        if getattr(args, option):
            raise KafkasimInputError(f"--{option.replace('_', '-')}: not combined with --scenario (use --set)")
    lookup(args.scenario)
    if args.fail_on:
        raise KafkasimInputError("--fail-on: not with --scenario (a named scenario runs an unsafe variant that loses "
                                 "by design); gate a scenario file instead")
    follow_ids = _follow_ids(args.follow)
    _check_output_path("--json", args.json)
    _check_output_path("--plot", args.plot)
    runs = run_named(args.scenario, sets=args.sets, seed=args.seed)
    if not args.quiet and args.json != "-":
        print(report(args.scenario, runs), end="")
    if follow_ids is not None:
        _follow_variants(args, None if follow_ids == [None] else follow_ids)
    if args.plot:
        _use_agg()
        plot(args.scenario, runs, args.plot)
        if not args.quiet and args.json != "-":
            print(f"replica timelines drawn to {args.plot}")
    if args.json is not None:
        text = json.dumps({"scenario": args.scenario,
                           "variants": [{"label": r.label, **r.result.data} for r in runs]}, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            _write_atomically(args.json, text)
    return EXIT_OK


def _follow_ids(value: str | None):
    """--follow: None (not given), None in a list ('auto': picked after a first run) or message ids."""
    if value is None:
        return None
    if value.strip() == "auto":
        return [None]
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        ids = []
    from .ledger import Ledger

    if not ids or any(not 0 <= i < Ledger.MAX_MESSAGES for i in ids):
        raise KafkasimInputError(f"--follow = {value!r}: message ids (0, 1, ...) separated by commas, or 'auto'")
    return ids


def _swimlane_path(plot: str, variant: str = "") -> Path:
    path = Path(plot)
    return path.with_name(f"{path.stem}{'-' + variant if variant else ''}-swimlane{path.suffix or '.png'}")


def _follow_variants(args, ids) -> None:
    """--scenario NAME --follow: the stories of both variants (and with --plot their swimlanes)."""
    from .follow import follow_named

    for which in ("unsafe", "safe"):  # the safe variant follows the same sends as the unsafe one
        followed = follow_named(args.scenario, which, ids, sets=args.sets, seed=args.seed)
        ids = [j.id for j in followed.journeys]
        if args.json != "-":
            print(f"\n{which} variant, followed messages:\n")
            print(followed.story(), end="")
        if args.plot:
            _use_agg()
            path = _swimlane_path(args.plot, which)
            followed.swimlane(f"{args.scenario} ({which})").savefig(path, dpi=110)
            if not args.quiet and args.json != "-":
                print(f"swimlane drawn to {path}")


def cmd_run(args) -> int:
    from .run import run_once
    from .timeline import run_with_timeline

    if args.scenario is not None:
        return cmd_run_named(args)
    from .experiment.replicate import replication_row
    from .progress import Progress

    cfg = _load(args)
    follow_ids = _follow_ids(args.follow)
    _check_output_path("--json", args.json)
    _check_output_path("--plot", args.plot)
    for note in cfg.notes:
        print(f"note: {note}", file=sys.stderr)
    title = f"kafkasim run: {args.scenario_file or 'built-in default scenario'} (seed {cfg['sim.seed']})"
    followed = None
    if follow_ids is not None:
        from .follow import follow

        followed = follow(cfg, None if follow_ids == [None] else follow_ids, timeline=bool(args.plot))
        result, timeline = followed.result, followed.timeline
    elif args.plot:
        result, timeline = run_with_timeline(cfg)
    else:
        bar = Progress(cfg.seconds("workload.duration"), "simulated s", "kafkasim run", _progress_enabled(args))
        try:
            result = run_once(cfg, progress=bar)
        finally:
            bar.close()
    if not args.quiet and args.json != "-":
        print(result.summary(title), end="")
        if followed is not None:
            print("\nfollowed messages (time, stage, what happened; faults and elections between):\n")
    if followed is not None and args.json != "-":
        print(followed.story(), end="")
    if followed is not None and args.plot:
        _use_agg()
        followed.swimlane(title).savefig(_swimlane_path(args.plot), dpi=110)
        if not args.quiet and args.json != "-":
            print(f"swimlane of messages {', '.join(str(j.id) for j in followed.journeys)} drawn to "
                  f"{_swimlane_path(args.plot)}")
    if args.plot:
        from .plots.timeline import timeline_figure

        _use_agg()
        timeline_figure(timeline, result, title).savefig(args.plot, dpi=110)
        if not args.quiet and args.json != "-":
            print(f"replica timeline of partition 0 drawn to {args.plot}")
    if args.json == "-":
        sys.stdout.write(result.to_json())
    elif args.json is not None:
        _write_atomically(args.json, result.to_json())
        if not args.quiet:
            print(f"result written to {args.json}")
    if args.verbose:
        print(f"wall time {result['wall_s']:.2f} s", file=sys.stderr)
    return _gate(args, [replication_row(result)])


def cmd_config(args) -> int:
    cfg = _load(args)
    for note in cfg.notes:
        print(f"note: {note}", file=sys.stderr)
    version = cfg["cluster.kafka.version"]
    for key, value in cfg.items():
        origin = f"  # kafka.version {version} profile" if key in cfg.from_profile else ""
        print(f"{key} = {value!r}{origin}")
    for fault in cfg.faults:
        print(f"fault: {fault.to_dict()}")
    return EXIT_OK


def cmd_estimate(args) -> int:
    import json

    from .experiment.estimate import MethodError, estimate
    from .experiment.report import table
    from .rare.report import describe

    cfg = _load(args)
    _check_output_path("--json", args.json)
    for option, value in (("--replications", args.replications), ("--jobs", args.jobs)):
        if value is not None and value < 1:
            raise KafkasimInputError(f"{option} = {value}: must be >= 1")
    for option, value in (("--rel-error", args.rel_error), ("--budget", args.budget)):
        if value is not None and not value > 0:
            raise KafkasimInputError(f"{option} = {value}: must be > 0")
    check_scheduler(args.scheduler)
    for note in cfg.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.fail_on and args.method != "crude":
        from .rare.choose import choose_method
        if args.method != "auto" or choose_method(cfg)[0] != "crude":
            raise KafkasimInputError(f"--fail-on: not with --method {args.method} (importance sampling and fault "
                                     "windows force faults, so their runs lose by design); use --method crude")
    try:
        summary = estimate(cfg, replications=args.replications, rel_error=args.rel_error, budget=args.budget,
                           jobs=args.jobs, scheduler=args.scheduler, method=args.method, metric=args.metric,
                           progress=_progress_enabled(args))
    except MethodError as exc:
        raise KafkasimInputError(str(exc)) from None
    name = args.scenario_file or "built-in default scenario"
    if args.json != "-" and not args.quiet:
        title = f"kafkasim estimate: {name} (seed {cfg['sim.seed']}, {summary['runs']} " \
                f"{'windows' if summary['method'] == 'conditional' else 'replications'}, stopped: " \
                f"{summary['stopped_because']})"
        if summary["method"] == "crude":
            print(table({0: {"point": {}, "estimate": summary}}, title), end="")
        else:
            print(title)
        print(describe(summary), end="")
    if args.json is not None:
        text = json.dumps(summary, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            _write_atomically(args.json, text)
    if args.verbose:
        print(f"wall time {summary['wall_total_s']:.2f} s", file=sys.stderr)
    return _gate(args, summary.replication_rows)


def cmd_sweep(args) -> int:
    from .experiment.report import plot, plot_outcomes, table
    from .experiment.store import StoreError
    from .experiment.sweep import load_experiment, run_sweep

    if args.resume and args.overwrite:
        raise KafkasimInputError("--overwrite: not combined with --resume (one keeps the results there, the other "
                                 "deletes them)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise KafkasimInputError(f"--out = {args.out!r}: not a directory")
    exp = load_experiment(args.experiment, replications=args.replications, confirm=args.yes)
    if args.jobs is not None and args.jobs < 1:
        raise KafkasimInputError(f"--jobs = {args.jobs}: must be >= 1")
    check_scheduler(args.scheduler)
    try:
        results = run_sweep(exp, out_dir=args.out, jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
                            progress=False if args.no_progress or args.quiet else None, overwrite=args.overwrite)
    except StoreError as err:
        raise KafkasimInputError(str(err)) from None
    out = Path(args.out) / exp.name
    text = table(results, f"kafkasim sweep: {exp.name} ({exp.replications} replications per point)")
    (out / "summary.txt").write_text(text)
    _use_agg()
    plot(results, out / "rates.png", exp.name)
    plot_outcomes(results, out / "outcomes.png", f"{exp.name}: outcome classes by stage")
    if not args.quiet:
        print(text, end="")
        print(f"rows: {out / 'rows.csv'}; table: {out / 'summary.txt'}; plots: {out / 'rates.png'}, "
              f"{out / 'outcomes.png'}")
    return _gate(args, results.store.read())


def cmd_bench(args) -> int:
    from .bench import WORKLOADS, report, scaling, sweep_speedup, to_json, workload_table, workloads

    if args.messages is not None and args.messages < 1000:
        raise KafkasimInputError(f"--messages = {args.messages}: must be >= 1000")
    if args.workload is not None and args.workload not in WORKLOADS:
        raise KafkasimInputError(f"--workload = {args.workload!r}: one of {', '.join(WORKLOADS)}")
    if args.jobs < 2:
        raise KafkasimInputError(f"--jobs = {args.jobs}: must be >= 2 (it is compared with 1 worker)")
    if args.trace_limit is not None and args.trace_limit < 0:
        raise KafkasimInputError(f"--trace-limit = {args.trace_limit}: must be >= 0 (0 turns the trace off)")
    _check_output_path("--json", args.json)
    names = tuple(WORKLOADS) if args.workload is None else (args.workload,)
    result = workloads(names, args.messages, args.trace_limit)
    if args.json != "-":
        if "bench" in names:
            print(report(result), end="")
            print()
        print(workload_table(result), end="")
    messages = 1_000_000 if args.messages is None else args.messages
    if args.scaling:
        result["scaling"] = scaling(max(1000, messages // 5))
        if args.json != "-":
            for row in result["scaling"]:
                print(f"  {row['case']:<16} {row['messages']:>10,} messages  {row['us_per_message']:>8.3f} us/message")
    if args.sweep:
        sweep = result["sweep"] = sweep_speedup(args.jobs, messages=max(1000, messages // 5))
        if args.json != "-":
            print(f"  sweep of {sweep['replications']} replications: {sweep['wall_s_1_worker']:.1f} s on 1 worker, "
                  f"{sweep[f'wall_s_{args.jobs}_workers']:.1f} s on {args.jobs}: {sweep['speedup']:.2f}x")
    if args.json is not None:
        if args.json == "-":
            sys.stdout.write(to_json(result))
        else:
            _write_atomically(args.json, to_json(result))
    return EXIT_OK


def cmd_demo(args) -> int:
    from .demo import draw, run_demo, table

    for option, value, lo in (("--replications", args.replications, 1), ("--jobs", args.jobs, 1),
                              ("--seed", args.seed, 0)):
        if value is not None and value < lo:
            raise KafkasimInputError(f"{option} = {value}: must be >= {lo}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise KafkasimInputError(f"--out = {args.out!r}: not a directory")
    print("kafkasim demo: can Kafka lose messages? Three stages, each under the same random faults, "
          f"{args.replications} replications per configuration ...", flush=True)
    results = run_demo(args.replications, args.seed, args.out, args.jobs, quick=args.quick)
    print()
    print(table(results), end="")
    _use_agg()
    path = draw(results, args.out)
    print(f"\nrates with 95% intervals ('<' = none seen: an upper bound). Faults here are far more frequent than in "
          f"production, to be seen in a short run:\ncompare the configurations with each other.\n"
          f"plots: {path}, {path.with_name('outcomes.png')}   rows: {path.parent / 'rows.csv'}")
    return EXIT_OK


def _terminate(_signum, _frame):
    raise KeyboardInterrupt  # SIGTERM: the same orderly stop as Ctrl-C (workers stopped, exit 130)


def main(argv=None) -> int:
    import signal
    import threading

    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    else:  # pragma: no cover - signals can only be handled in the main thread
        previous = None
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "scenarios":
            return cmd_scenarios(args)
        if args.command == "estimate":
            return cmd_estimate(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "bench":
            return cmd_bench(args)
        return cmd_config(args)
    except KafkasimInputError as err:
        print(f"kafkasim: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("kafkasim: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
