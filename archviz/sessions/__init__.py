"""The sessions demo: a shopping cart on the nodes, kept in memory, sticky, or in Redis."""
