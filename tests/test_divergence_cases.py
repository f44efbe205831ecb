"""Log divergence after a leader election: the cases A-G of the Kafka replication description
("Detecting and avoiding log divergence", Vanlightly/kafka-tlaplus,
kafka_data_replication/kraft/v3.5/description/3_log_divergence.md and its divergence_case_*.svg).

Each case is the moment right after an election: both replicas know the new leader epoch, the new
leader has started it at its LEO (its epoch cache has the new epoch, with no record in it yet), the
follower has not (a follower learns an epoch from the batches it fetches). The follower then runs
Kafka's truncate-on-fetch loop (KIP-320):

  fetch (fetchOffset = its LEO, lastFetchedEpoch = the epoch of its last record)
  -> the leader looks up End Offset for Epoch(lastFetchedEpoch) = (largest epoch <= it, where that
     epoch ends in its log) and answers divergingEpoch = that pair when the epoch is smaller than
     lastFetchedEpoch or the end offset is smaller than fetchOffset; else it answers with records
  -> on a divergingEpoch {e, end}, the follower looks up its own End Offset for Epoch(e): if it has e,
     it truncates to min(its end of e, end); if it has only an earlier epoch, it truncates to where
     that one ends and fetches again (AbstractFetcherThread.getOffsetTruncationState)
  -> repeat until the leader answers with records; append them.

The helper below runs that loop between two ReplicaLog objects with kafkasim's own pieces:
ReplicaLog.divergence (the leader's check), ReplicaLog.truncation_point (the follower's reaction),
ReplicaLog.truncate_to, ReplicaLog.end_offset_for_epoch and ReplicaLog.batches_from. Each test asserts what the document states: the first fetch, the leader's
answer, the follower's own lookup, the truncation offset(s), and that the follower ends up holding
exactly the leader's log, record by record (offset, message id, leader epoch).

Logs are written as in the figures, one record per offset: (leader epoch, message id). Message ids
are distinct per record: 0, 1, ... for records both replicas hold, 10+ for records only the new leader
has, 20+ for the follower's divergent records.
"""

from __future__ import annotations

from sim.broker.replica_log import LogBatch, ReplicaLog
from sim.protocol import Diverging



def log_of(*records, new_epoch=None):
    """A replica's log from (leader epoch, message id) per offset, one record per batch as drawn.
    new_epoch: the leader epoch a new leader starts at its LEO (LeaderEpochFileCache.assign)."""
    log = ReplicaLog()
    for offset, (epoch, mid) in enumerate(records):
        log.append(LogBatch(offset, 1, (slice(mid, mid + 1),), epoch), 0.0)
    if new_epoch is not None:
        log.assign_epoch(new_epoch)
    return log


def contents(log):
    """[(offset, message id, leader epoch)] record by record."""
    out = []
    for b in log.batches:
        offset = b.base
        for s in b.ids:
            for mid in range(s.start, s.stop):
                out.append((offset, mid, b.epoch))
                offset += 1
        assert offset == b.end
    return out


def replicate(leader, follower, max_fetches=20):
    """Run the follower's fetch loop against the leader until it is caught up.

    Returns (fetches, truncations): fetches = [(fetch offset, last fetched epoch, the leader's
    divergence answer or None)] in order, the last one being the fetch that found nothing new;
    truncations = the offsets the follower truncated to."""
    truncations = []
    fetches = []
    for _ in range(max_fetches):
        offset, last_epoch = follower.leo, follower.latest_epoch
        answer = leader.divergence(offset, last_epoch)
        fetches.append((offset, last_epoch, answer))
        if answer is None:
            batches, _size = leader.batches_from(offset, 1048576, 100)  # replica.fetch.max.bytes, 100 B records
            if not batches:
                return fetches, truncations
            for batch in batches:
                follower.append(batch, 0.0)
            continue
        # Diverging: where the follower truncates; OutOfRange: what Follower.apply_fetch_response does
        point = follower.truncation_point(answer.epoch, answer.end) if isinstance(answer, Diverging) else answer.leo
        truncations.append(point)
        follower.truncate_to(point)
    raise AssertionError(f"no convergence after {max_fetches} fetches: {fetches}")


def assert_follower_matches_leader(leader, follower):
    assert contents(follower) == contents(leader)
    assert follower.leo == leader.leo
    # the follower's epoch cache is the leader's minus the epoch the leader has not written to yet
    written = [(e, start) for e, start in leader.epochs if start < leader.leo]
    assert follower.epochs == written


# -- no divergence --------------------------------------------------------------------------------

