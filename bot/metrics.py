"""Prometheus metrics on a registry of the app's own (tests build many apps in one process).

Counters are bumped where things happen (the desk, the relay); the outbox gauges are
read from the database when /metrics is scraped (handlers/health.py), so every worker reports the
shared truth rather than what it alone has seen.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "priem_inbound_messages", "Inbound client messages stored", ["channel"], registry=self.registry
        )
        self.duplicates = Counter(
            "priem_inbound_duplicates", "Inbound deliveries dropped as duplicates", ["channel"], registry=self.registry
        )
        self.outbound = Counter(
            "priem_outbox_results", "Outbox send attempts by result", ["channel", "result"], registry=self.registry
        )
        self.alerts = Counter("priem_alerts", "Alerts raised for the practitioner", ["kind"], registry=self.registry)
        self.outbox_pending = Gauge(
            "priem_outbox_pending", "Outbox rows waiting to be sent, per lane", ["lane"], registry=self.registry
        )
        self.outbox_oldest = Gauge(
            "priem_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row", registry=self.registry
        )
