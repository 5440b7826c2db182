"""The data-quality gates: each failure is an incident, and the value that failed is not passed on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from enertwin.agents.events import EventRefused, Telemetry, decode
from enertwin.agents.roles.telemetry_ingest import AssetLimit, TelemetryIngest
from enertwin.agents.settings.values import shipped_settings

NOW = datetime(2016, 1, 14, tzinfo=UTC)
LOAD, PV = "https://example.org/load", "https://example.org/pv"


def ingest() -> TelemetryIngest:
    limits = [AssetLimit(LOAD, "load", 10.0), AssetLimit(PV, "renewable", 5.0)]
    return TelemetryIngest(limits, replace(shipped_settings().gates, frozen_count=3))


def event(values: dict[str, float], at: datetime = NOW, quantity: str = "p_mw") -> Telemetry:
    return Telemetry(source="https://example.org/meter", at=at, quantity=quantity, values=values)


def kinds(result: object) -> list[str]:
    return sorted(i.kind for i in result.incidents)  # type: ignore[attr-defined]


def test_good_values_pass() -> None:
    result = ingest().check(event({LOAD: 4.0, PV: 1.0}), NOW)
    assert result.accepted == {LOAD: 4.0, PV: 1.0} and result.incidents == []


def test_missing_value_is_an_incident_and_left_out() -> None:
    result = ingest().check(event({LOAD: 4.0}), NOW)
    assert kinds(result) == ["missing"] and result.accepted == {LOAD: 4.0}
    assert result.failed_assets == {PV}


def test_stale_telemetry_passes_nothing() -> None:
    result = ingest().check(event({LOAD: 4.0, PV: 1.0}, at=NOW - timedelta(hours=2)), NOW)
    assert kinds(result) == ["stale", "stale"] and result.accepted == {}


def test_out_of_physical_range() -> None:
    result = ingest().check(event({LOAD: 400.0, PV: 1.0}), NOW)
    assert kinds(result) == ["out-of-range"] and LOAD not in result.accepted


def test_frozen_value() -> None:
    gates = ingest()
    results = [gates.check(event({LOAD: 4.0, PV: 1.0 + i}), NOW) for i in range(3)]
    assert kinds(results[-1]) == ["frozen"] and LOAD not in results[-1].accepted


def test_schema_drift_unknown_asset_and_quantity() -> None:
    gates = ingest()
    assert kinds(gates.check(event({LOAD: 4.0, PV: 1.0, "https://example.org/new": 1.0}), NOW)) == ["schema-drift"]
    assert kinds(gates.check(event({LOAD: 4.0}, quantity="q_mvar"), NOW)) == ["schema-drift"]


def test_a_refused_event_is_an_incident_not_a_crash() -> None:
    try:
        decode(b'{"schema":"telemetry","version":"9.0","event":{}}')
    except EventRefused as error:
        incident = ingest().refused(error, NOW, "x")
    assert incident.kind == "schema-drift" and incident.severity == "critical"
