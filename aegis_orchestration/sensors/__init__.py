"""Sensors: run failures and the hot path's Kafka sensor."""
