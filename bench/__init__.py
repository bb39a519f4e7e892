"""Benchmarks and synthetic-data generators (figures are printed, never asserted)."""
