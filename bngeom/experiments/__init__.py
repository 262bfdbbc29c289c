"""Runnable experiments: the paper's claims as checked computations (MATH §7-8)."""
