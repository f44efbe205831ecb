"""Bad input of every kind, through the command line in process (as tests/test_cli.py's in-process
cases do): each must print exactly one line to stderr naming what is wrong, exit with status 2,
never show a traceback or a terminal escape sequence, and leave the working directory as it was.

One row per case, as Ciw's validation tests list theirs: (id, files to create, argv).
"""

from __future__ import annotations

import pytest

from sim.cli import main

SMALL = '[workload]\nduration = 1\nrate = 50\n'
HUGE = "1" * 5000  # past Python's int-string conversion limit (4,300 digits)
EXP = '[experiment]\nname = "x"\nreplications = 1\n[base]\n"workload.duration" = 1\n"workload.rate" = 50\n'


def fault(extra: str) -> str:
    return SMALL + '[[faults]]\nat = 0.5\n' + extra


CASES = [
    ("huge integer in TOML", {"s.toml": f"[workload]\nrate = {HUGE}\n"}, ["run", "s.toml"]),
    ("huge integer in --set", {}, ["run", "--set", f"producer.batch.size={HUGE}"]),
    ("huge integer in .properties", {"p.properties": f"batch.size={HUGE}\n"}, ["run", "--producer-config",
                                                                              "p.properties"]),
    ("huge seed", {}, ["run", "--seed", HUGE]),
    ("inf extra_ms", {"s.toml": fault('action = "latency_spike"\ntarget = "broker:0"\nextra_ms = inf\n')},
     ["run", "s.toml"]),
    ("nan rate", {"s.toml": fault('action = "packet_loss"\ntarget = "broker:0"\nrate = nan\n')}, ["run", "s.toml"]),
    ("inf duration of a fault", {"s.toml": fault('action = "crash"\ntarget = "broker:0"\nduration = inf\n')},
     ["run", "s.toml"]),
    ("nan fault time", {"s.toml": SMALL + '[[faults]]\nat = nan\naction = "crash"\ntarget = "broker:0"\n'},
     ["run", "s.toml"]),
    ("inf in --set", {}, ["run", "--set", "network.latency.ms=inf"]),
    ("malformed scheduler", {"e.toml": EXP}, ["sweep", "e.toml", "--scheduler", "tcp://::::"]),
    ("scheduler with a bad scheme", {"e.toml": EXP}, ["sweep", "e.toml", "--scheduler", "ftp://host:1"]),
    ("estimate scheduler with no port", {}, ["estimate", "--scheduler", "tcp://"]),
    ("unreachable scheduler", {"e.toml": EXP}, ["sweep", "e.toml", "--scheduler", "tcp://127.0.0.1:9"]),
    ("[experiment] not a table", {"e.toml": 'experiment = "x"\n'}, ["sweep", "e.toml"]),
    ("[grid] not a table", {"e.toml": 'grid = 5\n' + EXP}, ["sweep", "e.toml"]),
    ("[base] not a table", {"e.toml": 'base = [1]\n[experiment]\nname = "x"\n'}, ["sweep", "e.toml"]),
    ("[[points]] not a list of tables", {"e.toml": 'points = "p"\n[experiment]\nname = "x"\n'}, ["sweep", "e.toml"]),
    ("[[points]] holding a number", {"e.toml": 'points = [1]\n[experiment]\nname = "x"\n'}, ["sweep", "e.toml"]),
    ("a grid value not a list", {"e.toml": EXP + '[grid]\n"producer.acks" = "1"\n'}, ["sweep", "e.toml"]),
    ("scenario not a string", {"e.toml": '[experiment]\nname = "x"\nscenario = 5\n'}, ["sweep", "e.toml"]),
    ("scenario missing", {"e.toml": '[experiment]\nname = "x"\nscenario = "nope.toml"\n'}, ["sweep", "e.toml"]),
    ("description not a string", {"e.toml": '[experiment]\nname = "x"\ndescription = 1\n'}, ["sweep", "e.toml"]),
    ("name with NUL", {"e.toml": '[experiment]\nname = "a\\u0000b"\n'}, ["sweep", "e.toml"]),
    ("name ..", {"e.toml": '[experiment]\nname = ".."\n'}, ["sweep", "e.toml"]),
    ("name with a backslash", {"e.toml": '[experiment]\nname = "a\\\\b"\n'}, ["sweep", "e.toml"]),
    ("name of 300 characters", {"e.toml": f'[experiment]\nname = "{"n" * 300}"\n'}, ["sweep", "e.toml"]),
    ("name with an escape sequence", {"e.toml": '[experiment]\nname = "\\u001b[31mred"\n'}, ["sweep", "e.toml"]),
    ("experiment path a directory", {"d/x.toml": SMALL}, ["sweep", "d"]),
    ("experiment file binary", {"b.toml": "\x00\x01\x02\xff"}, ["sweep", "b.toml"]),
    ("scenario path a directory", {"d/x.toml": SMALL}, ["run", "d"]),
    ("scenario file binary", {"b.toml": "\x00\x01\x02"}, ["run", "b.toml"]),
    ("properties path a directory", {"d/x": ""}, ["run", "--producer-config", "d"]),
    ("sweep output a file", {"e.toml": EXP, "out": "x"}, ["sweep", "e.toml", "--out", "out"]),
    ("demo output a file", {"out": "x"}, ["demo", "--out", "out"]),
    ("json output a directory", {"d/x": ""}, ["run", "--json", "d"]),
    ("grid past the limit", {"e.toml": EXP + '[grid]\n"sim.seed" = [' + ", ".join(map(str, range(101))) + ']\n'
                             '"workload.rate" = [' + ", ".join(map(str, range(1, 101))) + ']\n'}, ["sweep", "e.toml"]),
    ("escape sequence in a --set key", {}, ["run", "--set", "producer.\x1b[31macks=1"]),
    ("escape sequence in a TOML key", {"s.toml": '[producer]\n"\\u001b]0;title\\u0007acks" = "1"\n'},
     ["run", "s.toml"]),
    ("escape sequence in a value", {}, ["run", "--set", "producer.acks=\x1b[2J"]),
    ("transactional.id", {}, ["run", "--set", "producer.transactional.id=tx"]),
    ("transactional.id in .properties", {"p.properties": "transactional.id=tx\n"}, ["run", "--producer-config",
                                                                                     "p.properties"]),
    ("isolation.level read_committed", {"c.properties": "isolation.level=read_committed\n"},
     ["run", "--consumer-config", "c.properties"]),
    ("negative replications", {}, ["estimate", "--replications", "0"]),
    ("a billion messages a second for a day", {}, ["run", "--set", "workload.rate=1e9", "--set",
                                                   "workload.duration=1d"]),
    ("crashes every microsecond", {}, ["run", "--set", "chaos.broker.crash.mtbf=1us"]),
]


def snapshot(directory) -> dict:
    return {str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None) for p in directory.rglob("*")}


@pytest.mark.parametrize("files, argv", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(files, argv, tmp_path, monkeypatch, capsys):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape") if "\xff" not in text else text.encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "\x1b" not in captured.err and "\x07" not in captured.err
    assert not any(ch in lines[0] for ch in "\x00\r"), lines
    assert snapshot(tmp_path) == before


def test_resource_guards_name_the_key_and_the_number_and_can_be_raised(capsys):
    assert main(["config", "--set", "workload.rate=1e9", "--set", "workload.duration=1d"]) == 2
    err = capsys.readouterr().err
    assert "workload.rate = 1000000000.0" in err and "86,400,000,000,000 messages" in err
    assert "sim.max.messages = 20,000,000" in err
    assert main(["config", "--set", "chaos.broker.crash.mtbf=1us"]) == 2
    err = capsys.readouterr().err
    assert "90,000,000 random faults" in err and "sim.max.faults = 100,000" in err  # 3 brokers x 30 s / 1 us
    assert main(["config", "--set", "chaos.broker.crash.mtbf=1ms", "--set", "sim.max.faults=1000000"]) == 0
