"""Command-line options for scripts and CI: --version, -q / -v, progress on stderr, --fail-on exit
status, result files with normal permissions, no Dask dashboard unless asked for."""

from __future__ import annotations

import io
import json
import os

import pytest

from sim import __version__
from sim.cli import EXIT_FAIL_ON, main
from sim.config import load_config
from sim.progress import Progress
from sim.run import run_once

SMALL = ["--set", "workload.duration=1", "--set", "workload.rate=100", "--set", "topic.replication.factor=3"]
QUIET = SMALL + ["quiet.toml"]  # no faults
# acks=0 and the leader dies at 0.5 s: the records it had not written are acknowledged and lost
LOSSY = SMALL + ["--set", "producer.acks=0", "lossy.toml"]
LOSSY_TOML = '[[faults]]\nat = 0.5\naction = "power_loss"\ntarget = "leader"\nduration = 0.2\n'


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"kafkasim {__version__}"


def test_fail_on_exits_3_naming_what_was_seen_and_0_when_nothing_was(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lossy.toml").write_text(LOSSY_TOML)
    assert main(["run", "-q", *LOSSY, "--fail-on", "lost_acked,acked_missing"]) == EXIT_FAIL_ON
    captured = capsys.readouterr()
    assert captured.out == ""  # -q: no summary
    (line,) = [line for line in captured.err.splitlines() if not line.startswith("note:")]
    assert line.startswith("kafkasim: --fail-on: lost_acked = ") and "acked_missing = " in line
    (tmp_path / "quiet.toml").write_text("")
    assert main(["run", "-q", *QUIET, "--fail-on", "lost_acked,not_drained"]) == 0
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-q", *QUIET, "--fail-on", "lost"])
    assert exit_.value.code == 2  # not a class: bad input
    assert "not one of" in capsys.readouterr().err


def test_estimate_fail_on_sums_the_replications(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lossy.toml").write_text(LOSSY_TOML)
    code = main(["estimate", "-q", *LOSSY, "--replications", "2", "--jobs", "1", "--fail-on", "silent_loss"])
    assert code == EXIT_FAIL_ON and "silent_loss = " in capsys.readouterr().err


def test_fail_on_is_refused_where_runs_lose_by_design(tmp_path, capsys):
    # a named scenario's unsafe variant, and rare-event methods that force faults, lose on purpose
    assert main(["run", "--scenario", "zombie-leader", "--fail-on", "lost_acked"]) == 2
    assert "not with --scenario" in capsys.readouterr().err
    scenario = tmp_path / "rare.toml"
    scenario.write_text('[chaos]\n"cluster.power_outage.mtbf" = "365d"\n')
    assert main(["estimate", str(scenario), "--method", "conditional", "--fail-on", "acked_missing"]) == 2
    assert "--method crude" in capsys.readouterr().err


def test_json_result_files_get_the_permissions_open_would_give(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quiet.toml").write_text("")
    old = os.umask(0o022)
    try:
        assert main(["run", "-q", *QUIET, "--json", "out.json"]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o644  # before: 0600 from mkstemp
    assert json.loads((tmp_path / "out.json").read_text())["sent"] > 0


def test_progress_off_a_terminal_is_a_plain_line_every_few_seconds_and_nothing_when_quiet():
    stream = io.StringIO()
    bar = Progress(10, "tasks", "kafkasim sweep", None, stream=stream, every=0.0)
    bar.update(4, "2.0 rep/s")
    bar.close()
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("kafkasim sweep: 4/10 tasks (40%), 2.0 rep/s, ")
    quiet = io.StringIO()
    bar = Progress(10, "tasks", "kafkasim sweep", False, stream=quiet, every=0.0)
    bar.update(4)
    assert quiet.getvalue() == ""


def test_a_run_reporting_progress_gives_the_same_result():
    cfg = load_config(overrides={"workload.duration": 2, "topic.replication.factor": 3,
                                 "faults": [{"at": 1, "action": "crash", "target": "leader", "duration": 0.3}]})
    plain, reported = run_once(cfg), run_once(cfg, progress=Progress(2, "s", "run", False))
    assert {k: v for k, v in plain.data.items() if k != "wall_s"} == \
        {k: v for k, v in reported.data.items() if k != "wall_s"}


def test_a_local_dask_scheduler_opens_no_dashboard():
    import socket
    import urllib.error
    import urllib.request

    from sim.experiment.executors import make_executor

    def port_8787_open() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", 8787)) == 0
    assert not port_8787_open()
    with make_executor(jobs=1, scheduler="local") as pool:
        assert pool.submit(sum, [1, 2]).result() == 3
        assert not port_8787_open()  # before: Dask's dashboard listened there
        link = pool._client.dashboard_link
        assert link.startswith("http://127.0.0.1:")
        with pytest.raises(urllib.error.HTTPError):  # no dashboard behind the scheduler's HTTP port
            urllib.request.urlopen(link, timeout=5)
