"""Issue 13, items 2-3: no silent wrong answers on one's own data; singular covariances.

Uncentred data with a covariance, 0/1 labels with the logistic loss and direct Dataset
construction are refused with the fix in the message; a singular covariance names its
constant and collinear features, and ``Dataset.from_arrays(..., singular="project")`` gives
exactly the BN network on the original features (an autograd BN layer with batch statistics,
and torch's BatchNorm1d when torch is installed).
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import bngeom
from bngeom._validation import CENTER_RTOL, check_centered
from bngeom.adapters.pymanopt import make_problem
from bngeom.nn.data import Dataset, center, covariance, signed_labels
from bngeom.nn.functions import get_activation, get_loss
from bngeom.nn.model import (
    bn_forward,
    bn_loss,
    bn_loss_and_gradients,
    vanilla_loss,
    vanilla_loss_and_gradients,
)


def _raw(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * [3.0, 1.0, 0.2, 50.0] + [10.0, -2.0, 0.5, 300.0]
    return X, np.sign(X[:, 0] - 10.0) + 0.0


def _net(d, m=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, d)), rng.standard_normal(m)


# ---------------------------------------------------------------------------
# item 2: guardrails


@pytest.mark.parametrize("call", ["bn_forward", "bn_loss", "bn_loss_and_gradients",
                                  "make_problem", "make_problem_cov"])
def test_uncentred_data_is_refused_with_the_fix(call):
    X, y = _raw()
    W, a = _net(4)
    cov = covariance(X)  # centres internally: the trap of issue 13
    calls = {
        "bn_forward": lambda: bn_forward(X, W, a, cov),
        "bn_loss": lambda: bn_loss(X, y, W, a, cov),
        "bn_loss_and_gradients": lambda: bn_loss_and_gradients(X, y, W, a, cov),
        "make_problem": lambda: make_problem(X, y, 3),
        "make_problem_cov": lambda: make_problem(X, y, 3, cov=cov),
    }
    with pytest.raises(ValueError, match=r"X must be centred.*bngeom\.center\(X\)"):
        calls[call]()
    Xc = center(X)
    # once centred everything runs, and the loss is the BN layer's
    assert np.isfinite(bn_loss(Xc, y, W, a, cov))


def test_centring_check_is_scale_aware():
    X, _ = _raw()
    Xc = center(X)
    for scale in (1e-150, 1e-6, 1.0, 1e6, 1e150):
        check_centered(Xc * scale)                     # centred at any scale
        with pytest.raises(ValueError, match="centred"):
            check_centered((Xc + 1e-6 * Xc.std(axis=0)) * scale)   # offset of 1e-6 rms
    # just inside / outside the documented tolerance (relative to the column rms)
    col = np.array([1.0, -1.0] * 50)
    check_centered(np.column_stack([col + 0.5 * CENTER_RTOL]))
    with pytest.raises(ValueError, match="column 0"):
        check_centered(np.column_stack([col + 2.0 * CENTER_RTOL]))
    check_centered(center(X).astype(np.float32))       # float32 rounding passes
    check_centered(np.zeros((5, 2)))                   # zero columns are centred


def test_bn_forward_at_new_points_with_the_training_mean():
    X, _ = _raw()
    ds = Dataset.from_arrays(X, np.zeros(len(X)))
    W, a = _net(4)
    at_train = bn_forward(ds.X, W, a, ds.cov)
    assert np.allclose(bn_forward(X, W, a, ds.cov, mean=ds.mean), at_train, rtol=1e-12)
    one = bn_forward(ds.transform(X[:1]), W, a, ds.cov, mean=np.zeros(4))
    assert np.allclose(one, at_train[:1], rtol=1e-12)
    with pytest.raises(ValueError, match="mean must have last dimension 4"):
        bn_forward(X, W, a, ds.cov, mean=np.zeros(3))


@pytest.mark.parametrize("call", ["vanilla_loss", "vanilla_loss_and_gradients", "bn_loss",
                                  "bn_loss_and_gradients"])
def test_zero_one_labels_with_the_logistic_loss_are_refused(call):
    X, y = _raw()
    Xc, cov = center(X), covariance(X)
    W, a = _net(4)
    y01 = (y > 0).astype(float)
    fn = {"vanilla_loss": lambda yy: vanilla_loss(Xc, yy, W, a, "tanh", "logistic"),
          "vanilla_loss_and_gradients": lambda yy: vanilla_loss_and_gradients(
              Xc, yy, W, a, "tanh", "logistic"),
          "bn_loss": lambda yy: bn_loss(Xc, yy, W, a, cov, "tanh", "logistic"),
          "bn_loss_and_gradients": lambda yy: bn_loss_and_gradients(
              Xc, yy, W, a, cov, "tanh", "logistic")}[call]
    with pytest.raises(ValueError, match=r"labels -1 or \+1.*signed_labels"):
        fn(y01)
    fn(signed_labels(y01))          # the documented fix runs
    if "and_gradients" in call:
        assert np.isfinite(fn(signed_labels(y01)).loss)


def test_signed_labels():
    assert signed_labels([0, 1, 1]).tolist() == [-1.0, 1.0, 1.0]
    assert signed_labels([3.0, 7.0]).tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError, match="exactly two distinct values"):
        signed_labels([0.0, 1.0, 2.0])


def test_dataset_refuses_uncentred_or_misshapen_arrays():
    X, y = _raw()
    with pytest.raises(ValueError, match="Dataset.X must be centred"):
        Dataset(X, y, covariance(X))
    with pytest.raises(ValueError, match="Dataset needs X"):
        Dataset(center(X), y[:-1], covariance(X))
    with pytest.raises(ValueError, match="singular must be one of"):
        Dataset.from_arrays(X, y, singular="ridge")
    with pytest.raises(ValueError, match="feature_names must be 4 strings"):
        Dataset.from_arrays(X, y, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="X must be centred"):
        covariance(X, centered=True)          # X^T X / n of raw data is no covariance
    assert np.allclose(covariance(center(X), centered=True), covariance(X), rtol=1e-12)


# ---------------------------------------------------------------------------
# item 3: singular covariances


def _singular(n=300, seed=0):
    """Six features: column 2 constant, column 5 = 2 x0 - x3 + 7 (collinear)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)) * [1.0, 3.0, 0.0, 0.5, 2.0, 0.0] + [1.0, 0, 4.0, 0, 0, 0]
    X[:, 5] = 2.0 * X[:, 0] - X[:, 3] + 7.0
    y = np.tanh(X[:, 0] - X[:, 1]) + 0.1 * rng.standard_normal(n)
    return X, y


