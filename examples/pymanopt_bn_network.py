"""Train a two-layer BN network as a pymanopt problem on (N_Sigma x R)^m with TrustRegions.

The cost is the vanilla loss on the manifold M^m (MATH §3-4): at U = phi(W) it is the
loss of the BN network with first-layer weights W, whatever their norms. pymanopt's
TrustRegions prints the falling loss; the script then checks that the trained point is
a trained BN network (same loss through the BN model with rescaled rows) and compares
with plain Riemannian steepest descent from the same start.

    python examples/pymanopt_bn_network.py [--quick] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pymanopt.optimizers import SteepestDescent, TrustRegions

from bngeom import data, model
from bngeom.adapters.pymanopt import make_problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.quick:
        n, spectrum, width, teacher, iterations = 300, [2.0, 1.0, 0.5, 0.25], 8, 3, 15
    else:
        n, spectrum, width, teacher, iterations = 2000, np.geomspace(4.0, 0.1, 10), 24, 4, 40
    ds = data.make_teacher_dataset(n, spectrum, teacher_width=teacher, rng=args.seed,
                                   rotate=True)
    problem, manifold = make_problem(ds.X, ds.y, width, "tanh", "squared",
                                     euclidean_gradient="closed_form", rng=args.seed + 1)
    x0 = manifold.random_point()
    print(f"data: n = {n}, d = {ds.dim}, teacher width {teacher}; student width {width}")
    print(f"manifold: {manifold} (dimension {manifold.dim})")
    print(f"initial loss: {problem.cost(x0):.6e}\n")

    start = time.perf_counter()
    result = TrustRegions(max_iterations=iterations, verbosity=2).run(problem, initial_point=x0)
    elapsed = time.perf_counter() - start
    U, a = result.point
    print(f"\nTrustRegions: loss {problem.cost(x0):.3e} -> {result.cost:.3e} "
          f"in {result.iterations} iterations ({elapsed:.1f} s)")

    # The trained point is a trained BN network: any W with phi(W) = U has the same loss.
    scales = np.random.default_rng(args.seed).uniform(0.1, 10.0, (width, 1))
    bn = model.bn_loss(ds.X, ds.y, scales * U, a, ds.cov, "tanh", "squared")
    print(f"BN loss of W = diag(random radii) U: {bn:.3e} "
          f"(relative gap {abs(bn - result.cost) / result.cost:.1e})")

    sd = SteepestDescent(max_iterations=iterations, verbosity=0).run(problem, initial_point=x0)
    print(f"SteepestDescent, same budget of iterations: loss {sd.cost:.3e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
