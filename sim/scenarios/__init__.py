"""Built-in scenario files."""

from __future__ import annotations

from importlib import resources


def default_path():
    """A path to the built-in default scenario."""
    return resources.files(__name__).joinpath("default.toml")
