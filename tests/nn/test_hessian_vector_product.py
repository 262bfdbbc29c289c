"""The closed-form Hessian-vector product of the vanilla loss equals autograd's."""

import autograd
import numpy as np
import pytest

from bngeom.nn import model


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "softplus", "sigmoid"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_hvp_is_autograds(activation, loss):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = np.sign(rng.standard_normal(50))
    U, V = rng.standard_normal((2, 4, 3))
    a, b = rng.standard_normal((2, 4))

    def f(U, a):
        return model.vanilla_loss(X, y, U, a, activation, loss)

    def directional(U, a):
        gU, ga = autograd.grad(f, (0, 1))(U, a)
        return np.sum(gU * V) + np.sum(ga * b)

    ref = autograd.grad(directional, (0, 1))(U, a)
    # blocks of 7 samples against one block
    for budget in (7 * 4 * 8 * 3, model.DEFAULT_MEMORY_BUDGET):
        hU, ha = model.vanilla_hessian_vector_product(X, y, U, a, V, b, activation, loss,
                                                      memory_budget=budget)
        np.testing.assert_allclose(hU, ref[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ha, ref[1], rtol=1e-12, atol=1e-15)


def test_hvp_checks_its_arguments():
    X, y = np.eye(2), np.zeros(2)
    with pytest.raises(ValueError, match="V and b must have the shapes of U and a"):
        model.vanilla_hessian_vector_product(X, y, np.eye(2), np.ones(2), np.eye(2)[:1],
                                             np.ones(1))
    with pytest.raises(ValueError, match="finite"):
        model.vanilla_hessian_vector_product(X, y, np.eye(2), np.ones(2),
                                             np.full((2, 2), np.nan), np.ones(2))


def test_hvp_direction_may_have_zero_rows():
    hU, ha = model.vanilla_hessian_vector_product(np.eye(2), np.zeros(2), np.eye(2),
                                                  np.zeros(2), np.zeros((2, 2)), np.zeros(2))
    assert not hU.any() and not ha.any()
