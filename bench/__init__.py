"""Benchmarks, each run as a module: `python -m bench.<name>` (see DESIGN.md)."""
