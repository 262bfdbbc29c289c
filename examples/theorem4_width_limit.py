"""Theorem 4: the width-m particle flow converges to its mean-field limit as m grows.

Runs bngeom.experiments.theorem4 and prints sup_t W2(rho_m(t), rho_ref(t)) and the L2(mu)
gap of the network functions against the width, with the fitted log-log slopes.

    python examples/theorem4_width_limit.py --quick
    python examples/theorem4_width_limit.py --size reproduce --jobs 2
    python examples/theorem4_width_limit.py --jobs 2 --json thm4.json      # full run
"""

import argparse
import json

from bngeom.experiments.theorem4 import run_theorem4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized smoke run")
    parser.add_argument("--size", choices=["quick", "reproduce", "full"], default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers")
    parser.add_argument("--dask", action="store_true", help="run the sweep on a local Dask cluster")
    parser.add_argument("--json", default=None, help="write the full result to this file")
    args = parser.parse_args()
    res = run_theorem4(quick=args.quick, seed=args.seed, n_jobs=args.jobs, size=args.size,
                       backend="dask" if args.dask else "joblib", progress=True)
    print(f"reference width {res['ref_width']}, times {res['times']}")
    print(f"{'width':>7} {'sup W2 (seed mean)':>20} {'sup L2 gap':>12}")
    for m, w2, l2 in zip(res["widths"], res["mean_sup_w2"], res["mean_sup_l2"], strict=True):
        print(f"{m:>7} {w2:>20.4f} {l2:>12.4f}")
    print(f"fitted slopes: W2 {res['w2_slope']:.3f}, L2 {res['l2_slope']:.3f} "
          f"(Monte-Carlo: about -0.5)   [{res['seconds']:.1f} s]")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