def test_case_a_follower_behind_in_the_same_epoch_appends_without_truncating():
    # (A) Behind #1. Follower [0-e1, 1-e1]; new leader (epoch 2) [0-e1 .. 3-e1], cache [1=>0, 2=>4].
    # Kafka: fetch {fetchOffset=2, lastFetchedEpoch=1}; the leader's epoch 1 ends at 4 >= 2, so
    # divergingEpoch=None and records 2, 3 come back; the follower appends them, no truncation.
    follower = log_of((1, 0), (1, 1))
    leader = log_of((1, 0), (1, 1), (1, 10), (1, 11), new_epoch=2)
    assert follower.epochs == [(1, 0)] and follower.leo == 2
    assert leader.epochs == [(1, 0), (2, 4)] and leader.leo == 4

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (2, 1, None)
    assert truncations == []
    assert fetches == [(2, 1, None), (4, 1, None)]  # one fetch with the records, then caught up
    assert contents(follower) == [(0, 0, 1), (1, 1, 1), (2, 10, 1), (3, 11, 1)]
    assert_follower_matches_leader(leader, follower)


def test_case_b_follower_behind_a_higher_epoch_appends_without_truncating():
    # (B) Behind #2. Follower [0-e1, 1-e1]; new leader (epoch 3) [0-e1, 1-e1, 2-e2, 3-e2],
    # cache [1=>0, 2=>2, 3=>4]. Kafka: fetch {2, 1}; the leader's epoch 1 ends at 2 = fetchOffset:
    # no divergence, the records of epoch 2 come back and are appended as they are.
    follower = log_of((1, 0), (1, 1))
    leader = log_of((1, 0), (1, 1), (2, 10), (2, 11), new_epoch=3)
    assert follower.epochs == [(1, 0)] and follower.leo == 2
    assert leader.epochs == [(1, 0), (2, 2), (3, 4)] and leader.leo == 4

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (2, 1, None)
    assert truncations == []
    assert fetches == [(2, 1, None), (4, 2, None)]
    assert contents(follower) == [(0, 0, 1), (1, 1, 1), (2, 10, 2), (3, 11, 2)]
    assert follower.epochs == [(1, 0), (2, 2)]
    assert_follower_matches_leader(leader, follower)


# -- divergence -----------------------------------------------------------------------------------

def test_case_c_follower_ahead_in_the_same_epoch_truncates_to_the_leaders_end_of_it():
    # (C) Ahead #1. Follower [0-e1 .. 3-e1] (LEO 4, cache [1=>0]); new leader (epoch 2) [0-e1, 1-e1],
    # cache [1=>0, 2=>2]. Kafka: fetch {4, 1}; epoch 1 is known to the leader but ends at 2 < 4, so
    # divergingEpoch {epoch=1, endOffset=2}; follower: min(local EOE(1) = 4, 2) = 2, truncate to 2.
    follower = log_of((1, 0), (1, 1), (1, 20), (1, 21))
    leader = log_of((1, 0), (1, 1), new_epoch=2)
    assert follower.epochs == [(1, 0)] and follower.leo == 4 and follower.latest_epoch == 1
    assert leader.epochs == [(1, 0), (2, 2)] and leader.leo == 2
    assert follower.end_offset_for_epoch(1) == (1, 4)  # the follower's own lookup

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (4, 1, Diverging(1, 2))
    assert truncations == [2]
    assert fetches[1:] == [(2, 1, None)]  # one round: the next fetch finds no divergence and nothing new
    assert contents(follower) == [(0, 0, 1), (1, 1, 1)]
    assert_follower_matches_leader(leader, follower)


def test_case_d_follower_ahead_with_a_higher_epoch_truncates_to_the_end_of_the_common_epoch():
    # (D) Ahead #2. Follower [0-e1, 1-e1, 2-e2, 3-e2] (LEO 4, cache [1=>0, 2=>2]); new leader
    # (epoch 3) [0-e1, 1-e1], cache [1=>0, 3=>2]. Kafka: fetch {4, 2}; the leader never had epoch 2:
    # the largest epoch <= 2 is 1, ending where epoch 3 starts (2): divergingEpoch {1, 2};
    # follower: min(local EOE(1) = 2, 2) = 2, truncate to 2.
    follower = log_of((1, 0), (1, 1), (2, 20), (2, 21))
    leader = log_of((1, 0), (1, 1), new_epoch=3)
    assert follower.epochs == [(1, 0), (2, 2)] and follower.leo == 4 and follower.latest_epoch == 2
    assert leader.epochs == [(1, 0), (3, 2)] and leader.leo == 2
    assert follower.end_offset_for_epoch(1) == (1, 2)

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (4, 2, Diverging(1, 2))
    assert truncations == [2]
    assert fetches[1:] == [(2, 1, None)]
    assert contents(follower) == [(0, 0, 1), (1, 1, 1)]
    assert follower.epochs == [(1, 0)]  # epoch 2 went with its records
    assert_follower_matches_leader(leader, follower)


