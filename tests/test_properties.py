"""Java .properties parsing (java.util.Properties.load semantics) and loading real Kafka config files."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.config import SCHEMA, ConfigError, ScenarioError, load_config, load_properties_text
from sim.config.load import BROKER_TOPIC_DEFAULTS, UNMODELLED_KEYS, UNMODELLED_PREFIXES

# ------------------------------------------------------------------------------------------ parser


def test_comments_and_blank_lines():
    text = "# comment\n   ! another\n\n   \n\tkey=value # not a comment\n#a=b\n"
    assert load_properties_text(text) == {"key": "value # not a comment"}


@pytest.mark.parametrize("line, key, value", [
    ("a=1", "a", "1"),
    ("a:1", "a", "1"),
    ("a 1", "a", "1"),
    ("a = 1", "a", "1"),
    ("a\t:\t1", "a", "1"),
    ("   a    =    1", "a", "1"),
    ("a  1 2 ", "a", "1 2 "),  # Java keeps trailing whitespace of a value
    ("a", "a", ""),
    ("a=", "a", ""),
    ("a==1", "a", "=1"),
    ("a =:1", "a", ":1"),
    ("a\\=b=c", "a=b", "c"),
    ("a\\:b:c", "a:b", "c"),
    ("key\\ with\\ spaces = v", "key with spaces", "v"),
    ("=v", "", "v"),
])
def test_separators(line, key, value):
    assert load_properties_text(line) == {key: value}


def test_line_continuation():
    text = "list = a,\\\n      b,\\\n\t\tc\nnext=1\n"
    assert load_properties_text(text) == {"list": "a,b,c", "next": "1"}


def test_even_backslashes_do_not_continue():
    assert load_properties_text("path = c:\\\\\nnext = 1\n") == {"path": "c:\\", "next": "1"}


def test_continued_line_starting_with_hash_is_not_a_comment():
    assert load_properties_text("a = 1,\\\n  # 2\n") == {"a": "1,# 2"}


def test_comment_line_ending_in_backslash_does_not_continue():
    assert load_properties_text("# comment \\\nx=1\n") == {"x": "1"}


def test_backslash_at_end_of_file_is_dropped():
    assert load_properties_text("a=1\\") == {"a": "1"}


def test_escapes():
    text = "a = tab\\there\nb = \\n\\r\\f\nc = back\\\\slash\nd = \\=\\:\\#\\!\\q\n"
    assert load_properties_text(text) == {"a": "tab\there", "b": "\n\r\f", "c": "back\\slash", "d": "=:#!q"}


def test_unicode_escapes():
    text = "e = caf\\u00E9\nsmile = \\uD83D\\uDE00\nk\\u0065y = v\n"
    assert load_properties_text(text) == {"e": "café", "smile": "\U0001F600", "key": "v"}


def test_malformed_unicode_escape_names_the_line():
    with pytest.raises(ScenarioError) as info:
        load_properties_text("a=1\nb = \\u12G4\n")
    assert str(info.value) == "line 2: malformed \\uXXXX escape: '\\\\u12G4'"


def test_line_endings_and_last_key_wins():
    assert load_properties_text("a=1\r\nb=2\rc=3\na=4") == {"a": "4", "b": "2", "c": "3"}


def _store(props: dict[str, str]) -> str:
    """Java's Properties.store escaping, written independently of the parser under test."""
    def escape(text: str, is_key: bool) -> str:
        out = []
        for i, char in enumerate(text):
            if char == " " and (is_key or i == 0):
                out.append("\\ ")
            elif char in "\\=:#!":
                out.append("\\" + char)
            elif char in "\t\n\r\f":
                out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
            elif ord(char) < 0x20 or ord(char) > 0x7E:
                out.append("".join(f"\\u{unit:04X}" for unit in _utf16_units(char)))
            else:
                out.append(char)
        return "".join(out)

    return "#generated\n" + "".join(f"{escape(k, True)}={escape(v, False)}\n" for k, v in props.items())


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.dictionaries(_text, _text, max_size=8))
def test_store_then_load_round_trips(props):
    assert load_properties_text(_store(props)) == props


# ------------------------------------------------------------------------------------ Kafka files

SERVER_PROPERTIES = """\
############################# Server Basics #############################
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=3
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=true
# The number of messages to accept before forcing a flush of data to disk
log.flush.interval.messages=10000
#log.flush.interval.ms=1000
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
replica.lag.time.max.ms=10000
"""


