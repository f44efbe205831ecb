"""The consuming side: the application's instances and their KafkaConsumers (poll loop, processing,
commits, group membership) and the broker-side group coordinator."""

from .coordinator import GroupCoordinator
from .group import ConsumerApp, ConsumerGroup

__all__ = ["ConsumerApp", "ConsumerGroup", "GroupCoordinator"]
