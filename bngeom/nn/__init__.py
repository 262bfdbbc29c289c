"""The network layer: activations and losses, the BN model, data, and the fused training kernels.

Imports flow one way: :mod:`bngeom.nn` uses :mod:`bngeom.geometry` (the charts), never the
reverse. :mod:`bngeom.nn.functions` holds each activation and loss once,
:mod:`bngeom.nn.model` the BN network and its vanilla twin with exact gradients,
:mod:`bngeom.nn.data` centring, covariances and teacher data sets, and
:mod:`bngeom.nn._kernels` the compiled training step.
"""