def test_singular_covariance_names_constant_and_collinear_features():
    X, y = _singular()
    names = ["age", "income", "const", "height", "weight", "combo"]
    with pytest.raises(ValueError) as info:
        Dataset.from_arrays(X, y, feature_names=names)
    msg = str(info.value)
    assert "constant features: 'const' (column 2)" in msg
    collinear = msg.split("collinear features:")[1].split("is constant")[0]
    for name in ("'age'", "'height'", "'combo'"):
        assert name in collinear
    assert "'income'" not in collinear and "'weight'" not in collinear
    assert "singular='project'" in msg and "drop" in msg
    with pytest.raises(ValueError, match="constant features: column 2"):
        covariance(X)


def _bn_layer_loss(W, a, X, y, act, lo):
    """An independent BN network: batch mean and biased batch variance of w^T x."""
    z = anp.dot(X, anp.transpose(W))
    mean = anp.mean(z, axis=0)
    var = anp.mean((z - mean) ** 2, axis=0)
    return anp.mean(lo(anp.dot(act((z - mean) / anp.sqrt(var)), a) / a.shape[0], y))


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_projection_is_exactly_the_bn_network_on_the_original_features(loss):
    X, y = _singular()
    if loss == "logistic":
        y = np.where(y > 0, 1.0, -1.0)
    ds = Dataset.from_arrays(X, y, singular="project")
    assert ds.dim == 4 and ds.original_dim == 6 and ds.basis.shape == (6, 4)
    assert np.allclose(ds.basis.T @ ds.basis, np.eye(4), atol=1e-14)
    W, a = _net(6, m=7)
    W = W * np.exp(np.random.default_rng(3).uniform(-2, 2, (7, 1)))   # radii over 4 decades
    act, lo = get_activation("tanh"), get_loss(loss)
    res = bn_loss_and_gradients(ds.X, ds.y, ds.to_reduced(W), a, ds.cov, act, lo)
    ref_loss = _bn_layer_loss(W, a, X, y, act.function, lo.function)  # raw X: the layer centres
    gw, ga = autograd.grad(_bn_layer_loss, (0, 1))(W, a, X, y, act.function, lo.function)
    assert abs(res.loss - ref_loss) <= 1e-12 * abs(ref_loss)
    grad_w = ds.to_original(res.grad_w)
    assert np.linalg.norm(grad_w - gw) <= 1e-9 * np.linalg.norm(gw)
    assert np.linalg.norm(res.grad_a - ga) <= 1e-12 * np.linalg.norm(ga)
    # BN sees only the range of Sigma: a step along the null space changes nothing
    null = np.eye(6) - ds.basis @ ds.basis.T
    assert np.allclose(ds.to_reduced(W + 5.0 * W @ null), ds.to_reduced(W), atol=1e-12)
    assert np.allclose(ds.to_reduced(ds.to_original(ds.to_reduced(W))), ds.to_reduced(W),
                       atol=1e-12)


