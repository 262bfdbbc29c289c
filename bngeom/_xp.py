r"""The array namespace of the inputs: one geometry for numpy, torch, jax and autograd.

The formulas of the geometry are written once, against an array namespace ``xp`` holding the
array API standard's names (``xp.sum``, ``xp.sqrt``, ``xp.atan2``, ``xp.where``,
``xp.matrix_transpose``, ...) and five primitives that the standard leaves out or that
differ between libraries:

* ``xp.rowdot(x, y)``: the inner product over the last axis (numpy's einsum, which makes no
  ``(n, d)`` temporary, where the library has it);
* ``xp.sin_ratio(t)``: :math:`\sin t / t`, equal to 1 at 0 with a finite derivative there;
* ``xp.like(value, ref)``: ``value`` (a numpy array, a list, a scalar) as an array of the
  namespace with ``ref``'s dtype and device, e.g. the covariance for torch float32 points;
* ``xp.maybe_any(x)``: whether any entry of the boolean array may be true, to skip a rarely
  needed branch (a rescaling, the cut locus); True for jax's abstract tracers under
  ``jax.jit``, where the branch then always runs (the formulas select with ``where``);
* ``xp.sqrt0(x)``: :math:`\sqrt x` for :math:`x \ge 0` whose derivative at 0 is 0, not
  infinite (lengths of vectors that may vanish: their derivatives stay finite there).

:func:`namespace` picks it from the inputs' types: numpy (and lists, scalars) get the numpy
namespace at the cost of a type test, so the numpy path stays as fast as before; torch
tensors and jax arrays get ``array_api_compat``'s namespace for their library (results keep
the input's type, dtype and device; ``torch.autograd`` and ``jax.grad`` differentiate
through them); autograd's traced ``ArrayBox`` gets ``autograd.numpy`` under the standard's
names; any other array API library (``array_api_strict``) its own namespace.

:func:`to_numpy` gives the detached numpy view of a value, on which the checks of
:mod:`bngeom._validation` run unchanged (check once, at the boundary), while the
computation runs on the original arrays.

Examples
--------
>>> import numpy as np
>>> xp = namespace(np.ones(3), 2.0)
>>> xp.rowdot(np.ones((2, 3)), np.ones(3)).tolist()
[3.0, 3.0]
>>> float(xp.sin_ratio(np.float64(0.0)))
1.0
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["ArrayNamespace", "NUMPY", "namespace", "to_numpy", "is_numpy"]

# Five primitives per namespace (rowdot, sin_ratio, like, maybe_any, sqrt0): the module docstring.


class ArrayNamespace:
    """A library's array namespace with the three primitives of this module.

    Names not set at construction are looked up in ``module`` once and then kept on the
    instance, so that an attribute costs what a module attribute costs.

    Parameters
    ----------
    module : module
        The library's array API namespace.
    **primitives
        ``rowdot``, ``sin_ratio``, ``like`` and any name the module spells differently.

    Examples
    --------
    >>> import numpy as np
    >>> xp = ArrayNamespace(np, rowdot=np.dot)
    >>> xp.sqrt(4.0), xp.rowdot(np.ones(2), np.ones(2))
    (np.float64(2.0), np.float64(2.0))
    """

    def __init__(self, module: ModuleType, **primitives: Any) -> None:
        self.module = module
        self.__dict__.update(primitives)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__dict__["module"], name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"ArrayNamespace({self.module.__name__})"


def _sin_ratio(xp: Any, t: Any) -> Any:
    r""":math:`\sin t/t` (1 at 0), with a finite derivative at 0 (no 0/0 in either branch)."""
    small = xp.abs(t) < 1e-4
    safe = xp.where(small, 1.0, t)
    return xp.where(small, 1.0 - t * t / 6.0, xp.sin(safe) / safe)


def _sqrt0(xp: Any, x: Any) -> Any:
    """sqrt(x) for x >= 0, with derivative 0 at 0 (no 0 * inf in either branch)."""
    positive = x > 0
    return xp.where(positive, xp.sqrt(xp.where(positive, x, 1.0)), 0.0)


def _numpy_like(value: Any, ref: Any) -> Any:
    return np.asarray(value)


def _sum_rowdot(xp: Any) -> Any:
    return lambda x, y: xp.sum(x * y, axis=-1)


#: The numpy namespace: numpy 2 has the standard's names itself.
NUMPY = ArrayNamespace(
    np,
    rowdot=lambda x, y: np.einsum("...i,...i->...", x, y),
    sin_ratio=lambda t: np.sinc(t / np.pi),   # numpy's sinc is sin(pi x)/(pi x)
    like=_numpy_like,
    sqrt0=np.sqrt,                            # numpy computes no derivatives
    maybe_any=np.any,
)


@functools.cache
def _torch() -> ArrayNamespace:
    import array_api_compat.torch as xt
    import torch

    def like(value: Any, ref: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.dtype == ref.dtype:
            return value
        return xt.asarray(value, dtype=ref.dtype, device=ref.device)

    pi = float(np.pi)
    return _with_generic_primitives(ArrayNamespace(
        xt,
        rowdot=lambda x, y: torch.einsum("...i,...i->...", x, y),
        sin_ratio=lambda t: torch.sinc(t / pi),   # differentiable at 0
        like=like,
    ))


@functools.cache
def _jax() -> ArrayNamespace:
    import jax.numpy as jnp

    def like(value: Any, ref: Any) -> Any:
        return jnp.asarray(value, dtype=ref.dtype)

    return _with_generic_primitives(ArrayNamespace(
        jnp,
        rowdot=lambda x, y: jnp.einsum("...i,...i->...", x, y),
        sin_ratio=lambda t: jnp.sinc(t / jnp.pi),  # jax's sinc has a derivative at 0
        like=like,
    ))


@functools.cache
def _autograd() -> ArrayNamespace:
    import autograd.numpy as anp

    xp = ArrayNamespace(
        anp,
        rowdot=lambda x, y: anp.einsum("...i,...i->...", x, y),
        like=_numpy_like,        # numpy arrays and autograd's boxes mix
        # autograd differentiates numpy's names, not the standard's aliases
        atan2=anp.arctan2,
        matrix_transpose=lambda x: anp.swapaxes(x, -1, -2),
    )
    xp.sin_ratio = functools.partial(_sin_ratio, xp)
    return _with_generic_primitives(xp)


@functools.cache
def _standard(module: ModuleType) -> ArrayNamespace:
    """Any other array API namespace (``array_api_strict``): the standard's names only."""

    def like(value: Any, ref: Any) -> Any:
        return module.asarray(np.asarray(value), dtype=ref.dtype, device=ref.device)

    xp = ArrayNamespace(module, rowdot=_sum_rowdot(module), like=like)
    xp.sin_ratio = functools.partial(_sin_ratio, xp)
    return _with_generic_primitives(xp)


