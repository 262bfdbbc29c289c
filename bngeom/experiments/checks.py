r"""Numerical checks of Proposition 1 and Theorem 2 on a random BN network (``bngeom check``).

Each check builds its own random data set and network from a seed, measures a
relative discrepancy, and returns a dictionary with ``id``, ``description``,
``measured``, ``predicted``, ``tolerance`` and ``passed``, the schema of the
claims in ``bngeom reproduce``'s report.

The Theorem 2 check compares against an *independent* BN gradient: autograd
through a batch-normalization layer that computes the mean and the (biased)
variance of the pre-activations over the data set, as a BN layer does, rather
than the closed form :math:`w^\top x/\|w\|_\Sigma`.

Examples
--------
>>> result = check_theorem2(seed=0, n_samples=64, dim=3, width=4)
>>> result["passed"], result["measured"] < 1e-10
(True, True)
"""

from __future__ import annotations

from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

from bngeom import geometry
from bngeom._validation import check_positive_scalar, check_seed
from bngeom.experiments.claims import error_claim
from bngeom.geometry.charts import normalize_to_manifold, sphere_to_manifold_differential
from bngeom.nn.data import Dataset, make_teacher_dataset, signed_labels
from bngeom.nn.functions import get_activation, get_loss
from bngeom.nn.model import bn_loss_and_gradients, vanilla_loss_and_gradients

__all__ = ["DEFAULT_TOLERANCE", "check_proposition1", "check_theorem2", "run_checks"]

#: Relative tolerance of ``bngeom check`` (float64).
DEFAULT_TOLERANCE = 1e-10


def _problem(seed: int, n_samples: int, dim: int, width: int, activation: str):
    rng = np.random.default_rng(seed)
    spectrum = np.geomspace(4.0, 0.25, dim)
    ds = make_teacher_dataset(n_samples, spectrum, teacher_width=3, activation=activation,
                              rng=rng, rotate=True)
    # Radii spread over two decades: the check covers r != 1 (Theorem 2's 1/r^2).
    W = rng.standard_normal((width, dim)) * np.exp(rng.uniform(-2.0, 2.0, (width, 1)))
    a = rng.standard_normal(width)
    return ds, W, a


