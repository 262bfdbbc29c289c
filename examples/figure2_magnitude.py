"""Figure 2 (Section 4.2): with BN, smaller neurons move faster; the radii act as learning rates.

For neurons w and c*w with the same output weight, BN gives grad_{cw} L = grad_w L / c:
Euclidean speed ratio 1/c and angular speed ratio 1/c^2; without BN and with ReLU the
Euclidean speeds are equal. A BN neuron of radius r trained with learning rate eta moves
like a neuron of radius 1 trained with eta / r^2.

    python examples/figure2_magnitude.py [--quick] [--out DIR] [--seed N]
"""

import argparse
import sys
from pathlib import Path

from bngeom.experiments.section4 import magnitude_claim, magnitude_experiment, plot_magnitude


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer values of c and radii")
    parser.add_argument("--out", default=".", help="directory for the PNG (default .)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    result = magnitude_experiment(quick=args.quick, seed=args.seed, progress=True)
    print("speed of neuron c*w relative to neuron w, fitted as c**slope:")
    print(f"{'network':<16}{'Euclidean':>12}{'angular':>12}   predicted")
    for key, case in result["cases"].items():
        pred = ("-" if case["predicted_exponent_euclidean"] is None else
                f"{case['predicted_exponent_euclidean']:g}, {case['predicted_exponent_angular']:g}")
        print(f"{key:<16}{case['slope_euclidean']:>12.6f}{case['slope_angular']:>12.6f}   {pred}")
    print(f"effective step size against radius: slope {result['effective_step_slope']:.4f} "
          f"(1/r^2 gives -2)")
    path = plot_magnitude(result, Path(args.out) / "figure2_magnitude.png")
    claim = magnitude_claim(result)
    print(f"wrote {path}; claim {claim['id']}: {'pass' if claim['passed'] else 'FAIL'}")
    return 0 if claim["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