def _with_generic_primitives(xp: ArrayNamespace) -> ArrayNamespace:
    xp.sqrt0 = functools.partial(_sqrt0, xp)
    xp.maybe_any = functools.partial(_maybe_any, xp)
    return xp


def _maybe_any(xp: Any, x: Any) -> bool:
    try:
        return bool(xp.any(x))
    except Exception as exc:  # jax under jit: no values to look at
        if type(exc).__name__ != "TracerBoolConversionError":
            raise
        return True


_NUMPY_TYPES = (np.ndarray, float, int, np.float64, np.float32, list, tuple, type(None))


def namespace(*values: Any) -> ArrayNamespace:
    """The namespace that computes on ``values``: :data:`NUMPY` unless one is foreign.

    Parameters
    ----------
    *values
        Arrays, scalars, lists or None (ignored).

    Returns
    -------
    ArrayNamespace
        The namespace of the first torch, jax, autograd-traced or other array API array
        among ``values``; :data:`NUMPY` if there is none.

    Raises
    ------
    TypeError
        If ``values`` mix arrays of two foreign libraries.

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.ones(2), [1.0, 2.0]) is NUMPY
    True
    """
    found = None
    for value in values:
        if type(value) in _NUMPY_TYPES or isinstance(value, (np.ndarray, np.generic)):
            continue
        xp = _foreign(value)
        if xp is None:
            continue
        if found is not None and xp is not found:
            raise TypeError(f"the inputs mix arrays of two libraries ({found.module.__name__} "
                            f"and {xp.module.__name__}); convert them to one")
        found = xp
    return NUMPY if found is None else found


def _foreign(value: Any) -> ArrayNamespace | None:
    module = type(value).__module__
    if module.startswith("torch"):
        return _torch()
    if module.startswith(("jax", "jaxlib")):
        return _jax()
    if module.startswith("autograd"):
        return _autograd()
    if hasattr(value, "__array_namespace__"):
        return _standard(value.__array_namespace__())
    return None


def is_numpy(xp: ArrayNamespace) -> bool:
    """Whether ``xp`` is the numpy namespace (the path of the fused kernels and in-place code).

    Examples
    --------
    >>> is_numpy(NUMPY)
    True
    """
    return xp is NUMPY


def to_numpy(value: Any) -> Any:
    """A numpy view of ``value`` for the checks: detached, on the CPU; other values unchanged.

    Parameters
    ----------
    value
        A torch tensor, a jax array, an autograd ``ArrayBox``, an array API array, or
        anything numpy takes (returned as it is).

    Returns
    -------
    ndarray or the value itself
        The values of ``value``, with no tracing attached.

    Examples
    --------
    >>> import numpy as np
    >>> to_numpy([1.0, 2.0])
    [1.0, 2.0]
    """
    module = type(value).__module__
    if module.startswith("torch"):
        return value.detach().cpu().numpy()
    if module.startswith("autograd"):
        from autograd.tracer import getval

        return getval(value)
    if module.startswith(("jax", "jaxlib")):
        try:
            return np.asarray(value)
        except Exception:  # a tracer of jax.grad: its values; None under jax.jit
            concrete = value.to_concrete_value()
            return None if concrete is None else np.asarray(concrete)
    if hasattr(value, "__array_namespace__") and not isinstance(value, np.ndarray):
        return np.asarray(value)
    return value
