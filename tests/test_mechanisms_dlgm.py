"""Mechanism tests of rsmlib.DLGM (chapter 5; issue 18): properties a plausible bug breaks.

- ``sample``: the pixel means of many samples equal the model's exact marginal p(v_d = 1),
  computed by Gauss-Hermite quadrature on a model with one stochastic layer of two units;
- ``elbo``: its KL term is KL(q ‖ p), checked against a Monte Carlo estimate of
  E_q[ln p(v, ξ) - ln q(ξ | v)] drawn with the model's own densities;
- ``impute``: observed pixels come back untouched, the values under the mask are ignored, the
  observed ones are what the fill-in is conditioned on;
- ``noise``: per layer (n, K_l) standard normals, and the very noise a ``seed`` stands for;
- ``train_step``: Adam's first step moves every parameter by the learning rate against the
  sign of the gradient of F(V) / B, and returns that loss.
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from rsmlib import DLGM

F64 = tf.float64


def binary(shape, seed, p=0.5):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float64)


def two_unit_model(D=6, seed=1, head_scale=30.0):
    """A float64 DLGM with one stochastic layer of two units: decoder weights enlarged and
    biases spread (so that the pixels depend strongly on ξ and differ in mean), recognition
    heads enlarged (so that q is far from the prior)."""
    model = DLGM(D, (2,), hidden_size=5, covariance="rank_one", seed=seed, dtype=F64)
    T0 = model.generative.T[0]
    T0.W1.assign(T0.W1 * 2.0)
    T0.W2.assign(T0.W2 * 3.0)
    T0.b1.assign(np.linspace(-1.0, 1.0, T0.b1.shape[0]))
    T0.b2.assign(np.linspace(-1.5, 1.5, D))
    for W, _ in model.recognition.heads:
        W.assign(W * head_scale)
    return model


def pixel_marginals(model, nodes=60):
    """p(v_d = 1) = E_{ξ ~ N(0, I)}[σ(logit_d(ξ))] by 2-D Gauss-Hermite quadrature, (D,)."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    grid = np.sqrt(2.0) * np.array(list(itertools.product(x, x)))
    weights = np.prod(np.array(list(itertools.product(w, w))), axis=1) / np.pi
    probs = tf.sigmoid(model.generative.visible_logits([tf.constant(grid)])).numpy()
    return weights @ probs


def test_sampled_pixel_means_equal_the_models_exact_marginals():
    model = two_unit_model()
    exact = pixel_marginals(model)
    assert exact.max() - exact.min() > 0.2                     # the pixels differ
    n = 40_000
    v, p = (x.numpy() for x in model.sample(n, seed=2))
    assert set(np.unique(v)) <= {0.0, 1.0}
    z_v = (v.mean(0) - exact) / np.sqrt(exact * (1 - exact) / n)
    z_p = (p.mean(0) - exact) / (p.std(0) / np.sqrt(n))
    assert np.abs(z_v).max() < 4.5 and np.abs(z_p).max() < 4.5
    # v is drawn from the p returned beside it: v = 1 exactly as often as p says, per image
    z = (v - p).sum() / np.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4.5


def test_the_elbos_kl_term_equals_a_monte_carlo_estimate():
    model = two_unit_model()
    v = binary((2, 6), 3)
    n = 20_000
    rows = np.repeat(v, n, axis=0)
    elbo = model.elbo(rows, seed=4).numpy().reshape(2, n)
    q = model.recognition(tf.constant(rows))
    xis = model.recognition.sample(q, model.noise(2 * n, seed=5))
    mc = (model.generative.log_joint(rows, xis)
          - model.recognition.log_density(q, xis)).numpy().reshape(2, n)
    kl = model.recognition.kl(model.recognition(tf.constant(v))).numpy()
    assert kl.min() > 1.0                                      # a KL sign or factor error shows
    se = np.sqrt(elbo.var(1) / n + mc.var(1) / n)
    assert np.all(np.abs(elbo.mean(1) - mc.mean(1)) < 4.5 * se)
    assert np.all(4.5 * se < 0.5 * kl)


