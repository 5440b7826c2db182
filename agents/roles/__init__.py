"""Agent roles: telemetry ingest, forecaster, optimizer, coordinator, actuator adapter."""
