"""Figure 3 (Section 4.3): first-step amplification of small BN neurons.

A gradient-descent step on a BN neuron is orthogonal to w, so
||w1||^2 = ||w0||^2 + eta^2 K^2 / ||w0||^2 (K: gradient norm at unit radius): the smaller
the neuron, the larger it is after one step, and never smaller than sqrt(2 eta K).

    python examples/figure3_first_step.py [--quick] [--out DIR] [--seed N]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from bngeom.experiments.section4 import first_step_claim, first_step_experiment, plot_first_step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a coarser grid of ||w0||")
    parser.add_argument("--out", default=".", help="directory for the PNG (default .)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    res = first_step_experiment(quick=args.quick, seed=args.seed, progress=True)
    k = int(np.argmax(res["K"]))
    print(f"neuron {k}: K = {res['K'][k]:.4g}, eta = {res['learning_rate']:g}, "
          f"floor sqrt(2 eta K) = {res['floor'][k]:.4g}")
    print(f"{'||w0||':>10}{'||w1|| measured':>18}{'predicted':>14}")
    for i in range(0, res["norms"].shape[0], max(1, res["norms"].shape[0] // 8)):
        print(f"{res['norms'][i]:>10.3g}{res['w1_norm'][i, k]:>18.6g}"
              f"{res['predicted'][i, k]:>14.6g}")
    print(f"max relative error over all neurons and norms: {res['max_rel_error']:.2e}")
    path = plot_first_step(res, Path(args.out) / "figure3_first_step.png")
    claim = first_step_claim(res)
    print(f"wrote {path}; claim {claim['id']}: {'pass' if claim['passed'] else 'FAIL'}")
    return 0 if claim["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
