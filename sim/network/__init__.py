"""Network: the links between clients, brokers and the controller (links.py): delays, per-link order,
TCP retransmission of lost transmissions, cut links and impairments."""

from .links import BROKERS, CLIENTS, CONTROLLER, GROUPS, Network, broker_node, group_of

__all__ = ["BROKERS", "CLIENTS", "CONTROLLER", "GROUPS", "Network", "broker_node", "group_of"]
