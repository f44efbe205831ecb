"""The command line contract of `kafkasim run` / `kafkasim config` (also `python -m sim`).

What design.md and sim/cli.py promise:
- `kafkasim run` without a scenario runs the built-in default scenario and prints an outcome table;
- `--json PATH` writes the result (`-` = stdout, and then nothing else goes to stdout);
- `--set`, `--seed` and the Kafka `.properties` files reach the effective configuration;
- bad input prints exactly one line to stderr, exits 2, never a traceback, and leaves no output behind;
- `kafkasim config` prints the effective configuration, one `key = value` line per key.
"""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from sim.cli import main
from sim.config import SCHEMA, load_config
from sim.scenarios import default_path

CLASSES = ("duplicated", "delivered", "lost_acked", "failed_visible", "failed_silent", "lost_unacked",
           "unconsumed")
STAGES = ("producer", "broker", "consumer")

# A scenario small enough to run in a fraction of a second: 2 s at 200 messages/s, no faults.
SMALL = """
[cluster]
brokers = 3

[topic]
partitions = 1
"replication.factor" = 3

[workload]
duration = 2
rate = 200
"""

# The same size with a scripted fault on a broker the cluster does not have.
FAULT_ON_BROKER_7 = SMALL + """
[[faults]]
at = 1
action = "crash"
target = "broker:7"
"""

# A fault 3 s into a run whose production lasts 2 s.
FAULT_AFTER_END = SMALL + """
[[faults]]
at = 3
action = "consumer_crash"
"""


def write(directory, name: str, text: str):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def kafkasim(*args: str, cwd) -> subprocess.CompletedProcess:
    """`python -m sim ARGS` in a fresh interpreter, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def files_under(directory) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


def nonempty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def check_result_json(data: dict) -> None:
    """The shape every `--json` result must have (design.md, "What flows through the program")."""
    assert isinstance(data["sent"], int) and data["sent"] > 0
    assert set(data["outcomes"]) == set(CLASSES) and len(data["outcomes"]) == 7
    assert all(type(count) is int and count >= 0 for count in data["outcomes"].values())
    assert sum(data["outcomes"].values()) == data["sent"]
    # every message has exactly one cause tag inside its class
    assert set(data["causes"]) <= set(CLASSES)
    for name in CLASSES:
        assert sum(data["causes"].get(name, {}).values()) == data["outcomes"][name], name
    assert set(data["by_stage"]) == set(STAGES)
    for stage in STAGES:
        assert set(data["by_stage"][stage]) <= set(CLASSES)
    assert isinstance(data["acked_missing_from_log"]["total"], int)
    assert set(SCHEMA) <= set(data["config"])
    assert data["seed"] == data["config"]["sim.seed"]
    assert data["sim_time_s"] >= data["config"]["workload.duration"]
    assert isinstance(data["wall_s"], (int, float)) and data["wall_s"] >= 0


@pytest.fixture
def small(tmp_path):
    return write(tmp_path, "small.toml", SMALL)


# ------------------------------------------------------------------------ the default scenario


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`kafkasim run --json default.json` with no scenario: the built-in default, run once."""
    cwd = tmp_path_factory.mktemp("default")
    proc = kafkasim("run", "--json", "default.json", cwd=cwd)
    data = json.loads((cwd / "default.json").read_text()) if (cwd / "default.json").exists() else None
    return proc, data


def test_run_without_a_scenario_runs_the_built_in_default_and_exits_0(default_run):
    proc, data = default_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "built-in default scenario" in proc.stdout
    assert data is not None
    assert "result written to default.json" in proc.stdout


def test_default_summary_shows_all_seven_outcome_classes_losses_by_stage_and_ack_latency(default_run):
    proc, _ = default_run
    lines = proc.stdout.splitlines()
    for name in CLASSES:
        assert any(line.split()[:1] == [name] for line in lines), f"no row for {name}"
    assert "losses by stage" in proc.stdout
    assert "ack latency" in proc.stdout


def test_default_summary_rows_match_the_json_counts(default_run):
    proc, data = default_run
    rows = {line.split()[0]: int(line.split()[1]) for line in proc.stdout.splitlines()
            if line.split()[:1] and line.split()[0] in CLASSES}
    assert rows == data["outcomes"]
    assert f"sent {data['sent']} messages" in proc.stdout


