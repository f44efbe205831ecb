"""The consumer configs the model honours, in model units (seconds)."""

from __future__ import annotations

from ..records import record_bytes


def consumer_settings(cfg) -> dict:
    commit = cfg["consumer.app.commit"]
    message_bytes = cfg["workload.message.bytes"]
    return {
        "commit": commit,
        "auto_commit": bool(cfg["consumer.enable.auto.commit"]),
        "auto_commit_interval": cfg.seconds("consumer.auto.commit.interval.ms"),
        "reset": cfg["consumer.auto.offset.reset"],
        "max_poll_records": cfg["consumer.max.poll.records"],
        "fetch_min_bytes": cfg["consumer.fetch.min.bytes"],
        "fetch_max_wait": cfg.seconds("consumer.fetch.max.wait.ms"),
        "record_bytes": record_bytes(message_bytes),
        "partition_max_records": max(1, cfg["consumer.max.partition.fetch.bytes"] // record_bytes(message_bytes)),
        "api_timeout": cfg.seconds("consumer.default.api.timeout.ms"),
        "request_timeout": cfg.seconds("consumer.request.timeout.ms"),
        "retry_backoff": cfg.seconds("consumer.retry.backoff.ms"),
        "session": cfg.seconds("consumer.session.timeout.ms"),
        "heartbeat": cfg.seconds("consumer.heartbeat.interval.ms"),
        "rebalance": cfg.seconds("consumer.max.poll.interval.ms"),  # max.poll.interval.ms is the rebalance timeout
        "processing": cfg["consumer.app.processing"],
        "workers": cfg["consumer.app.workers"],
        "queue_polls": cfg["consumer.app.queue.polls"],
        "record_time": cfg["consumer.app.record.processing.ms"] / 1000.0,
        "record_distribution": cfg["consumer.app.record.processing.distribution"],
        "error_policy": cfg["consumer.app.error.policy"],
    }
