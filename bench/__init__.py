"""Benchmarks against peer libraries; ``python -m bench`` runs them all (see bench/README.md)."""