def test_case_e_forked_logs_each_fork_in_its_own_epoch_truncate_to_the_fork_point():
    # (E) Forked #1. Follower [0-e1, 1-e1, 2-e2, 3-e2] (cache [1=>0, 2=>2]); new leader (epoch 4)
    # [0-e1, 1-e1, 2-e3, 3-e3], cache [1=>0, 3=>2, 4=>4]. Kafka: fetch {4, 2}; the leader has no
    # epoch 2: largest epoch <= 2 is 1, ending where epoch 3 starts: divergingEpoch {1, 2};
    # follower: min(local EOE(1) = 2, 2) = 2, truncate to 2, then fetch the leader's epoch-3 records.
    follower = log_of((1, 0), (1, 1), (2, 20), (2, 21))
    leader = log_of((1, 0), (1, 1), (3, 10), (3, 11), new_epoch=4)
    assert follower.epochs == [(1, 0), (2, 2)] and follower.leo == 4 and follower.latest_epoch == 2
    assert leader.epochs == [(1, 0), (3, 2), (4, 4)] and leader.leo == 4
    assert follower.end_offset_for_epoch(1) == (1, 2)

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (4, 2, Diverging(1, 2))
    assert truncations == [2]
    assert fetches[1:] == [(2, 1, None), (4, 3, None)]  # no second divergence: records, then caught up
    assert contents(follower) == [(0, 0, 1), (1, 1, 1), (2, 10, 3), (3, 11, 3)]
    assert follower.epochs == [(1, 0), (3, 2)]
    assert_follower_matches_leader(leader, follower)


def test_case_f_fork_inside_the_common_epoch_truncates_to_the_followers_end_of_it():
    # (F) Forked #2. Follower [0-e1, 1-e2, 2-e2] (LEO 3, cache [1=>0, 2=>1]); new leader (epoch 3)
    # [0-e1, 1-e1], cache [1=>0, 3=>2]. Kafka: fetch {3, 2}; the leader has no epoch 2: largest
    # epoch <= 2 is 1, ending at 2 (the start of epoch 3): divergingEpoch {1, 2}; follower:
    # min(local EOE(1) = 1, 2) = 1, truncate to 1 -- the leader's offset 1 (e1) is not the
    # follower's offset 1 (e2) -- and then fetch offset 1 of epoch 1 from the leader.
    follower = log_of((1, 0), (2, 20), (2, 21))
    leader = log_of((1, 0), (1, 10), new_epoch=3)
    assert follower.epochs == [(1, 0), (2, 1)] and follower.leo == 3 and follower.latest_epoch == 2
    assert leader.epochs == [(1, 0), (3, 2)] and leader.leo == 2
    assert follower.end_offset_for_epoch(1) == (1, 1)

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (3, 2, Diverging(1, 2))
    assert truncations == [1]
    assert fetches[1:] == [(1, 1, None), (2, 1, None)]
    assert contents(follower) == [(0, 0, 1), (1, 10, 1)]
    assert follower.epochs == [(1, 0)]
    assert_follower_matches_leader(leader, follower)


def test_case_g_no_common_epoch_truncates_the_whole_log():
    # (G) Forked #3. Follower [0-e2] (LEO 1, latest epoch 2); new leader (epoch 4) [0-e1, 1-e3],
    # cache [1=>0, 3=>1, 4=>2]. Kafka: fetch {1, 2}; the leader has no epoch 2: largest epoch <= 2
    # is 1, ending where epoch 3 starts (offset 1): divergingEpoch {1, 1}. The follower has no
    # epoch 1 nor any lower one: its End Offset for Epoch(1) is (1, start of its first epoch = 0);
    # min(0, 1) = 0: the whole log goes, then everything is fetched from offset 0.
    # (The figure's follower box reads "Cache=[1 => 0]", which contradicts its own log 0-e2,
    # "LatestEpoch=2" and the text "the follower does not have an epoch 1 or any lower epoch": the
    # cache of the log drawn is [2=>0]. The text also says "offset 2" once for the leader's end of
    # epoch 1 where the figure and the next sentence say 1; 1 is what the leader's cache gives.)
    follower = log_of((2, 20))
    leader = log_of((1, 0), (3, 10), new_epoch=4)
    assert follower.epochs == [(2, 0)] and follower.leo == 1 and follower.latest_epoch == 2
    assert leader.epochs == [(1, 0), (3, 1), (4, 2)] and leader.leo == 2
    assert follower.end_offset_for_epoch(1) == (1, 0)

    fetches, truncations = replicate(leader, follower)

    assert fetches[0] == (1, 2, Diverging(1, 1))
    assert truncations == [0]
    # an empty log names no epoch (Kafka: lastFetchedEpoch absent): no divergence check, records
    assert fetches[1:] == [(0, -1, None), (2, 3, None)]
    assert contents(follower) == [(0, 0, 1), (1, 10, 3)]
    assert follower.epochs == [(1, 0), (3, 1)]
    assert_follower_matches_leader(leader, follower)
