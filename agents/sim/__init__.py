"""The sandbox: SimBench replayed as telemetry, a simulated plant, KPIs, reports and shadow mode."""
