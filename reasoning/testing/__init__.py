"""Test helpers that ship with the library: a scripted model, and a fault-injecting proxy / stand-in server."""

from .fault_proxy import Fault, FaultProxy, ProxyStats
from .scripted import ScriptedModel

__all__ = ["Fault", "FaultProxy", "ProxyStats", "ScriptedModel"]
