"""Synthetic portfolio of SimBench size, for timing the shape validator by hand.

Not a test (pytest does not collect it). Run::

    python tests/kg/synthetic.py            # ~1.7 M triples
    python tests/kg/synthetic.py --scale 0.1

It prints the size of the store and how long ``ShapeValidator.validate`` takes
on it and on a store holding one thermal unit with its neighbours.
"""

from __future__ import annotations

import argparse
import io
import time

from pyoxigraph import RdfFormat, Store

ET = "https://w3id.org/enertwin/ontology#"
ID = "https://w3id.org/enertwin/id/"
GRAPH = "<https://w3id.org/enertwin/graph/synthetic>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Element counts at scale 1 (≈ 220 k nodes, ≈ 1.7 M triples).
COUNTS = {
    "bus": 40_000,
    "line": 35_000,
    "load": 45_000,
    "renewable": 40_000,
    "series": 30_000,
    "switch": 20_000,
    "transformer": 5_000,
    "thermal": 2_000,
    "storage": 2_000,
    "external_grid": 1_000,
    "fuel": 10,
}


def _d(value: float) -> str:
    return f'"{value!r}"^^<{XSD}double>'


def _i(value: int) -> str:
    return f'"{value}"^^<{XSD}integer>'


def _b(value: bool) -> str:
    return f'"{str(value).lower()}"^^<{XSD}boolean>'


def _s(value: str) -> str:
    return f'"{value}"'


def _et(local: str) -> str:
    return f"<{ET}{local}>"


def _id(kind: str, n: int) -> str:
    return f"<{ID}{kind}/{n}>"


class _Writer:
    def __init__(self) -> None:
        self.out = io.StringIO()
        self.triples = 0

    def node(self, subject: str, cls: str, name: str, props: list[tuple[str, str]]) -> None:
        write = self.out.write
        write(f"{subject} {RDF_TYPE} {_et(cls)} {GRAPH} .\n")
        write(f"{subject} {LABEL} {_s(name)} {GRAPH} .\n")
        write(f"{subject} {_et('sourceName')} {_s(name)} {GRAPH} .\n")
        for prop, value in props:
            write(f"{subject} {_et(prop)} {value} {GRAPH} .\n")
        self.triples += 3 + len(props)


