"""Benchmarks (`make bench`): measured here, written to bench/results/, never asserted in tests."""
