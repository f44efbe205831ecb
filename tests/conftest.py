"""pytest fixtures shared by the test modules (helpers live in simtest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def log():
    """A list a timeline test appends (event, time) tuples to, as in SimPy's own tests."""
    return []
