"""aegis_shared: the library every Aegis service and job imports.

It never imports Dagster; :mod:`aegis_orchestration.resources` adapts it for Dagster. Importing it
imports nothing optional: each capability package checks for its extra when it is imported
(:mod:`aegis_shared._extras`), and the schemas ship inside it (:mod:`aegis_shared.schemas`).
"""

__version__ = "0.1.0"
