"""Tools for testing code built on bngeom: hypothesis strategies (:mod:`bngeom.testing.strategies`).

Needs the ``test`` extra (hypothesis).
"""
