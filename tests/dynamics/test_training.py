"""train(): torch.optim.SGD on a real torch BN network, determinism, resume, the image on M."""

import numpy as np
import pytest

from bngeom import geometry
from bngeom.dynamics import Trainer, TrainOptions, batch_indices, step_angle, train
from bngeom.dynamics.training import SGDState, sgd_update
from bngeom.geometry.charts import manifold_to_sphere_differential, normalize_to_manifold
from bngeom.nn.data import make_teacher_dataset
from bngeom.nn.model import vanilla_loss_and_gradients


def _setup(n=64, d=4, m=16, seed=0):
    ds = make_teacher_dataset(n, np.geomspace(2.0, 0.5, d), teacher_width=3, rng=seed,
                              rotate=True)
    rng = np.random.default_rng(seed + 1)
    W0 = rng.standard_normal((m, d)) * np.exp(rng.uniform(-0.5, 0.5, (m, 1)))
    return ds, W0, rng.standard_normal(m)


def _torch_run(ds, W0, a0, *, lr, steps, momentum, weight_decay, batch_size, batch_norm,
               eps, seed):
    torch = pytest.importorskip("torch")
    m = W0.shape[0]
    X, y = torch.tensor(ds.X), torch.tensor(ds.y)
    W = torch.nn.Parameter(torch.tensor(W0.copy()))
    a = torch.nn.Parameter(torch.tensor(a0.copy()))
    bn = torch.nn.BatchNorm1d(m, affine=False, eps=eps, dtype=torch.float64)
    bn.train()
    opt = torch.optim.SGD([{"params": [W], "weight_decay": weight_decay},
                           {"params": [a], "weight_decay": 0.0}], lr=lr, momentum=momentum)
    for k in range(steps):
        idx = batch_indices(ds.X.shape[0], batch_size, k, seed)
        xb, yb = (X, y) if idx is None else (X[torch.tensor(idx)], y[torch.tensor(idx)])
        h = xb @ W.T
        if batch_norm == "batch":
            z = bn(h)
        else:  # population BN with torch ops: the statistics of the whole data set
            hp = X @ W.T
            mu = hp.mean(dim=0)
            z = (h - mu) / torch.sqrt(((hp - mu) ** 2).mean(dim=0))
        f = torch.tanh(z) @ a / m
        loss = 0.5 * torch.mean((f - yb) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W.detach().numpy(), a.detach().numpy()


@pytest.mark.parametrize("batch_norm", ["population", "batch"])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 1e-2),
                                                    (0.9, 1e-2)])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_equals_torch_sgd_after_100_steps(batch_norm, momentum, weight_decay, batch_size):
    ds, W0, a0 = _setup()
    kw = dict(lr=1.0, steps=100, momentum=momentum, weight_decay=weight_decay,
              batch_size=batch_size, batch_norm=batch_norm)
    ours = train(ds, W0, a0, rng=7, record_every=100, **kw)
    Wt, at = _torch_run(ds, W0, a0, eps=1e-5, seed=7, **kw)
    assert np.max(np.abs(ours.W[-1] - W0)) > 0.05  # the weights really moved
    assert np.max(np.abs(ours.W[-1] - Wt)) <= 1e-10 * np.max(np.abs(Wt))
    assert np.max(np.abs(ours.a[-1] - at)) <= 1e-10 * np.max(np.abs(at))


def test_fixed_seed_is_bit_identical_and_seeds_differ():
    ds, W0, a0 = _setup()
    kw = dict(lr=1.0, steps=20, momentum=0.9, batch_size=8, batch_norm="batch")
    t1, t2 = train(ds, W0, a0, rng=3, **kw), train(ds, W0, a0, rng=3, **kw)
    assert np.array_equal(t1.W, t2.W) and np.array_equal(t1.loss, t2.loss)
    t3 = train(ds, W0, a0, rng=4, **kw)
    assert not np.array_equal(t1.W[-1], t3.W[-1])


def test_resume_is_bit_identical(tmp_path, monkeypatch):
    ds, W0, a0 = _setup()
    kw = dict(lr=1.0, steps=30, momentum=0.9, weight_decay=1e-2, batch_size=16,
              batch_norm="batch", record_every=5, checkpoint_every=4)
    full = train(ds, W0, a0, rng=1, **kw)
    original = Trainer.step

    def crash(self, state, k):
        if k == 19:
            raise KeyboardInterrupt
        return original(self, state, k)

    path = tmp_path / "run.npz"
    monkeypatch.setattr(Trainer, "step", crash)
    with pytest.raises(KeyboardInterrupt):
        train(ds, W0, a0, rng=1, checkpoint=path, **kw)
    monkeypatch.setattr(Trainer, "step", original)
    resumed = train(ds, W0, a0, rng=1, checkpoint=path, **kw)
    for name in ("times", "loss", "W", "a", "speed_u", "radius"):
        assert np.array_equal(getattr(full, name), getattr(resumed, name)), name
    again = train(ds, W0, a0, rng=1, checkpoint=path, **kw)  # finished: returned as is
    assert np.array_equal(again.W, full.W)
    with pytest.raises(ValueError, match="different run"):
        train(ds, W0, a0, rng=2, checkpoint=path, **kw)


