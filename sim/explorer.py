"""The configuration explorer of notebook 05: the main keys of each stage, a fault, a Run button.

`explore(**choices)` does the work (one run with a replica timeline -> result, pictures) and is
what the button calls; `explorer()` builds the ipywidgets around it (the `notebook` extra).
"""

from __future__ import annotations

from dataclasses import dataclass

FAULTS = {  # name -> faults, at shares of the production phase
    "leader crash (process)": [{"at": 0.3, "action": "crash", "target": "leader", "duration": 0.25}],
    "leader power loss": [{"at": 0.3, "action": "power_loss", "target": "leader", "duration": 0.25}],
    "whole-cluster power outage": [{"at": 0.6, "action": "power_loss", "target": "all-brokers", "duration": 0.1}],
    "leader cut off from the cluster (zombie)": [{"at": 0.25, "action": "isolate", "target": "leader",
                                                  "from": ["brokers", "controller"], "duration": 0.6}],
    "followers fall behind, then the leader dies": [
        {"at": 0.1, "action": "isolate", "target": "followers", "from": "brokers"},
        {"at": 0.5, "action": "crash", "target": "leader", "duration": 0.3}],
    "consumer crash": [{"at": 0.4, "action": "consumer_crash", "duration": 0.05}],
    "consumer processing error mid-batch": [{"at": 0.5, "action": "consumer_error"}],
    "none": [],
}
FLUSH = {"never (the default: the OS writes back)": None, "every message": 1, "every 1000 messages": 1000}
COMMITS = ("auto", "sync", "async", "async+sync", "async+sync-processed", "per-record")


@dataclass
class Choices:
    """What the explorer lets a learner change; the defaults are Kafka 4.x's (plus a leader crash)."""

    acks: str = "all"
    idempotence: str = "default"  # default (Kafka: on with acks=all, off otherwise), on, off
    linger_ms: int = 5
    replication_factor: int = 3
    min_insync_replicas: int = 2
    unclean_election: bool = False
    flush: str = "never (the default: the OS writes back)"
    elr: bool = False
    commit: str = "auto"
    fault: str = "leader crash (process)"
    duration_s: float = 20.0
    rate: float = 500.0
    seed: int = 1


def overrides(choices: Choices) -> dict:
    """The configuration keys behind the choices."""
    duration = float(choices.duration_s)
    faults = []
    for fault in FAULTS[choices.fault]:
        fault = dict(fault, at=round(fault["at"] * duration, 3))
        if "duration" in fault:
            fault["duration"] = round(fault["duration"] * duration, 3)
        faults.append(fault)
    keys = {"cluster.brokers": 3, "topic.partitions": 3, "topic.replication.factor": choices.replication_factor,
            "topic.min.insync.replicas": choices.min_insync_replicas, "producer.acks": choices.acks,
            "producer.linger.ms": choices.linger_ms,
            "topic.unclean.leader.election.enable": choices.unclean_election,
            "topic.flush.messages": FLUSH[choices.flush],
            "broker.eligible.leader.replicas.version": int(choices.elr),
            "consumer.app.commit": choices.commit, "consumer.enable.auto.commit": choices.commit == "auto",
            "workload.duration": duration, "workload.rate": choices.rate, "sim.seed": choices.seed, "faults": faults}
    if choices.idempotence != "default":  # unset, Kafka turns it off by itself with acks 0 or 1
        keys["producer.enable.idempotence"] = choices.idempotence == "on"
    return keys


def explore(**choices):
    """One run of the chosen configuration -> (RunResult, [outcome figure, replica timeline figure])."""
    from .config import load_config
    from .notebook import outcomes
    from .plots import timeline_figure
    from .timeline import run_with_timeline

    picked = Choices(**choices)
    cfg = load_config(None, overrides=overrides(picked))
    result, timeline = run_with_timeline(cfg)
    title = f"acks={picked.acks}, RF {picked.replication_factor}, min ISR {picked.min_insync_replicas}: {picked.fault}"
    return result, [outcomes({"this run": result}, title), timeline_figure(timeline, result, title)]


def _widgets():
    import ipywidgets as w

    style = {"description_width": "150px"}
    return {
        "acks": w.Dropdown(options=["0", "1", "all"], value="all", description="acks", style=style),
        "idempotence": w.Dropdown(options=["default", "on", "off"], description="enable.idempotence", style=style),
        "linger_ms": w.IntSlider(value=5, min=0, max=100, description="linger.ms", style=style),
        "replication_factor": w.IntSlider(value=3, min=1, max=3, description="replication.factor", style=style),
        "min_insync_replicas": w.IntSlider(value=2, min=1, max=3, description="min.insync.replicas", style=style),
        "unclean_election": w.Checkbox(value=False, description="unclean election", style=style),
        "flush": w.Dropdown(options=list(FLUSH), description="flush.messages", style=style),
        "elr": w.Checkbox(value=False, description="ELR (KIP-966)", style=style),
        "commit": w.Dropdown(options=COMMITS, value="auto", description="consumer commits", style=style),
        "fault": w.Dropdown(options=list(FAULTS), description="fault", style=style),
        "duration_s": w.FloatSlider(value=20, min=5, max=60, step=5, description="seconds", style=style),
        "seed": w.IntText(value=1, description="seed", style=style),
    }


def explorer():
    """The widgets, a Run button and an output area; each click runs `explore` with the chosen values."""
    import ipywidgets as w
    from IPython.display import HTML, display

    from .config import KafkasimInputError

    controls = _widgets()
    button = w.Button(description="Run", button_style="primary")
    output = w.Output()

    def run(_button):
        output.clear_output()
        with output:
            try:
                result, figures = explore(**{name: control.value for name, control in controls.items()})
            except KafkasimInputError as err:  # e.g. min.insync.replicas above replication.factor
                display(HTML(f"<b>not a valid configuration:</b> {err}"))
                return
            display(result)
            for figure in figures:
                display(figure)

    button.on_click(run)
    columns = w.HBox([w.VBox(list(controls.values())[:6]), w.VBox(list(controls.values())[6:])])
    return w.VBox([columns, button, output])
