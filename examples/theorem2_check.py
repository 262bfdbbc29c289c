"""Theorem 2: gradient flow of a BN network = Riemannian gradient flow of the network without BN.

Four checks on a random BN network (neuron radii spread over two decades) on anisotropic
data:

1. the BN velocity mapped to N_Sigma, d phi(-grad_w L), equals minus the Riemannian
   gradient G(u) grad_u L~ / r^2 (eq. 7 = Theorem 2);
2. that Riemannian gradient satisfies the definition of a gradient for the metric of
   Proposition 1 written with the pseudo-inverse: r^2 xi^T G(u)^+ grad = grad_u L~ . xi for
   every tangent vector xi;
3. the same against an independent BN gradient, autograd through a BN layer that
   normalizes with batch statistics (bngeom.checks.check_theorem2);
4. a whole trajectory: the BN gradient flow mapped by phi coincides with the Riemannian
   gradient flow on (M, g).

    python examples/theorem2_check.py [--quick] [--out DIR] [--seed N]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bngeom import geometry
from bngeom.dynamics.flows import simulate
from bngeom.experiments.checks import check_theorem2
from bngeom.geometry.charts import normalize_to_manifold, sphere_to_manifold_differential
from bngeom.nn.data import make_teacher_dataset
from bngeom.nn.model import bn_loss_and_gradients, vanilla_loss_and_gradients


def relative(x, y):
    return float(np.linalg.norm(x - y) / np.linalg.norm(y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller network and data set")
    parser.add_argument("--out", default=".", help="directory for theorem2_check.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n, d, m = (128, 3, 6) if args.quick else (512, 6, 24)
    rng = np.random.default_rng(args.seed)
    ds = make_teacher_dataset(n, np.geomspace(4.0, 0.25, d), teacher_width=3, rng=rng,
                              rotate=True)
    W = rng.standard_normal((m, d)) * np.exp(rng.uniform(-2.3, 2.3, (m, 1)))
    a = rng.standard_normal(m)
    radius = np.linalg.norm(W, axis=1)
    U = normalize_to_manifold(W, ds.cov)

    # 1. eq. (7): the BN-induced velocity on N_Sigma is minus the Riemannian gradient.
    bn = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov)
    vanilla = vanilla_loss_and_gradients(ds.X, ds.y, U, a)
    induced = sphere_to_manifold_differential(W, -bn.grad_w, ds.cov)
    rgrad = geometry.riemannian_gradient(U, vanilla.grad_w, ds.cov, radius=radius)
    gap_velocity = relative(induced, -rgrad)

    # 2. the defining property of a gradient, with the pseudo-inverse metric G(u)^+.
    xi = geometry.random_tangent_vector(U, ds.cov, rng)
    gplus = geometry.pinv_metric_matrix(U, ds.cov)
    lhs = radius**2 * np.einsum("ki,kij,kj->k", xi, gplus, rgrad)
    rhs = np.sum(vanilla.grad_w * xi, axis=1)
    gap_definition = relative(lhs, rhs)

    # 3. against autograd through a batch-statistics BN layer.
    claim = check_theorem2(seed=args.seed, n_samples=n, dim=d, width=m)

    # 4. whole trajectories: BN flow mapped by phi against the Riemannian flow.
    t_end = 1.0 if args.quick else 3.0
    flow_bn = simulate(ds, W, a, t_end=t_end, n_records=6, rtol=1e-10, atol=1e-12)
    flow_rm = simulate(ds, U, a, t_end=t_end, n_records=6, chart="riemannian", radius=radius,
                       rtol=1e-10, atol=1e-12)
    gap_trajectory = float(np.max(np.abs(flow_bn.U - flow_rm.U)) / np.max(np.abs(flow_rm.U)))

    results = {
        "induced_velocity_vs_riemannian_gradient": gap_velocity,
        "gradient_definition_with_pseudo_inverse": gap_definition,
        "autograd_bn_layer_check": claim["measured"],
        "bn_flow_vs_riemannian_flow": gap_trajectory,
        "loss_start_end": [float(flow_bn.loss[0]), float(flow_bn.loss[-1])],
        "radius_range": [float(radius.min()), float(radius.max())],
    }
    tolerances = {"induced_velocity_vs_riemannian_gradient": 1e-10,
                  "gradient_definition_with_pseudo_inverse": 1e-8,
                  "autograd_bn_layer_check": 1e-10, "bn_flow_vs_riemannian_flow": 1e-6}
    ok = True
    print(f"width {m}, dimension {d}, {n} samples, radii "
          f"{radius.min():.3g} .. {radius.max():.3g}")
    for key, tol in tolerances.items():
        passed = results[key] <= tol
        ok &= passed
        print(f"{key:<42} {results[key]:.3e}  (tolerance {tol:.0e})  "
              f"{'pass' if passed else 'FAIL'}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "theorem2_check.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
