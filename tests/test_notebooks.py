"""The notebooks: committed without outputs, each opening with what the learner will see and why,
and each executing from top to bottom in quick mode (KAFKASIM_QUICK=1) with its pictures inline.

They run through nbclient on a kernel of this very interpreter (a kernelspec written to a temporary
JUPYTER_PATH, so no "No such kernel named python3" and no other Python's kernel), two at a time.
"""

from __future__ import annotations

import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "kafkasim-tests"
EXPECTED = ["00_quickstart", "01_seed_question", "02_producer", "03_broker", "04_consumer", "05_explorer",
            "06_experiments"]


def test_the_tutorial_is_complete():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_opening_with_what_and_why(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "**What you will see.**" in first.source and "**Why it matters.**" in first.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "notebook.quick()" in code or "notebook.sized(" in code  # it shrinks itself in quick mode
    assert not re.search(r"^\s*(def|class) ", code, re.M)  # no model logic: helpers live in sim/


def _kernelspec(folder: Path) -> None:
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kafkasim tests", "language": "python"}))


def _execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as err:  # reported by the test of this notebook
        return nb, err
    return nb, None


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jupyter")
    _kernelspec(folder)
    saved = dict(os.environ)
    os.environ.update({"JUPYTER_PATH": str(folder), "KAFKASIM_QUICK": "1",
                       "KAFKASIM_RESULTS": str(folder / "results")})
    os.environ.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in Jupyter
    try:
        with ThreadPoolExecutor(2) as pool:
            return dict(zip(NOTEBOOKS, pool.map(_execute, NOTEBOOKS), strict=True))
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_in_quick_mode_with_its_pictures_inline(executed, path):
    nb, error = executed[path]
    assert error is None, str(error)[-3000:]
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "no picture was shown inline"
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert html, "no table was shown as HTML"
