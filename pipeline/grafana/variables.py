"""The template variables and series selectors that ccpipe's dashboards share."""

from __future__ import annotations

from pipeline.core.catalogue import QUEUE_SERIES
from pipeline.grafana.panels import Json, prom_variable

# PromQL selectors of the variables' tenant and queue.
TENANT = '{tenant="$tenant"}'
QUEUE = '{tenant="$tenant", queue="$queue"}'


def tenant_variable() -> Json:
    return prom_variable("tenant", "Tenant", QUEUE_SERIES, "tenant")


def queue_variables() -> list[Json]:
    """Tenant, then a queue of that tenant: every queue with an interval is listed."""
    return [
        tenant_variable(),
        prom_variable("queue", "Queue", f"{QUEUE_SERIES}{TENANT}", "queue"),
    ]
