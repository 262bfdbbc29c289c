"""Train a torch two-layer network on M^m = (N_Sigma x R)^m with geoopt's Riemannian optimizers.

One geoopt.ManifoldParameter of shape (m, d + 1) on bngeom's NeuronManifold holds the network:
row k is (u_k, a_k), u_k on N_Sigma = {u : u^T Sigma u = 1} with the metric of Proposition 1.
The network computes f(x) = (1/m) sum_k a_k tanh(u_k^T x), which is the BN network with any
first-layer weights w_k along u_k (MATH §3). The script

1. trains it with geoopt's RiemannianAdam and prints the falling loss;
2. takes RiemannianSGD steps on NeuronManifoldExact and compares them with the same steps
   computed by bngeom's numpy core (Theorem 2's gradient, the exponential map);
3. checks that the trained point is a trained BN network (bngeom.model.bn_loss with rows
   rescaled by random radii gives the same loss).

    python examples/geoopt_training.py [--quick] [--seed 0]
"""

from __future__ import annotations

import argparse

import geoopt
import numpy as np
import torch

from bngeom import data, geometry, model
from bngeom.adapters.geoopt import NeuronManifold, NeuronManifoldExact


class TwoLayerNetwork(torch.nn.Module):
    """f(x) = (1/m) sum_k a_k tanh(u_k^T x), its m neurons (u_k, a_k) one parameter on M^m."""

    def __init__(self, manifold: NeuronManifold, start: np.ndarray) -> None:
        super().__init__()
        self.manifold = manifold
        self.neurons = geoopt.ManifoldParameter(torch.tensor(start), manifold=manifold)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        U, a = self.manifold.unpack_tensor(self.neurons)
        return torch.tanh(X @ U.T) @ a[:, 0] / U.shape[0]


def squared_loss(network: TwoLayerNetwork, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """bngeom's squared loss: the mean of (f - y)^2 / 2."""
    return 0.5 * ((network(X) - y) ** 2).mean()


def train(network: TwoLayerNetwork, optimizer: torch.optim.Optimizer, X: torch.Tensor,
          y: torch.Tensor, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = squared_loss(network, X, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def numpy_sgd_steps(ds: data.Dataset, start: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """Riemannian gradient descent on M^m with bngeom's numpy core: exp(-lr grad_g L~)."""
    U, a = start[:, :-1], start[:, -1]
    for _ in range(steps):
        grads = model.vanilla_loss_and_gradients(ds.X, ds.y, U, a, "tanh", "squared")
        U = geometry.exp(U, -lr * geometry.riemannian_gradient(U, grads.grad_w, ds.cov), ds.cov)
        a = a - lr * grads.grad_a
    return np.column_stack([U, a])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n, spectrum, width, steps = ((300, [2.0, 1.0, 0.5, 0.25], 8, 150) if args.quick
                                 else (2000, np.geomspace(4.0, 0.1, 10), 24, 600))
    ds = data.make_teacher_dataset(n, spectrum, teacher_width=3, rng=args.seed, rotate=True)
    X, y = torch.tensor(ds.X), torch.tensor(ds.y)
    rng = np.random.default_rng(args.seed + 1)
    start = np.column_stack([geometry.random_point(ds.cov, width, rng=rng),
                             rng.standard_normal(width)])
    print(f"data: n = {n}, d = {ds.dim}; a width-{width} network on M^{width}, "
          f"one ManifoldParameter of shape {start.shape}")

    # 1. RiemannianAdam on M^m
    network = TwoLayerNetwork(NeuronManifold(ds.cov), start)
    losses = train(network, geoopt.optim.RiemannianAdam(network.parameters(), lr=0.05), X, y,
                   steps)
    marks = sorted({0, steps // 10, steps // 3, steps - 1})
    print("RiemannianAdam: " + ", ".join(f"step {k}: {losses[k]:.3e}" for k in marks))
    network.manifold.assert_check_point_on_manifold(network.neurons)
    if not losses[-1] < 0.5 * losses[0]:
        print("the loss did not fall")
        return 1

    # 2. geoopt's RiemannianSGD steps are bngeom's numpy Riemannian steps
    exact = TwoLayerNetwork(NeuronManifoldExact(ds.cov), start)
    sgd_steps = 5
    train(exact, geoopt.optim.RiemannianSGD(exact.parameters(), lr=0.5), X, y, sgd_steps)
    gap = np.abs(exact.neurons.detach().numpy() - numpy_sgd_steps(ds, start, 0.5, sgd_steps)).max()
    print(f"{sgd_steps} RiemannianSGD steps on NeuronManifoldExact against bngeom's numpy "
          f"steps (exp of Theorem 2's gradient): largest difference {gap:.1e}")

    # 3. the trained point is a trained BN network, whatever the norms of its rows
    U, a = (t.detach().numpy() for t in network.manifold.unpack_tensor(network.neurons))
    W = U * rng.uniform(0.1, 10.0, (width, 1))
    bn = model.bn_loss(ds.X, ds.y, W, a[:, 0], ds.cov, "tanh", "squared")
    trained = squared_loss(network, X, y).item()
    print(f"BN loss with rows of random norms: {bn:.6e}; torch loss on M: {trained:.6e}")
    return 0 if gap < 1e-12 and np.isclose(bn, trained, rtol=1e-12) else 1


if __name__ == "__main__":
    raise SystemExit(main())
