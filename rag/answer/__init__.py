"""Grounded answers: prompt, generate, parse citations, verify, refuse."""