def _file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_broker_file_maps_topic_defaults_and_ignores_the_rest(tmp_path):
    path = _file(tmp_path, "server.properties", SERVER_PROPERTIES)
    cfg = load_config(broker_config=path, overrides={"cluster.brokers": 3})
    assert cfg["topic.partitions"] == 3
    assert cfg["topic.replication.factor"] == 3
    assert cfg["topic.min.insync.replicas"] == 2
    assert cfg["topic.unclean.leader.election.enable"] is True
    assert cfg["broker.log.flush.interval.messages"] == 10000
    assert cfg["topic.flush.messages"] == 10000  # the topic inherits the broker default
    assert cfg["broker.replica.lag.time.max.ms"] == 10000
    assert cfg.explicit >= {"topic.partitions", "broker.replica.lag.time.max.ms"}
    (note,) = cfg.notes
    assert cfg["broker.log.segment.bytes"] == 1073741824  # modelled: segment rolls flush
    assert note.startswith(f"{path}: ignored 21 Kafka configs the model does not use: process.roles, node.id, ")
    assert note.endswith("log.retention.check.interval.ms")
    assert "num.partitions" not in note and "\n" not in note


def test_client_files(tmp_path):
    producer = _file(tmp_path, "producer.properties", (
        "bootstrap.servers=localhost:9092\ncompression.type=none\n"
        "key.serializer=org.apache.kafka.common.serialization.StringSerializer\n"
        "acks=1\nlinger.ms = 20\nenable.idempotence=false\nssl.truststore.location=/x\n"))
    consumer = _file(tmp_path, "consumer.properties", (
        "bootstrap.servers=localhost:9092\ngroup.id=test-consumer-group\nauto.offset.reset=earliest\n"
        "enable.auto.commit=false\nsession.timeout.ms=45000\nmax.poll.records = 100  \n"))
    cfg = load_config(producer_config=producer, consumer_config=consumer)
    assert cfg["producer.acks"] == "1" and cfg["producer.linger.ms"] == 20
    assert cfg["producer.enable.idempotence"] is False
    assert cfg["consumer.auto.offset.reset"] == "earliest" and cfg["consumer.enable.auto.commit"] is False
    assert cfg["consumer.max.poll.records"] == 100  # trailing whitespace trimmed, as Kafka does
    assert cfg.notes[0] == (f"{producer}: ignored 4 Kafka configs the model does not use: "
                            "bootstrap.servers, compression.type, key.serializer, ssl.truststore.location")
    assert cfg["consumer.session.timeout.ms"] == 45000  # modelled now, no longer ignored
    assert cfg.notes[1] == f"{consumer}: ignored 2 Kafka configs the model does not use: bootstrap.servers, group.id"


def test_properties_are_below_set_in_precedence(tmp_path):
    producer = _file(tmp_path, "p.properties", "acks=1\n")
    cfg = load_config(producer_config=producer, sets=["producer.acks=all"])
    assert cfg["producer.acks"] == "all" and cfg["producer.enable.idempotence"] is True


@pytest.mark.parametrize("role, text, expected", [
    ("producer", "ack=all\n", "ack = 'all': unknown producer config (did you mean acks?)"),
    ("producer", "bootstrap.server=x:9092\n", "bootstrap.server = 'x:9092': unknown producer config (did you mean bootstrap.servers?)"),
    ("consumer", "enable.auto.comit=false\n", "enable.auto.comit = 'false': unknown consumer config (did you mean enable.auto.commit?)"),
    ("broker", "num.partiton=3\n", "num.partiton = '3': unknown broker config (did you mean num.partitions?)"),
    ("broker", "flush.messages=1\n", "flush.messages = '1': unknown broker config"),
    ("producer", "app.callback=checked\n", "app.callback = 'checked': not a Kafka producer config; set producer.app.callback"),
    ("broker", "vm.dirty_expire_centisecs=100\n", "not a Kafka broker config; set broker.vm.dirty_expire_centisecs"),
    ("producer", "acks=2\n", "producer.acks = '2': must be one of '0', '1', 'all'"),
    ("consumer", "max.poll.records=0\n", "consumer.max.poll.records = '0': must be >= 1"),
    ("broker", "min.insync.replicas=2\n", "topic.min.insync.replicas = 2: exceeds topic.replication.factor = 1"),
    ("producer", "linger.ms=\\u00zz\n", "line 1: malformed \\uXXXX escape"),
])
def test_bad_properties(tmp_path, role, text, expected):
    path = _file(tmp_path, f"{role}.properties", text)
    with pytest.raises((ConfigError, ScenarioError)) as info:
        load_config(**{f"{role}_config": path})
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_missing_properties_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_config(consumer_config=tmp_path / "nope.properties")
    assert str(info.value) == f"{tmp_path / 'nope.properties'}: file not found"


def test_latin1_file_is_read_like_java(tmp_path):
    path = tmp_path / "p.properties"
    path.write_bytes(b"client.id=caf\xe9\nacks=0\n")
    assert load_config(producer_config=path)["producer.acks"] == "0"


def test_ignore_lists_never_shadow_a_modelled_key():
    for role in ("producer", "consumer", "broker"):
        modelled = {k.kafka_name for k in SCHEMA.values() if k.section == role}
        modelled |= set(BROKER_TOPIC_DEFAULTS) if role == "broker" else set()
        for name in modelled:
            assert name not in UNMODELLED_KEYS[role], (role, name)
            assert not name.startswith(UNMODELLED_PREFIXES[role]), (role, name)
