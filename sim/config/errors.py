"""Errors for bad user input: the CLI prints ``str(err)`` (always one line) and exits 2.

Kafka's counterpart is ``org.apache.kafka.common.config.ConfigException``, which also names the
key, the value and the reason.
"""

from __future__ import annotations

_NO_VALUE = "<no value>"


def _one_line(text: str) -> str:
    """One line, with control characters (terminal escape sequences, NUL) shown escaped, never sent raw."""
    return sanitize(" ".join(str(text).split()))


def sanitize(text: str) -> str:
    """Text safe to print to a terminal: every non-printable character as its escape (\\x1b, \\x00)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _show(value: object) -> str:
    """A value as the user wrote it: TOML spells booleans true/false."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {len(format(value, 'x')) * 4} bits>"
    text = str(value).lower() if isinstance(value, bool) else _one_line(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


class KafkasimInputError(Exception):
    """Base class of every user-input error (a scenario, a .properties file, a --set, an override)."""

    def __init__(self, message: str, source: str | None = None):
        super().__init__(message, source)
        self.message = _one_line(message)
        self.source = source

    def __str__(self) -> str:
        return f"{_one_line(str(self.source))}: {self.message}" if self.source else self.message

    def with_source(self, source: str | None) -> KafkasimInputError:
        """The same error attributed to ``source`` (a file name), unless it already names one."""
        if self.source or not source:
            return self
        args = self.args[:-1] + (source,)
        return type(self)(*args)


class ScenarioError(KafkasimInputError):
    """A scenario or .properties file is missing, unreadable or malformed."""


class ConfigError(KafkasimInputError):
    """A key or a value is wrong: ``key = value: reason`` on one line."""

    def __init__(self, key: str, value: object = _NO_VALUE, reason: str = "", source: str | None = None):
        no_value = isinstance(value, str) and value == _NO_VALUE
        message = f"{key}: {reason}" if no_value else f"{key} = {_show(value)}: {reason}"
        KafkasimInputError.__init__(self, message, source)
        self.args = (key, value, reason, source)
        self.key, self.value, self.reason = key, value, _one_line(reason)
