"""Load balancing: strategies chosen by name and backend health, pure and tested directly."""
