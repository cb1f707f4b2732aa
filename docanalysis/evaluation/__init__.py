"""Measuring clause quality: CUAD's metric (metrics) and the benchmark harness (cuad)."""
