"""Pipeline logic shared by the cold path, the hot path and serve mode; plain Python, no Dagster."""
