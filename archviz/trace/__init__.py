"""Trace events: what every hop in the lab reports, and how it gets to the dashboards."""