def test_default_json_is_the_default_scenario(default_run):
    _, data = default_run
    check_result_json(data)
    cfg = data["config"]
    # values written in sim/scenarios/default.toml
    assert (cfg["cluster.brokers"], cfg["topic.partitions"], cfg["topic.replication.factor"]) == (3, 3, 3)
    assert cfg["topic.min.insync.replicas"] == 2
    assert (cfg["workload.duration"], cfg["workload.rate"]) == (30, 2000)
    assert data["seed"] == 1
    assert [(f["at"], f["action"]) for f in cfg["faults"]] == [(8, "crash"), (22, "consumer_crash")]
    # Kafka 4.x defaults for what the scenario leaves alone (docs/config.md)
    assert cfg["producer.linger.ms"] == 5 and cfg["producer.enable.idempotence"] is True
    # the config section holds the effective value of every key
    expected = load_config(default_path()).to_dict()
    assert {k: cfg[k] for k in SCHEMA} == {k: expected[k] for k in SCHEMA}


def test_default_json_counts_are_consistent_with_the_workload(default_run):
    _, data = default_run
    # Poisson arrivals at 2000/s for 30 s: 60000 expected, sd ~245; allow 6 sd
    assert abs(data["sent"] - 60000) < 6 * math.sqrt(60000)
    assert data["sim_time_s"] >= 30
    assert data["drained"] is True
    # "after a proper drain this must be 0" (design.md)
    assert data["outcomes"]["unconsumed"] == 0
    # default.toml: "Expect no acknowledged loss, and duplicates from the consumer crash"
    assert data["outcomes"]["lost_acked"] == 0
    assert data["acked_missing_from_log"]["total"] == 0
    assert data["outcomes"]["duplicated"] > 0
    assert data["by_stage"]["consumer"].get("duplicated", 0) == data["outcomes"]["duplicated"]


# ---------------------------------------------------------------------------------- --json


