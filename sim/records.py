"""Sizes of records and batches on the wire (record format v2, uncompressed, no key or headers)."""

from __future__ import annotations

BATCH_OVERHEAD = 61  # DefaultRecordBatch header
RECORD_OVERHEAD = 10  # varint lengths, attributes, timestamp and offset deltas


def record_bytes(message_bytes: int) -> int:
    return message_bytes + RECORD_OVERHEAD


def batch_bytes(records: int, message_bytes: int) -> int:
    return BATCH_OVERHEAD + records * record_bytes(message_bytes)
