"""Theorem 5: under the separation condition a wide network reaches the teacher's zero loss.

Runs bngeom.experiments.theorem5 and prints the loss curve of the separated start and the
final loss ratios of the initializations that break the condition.

    python examples/theorem5_global_convergence.py --quick
    python examples/theorem5_global_convergence.py --jobs 2 --json thm5.json     # full run
"""

import argparse
import json

from bngeom.experiments.theorem5 import run_theorem5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized smoke run")
    parser.add_argument("--size", choices=["quick", "reproduce", "full"], default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers")
    parser.add_argument("--json", default=None, help="write the full result to this file")
    args = parser.parse_args()
    res = run_theorem5(quick=args.quick, seed=args.seed, size=args.size, n_jobs=args.jobs)
    main_run = res["runs"]["separated"]
    print("separated start (a ~ Unif[-r0, r0], u uniform): loss / initial loss")
    step = max(1, len(main_run["times"]) // 10)
    for t, loss in list(zip(main_run["times"], main_run["loss"], strict=True))[::step]:
        print(f"  t = {t:8.1f}   {loss / main_run['initial_loss']:.3e}")
    print(f"final ratio {res['loss_ratio']:.3e} -> below 1e-3: {res['converged']}")
    for variant, run in res["runs"].items():
        print(f"  {variant:>10}: final ratio {run['loss_ratio']:.3e}, "
              f"distinct particles {run['distinct_particles']}, "
              f"time to 1e-3: {run['time_to_target']}")
    print(f"[{res['seconds']:.1f} s]")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
