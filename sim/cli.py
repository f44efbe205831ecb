"""Command line: `kafkasim run` and `kafkasim config` (also `python -m sim`).

Bad input -- an unknown key, a wrong value, a malformed file -- prints one line to stderr
and exits with status 2, before anything runs and without writing any output file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .config import KafkasimInputError, load_config
from .scenarios import default_path

EXIT_OK, EXIT_INPUT = 0, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="scenario TOML file (default: the built-in default scenario)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config key (repeatable), e.g. --set producer.acks=1")
    p.add_argument("--seed", type=int, help="root random seed (overrides sim.seed)")
    p.add_argument("--producer-config", metavar="FILE", help="a Kafka producer .properties file")
    p.add_argument("--broker-config", metavar="FILE", help="a Kafka broker .properties file")
    p.add_argument("--consumer-config", metavar="FILE", help="a Kafka consumer .properties file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kafkasim", description="Simulate the Kafka message lifecycle and count lost and "
                                                  "duplicated messages.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run one scenario once and print its outcome table")
    _config_arguments(run)
    run.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH ('-' for stdout)")
    run.add_argument("--quiet", action="store_true", help="do not print the summary")
    cfg = sub.add_parser("config", help="print the effective configuration of a scenario")
    _config_arguments(cfg)
    return parser


def _load(args):
    scenario = args.scenario if args.scenario is not None else default_path()
    return load_config(scenario, sets=args.sets, producer_config=args.producer_config,
                       broker_config=args.broker_config, consumer_config=args.consumer_config, seed=args.seed)


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_run(args) -> int:
    from .run import run_once

    cfg = _load(args)
    if args.json is not None and args.json != "-":
        target = Path(args.json)
        if not args.json or target.is_dir():
            raise KafkasimInputError(f"--json = {args.json!r}: not a file path")
        if not target.parent.is_dir():
            raise KafkasimInputError(f"--json = {args.json!r}: directory {str(target.parent)!r} does not exist")
    for note in cfg.notes:
        print(f"note: {note}", file=sys.stderr)
    result = run_once(cfg)
    title = f"kafkasim run: {args.scenario or 'built-in default scenario'} (seed {cfg['sim.seed']})"
    if not args.quiet and args.json != "-":
        print(result.summary(title), end="")
    if args.json == "-":
        sys.stdout.write(result.to_json())
    elif args.json is not None:
        _write_atomically(args.json, result.to_json())
        if not args.quiet:
            print(f"result written to {args.json}")
    return EXIT_OK


def cmd_config(args) -> int:
    cfg = _load(args)
    for note in cfg.notes:
        print(f"note: {note}", file=sys.stderr)
    for key, value in cfg.items():
        print(f"{key} = {value!r}")
    for fault in cfg.faults:
        print(f"fault: {fault.to_dict()}")
    return EXIT_OK


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        return cmd_config(args)
    except KafkasimInputError as err:
        print(f"kafkasim: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("kafkasim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