def _data_problem(ds: Dataset, seed: int, width: int, loss: str):
    """A random network on a given data set, and the raw data an independent BN layer sees.

    Returns ``(y, X_raw, W_raw, a, W)``: the targets (two classes, or above / below the
    median, mapped to -1/+1 for the logistic loss), the uncentred data on the original
    features (``X B^T + mean``; the BN layer centres it itself), random weights on the
    original features (radii over four decades), output weights, and the weights ``W``
    on the data set's own features (``ds.to_reduced``, MATH §9).
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"dataset must be a bngeom.Dataset (bngeom.Dataset.from_arrays or "
                        f"bngeom.load_dataset), got {type(ds).__name__}")
    rng = np.random.default_rng(seed)
    y = ds.y
    if loss == "logistic":
        y = (signed_labels(y) if np.unique(y).size == 2
             else np.where(y > np.median(y), 1.0, -1.0))
    X_raw = ds.X if ds.basis is None else ds.X @ ds.basis.T
    X_raw = X_raw if ds.mean is None else X_raw + ds.mean
    W_raw = (rng.standard_normal((width, ds.original_dim))
             * np.exp(rng.uniform(-2.0, 2.0, (width, 1))))
    return y, X_raw, W_raw, rng.standard_normal(width), ds.to_reduced(W_raw)


def _relative(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.linalg.norm(x - y) / max(np.linalg.norm(y), np.finfo(float).tiny))


def check_proposition1(seed: int = 0, *, dim: int = 6, n_points: int = 32,
                       tolerance: float = DEFAULT_TOLERANCE,
                       dataset: Dataset | None = None) -> dict[str, Any]:
    r"""Proposition 1 on random points of :math:`N_\Sigma`: :math:`G(u)^+` is a metric on T_u.

    Measures, relative to the scale of :math:`G(u)^+`: its asymmetry, the
    normal component :math:`G(u)^+\Sigma u`, and the discrepancy between the
    pseudo-inverse and the closed-form inner products; the claim passes when
    all are below ``tolerance`` and the smallest eigenvalue of the Gram matrix
    on an orthonormal basis of :math:`T_u` is positive. With ``dataset`` (a
    :class:`bngeom.Dataset`), :math:`\Sigma` is the data set's covariance (``dim`` is
    ignored); otherwise a random one of dimension ``dim``.

    Examples
    --------
    >>> check_proposition1(seed=1, dim=3, n_points=4)["passed"]
    True
    """
    rng = np.random.default_rng(seed)
    if dataset is None:
        A = rng.standard_normal((dim, dim))
        cov = A @ A.T / dim + 0.1 * np.eye(dim)
    else:
        _data_problem(dataset, seed, 1, "squared")  # type check
        cov, dim = dataset.cov, dataset.dim
    u = geometry.random_point(cov, n_points, rng)
    gplus = geometry.pinv_metric_matrix(u, cov)
    scale = np.linalg.norm(gplus, axis=(-2, -1))
    asym = float(np.max(np.linalg.norm(gplus - np.swapaxes(gplus, -1, -2), axis=(-2, -1))
                        / scale))
    normal = u @ cov
    annihilation = float(np.max(np.linalg.norm(np.einsum("nij,nj->ni", gplus, normal), axis=-1)
                                / (scale * np.linalg.norm(normal, axis=-1))))
    # Orthonormal basis of T_u = (Sigma u)^perp: the last d-1 left singular vectors.
    basis = np.linalg.svd(normal[:, :, None], full_matrices=True)[0][:, :, 1:]
    gram = np.swapaxes(basis, -1, -2) @ gplus @ basis
    min_eig = float(np.min(np.linalg.eigvalsh(gram) / scale[:, None]))
    xi = geometry.random_tangent_vector(u, cov, rng)
    eta = geometry.random_tangent_vector(u, cov, rng)
    pinv_ip = np.einsum("ni,nij,nj->n", xi, gplus, eta)
    closed_ip = geometry.inner_product(u, xi, eta, cov)
    norms = geometry.norm(u, xi, cov) * geometry.norm(u, eta, cov)
    closed_form = float(np.max(np.abs(pinv_ip - closed_ip) / norms))
    measured = max(asym, annihilation, closed_form)
    claim = error_claim(
        "prop1_positive_definite",
        "Proposition 1: G(u)^+ is symmetric, annihilates Sigma u, is positive definite on T_u, "
        "and equals the closed-form metric (max relative discrepancy)",
        measured, tolerance,
        details={"asymmetry": asym, "normal_annihilation": annihilation,
         "closed_form_vs_pinv": closed_form, "min_eigenvalue_on_tangent_space": min_eig,
         "dim": dim, "n_points": n_points})
    claim["passed"] = claim["passed"] and min_eig > 0
    return claim


def _bn_layer_loss(W, a, X, y, activation, loss):
    """Loss of a BN network whose BN layer normalizes with the batch mean and variance."""
    z = anp.dot(X, anp.transpose(W))
    mean = anp.mean(z, axis=0)
    var = anp.mean((z - mean) ** 2, axis=0)
    f = anp.dot(activation((z - mean) / anp.sqrt(var)), a) / a.shape[0]
    return anp.mean(loss(f, y))


def check_theorem2(seed: int = 0, *, n_samples: int = 256, dim: int = 5, width: int = 16,
                   activation: str = "tanh", loss: str = "squared",
                   tolerance: float = DEFAULT_TOLERANCE,
                   dataset: Dataset | None = None) -> dict[str, Any]:
    r"""Theorem 2: the BN-induced velocity equals minus the Riemannian gradient.

    With the BN gradient :math:`\nabla_W L` taken by autograd through a BN
    layer that normalizes with the batch statistics, measures the relative
    discrepancy between :math:`d\varphi_w(-\nabla_w L)` (eq. 7's left side) and
    :math:`-G(u)\nabla_u\tilde L/r^2` (the Riemannian gradient on
    :math:`(M, g)`), neuron radii spread over four orders of magnitude. Also
    reports the discrepancy of :func:`bngeom.model.bn_loss_and_gradients`
    against the autograd BN layer.

    With ``dataset`` (a :class:`bngeom.Dataset`, e.g. from :func:`bngeom.load_dataset`),
    the check runs on that data (``n_samples`` and ``dim`` are ignored): the BN layer
    sees the uncentred original features and centres them itself, and a projected data
    set (``singular="project"``) is compared on its original features through
    ``to_reduced`` / ``to_original`` (MATH §9). For the logistic loss, targets with two
    values become -1/+1, others their sign about the median.

    Examples
    --------
    >>> check_theorem2(seed=2, n_samples=32, dim=2, width=3)["passed"]
    True
    """
    act, lo = get_activation(activation), get_loss(loss)
    if dataset is None:
        ds, W, a = _problem(seed, n_samples, dim, width, activation)
        y = np.sign(ds.y) + (ds.y == 0) if loss == "logistic" else ds.y
        X_raw, W_raw, to_original = ds.X, W, (lambda G: G)
    else:
        ds = dataset
        y, X_raw, W_raw, a, W = _data_problem(ds, seed, width, loss)
        to_original = ds.to_original
    grad_raw_ref, grad_a_ref = autograd.grad(_bn_layer_loss, (0, 1))(
        W_raw, a, X_raw, y, act.function, lo.function)
    # the reference gradient on the data set's own features (chain rule of W_raw -> W_raw B)
    grad_w_ref = grad_raw_ref if ds.basis is None else grad_raw_ref @ ds.basis
    bn = bn_loss_and_gradients(ds.X, y, W, a, ds.cov, act, lo)
    U = normalize_to_manifold(W, ds.cov)
    vanilla = vanilla_loss_and_gradients(ds.X, y, U, a, act, lo)
    induced = sphere_to_manifold_differential(W, -grad_w_ref, ds.cov)
    riemannian = -geometry.riemannian_gradient(U, vanilla.grad_w, ds.cov,
                                               radius=np.linalg.norm(W, axis=1))
    velocity_gap = _relative(induced, riemannian)
    bn_gap = max(_relative(to_original(bn.grad_w), grad_raw_ref),
                 _relative(bn.grad_a, grad_a_ref), _relative(vanilla.grad_a, grad_a_ref))
    measured = max(velocity_gap, bn_gap)
    return error_claim(
        "thm2_gradient_equivalence",
        "Theorem 2: d phi(-grad_w L) = -G(u) grad_u L~ / r^2 with the BN gradient from autograd "
        "through a batch-statistics BN layer (max relative discrepancy)",
        measured, tolerance,
        details={"velocity_vs_riemannian_gradient": velocity_gap,
         "closed_form_bn_gradient_vs_autograd_bn_layer": bn_gap,
         "n_samples": int(ds.X.shape[0]), "dim": ds.dim, "width": width,
         "activation": activation, "data": "synthetic" if dataset is None else "dataset",
         "loss": loss, "radius_range": [float(np.linalg.norm(W, axis=1).min()),
                                        float(np.linalg.norm(W, axis=1).max())]})


def run_checks(seed: int = 0, tolerance: float = DEFAULT_TOLERANCE,
               dataset: Dataset | None = None) -> list[dict[str, Any]]:
    """Proposition 1 and Theorem 2 (every activation, both losses) at one seed.

    On random synthetic data, or on ``dataset`` (its covariance and its samples).

    Examples
    --------
    >>> all(c["passed"] for c in run_checks(seed=0))
    True
    """
    from bngeom.nn.functions import ACTIVATIONS, LOSSES

    seed = check_seed(seed)
    tolerance = check_positive_scalar(tolerance, "tolerance")
    claims = [check_proposition1(seed, tolerance=tolerance, dataset=dataset)]
    for act in ACTIVATIONS:
        for lo in LOSSES:
            claims.append(check_theorem2(seed, activation=act, loss=lo, tolerance=tolerance,
                                         dataset=dataset))
    return claims
