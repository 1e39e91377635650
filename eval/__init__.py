"""Evaluation: retrieval metrics and benchmark suites."""
