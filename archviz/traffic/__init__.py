"""The traffic generator: Poisson arrivals and long-lived WebSockets against the lab."""
