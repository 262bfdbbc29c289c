"""Gradient descent on a BN network is Riemannian gradient descent on BNManifold (Theorem 2).

Start a BN network at (W0, a0) and its image x0 = [phi(W0), a0] on M^m = (N_Sigma x R)^m,
where neuron k carries the metric r_k^2 g with r_k = |w_k|. Then compare

* Euclidean gradient descent on the BN loss, W <- W - eta grad_W L, mapped through phi, and
* Riemannian gradient descent on BNManifold, x <- exp_x(-eta grad_g L~(x)).

The script prints (1) the gap after one step, which is O(eta^3): exp is a second-order
retraction, and the retraction phi(u/|u| + dpsi_u(xi)) reproduces a BN step exactly;
(2) the gap at a fixed time T = k eta, which goes to 0 at order 1 as eta -> 0 (each step
differs at O(eta^2) because BN radii grow by eta^2 |grad_w L|^2 per step); (3) that with
the retraction and the radii updated to |w_k| at every step, the two coincide to rounding.

    python examples/gd_equivalence.py [--quick] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from bngeom import charts, data, model
from bngeom.adapters.pymanopt import BNManifold, make_problem


def bn_gd(ds, W, a, step, n_steps):
    """Euclidean gradient descent on the BN network (eq. 6)."""
    for _ in range(n_steps):
        res = model.bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov)
        W, a = W - step * res.grad_w, a - step * res.grad_a
    return W, a


def riemannian_gd(problem, x, step, n_steps):
    """Riemannian gradient descent on BNManifold with the exponential map."""
    for _ in range(n_steps):
        x = problem.manifold.exp(x, -step * problem.riemannian_gradient(x))
    return x


def gap(x, W, a, cov):
    """Euclidean distance between [U, a] and [phi(W), a]."""
    return float(np.sqrt(np.sum((x[0] - charts.normalize_to_manifold(W, cov)) ** 2)
                         + np.sum((x[1] - a) ** 2)))


def order(steps, errors):
    """Fitted exponent p in error ~ C step^p (least squares in log-log)."""
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n, d, m = (200, 3, 4) if args.quick else (1000, 6, 16)
    horizon = 3.0
    horizon_steps = [0.3, 0.15, 0.075, 0.0375] + ([] if args.quick else [0.01875])

    ds = data.make_teacher_dataset(n, np.geomspace(2.0, 0.5, d), teacher_width=3,
                                   rng=args.seed, rotate=True)
    rng = np.random.default_rng(args.seed + 1)
    W0 = rng.standard_normal((m, d)) * rng.uniform(0.5, 2.0, (m, 1))
    a0 = rng.standard_normal(m)
    manifold, x0 = BNManifold.from_bn_weights(W0, a0, ds.cov)
    problem, _ = make_problem(ds.X, ds.y, m, cov=ds.cov, radii=manifold.radii,
                              euclidean_gradient="closed_form")
    print(f"BN network: n = {n}, d = {d}, m = {m}; radii |w_k| in "
          f"[{manifold.radii.min():.2f}, {manifold.radii.max():.2f}]")

    print("\n(1) one step from the same start")
    print("      eta    gap |[phi(W1), a1] - x1|")
    steps = np.logspace(-2.5, -0.5, 5)
    one = []
    for s in steps:
        one.append(gap(riemannian_gd(problem, x0, s, 1), *bn_gd(ds, W0, a0, s, 1), ds.cov))
        print(f"  {s:9.4f}    {one[-1]:.3e}")
    print(f"  fitted order: {order(steps, one):.2f}  (O(eta^2) per step holds; it is eta^3)")

    print(f"\n(2) at a fixed time T = k eta = {horizon}")
    print("      eta      k    gap at T")
    at_t = []
    for s in horizon_steps:
        k = int(round(horizon / s))
        at_t.append(gap(riemannian_gd(problem, x0, s, k), *bn_gd(ds, W0, a0, s, k), ds.cov))
        print(f"  {s:9.5f} {k:5d}    {at_t[-1]:.3e}")
    print(f"  fitted order: {order(horizon_steps, at_t):.2f}  (-> 0 as eta -> 0)")

    print("\n(3) retraction with the radii tracked: the two descents coincide")
    W, a, x, step, worst = W0, a0, x0, 0.5, 0.0
    for _ in range(20):
        Mk, _ = BNManifold.from_bn_weights(W, a, ds.cov)
        pk, _ = make_problem(ds.X, ds.y, m, cov=ds.cov, radii=Mk.radii,
                             euclidean_gradient="closed_form")
        x = Mk.retraction(x, -step * pk.riemannian_gradient(x))
        W, a = bn_gd(ds, W, a, step, 1)
        worst = max(worst, gap(x, W, a, ds.cov))
    print(f"  20 steps of eta = {step}: largest gap {worst:.1e}; loss "
          f"{model.bn_loss(ds.X, ds.y, W0, a0, ds.cov):.4f} -> "
          f"{model.bn_loss(ds.X, ds.y, W, a, ds.cov):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
