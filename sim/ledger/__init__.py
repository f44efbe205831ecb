"""Ledger: the ground truth about every message (ledger.py), what can happen to one (outcomes.py) and the
message-id ranges the components report them in (ids.py)."""

from .ids import Ids, ids_count, ids_sub
from .ledger import Ledger, Outcome
from .outcomes import (CLASSES, F_BUFFER_EXHAUSTED, F_DELIVERY_TIMEOUT, F_FATAL, F_METADATA_TIMEOUT, F_PRODUCER_CRASH,
                       F_RECORD_TOO_LARGE, F_RETRIES_EXHAUSTED, FAIL_CAUSES, GONE_CAUSES, GONE_DISK, GONE_POWER_LOSS,
                       GONE_TRUNCATED, GONE_UNCLEAN, P_ACK, P_NACK_SEEN, P_NACK_UNSEEN, P_NONE, STAGES)

__all__ = ["CLASSES", "FAIL_CAUSES", "F_BUFFER_EXHAUSTED", "F_DELIVERY_TIMEOUT", "F_FATAL", "F_METADATA_TIMEOUT",
           "F_PRODUCER_CRASH", "F_RECORD_TOO_LARGE", "F_RETRIES_EXHAUSTED", "GONE_CAUSES", "GONE_DISK",
           "GONE_POWER_LOSS", "GONE_TRUNCATED", "GONE_UNCLEAN", "Ids", "Ledger", "Outcome", "P_ACK", "P_NACK_SEEN",
           "P_NACK_UNSEEN", "P_NONE", "STAGES", "ids_count", "ids_sub"]
