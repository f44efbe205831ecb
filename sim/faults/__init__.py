"""Faults: every kind of failure the model injects, scripted ([[faults]]) or at random rates ([chaos]).

kinds.py is the table of fault kinds; injector.py applies faults at their times; chaos.py draws the
random ones. Nothing here imports the configuration package (the config schema reads kinds.py).
"""

from .chaos import random_faults
from .fault import Fault
from .injector import FaultInjector
from .kinds import CHAOS_KINDS, FAULT_KINDS

__all__ = ["CHAOS_KINDS", "FAULT_KINDS", "Fault", "FaultInjector", "random_faults"]
