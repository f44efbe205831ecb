"""The consumer client: poll loop, processing, offset commits, and the group coordinator."""

from .consumer import ConsumerApp
from .coordinator import GroupCoordinator

__all__ = ["ConsumerApp", "GroupCoordinator"]
