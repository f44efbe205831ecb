"""Controller: the KRaft controller quorum, reduced to one always-available node (controller.py), and the
partition state it owns (partition_state.py)."""

from .controller import NODE, Controller
from .partition_state import PartitionState

__all__ = ["NODE", "Controller", "PartitionState"]
