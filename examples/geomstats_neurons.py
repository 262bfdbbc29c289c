"""Fréchet means, clusters and principal geodesics of neurons on BNSpace with geomstats' tools.

A neuron of a BN network is a point (u, a) of M = N_Sigma x R (u = phi(w) on the
Sigma-sphere, a its output weight). geomstats' learning tools run on BNSpace unchanged:

1. FrechetMean on neurons placed symmetrically about a known neuron returns that neuron
   (closed form), while the Euclidean average of the u's is not even on N_Sigma;
2. RiemannianKMeans splits a population of neurons scattered about three "teacher"
   neurons into the three groups, with cluster centres next to the teachers;
3. TangentPCA finds the one direction along which a population was spread.

    python examples/geomstats_neurons.py [--quick] [--seed 0]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from geomstats.learning.frechet_mean import FrechetMean
from geomstats.learning.kmeans import RiemannianKMeans
from geomstats.learning.pca import TangentPCA

from bngeom import data
from bngeom.adapters.geomstats import BNSpace
from bngeom.geometry.charts import normalize_to_manifold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    per_cluster = 20 if args.quick else 200
    d = 4 if args.quick else 8

    X, cov = data.anisotropic_gaussian(2000, np.geomspace(4.0, 0.25, d), rng=rng, rotate=True)
    space = BNSpace(cov)
    metric = space.metric
    print(f"BNSpace: d = {d}, points (u, a) of length {space.shape[0]}, dimension {space.dim}")

    # 1. Fréchet mean with a closed-form answer ------------------------------------------
    centre = space.random_point(rng=rng)
    xi = space.random_tangent_vec(np.stack([centre] * 3), rng=rng)
    xi[:, -1] = 0.0
    xi *= (0.5 / metric.norm(xi, centre))[:, None]
    neurons = np.concatenate([metric.exp(xi, centre), metric.exp(-xi, centre)])
    neurons[:, -1] = rng.uniform(-1.0, 1.0, len(neurons))
    mean = FrechetMean(space).set(epsilon=1e-28, max_iter=200).fit(neurons).estimate_
    expected = np.append(centre[:-1], neurons[:, -1].mean())
    euclid = neurons[:, :-1].mean(axis=0)
    print("\n1. Frechet mean of 6 neurons placed symmetrically about a known neuron")
    print(f"   distance to the known answer:       {metric.dist(mean, expected):.2e}")
    print(f"   Euclidean average of u: u^T Sigma u = {euclid @ cov @ euclid:.4f} (off N_Sigma)")

    # 2. clusters of neurons ---------------------------------------------------------------
    W, a = data.teacher_network(d, 3, rng=rng)
    teachers = np.column_stack([normalize_to_manifold(W, cov), a / 3.0])
    base = np.repeat(teachers, per_cluster, axis=0)
    labels = np.repeat(np.arange(3), per_cluster)
    population = metric.exp(0.15 * space.random_tangent_vec(base, rng=rng), base)
    random.seed(args.seed)                      # geomstats' kmeans++ draws from these
    np.random.seed(args.seed)  # noqa: NPY002
    # k-means finds local minima: keep the best of a few kmeans++ starts (lowest inertia)
    runs = [RiemannianKMeans(space, n_clusters=3, init="kmeans++", tol=1e-6).fit(population)
            for _ in range(5)]
    km = min(runs, key=lambda run: run.inertia_)
    found = np.asarray(km.labels_)
    print(f"\n2. RiemannianKMeans (best of 5 starts) on {len(population)} neurons "
          "around 3 teacher neurons")
    for k in range(3):
        members = labels[found == k]
        majority = np.bincount(members, minlength=3).argmax()
        purity = np.mean(members == majority)
        gap = metric.dist(km.cluster_centers_[k], teachers[majority])
        print(f"   cluster {k}: {len(members):4d} neurons, {100 * purity:5.1f}% from teacher "
              f"{majority}, centre at distance {gap:.3f} from it")

    # 3. principal geodesic ----------------------------------------------------------------
    direction = space.random_tangent_vec(teachers[0], rng=rng)
    direction /= metric.norm(direction, teachers[0])
    s = rng.uniform(-0.8, 0.8, (3 * per_cluster, 1))
    spread = metric.exp(s * direction, teachers[0])
    spread = metric.exp(0.02 * space.random_tangent_vec(spread, rng=rng), spread)
    pca = TangentPCA(space, n_components=3).fit(spread)
    print(f"\n3. TangentPCA on {len(spread)} neurons spread along one geodesic")
    print("   explained variance ratios:", np.round(pca.explained_variance_ratio_, 4).tolist())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