def portfolio_nquads(scale: float = 1.0) -> tuple[str, int]:
    """Return (N-Quads text, triple count) of a valid synthetic portfolio."""
    n = {k: max(1, int(v * scale)) for k, v in COUNTS.items()}
    w = _Writer()
    grid = _id("grid", 0)
    w.node(grid, "Grid", "grid", [])
    market = _id("market", 0)
    w.node(market, "Market", "market", [])
    for i in range(n["fuel"]):
        w.node(_id("fuel", i), "FuelType", f"fuel {i}", [("fuelCode", _s(f"F{i}"))])
    model = _id("costmodel", 0)
    props = [("co2Price", _d(80.0)), ("marketSpread", _d(2.0)), ("valueOfLostLoad", _d(3000.0))]
    props += [("hasCostEntry", _id("costentry", i)) for i in range(n["fuel"])]
    w.node(model, "CostModel", "cost model", props)
    for i in range(n["fuel"]):
        w.node(
            _id("costentry", i),
            "CostEntry",
            f"cost {i}",
            [
                ("forFuelType", _id("fuel", i)),
                ("marginalCost", _d(40.0 + i)),
                ("emissionFactor", _d(0.3)),
                ("startCost", _d(100.0)),
                ("rampShare", _d(0.5)),
                ("minUpTime", _d(2.0)),
                ("minDownTime", _d(2.0)),
            ],
        )
    for i in range(n["series"]):
        w.node(
            _id("series", i),
            "Profile",
            f"profile {i}",
            [
                ("seriesKey", _s(f"profile-{i}")),
                ("storedIn", _s("profiles.parquet")),
                ("resolution", f'"PT15M"^^<{XSD}duration>'),
                ("hasUnit", "<http://qudt.org/vocab/unit/MegaW>"),
                ("startTime", f'"2016-01-01T00:00:00Z"^^<{XSD}dateTime>'),
                ("stepCount", _i(35136)),
            ],
        )
    buses = n["bus"]
    for i in range(buses):
        w.node(
            _id("bus", i),
            "Bus",
            f"bus {i}",
            [
                ("nominalVoltage", _d(20.0)),
                ("inGrid", grid),
                ("inService", _b(True)),
                ("voltageLevel", _i(5)),
                ("subnet", _s("MV1.101")),
            ],
        )
    for i in range(n["line"]):
        w.node(
            _id("line", i),
            "Line",
            f"line {i}",
            [
                ("fromBus", _id("bus", i % buses)),
                ("toBus", _id("bus", (i + 1) % buses)),
                ("length", _d(1.5)),
                ("resistancePerKm", _d(0.2)),
                ("reactancePerKm", _d(0.1)),
                ("maxCurrent", _d(0.3)),
                ("inService", _b(True)),
            ],
        )
    for i in range(n["transformer"]):
        w.node(
            _id("trafo", i),
            "Transformer",
            f"trafo {i}",
            [
                ("hvBus", _id("bus", i % buses)),
                ("lvBus", _id("bus", (i + 7) % buses)),
                ("ratedApparentPower", _d(40.0)),
            ],
        )
    for i in range(n["switch"]):
        element = _id("line", i % n["line"]) if i % 2 else _id("bus", (i + 3) % buses)
        w.node(
            _id("switch", i),
            "Switch",
            f"switch {i}",
            [("switchBus", _id("bus", i % buses)), ("switchedElement", element), ("isClosed", _b(True))],
        )
    series = n["series"]
    for i in range(n["load"]):
        w.node(
            _id("load", i),
            "Load",
            f"load {i}",
            [
                ("atBus", _id("bus", i % buses)),
                ("activePower", _d(0.01)),
                ("hasProfile", _id("series", i % series)),
            ],
        )
    for i in range(n["renewable"]):
        w.node(
            _id("res", i),
            "RenewableUnit",
            f"res {i}",
            [
                ("atBus", _id("bus", i % buses)),
                ("activePower", _d(0.2)),
                ("technology", _s("PV")),
                ("hasProfile", _id("series", (i + 11) % series)),
            ],
        )
    for i in range(n["thermal"]):
        w.node(
            _id("thermal", i),
            "ThermalUnit",
            f"thermal {i}",
            [
                ("atBus", _id("bus", i % buses)),
                ("minActivePower", _d(1.0)),
                ("maxActivePower", _d(10.0)),
                ("hasFuelType", _id("fuel", i % n["fuel"])),
            ],
        )
    for i in range(n["storage"]):
        w.node(
            _id("storage", i),
            "Storage",
            f"storage {i}",
            [
                ("atBus", _id("bus", i % buses)),
                ("roundTripEfficiency", _d(0.9)),
                ("energyCapacity", _d(4.0)),
                ("minEnergy", _d(0.5)),
                ("ratedApparentPower", _d(1.0)),
                ("selfDischargePercentPerDay", _d(0.1)),
            ],
        )
    for i in range(n["external_grid"]):
        w.node(
            _id("extgrid", i),
            "ExternalGrid",
            f"ext grid {i}",
            [("atBus", _id("bus", i % buses)), ("maxActivePower", _d(100.0)), ("tradesOn", market)],
        )
    return w.out.getvalue(), w.triples


def portfolio_store(scale: float = 1.0) -> Store:
    """Return an in-memory store holding the synthetic portfolio."""
    text, _ = portfolio_nquads(scale)
    store = Store()
    store.bulk_load(text.encode(), format=RdfFormat.N_QUADS)
    return store


def one_asset_store() -> Store:
    """Return a store holding one thermal unit and its neighbours (nothing dangling)."""
    big = portfolio_store(scale=0.0001)
    keep = {f"{ID}{n}" for n in ("thermal/0", "bus/0", "grid/0", "fuel/0", "costentry/0", "costmodel/0")}
    store = Store()
    store.extend(
        q for q in big if q.subject.value in keep and (not q.object.value.startswith(ID) or q.object.value in keep)
    )
    return store


def main() -> None:
    """Time the validator on the synthetic stores."""
    from enertwin.kg.validation.shacl import ShapeValidator

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    store = portfolio_store(args.scale)
    print(f"built {len(store)} quads in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    validator = ShapeValidator.default()
    print(f"compiled {len(validator.queries)} queries in {time.perf_counter() - t0:.3f} s")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        found = validator.validate(store)
        print(f"validate: {time.perf_counter() - t0:.2f} s, {len(found)} violations")
    for v in found[:10]:
        print("  ", v.describe())
    small = one_asset_store()
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        found = validator.validate(small)
        ms = (time.perf_counter() - t0) * 1000
        print(f"one asset ({len(small)} quads): {ms:.1f} ms, {len(found)} violations")


if __name__ == "__main__":
    main()
