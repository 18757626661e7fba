"""What every process of the lab uses; it imports no demo (see DESIGN.md)."""
