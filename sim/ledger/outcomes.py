"""What can happen to a message: the producer's result and failure causes, why a copy left a replica's
log, and the outcome classes every message ends in (checked in this order, the first match wins)."""

# Producer result (P in design.md)
P_NONE, P_ACK, P_NACK_SEEN, P_NACK_UNSEEN = 0, 1, 2, 3

# Why the producer reported a failure (index into FAIL_CAUSES)
FAIL_CAUSES = ("", "delivery_timeout", "retries_exhausted", "buffer_exhausted", "fatal_error",
               "producer_crash", "metadata_timeout", "record_too_large")
F_DELIVERY_TIMEOUT, F_RETRIES_EXHAUSTED, F_BUFFER_EXHAUSTED, F_FATAL, F_PRODUCER_CRASH = 1, 2, 3, 4, 5
F_METADATA_TIMEOUT, F_RECORD_TOO_LARGE = 6, 7  # send() failed before the record reached the accumulator

# Why a copy left a replica's log (bit flags); the first that applies names the durability loss. A replica
# writing the record again clears them (Ledger.clear_gone): only removals since then can explain a loss.
GONE_POWER_LOSS, GONE_TRUNCATED, GONE_UNCLEAN, GONE_DISK = 1, 2, 4, 8
GONE_CAUSES = ((GONE_POWER_LOSS, "power_loss"), (GONE_DISK, "disk_failure"), (GONE_UNCLEAN, "unclean_election"),
               (GONE_TRUNCATED, "truncation"))

CLASSES = ("duplicated", "delivered", "lost_acked", "failed_visible", "failed_silent",
           "lost_unacked", "unconsumed")
STAGES = ("producer", "broker", "consumer")
