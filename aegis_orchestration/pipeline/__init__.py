"""Pipeline logic shared by the cold path, the hot path and serve mode; plain Python, no Dagster.

:func:`preview` runs the cold path's decisions on announcements without any store.
"""

from aegis_orchestration.pipeline.decisions import Preview, PreviewPolicy, PreviewRejection, preview

__all__ = ["Preview", "PreviewPolicy", "PreviewRejection", "preview"]