def test_json_dash_prints_only_the_json_on_stdout(tmp_path, small):
    proc = kafkasim("run", "small.toml", "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # fails if anything but the JSON is on stdout
    check_result_json(data)
    assert files_under(tmp_path) == {"small.toml"}


def test_json_dash_keeps_notes_on_stderr(tmp_path, small):
    write(tmp_path, "producer.properties", "acks=all\nbootstrap.servers=localhost:9092\n")
    proc = kafkasim("run", "small.toml", "--producer-config", "producer.properties", "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    assert any(line.startswith("note:") and "bootstrap.servers" in line for line in proc.stderr.splitlines())


def test_json_file_holds_counts_causes_stages_config_seed_and_times(tmp_path, small):
    proc = kafkasim("run", "small.toml", "--json", "out.json", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet
    data = json.loads((tmp_path / "out.json").read_text())
    for key in ("sent", "outcomes", "causes", "by_stage", "acked_missing_from_log", "config", "seed",
                "sim_time_s", "wall_s"):
        assert key in data, key
    check_result_json(data)
    assert data["config"]["workload.duration"] == 2 and data["config"]["workload.rate"] == 200
    assert data["config"]["faults"] == []
    # 2 s at 200/s: 400 expected
    assert abs(data["sent"] - 400) < 6 * math.sqrt(400)
    # no temporary file left next to the result
    assert files_under(tmp_path) == {"small.toml", "out.json"}


# ------------------------------------------------------------------- inputs reach the config


def run_json(argv: list[str], tmp_path, capsys) -> tuple[dict, str]:
    """`kafkasim run ARGV --json result.json --quiet` in-process; returns (JSON, stderr)."""
    out = tmp_path / "result.json"
    status = main(["run", *argv, "--json", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.out == ""
    return json.loads(out.read_text()), captured.err


def test_set_and_seed_reach_the_effective_config(tmp_path, small, capsys):
    data, _ = run_json([str(small), "--set", "producer.linger.ms=20", "--set", "topic.partitions=2",
                        "--set", "network.packet.loss=0.001", "--seed", "42"], tmp_path, capsys)
    cfg = data["config"]
    assert cfg["producer.linger.ms"] == 20
    assert cfg["topic.partitions"] == 2
    assert cfg["network.packet.loss"] == 0.001
    assert cfg["sim.seed"] == 42 and data["seed"] == 42
    assert cfg["workload.rate"] == 200  # the scenario's own values stay


def test_seed_overrides_set_which_overrides_the_scenario(tmp_path, capsys):
    scenario = write(tmp_path, "s.toml", SMALL + "\n[sim]\nseed = 3\n")
    data, _ = run_json([str(scenario)], tmp_path, capsys)
    assert data["seed"] == 3
    data, _ = run_json([str(scenario), "--set", "sim.seed=5"], tmp_path, capsys)
    assert data["seed"] == 5
    data, _ = run_json([str(scenario), "--set", "sim.seed=5", "--seed", "9"], tmp_path, capsys)
    assert data["seed"] == 9


def test_producer_properties_reach_the_config_and_unmodelled_keys_are_noted(tmp_path, small):
    write(tmp_path, "producer.properties", """\
        # a real producer config
        bootstrap.servers=broker1:9092,broker2:9092
        key.serializer=org.apache.kafka.common.serialization.StringSerializer
        acks=1
        linger.ms=20
        """)
    proc = kafkasim("run", "small.toml", "--producer-config", "producer.properties", "--json", "out.json",
                    "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note:")]
    assert any("bootstrap.servers" in n and "key.serializer" in n for n in notes), proc.stderr
    # acks=1 with idempotence left at its default: Kafka silently disables idempotence, with a note
    assert any("enable.idempotence" in n for n in notes), proc.stderr
    assert all(line.startswith("note:") for line in nonempty_lines(proc.stderr))
    cfg = json.loads((tmp_path / "out.json").read_text())["config"]
    assert cfg["producer.acks"] == "1"
    assert cfg["producer.linger.ms"] == 20
    assert cfg["producer.enable.idempotence"] is False
    assert "bootstrap.servers" not in json.dumps(cfg)


def test_broker_and_consumer_properties_reach_the_config(tmp_path, small, capsys):
    broker = write(tmp_path, "server.properties", """\
        node.id=1
        log.dirs=/var/lib/kafka
        min.insync.replicas=2
        log.flush.interval.messages=1000
        replica.lag.time.max.ms=10000
        """)
    consumer = write(tmp_path, "consumer.properties", """\
        group.id=billing
        auto.commit.interval.ms=1000
        max.poll.records=100
        auto.offset.reset=earliest
        """)
    data, err = run_json([str(small), "--broker-config", str(broker), "--consumer-config", str(consumer)],
                         tmp_path, capsys)
    cfg = data["config"]
    # a broker file's min.insync.replicas is the topic default (docs/config.md)
    assert cfg["topic.min.insync.replicas"] == 2
    assert cfg["broker.log.flush.interval.messages"] == 1000
    # an unset topic.flush.messages inherits the broker's value; the config holds the effective one
    assert cfg["topic.flush.messages"] == 1000
    assert cfg["broker.replica.lag.time.max.ms"] == 10000
    assert cfg["consumer.auto.commit.interval.ms"] == 1000
    assert cfg["consumer.max.poll.records"] == 100
    assert cfg["consumer.auto.offset.reset"] == "earliest"
    assert "node.id" in err and "group.id" in err


def test_precedence_is_scenario_then_properties_then_set(tmp_path, capsys):
    scenario = write(tmp_path, "s.toml", SMALL + '\n[producer]\n"linger.ms" = 1\n"retries" = 7\n')
    props = write(tmp_path, "p.properties", "linger.ms=20\nretries=9\n")
    data, _ = run_json([str(scenario), "--producer-config", str(props), "--set", "producer.linger.ms=7"],
                       tmp_path, capsys)
    assert data["config"]["producer.linger.ms"] == 7  # --set beats the .properties file
    assert data["config"]["producer.retries"] == 9  # the .properties file beats the scenario


# --------------------------------------------------------------------------------- bad input

BROKEN_TOML = "[workload\nduration = 2\n"


def case(name, args, fragments, files=None, json_path="out.json", marks=()):
    return pytest.param(args, fragments, files or {}, json_path, id=name, marks=marks)


BAD_INPUTS = [
    case("unknown-set-key-did-you-mean", ["small.toml", "--set", "producer.lingerms=5"],
         ["producer.lingerms", "unknown key", "did you mean producer.linger.ms"]),
    case("unknown-set-key-far-from-anything", ["small.toml", "--set", "bogus.thing=1"],
         ["bogus.thing", "unknown key"]),
    case("set-without-equals", ["small.toml", "--set", "producer.linger.ms"],
         ["producer.linger.ms", "section.key=value"]),
    case("wrong-type", ["small.toml", "--set", "producer.linger.ms=abc"],
         ["producer.linger.ms", "abc", "integer"]),
    case("wrong-type-bool", ["small.toml", "--set", "consumer.enable.auto.commit=yes"],
         ["consumer.enable.auto.commit", "yes", "true or false"]),
    case("out-of-range", ["small.toml", "--set", "topic.min.insync.replicas=0"],
         ["topic.min.insync.replicas", "0", ">= 1"]),
    case("out-of-range-probability", ["small.toml", "--set", "network.packet.loss=1"],
         ["network.packet.loss", "1", "< 1"]),
    case("bad-enum", ["small.toml", "--set", "producer.acks=2"],
         ["producer.acks", "2", "one of", "'all'"]),
    case("resend-needs-checked-callbacks", ["small.toml", "--set", "producer.app.resend=true", "--set",
                                            "producer.app.callback=fire-and-forget"],
         ["producer.app.resend", "true", "needs producer.app.callback = 'checked'"]),
    case("replication-factor-above-brokers", ["small.toml", "--set", "topic.replication.factor=4"],
         ["topic.replication.factor", "4", "cluster.brokers = 3"]),
    case("replication-factor-above-brokers-from-brokers",
         ["small.toml", "--set", "cluster.brokers=2"],
         ["topic.replication.factor", "3", "cluster.brokers = 2"]),
    case("min-insync-above-replication-factor",
         ["small.toml", "--set", "topic.replication.factor=2", "--set", "topic.min.insync.replicas=3"],
         ["topic.min.insync.replicas", "3", "topic.replication.factor = 2"]),
    # defaults: linger.ms 5 + request.timeout.ms 30000 = 30005
    case("explicit-delivery-timeout-below-linger-plus-request-timeout",
         ["small.toml", "--set", "producer.delivery.timeout.ms=1000"],
         ["producer.delivery.timeout.ms", "1000", "linger.ms + request.timeout.ms", "30005"]),
    case("explicit-idempotence-with-acks-1",
         ["small.toml", "--set", "producer.enable.idempotence=true", "--set", "producer.acks=1"],
         ["producer.acks", "acks=all"]),
    case("fault-on-broker-7-of-3", ["f.toml"], ["f.toml", "faults[0].target", "broker:7", "no such broker",
                                                 "cluster.brokers = 3"],
         files={"f.toml": FAULT_ON_BROKER_7}),
    case("fault-after-the-end-of-the-run", ["f.toml"], ["f.toml", "faults[0].at", "3", "after the end",
                                                         "workload.duration"],
         files={"f.toml": FAULT_AFTER_END}),
    case("fault-after-the-end-because-of-set", ["f.toml", "--set", "workload.duration=0.5"],
         ["faults[0].at", "workload.duration"],
         files={"f.toml": SMALL + '\n[[faults]]\nat = 1\naction = "consumer_crash"\n'}),
    case("fault-with-unknown-action", ["f.toml"], ["faults[0].action", "crashh", "did you mean crash"],
         files={"f.toml": SMALL + '\n[[faults]]\nat = 1\naction = "crashh"\ntarget = "leader"\n'}),
    case("malformed-toml", ["bad.toml"], ["bad.toml", "malformed TOML"], files={"bad.toml": BROKEN_TOML}),
    case("toml-unknown-section", ["s.toml"], ["[producr]", "did you mean producer"],
         files={"s.toml": SMALL + '\n[producr]\nacks = "all"\n'}),
    case("toml-unknown-key", ["s.toml"], ["producer.lingerms", "did you mean producer.linger.ms"],
         files={"s.toml": SMALL + '\n[producer]\n"lingerms" = 5\n'}),
    case("missing-scenario-file", ["missing.toml"], ["missing.toml", "not found"]),
    case("scenario-is-a-directory", ["adir"], ["adir"], files={"adir/keep.txt": ""}),
    case("typo-in-properties", ["small.toml", "--producer-config", "p.properties"],
         ["p.properties", "ack", "all", "did you mean acks"], files={"p.properties": "ack=all\n"}),
    case("bad-value-in-properties", ["small.toml", "--producer-config", "p.properties"],
         ["p.properties", "producer.linger.ms", "soon"], files={"p.properties": "linger.ms=soon\n"}),
    case("malformed-escape-in-properties", ["small.toml", "--consumer-config", "c.properties"],
         ["c.properties", "line 2", "\\u"], files={"c.properties": "group.id=g\nclient.id=\\u12\n"}),
    case("model-key-in-properties", ["small.toml", "--producer-config", "p.properties"],
         ["p.properties", "app.callback", "not a Kafka producer config"],
         files={"p.properties": "app.callback=checked\n"}),
    case("missing-properties-file", ["small.toml", "--broker-config", "nope.properties"],
         ["nope.properties", "not found"]),
    case("unknown-option", ["small.toml", "--bogus"], ["unrecognized arguments", "--bogus"]),
    case("seed-not-an-integer", ["small.toml", "--seed", "abc"], ["--seed", "abc"]),
    case("seed-negative", ["small.toml", "--seed", "-1"], ["sim.seed", "-1", ">= 0"]),
    case("json-in-a-missing-directory", ["small.toml"], ["nodir", "does not exist"], json_path="nodir/out.json"),
    # An existing directory as the --json target is bad input too.
    case("json-path-is-an-existing-directory", ["small.toml"], ["adir"], files={"adir/keep.txt": ""},
         json_path="adir"),
    # A file name with a newline in it: the error must still be one line.
    case("missing-scenario-with-newline-in-its-name", ["no\nsuch.toml"], ["such.toml", "not found"]),
]


@pytest.mark.parametrize("args, fragments, files, json_path", BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_exit_2_and_no_output(tmp_path, args, fragments, files, json_path):
    write(tmp_path, "small.toml", SMALL)
    for name, text in files.items():
        write(tmp_path, name, text)
    before = files_under(tmp_path)
    proc = kafkasim("run", *args, "--json", json_path, cwd=tmp_path)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = nonempty_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "error" in lines[0]
    assert proc.stdout == ""  # nothing ran
    assert not (tmp_path / json_path).is_file()
    assert files_under(tmp_path) == before  # no output, no temporary file left behind


def test_input_error_in_process_returns_2_with_one_line(capsys, small):
    status = main(["run", str(small), "--set", "producer.acks=2"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert len(nonempty_lines(captured.err)) == 1
    assert captured.err.startswith("kafkasim: error: producer.acks")


def test_argparse_errors_exit_2_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--no-such-option"])
    assert exc.value.code == 2
    assert len(nonempty_lines(capsys.readouterr().err)) == 1
    with pytest.raises(SystemExit) as exc:
        main([])  # a command is required
    assert exc.value.code == 2


# ---------------------------------------------------------------------------- kafkasim config


def parse_config_lines(stdout: str) -> tuple[list[tuple[str, str]], list[str]]:
    pairs, others = [], []
    for line in stdout.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key in SCHEMA:
            pairs.append((key, value))
        else:
            others.append(line)
    return pairs, others


def test_config_prints_one_line_per_key_of_the_default_scenario(capsys):
    assert main(["config"]) == 0
    captured = capsys.readouterr()
    pairs, others = parse_config_lines(captured.out)
    assert [key for key, _ in pairs] == list(SCHEMA)  # each key once, schema order
    values = {key: ast.literal_eval(value) for key, value in pairs}
    expected = load_config(default_path())
    assert values == dict(expected)
    # the default scenario's own values and a Kafka 4.x default
    assert values["topic.partitions"] == 3 and values["topic.min.insync.replicas"] == 2
    assert values["producer.acks"] == "all" and values["producer.linger.ms"] == 5
    # besides the keys, one line per scripted fault (the default scenario has two)
    assert len(others) == 2 and all(line.startswith("fault:") for line in others)
    assert "crash" in others[0] and "consumer_crash" in others[1]


def test_config_shows_set_seed_and_properties(tmp_path, small, capsys):
    props = write(tmp_path, "p.properties", "acks=1\nlinger.ms=20\nbootstrap.servers=x:9092\n")
    status = main(["config", str(small), "--producer-config", str(props), "--set", "topic.partitions=4",
                   "--seed", "77"])
    captured = capsys.readouterr()
    assert status == 0
    values = {key: ast.literal_eval(value) for key, value in parse_config_lines(captured.out)[0]}
    assert values["producer.acks"] == "1"
    assert values["producer.linger.ms"] == 20
    assert values["topic.partitions"] == 4
    assert values["sim.seed"] == 77
    assert values["workload.duration"] == 2
    assert "note:" in captured.err and "bootstrap.servers" in captured.err


def test_config_as_a_subprocess_exits_0(tmp_path, small):
    proc = kafkasim("config", "small.toml", "--set", "producer.linger.ms=20", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "producer.linger.ms = 20" in proc.stdout.splitlines()
    assert len(parse_config_lines(proc.stdout)[0]) == len(SCHEMA)


@pytest.mark.parametrize("args, fragment", [
    (["--set", "producer.acks=2"], "producer.acks"),
    (["--set", "producer.lingerms=5"], "did you mean producer.linger.ms"),
    (["missing.toml"], "not found"),
    (["--bogus"], "--bogus"),
], ids=["bad-enum", "unknown-key", "missing-file", "unknown-option"])
def test_config_with_bad_input_exits_2_with_one_line(tmp_path, args, fragment):
    proc = kafkasim("config", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = nonempty_lines(proc.stderr)
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert proc.stdout == ""


def test_python_dash_m_sim_and_the_console_script_agree(tmp_path, small):
    script = os.path.join(os.path.dirname(sys.executable), "kafkasim")
    assert os.path.exists(script)
    via_script = subprocess.run([script, "config", "small.toml"], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60)
    via_module = kafkasim("config", "small.toml", cwd=tmp_path)
    assert via_script.returncode == via_module.returncode == 0
    assert via_script.stdout == via_module.stdout
