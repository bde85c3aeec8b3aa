"""The local embedded stack: real PostgreSQL, Kafka-protocol broker and FalkorDB/Redis on loopback.

``aegis devstack up`` starts them for ``make run``/``make dev``; the test session starts its own
copy on free ports through :class:`DevStack` directly.
"""

from aegis_orchestration.devstack.stack import DevStack, Ports, StackError

__all__ = ["DevStack", "Ports", "StackError"]