def test_riemannian_image_with_effective_learning_rate():
    """phi(w1) = R_u(-eta/((1 - eta lam) r^2) grad_g L~(u)), R_u(xi) = phi(psi(u) + dpsi xi)."""
    ds, W0, a0 = _setup()
    lr, lam = 3.0, 0.05
    traj = train(ds, W0, a0, lr=lr, steps=1, weight_decay=lam)
    U = normalize_to_manifold(W0, ds.cov)
    grad_u = vanilla_loss_and_gradients(ds.X, ds.y, U, a0).grad_w
    r = np.linalg.norm(W0, axis=1)
    xi = -geometry.riemannian_gradient(U, grad_u, ds.cov) * (lr / ((1 - lr * lam) * r**2))[:, None]
    sphere = U / np.linalg.norm(U, axis=1, keepdims=True) + manifold_to_sphere_differential(U, xi)
    predicted = normalize_to_manifold(sphere, ds.cov)
    np.testing.assert_allclose(traj.U[1], predicted, rtol=0, atol=1e-13)
    # the recorded angle is the step's Riemannian length on (N_Sigma, g)
    np.testing.assert_allclose(traj.speed_u[0], geometry.dist(U, traj.U[1], ds.cov),
                               rtol=1e-10, atol=1e-15)


def test_sgd_update_matches_torch_rule():
    s = SGDState(np.array([[2.0]]), np.array([1.0]), np.array([[0.5]]), np.array([0.25]))
    out = sgd_update(s, np.array([[1.0]]), np.array([1.0]), lr=0.1, momentum=0.5,
                     weight_decay=0.1)
    assert out.buf_w[0, 0] == 0.5 * 0.5 + (1.0 + 0.1 * 2.0)
    assert out.W[0, 0] == 2.0 - 0.1 * out.buf_w[0, 0]
    assert out.buf_a[0] == 0.5 * 0.25 + 1.0


def test_batches_are_without_replacement():
    per_epoch = [batch_indices(50, 8, k, seed=5) for k in range(6)]
    assert np.unique(np.concatenate(per_epoch)).size == 48
    assert not np.array_equal(batch_indices(50, 8, 0, 5), batch_indices(50, 8, 6, 5))


def test_step_angle_small_and_large():
    W = np.array([[1.0, 0.0], [3.0, 0.0]])
    np.testing.assert_allclose(step_angle(W, np.array([[1.0, 1e-9], [-3.0, 1e-30]])),
                               [1e-9, np.pi], rtol=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": -1.0}, ValueError, "lr"),
    ({"steps": 0}, ValueError, "steps"),
    ({"momentum": 1.0}, ValueError, "momentum must lie in"),
    ({"momentum": "0.9"}, TypeError, "momentum"),
    ({"weight_decay": -0.1}, ValueError, "weight_decay"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 1000}, ValueError, "batch_size must be at most"),
    ({"batch_size": 1, "batch_norm": "batch"}, ValueError, "batch_size must be >= 2"),
    ({"batch_norm": "running"}, ValueError, "batch_norm must be one of"),
    ({"eps": -1.0}, ValueError, "eps"),
    ({"activation": "cos"}, ValueError, "activation"),
    ({"nesterov": True}, TypeError, "unknown options"),
    ({"options": {"momentum": 0.9}}, TypeError, "options must be a TrainOptions"),
    ({"checkpoint": 3}, TypeError, "checkpoint must be a path"),
    ({"W0": np.zeros((2, 4))}, ValueError, "non-zero rows"),
    ({"a0": np.ones(3)}, ValueError, "same number of neurons"),
])
def test_bad_input(kwargs, error, match):
    ds, W0, a0 = _setup(m=2)
    args = {"lr": 0.1, "steps": 2, "W0": W0, "a0": a0}
    args.update(kwargs)
    W0, a0 = args.pop("W0"), args.pop("a0")
    with pytest.raises(error, match=match):
        train(ds, W0, a0, **args)


def test_options_object_and_lazy_export():
    import bngeom

    assert bngeom.train is train and bngeom.TrainOptions is TrainOptions
    ds, W0, a0 = _setup(m=3)
    t1 = train(ds, W0, a0, lr=0.5, steps=3, options=TrainOptions(momentum=0.5))
    t2 = train(ds, W0, a0, lr=0.5, steps=3, momentum=0.5)
    assert np.array_equal(t1.W, t2.W) and t1.meta["time_unit"] == "step"
