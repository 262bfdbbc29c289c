"""Your own data: scikit-learn's bundled sets through bngeom (docs/tutorial_real_data.md).

For digits, breast_cancer, wine and diabetes (shipped with scikit-learn, nothing is
downloaded) this script

1. loads the data into a centred ``bngeom.Dataset`` (digits' covariance is singular: three
   pixels are 0 in every image; the error names them, ``singular="project"`` fixes it);
2. prints the covariance spectrum and condition number, before and after standardizing;
3. measures Theorem 2 against an autograd BN layer that computes the batch statistics of
   the raw, uncentred features (``bngeom.experiments.checks.check_theorem2``), and checks
   that uncentred data and 0/1 labels are refused;
4. trains BN and vanilla students on the data's own samples and covariance (Section 4.1,
   ``data_anisotropy_run``) and prints the speed-up t_vanilla / t_BN;
5. writes ``real_data_spectra.png`` and ``real_data_speed.png`` into ``--out``.

    python examples/real_data.py [--quick] [--out DIR] [--seed N]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn import datasets as sk

import bngeom
from bngeom.experiments.checks import check_theorem2
from bngeom.experiments.section4 import data_anisotropy_run

NAMES = ("digits", "breast_cancer", "wine", "diabetes")


def load(name: str) -> tuple[bngeom.Dataset, np.ndarray, np.ndarray]:
    """The Dataset of a scikit-learn set (digits projected), and its raw arrays."""
    bunch = getattr(sk, f"load_{name}")()
    X, y = bunch.data, bunch.target.astype(float)
    names = [str(n) for n in bunch.feature_names]
    try:
        ds = bngeom.Dataset.from_arrays(X, y, feature_names=names)
    except ValueError as exc:
        print(f"  {name}: {str(exc)[:260]}...")
        ds = bngeom.Dataset.from_arrays(X, y, feature_names=names, singular="project")
        print(f"  -> singular='project': {ds.original_dim} features, rank {ds.dim}")
    return ds, X, y


def guardrails(ds: bngeom.Dataset, X: np.ndarray, y: np.ndarray) -> None:
    """Uncentred X with a covariance, and 0/1 labels with the logistic loss, are refused."""
    W, a = np.ones((2, ds.dim)), np.ones(2)
    raw = X if ds.basis is None else X @ ds.basis       # the features the geometry uses
    labels01 = (y > np.median(y)).astype(float)
    for what, call in (
            ("uncentred X", lambda: bngeom.bn_loss(raw, y, W, a, ds.cov)),
            ("0/1 labels", lambda: bngeom.bn_loss(ds.X, labels01, W, a, ds.cov, "tanh",
                                                  "logistic"))):
        try:
            call()
        except ValueError as exc:
            print(f"    {what} refused: {str(exc)[:90]}...")
        else:  # scikit-learn ships diabetes already centred (and scaled)
            print(f"    {what}: accepted, the raw data is centred already")
            assert what == "uncentred X" and np.allclose(raw.mean(axis=0), 0.0, atol=1e-12)


def when(value) -> str:
    return "never" if value is None else f"{value:.3g}"


def spectrum(ds: bngeom.Dataset) -> np.ndarray:
    return np.sort(np.linalg.eigvalsh(ds.cov))[::-1]


def standardized_condition(X: np.ndarray) -> float:
    Xc = X - X.mean(axis=0)
    std = Xc.std(axis=0)
    corr = np.corrcoef(Xc[:, std > 0].T)
    return float(np.linalg.cond(corr))


def plot(results: dict, out: Path) -> list[Path]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name, r in results.items():
        lam = r["spectrum"]
        ax.semilogy(np.arange(1, lam.size + 1) / lam.size, lam / lam[0], "o-", ms=2,
                    label=f"{name} (d = {lam.size}, cond {lam[0] / lam[-1]:.2g})")
    ax.set_xlabel("principal axis / d")
    ax.set_ylabel("eigenvalue / largest")
    ax.set_title("Covariance spectra of scikit-learn's data sets", fontsize=10)
    ax.legend(fontsize=8)
    spectra = out / "real_data_spectra.png"
    fig.savefig(spectra, dpi=110)

    fig = Figure(figsize=(10.0, 6.4), layout="constrained")
    for i, (name, r) in enumerate(results.items()):
        ax = fig.add_subplot(2, 2, i + 1)
        run = r["run"]
        for key, label, color in (("angles_bn", "BN", "C0"),
                                  ("angles_vanilla", "vanilla", "C1")):
            q = np.quantile(run[key], [0.1, 0.5, 0.9], axis=1)
            ax.semilogy(run["times"], q[1], color=color, label=f"{label} (median, 10-90%)")
            ax.fill_between(run["times"], q[0], q[2], color=color, alpha=0.2)
        ax.axhline(run["angle_deg"], color="k", ls=":", lw=1)
        bound = ">= " if run["speedup_is_lower_bound"] else ""
        ax.set_title(f"{name}: speed-up {bound}{when(r['speedup'])}", fontsize=9)
        ax.set_xlabel("time (steps x learning rate)")
        ax.set_ylabel("Sigma angle to 1st principal axis (deg)")
        ax.legend(fontsize=7)
    speed = out / "real_data_speed.png"
    fig.savefig(speed, dpi=110)
    return [spectra, speed]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer students, shorter runs")
    parser.add_argument("--out", default=".", help="directory for the PNGs (default .)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results, ok = {}, True
    for name in NAMES:
        print(f"{name}:")
        ds, X, y = load(name)
        lam = spectrum(ds)
        print(f"  n = {ds.X.shape[0]}, d = {ds.dim}, eigenvalues {lam[0]:.3g} .. {lam[-1]:.3g}, "
              f"condition number {lam[0] / lam[-1]:.3g} (standardized features: "
              f"{standardized_condition(X):.3g})")
        guardrails(ds, X, y)
        gaps = [check_theorem2(args.seed, loss=loss, dataset=ds)["measured"]
                for loss in ("squared", "logistic")]
        print(f"  Theorem 2 against an autograd BN layer on the raw features: max relative "
              f"discrepancy {max(gaps):.2e}")
        run = data_anisotropy_run(ds, quick=args.quick, seed=args.seed)
        bound = ">= " if run["speedup_is_lower_bound"] else ""
        print(f"  Section 4.1: 90% of BN students within {run['angle_deg']:g} deg at t = "
              f"{when(run['t_gather_bn'])}, vanilla at t = {when(run['t_gather_vanilla'])} "
              f"(t_end {run['t_end']:g}): speed-up {bound}{when(run['speedup'])}")
        ok &= max(gaps) < 1e-10 and run["speedup"] is not None and run["speedup"] > 1
        results[name] = {"spectrum": lam, "run": run, "speedup": run["speedup"]}
    for path in plot(results, out):
        print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
