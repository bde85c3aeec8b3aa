"""aegis_shared: the library every Aegis service and job imports.

It never imports Dagster; :mod:`aegis_orchestration.resources` adapts it for Dagster.
"""

__version__ = "0.1.0"
