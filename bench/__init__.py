"""Benchmark harness: `make bench` (full run) or `python -m bench --plan smoke`."""
