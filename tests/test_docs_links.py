"""The README, docs/ and the notebooks stand alone: every relative link resolves inside the clone,
and nothing points at files outside it (../shared/...)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def documents():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "notebooks" / "README.md",
                 ROOT / "experiments" / "README.md"]:
        yield path, path.read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        yield path, "\n".join(c.source for c in cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path, text", list(documents()), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_every_relative_link_resolves_inside_the_clone(path, text):
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        resolved = (path.parent / target).resolve()
        assert resolved.exists(), f"{path.name}: {target}"
        assert ROOT in resolved.parents or resolved == ROOT, f"{path.name}: {target} leaves the clone"
    assert "../shared" not in text


def test_no_docstring_or_help_text_points_outside_the_clone():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sim").rglob("*.py") if "../shared" in p.read_text()]
    assert offenders == []
