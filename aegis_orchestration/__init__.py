"""aegis_orchestration: the Dagster code location of the Aegis data platform."""
