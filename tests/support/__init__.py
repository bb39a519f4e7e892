"""Test fixtures shared by tests and benches."""
