"""The ``bngeom`` command line.

Subcommands
-----------
``bngeom check``
    Verify Proposition 1 and Theorem 2 on random BN networks; print the
    relative discrepancies; exit 1 if any exceeds its tolerance. With
    ``--data FILE [--target COL]``, on your own data.
``bngeom reproduce``
    Run the paper's claims, write figures and a report (see ``--help``).
``bngeom bench``
    Run the benchmark suite (see ``--help``).

A bad argument of any subcommand prints one line (``bngeom check: error: ...``) and
exits with status 2; Ctrl-C prints one line and exits with status 130, leaving every
file written so far complete (all writes are atomic).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bngeom import __version__

__all__ = ["main", "OneLineArgumentParser", "integer_at_least"]

#: Exit status of a run interrupted by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class OneLineArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2.

    Examples
    --------
    >>> p = OneLineArgumentParser(prog="demo")
    >>> _ = p.add_argument("--n", type=int)
    >>> p.parse_args(["--n", "x"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def integer_at_least(minimum: int, description: str) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum``, else "must be <description>, got ...".

    Examples
    --------
    >>> seed = integer_at_least(0, "a non-negative integer")
    >>> seed("3")
    3
    >>> seed("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a non-negative integer, got -1
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {description}, got {value}")
        return value

    return parse


#: ``--seed``: a non-negative integer.
_seed = integer_at_least(0, "a non-negative integer")


def _tolerance(text: str) -> float:
    """``--tolerance``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text!r}")
    return value


def _run_check(args: argparse.Namespace) -> int:
    from bngeom.experiments.checks import run_checks
    from bngeom.experiments.reproduce import dataset_from_args

    try:
        dataset, label = dataset_from_args(args)
    except (ValueError, TypeError) as exc:
        print(f"bngeom check: error: {exc}", file=sys.stderr)
        return 2
    if dataset is not None:
        print(f"data: {label}: {dataset.X.shape[0]} samples, {dataset.original_dim} features"
              + (f", projected onto the {dataset.dim}-dimensional range of the covariance"
                 if dataset.basis is not None else ""))
    claims = run_checks(seed=args.seed, tolerance=args.tolerance, dataset=dataset)
    print(f"{'claim':<28} {'activation':<11} {'loss':<9} {'rel. discrepancy':>17}  result")
    for c in claims:
        det = c["details"]
        print(f"{c['id']:<28} {det.get('activation', '-'):<11} {det.get('loss', '-'):<9} "
              f"{c['measured']:>17.3e}  {'pass' if c['passed'] else 'FAIL'}")
    failed = [c for c in claims if not c["passed"]]
    print(f"{len(claims) - len(failed)} passed, {len(failed)} failed "
          f"(tolerance {args.tolerance:.0e} relative, float64)")
    return 1 if failed else 0


def _run_reproduce(args: argparse.Namespace) -> int:
    from bngeom.experiments.reproduce import run_from_args

    return run_from_args(args)


def _run_bench(args: argparse.Namespace) -> int:
    """Run ``benchmarks/run.py`` of the checkout this package is installed from."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    if not script.is_file():
        print("bngeom: error: bngeom bench runs the benchmark suite of a source checkout "
              "(benchmarks/run.py), which this installation does not have; clone the "
              "repository and run `python benchmarks/run.py`", file=sys.stderr)
        return 2
    saved = sys.argv
    sys.argv = [str(script), *args.bench_args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        return int(stop.code or 0) if not isinstance(stop.code, str) else 1
    finally:
        sys.argv = saved
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bngeom`` command."""
    parser = OneLineArgumentParser(
        prog="bngeom",
        description="Riemannian geometry of two-layer networks with batch normalization: "
                    "numerical checks, the paper's experiments and benchmarks.")
    parser.add_argument("--version", action="version", version=f"bngeom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = sub.add_parser(
        "check", help="verify Proposition 1 and Theorem 2 on random BN networks",
        description="Build random BN networks and data sets (every activation, both losses), "
                    "verify Proposition 1 (the pseudo-inverse metric is positive definite on "
                    "T_u and equals its closed form) and Theorem 2 (the BN-induced velocity "
                    "equals minus the Riemannian gradient, against an autograd BN layer), print "
                    "the relative discrepancies and exit 1 if any exceeds the tolerance. With "
                    "--data FILE, on your own data (exit 2 if it cannot be used).")
    check.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    check.add_argument("--tolerance", type=_tolerance, default=1e-10,
                       help="relative tolerance (default 1e-10)")
    from bngeom.experiments.reproduce import add_data_arguments

    add_data_arguments(check)
    check.set_defaults(func=_run_check)

    reproduce = sub.add_parser(
        "reproduce", help="reproduce the paper's claims, figures and a report",
        description="Run every claim of the paper (Proposition 1, Theorem 2, the energy "
                    "identity, Theorems 4-5, Section 4's three effects) on an embedded default, "
                    "or with --data FILE every claim defined for arbitrary data on your own "
                    "data, write PNG figures, report.json and report.md, and exit 1 if any "
                    "claim fails.")
    try:
        from bngeom.experiments.reproduce import add_arguments
    except ImportError:  # pragma: no cover - only while the module is missing
        add_arguments = None
    if add_arguments is not None:
        add_arguments(reproduce)
    reproduce.set_defaults(func=_run_reproduce)

    bench = sub.add_parser(
        "bench", help="run the benchmark suite", add_help=False,
        description="Run the benchmark suite; `bngeom bench --help` lists its options.")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_run_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bngeom`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:
        # Everything after `bench` belongs to the benchmark suite's own parser.
        return _run_bench(argparse.Namespace(bench_args=argv[1:]))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"bngeom {args.command}: interrupted; files written so far are complete",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
