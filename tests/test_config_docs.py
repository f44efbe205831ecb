"""docs/config.md is generated from the schema and must be current."""

from pathlib import Path

from sim.config import SCHEMA, SECTIONS
from sim.config import docs
from sim.config.schema import FAULT_ACTIONS, FAULT_FIELDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def test_docs_config_md_is_current():
    assert DOC.read_text(encoding="utf-8") == docs.render_markdown(), (
        "docs/config.md is stale: run `.venv/bin/python -m sim.config.docs --write` and commit the result")


def test_every_key_and_fault_field_is_documented():
    text = docs.render_markdown()
    assert "Kafka 4.x" in text and "python -m sim.config.docs --write" in text
    for section in SECTIONS:
        assert f"## [{section}]" in text
    for key in SCHEMA.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{key.kafka_name}` |")
                  and _section_of(text, line) == key.section]
        assert key.doc in row and key.origin in row
    for name in list(FAULT_FIELDS) + list(FAULT_ACTIONS):
        assert f"| `{name}` |" in text


def _section_of(text: str, row: str) -> str:
    before = text[: text.index(row)]
    return before[before.rindex("## [") + 4:].split("]", 1)[0]


def test_documented_allowed_values():
    text = docs.render_markdown()
    assert "| `acks` | `all` |  | `0` / `1` / `all` (also `-1` = `all`) | kafka |" in text
    assert "| `log.flush.interval.messages` | `2^63-1` (never) | messages | >= 1 and <= 2^63-1 | kafka |" in text
    assert "| `packet.loss` | `0` | probability | >= 0 and < 1 | model |" in text
    assert "`classic` / `consumer`; not modelled yet: `consumer`" in text


def test_check_mode(tmp_path, monkeypatch, capsys):
    target = tmp_path / "config.md"
    monkeypatch.setattr(docs, "DOC_PATH", target)
    assert docs.main(["--check"]) == 1
    assert "python -m sim.config.docs --write" in capsys.readouterr().err
    assert docs.main(["--write"]) == 0
    assert docs.main(["--check"]) == 0
    assert target.read_text(encoding="utf-8") == docs.render_markdown()
