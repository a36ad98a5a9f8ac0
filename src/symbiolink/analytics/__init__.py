"""Network analytics: the graph of links and what holds it together, resilience, the national view
and policy scenarios on Dask."""

from symbiolink.analytics.links import NetLink, documented_links, optimized_links, proposed_links
from symbiolink.analytics.network import NetworkMetrics, link_graph, metrics
from symbiolink.analytics.resilience import Loss, losses, reoptimized_loss, without

__all__ = [
    "Loss", "NetLink", "NetworkMetrics", "documented_links", "link_graph", "losses", "metrics",
    "optimized_links", "proposed_links", "reoptimized_loss", "without",
]  # fmt: skip
