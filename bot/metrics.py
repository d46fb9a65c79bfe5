"""Prometheus metrics on a registry of the app's own (tests build many apps in one process)."""

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
        self.outbox_pending = Gauge("priem_outbox_pending", "Outbox rows waiting to be sent", registry=self.registry)
