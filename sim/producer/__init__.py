"""The producer client: application thread, record accumulator, sender (I/O thread)."""

from .producer import Producer

__all__ = ["Producer"]
