"""The local stack of real servers on loopback (see docs/platform.md §1).

PostgreSQL, Apache Kafka (KRaft), Neo4j Community, OpenSearch and redis-server with FalkorDB;
optionally a Milvus standalone server. ``aegis devstack up`` starts them for ``make run`` and
``make dev``; the test session starts its own copy on free ports through :class:`DevStack`.
"""

from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.stack import DevStack, Ports

__all__ = ["DevStack", "Ports", "StackError"]
