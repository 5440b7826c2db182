"""Prometheus metrics and structured JSON logs of the running agents."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from enertwin.agents.bus.base import SubjectStats

LOG = logging.getLogger("enertwin.agents")


class AgentMetrics:
    """The agents' metrics on their own registry (served with :meth:`serve`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.latency = Histogram(
            "enertwin_decision_latency_seconds",
            "Seconds from telemetry in to actuation out, per round",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.depth = Gauge("enertwin_bus_queue_depth", "Events waiting per subject", ["subject"], registry=r)
        self.dropped = Gauge(
            "enertwin_bus_dropped", "Events dropped per subject (drop-oldest)", ["subject"], registry=r
        )
        self.redelivered = Gauge(
            "enertwin_bus_redelivered", "Events delivered again per subject", ["subject"], registry=r
        )
        self.blocks = Counter("enertwin_policy_blocks", "Proposals the policy engine blocked", registry=r)
        self.incidents = Counter("enertwin_incidents", "Incidents raised, by kind", ["kind"], registry=r)
        self.fallbacks = Counter("enertwin_fallbacks", "Rounds that ran the safe plan", ["plan"], registry=r)
        self.kill = Gauge("enertwin_kill_switch_engaged", "1 while a global kill switch is pulled", registry=r)

    def serve(self, port: int) -> None:
        """Serve ``/metrics`` on ``port`` (loopback only)."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def bus(self, stats: Mapping[str, SubjectStats]) -> None:
        """Copy the bus's per-subject counters."""
        for subject, s in stats.items():
            self.depth.labels(subject).set(s.depth)
            self.dropped.labels(subject).set(s.dropped)
            self.redelivered.labels(subject).set(s.redelivered)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``extra`` fields."""

    SKIP = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in self.SKIP}
        return json.dumps(entry, default=str)


def json_logs(level: int = logging.INFO) -> None:
    """Send the agents' (and the bus's) logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("enertwin.agents",):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