def test_impute_gives_every_step_its_own_noise_seed(monkeypatch):
    # impute splits its seed into 2·steps + 1: the start, then per step t the noise ξ
    # (2t + 1) and the pixel draws (2t + 2). Record the noise seeds: step t must use
    # split t·2 + 1, never a split that another draw uses (e.g. 3 - t reuses the start's
    # and the pixel draws' seeds from the second step on)
    from rsmlib.sampling import split_seed

    model = two_unit_model(D=8)
    v = binary((5, 8), 6)
    mask = np.ones_like(v)
    mask[:, 4:] = 0
    seen, noise = [], model.noise

    def recording(n, seed):
        seen.append(np.asarray(seed).tolist())
        return noise(n, seed)

    monkeypatch.setattr(model, "noise", recording)
    model.impute(v, mask, steps=4, seed=7)
    assert seen == split_seed(7, 9).numpy()[1::2].tolist()


def test_impute_keeps_observed_pixels_ignores_masked_values_and_conditions_on_the_rest():
    model = two_unit_model(D=8)
    v = binary((5, 8), 6)
    mask = np.ones_like(v)
    mask[:, 4:] = 0
    filled = model.impute(v, mask, steps=3, seed=7)
    np.testing.assert_array_equal(filled[:, :4], v[:, :4])
    assert np.all((filled[:, 4:] > 0) & (filled[:, 4:] < 1))   # probabilities under the mask
    garbled = v.copy()
    garbled[:, 4:] = 1 - garbled[:, 4:]
    np.testing.assert_array_equal(model.impute(garbled, mask, steps=3, seed=7), filled)
    flipped = v.copy()
    flipped[:, :4] = 1 - flipped[:, :4]
    other = model.impute(flipped, mask, steps=3, seed=7)
    assert np.abs(other[:, 4:] - filled[:, 4:]).max() > 1e-3
    np.testing.assert_array_equal(model.impute(v, np.ones_like(v), steps=2, seed=7), v)


def test_noise_is_standard_normal_per_layer_and_is_what_a_seed_means():
    model = DLGM(6, (3, 2), hidden_size=4, seed=0, dtype=F64)
    eps = model.noise(50_000, seed=8)
    assert [e.shape for e in eps] == [(50_000, 3), (50_000, 2)]
    for e in (x.numpy() for x in eps):
        assert np.abs(e.mean(0)).max() < 0.03 and np.abs(e.var(0) - 1).max() < 0.03
    a, b = (x.numpy() for x in model.noise(4, seed=9)), (x.numpy() for x in model.noise(4, 10))
    assert all(not np.array_equal(x, y) for x, y in zip(a, b))
    v = binary((4, 6), 11)
    np.testing.assert_array_equal(model.free_energy(v, seed=12).numpy(),
                                  model.free_energy(v, noise=model.noise(4, 12)).numpy())


def test_adams_first_train_step_moves_each_parameter_by_the_rate_against_the_gradient():
    model = DLGM(6, (2,), hidden_size=4, seed=13, dtype=F64)
    v = binary((4, 6), 14)
    with tf.GradientTape() as tape:
        loss = model.free_energy(v, seed=15, num_data=40) / 4
    grads = tape.gradient(loss, model.parameters)
    before = [p.numpy().copy() for p in model.parameters]
    rate = 1e-3
    returned = float(model.train_step(v, seed=15, num_data=40, learning_rate=rate))
    assert returned == pytest.approx(float(loss), rel=1e-10)
    moved = 0
    for old, p, g in zip(before, model.parameters, grads):
        g, step = g.numpy(), p.numpy() - old
        big = np.abs(g) > 1e-2        # ε (1e-8 here, 1e-7 in Keras) shifts smaller ones
        np.testing.assert_allclose(step[big], -rate * np.sign(g[big]), rtol=1e-3)
        assert np.all(np.abs(step) <= rate * (1 + 1e-6))
        moved += big.sum()
    assert moved > 20
