"""Benchmarks: each figure is a ratio against the raw primitive measured in the same run."""
