"""Test helpers that ship with the library: a scripted model, and a fault-injecting proxy / stand-in server.

The reliability campaign built on them is `reasoning.testing.campaign` (imported on its own: it pulls in the
server and the HTTP backend)."""

from .fault_proxy import Fault, FaultProxy, ProxyEvent, ProxyStats
from .scripted import ScriptedModel

__all__ = ["Fault", "FaultProxy", "ProxyEvent", "ProxyStats", "ScriptedModel"]
