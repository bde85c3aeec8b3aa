"""Public sources of support-programme announcements: connectors, parsing and the snapshot.

``parse(source, body, content_type)`` turns one response body of any source into a
:class:`SourcePage`; connectors page through a source over resilient HTTP.
"""

from aegis_orchestration.sources.errors import RejectedRecordError, SourceError
from aegis_orchestration.sources.page import Rejection, SourcePage
from aegis_orchestration.sources.parsing import parse

__all__ = ["RejectedRecordError", "Rejection", "SourceError", "SourcePage", "parse"]