def test_only_constant_features_keep_the_others_by_name():
    X, y = _singular()
    X = np.delete(X, 5, axis=1)
    ds = Dataset.from_arrays(X, y, singular="project", feature_names=list("abcde"))
    assert ds.feature_names == ("a", "b", "d", "e")
    assert np.array_equal(ds.X, center(X)[:, [0, 1, 3, 4]])
    with pytest.raises(ValueError, match="null space"):
        ds.to_reduced([[0.0, 0.0, 1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="must have 5 columns"):
        ds.to_reduced(np.ones((1, 4)))
    with pytest.raises(ValueError, match="must have 4 columns"):
        ds.to_original(np.ones((1, 5)))
    # a definite covariance is never projected
    full = Dataset.from_arrays(X[:, [0, 1, 3, 4]], y, singular="project")
    assert full.basis is None and full.dim == 4


def test_projection_matches_torch_batchnorm():
    torch = pytest.importorskip("torch")
    X, y = _singular()
    ds = Dataset.from_arrays(X, y, singular="project")
    W, a = _net(6, m=4)
    Xt = torch.tensor(X, dtype=torch.float64)
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    bn = torch.nn.BatchNorm1d(4, affine=False, eps=1e-300, dtype=torch.float64).train()
    f = torch.tanh(bn(Xt @ Wt.T)) @ torch.tensor(a) / 4
    loss = 0.5 * torch.mean((f - torch.tensor(y)) ** 2)
    loss.backward()
    res = bn_loss_and_gradients(ds.X, ds.y, ds.to_reduced(W), a, ds.cov)
    assert abs(res.loss - loss.item()) <= 1e-10 * loss.item()
    gw = Wt.grad.numpy()
    assert np.linalg.norm(ds.to_original(res.grad_w) - gw) <= 1e-8 * np.linalg.norm(gw)


def test_digits_project():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    with pytest.raises(ValueError, match="constant features: column 0, column 32, column 39"):
        bngeom.Dataset.from_arrays(digits.data, digits.target)
    ds = bngeom.Dataset.from_arrays(digits.data, digits.target, singular="project")
    assert (ds.dim, ds.original_dim) == (61, 64)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_features_whose_squares_over_or_underflow_are_refused(scale):
    X, y = _raw()
    for mode in ("raise", "project"):
        with pytest.raises(ValueError, match="rescale the features"):
            Dataset.from_arrays(X * scale, y, singular=mode)
    ds = Dataset.from_arrays(X * 1e100, y)          # large but representable: fine
    assert np.allclose(ds.cov, covariance(X) * 1e200, rtol=1e-12)


def test_dynamics_refuse_zero_one_labels_with_the_logistic_loss():
    X, y = _raw()
    ds = Dataset.from_arrays(X, (y > 0).astype(float))
    W, a = _net(4)
    for call in (lambda: bngeom.simulate(ds, W, a, t_end=0.1, loss="logistic"),
                 lambda: bngeom.velocity(ds, W, a, loss="logistic")):
        with pytest.raises(ValueError, match=r"dataset.y must hold labels -1 or \+1"):
            call()
    fixed = Dataset.from_arrays(X, signed_labels(ds.y))
    assert np.isfinite(bngeom.velocity(fixed, W, a, loss="logistic")[2])
