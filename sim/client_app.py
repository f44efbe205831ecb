"""ClientApp: an application process that runs one Kafka client at a time and outlives its crashes."""

from __future__ import annotations


class ClientApp:
    """Holds the current client instance; `new_client(n)` builds instance number n."""

    def __init__(self, env):
        self.env = env
        self.instances = 0
        self.client = None

    def new_client(self, instance: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> None:
        self.instances += 1
        self.client = self.new_client(self.instances)

    @property
    def up(self) -> bool:
        return self.client is not None and self.client.alive

    def crash(self) -> None:
        if self.up:
            self.client.crash()

    def on_connection_reset(self, reset) -> None:
        """A broker reset the connection (its process died): the client instance running now hears it."""
        if self.up:
            self.client.on_disconnect(reset.broker)
