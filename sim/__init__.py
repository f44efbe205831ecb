"""kafkasim: a discrete-event simulator of the Kafka message lifecycle.

Every message a simulated producer sends is followed to its end -- delivered,
duplicated, lost after acknowledgement, failed, or never completed -- so that
loss and duplication can be counted per configuration.
"""

__version__ = "0.1.0"
