"""rsmlib.gaussian (chapter 4): estimators, Price's factor ½, the R-gradient convention, helpers."""
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rsmlib import gaussian as G

F64 = tf.float64
MU = tf.constant([0.3, -0.5, 1.0], F64)
R = tf.constant([[1.0, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.5, 0.6]], F64)
A_VEC = tf.constant([0.5, -0.3, 0.2], F64)
A_MAT = tf.constant([[1.0, 0.3, -0.2], [0.3, 0.5, 0.1], [-0.2, 0.1, 0.8]], F64)


def f_exp(xi):
    return tf.exp(tf.linalg.matvec(xi, A_VEC))


def f_quad(xi):
    return tf.reduce_sum(xi * tf.linalg.matvec(A_MAT, xi), axis=-1)


def expect_exp(mu, R_):
    C = tf.matmul(R_, R_, transpose_b=True)
    return tf.exp(tf.tensordot(A_VEC, mu, 1) + 0.5 * tf.tensordot(A_VEC, tf.linalg.matvec(C, A_VEC), 1))


def exact_grads(expect, mu=MU, R_=R):
    with tf.GradientTape() as tape:
        tape.watch([mu, R_])
        E = expect(mu, R_)
    return tape.gradient(E, [mu, R_])


def max_z(samples, exact):
    samples = np.asarray(samples)
    stderr = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    return float(np.max(np.abs(samples.mean(axis=0) - np.asarray(exact)) / stderr))


# --- estimators: unbiased on a closed-form case ---------------------------------------------

@pytest.mark.parametrize("estimator", [G.pathwise_gradients, G.score_function_gradients])
def test_estimators_are_unbiased_for_mu_and_R(estimator):
    grad_mu, grad_R = exact_grads(expect_exp)
    est = estimator(f_exp, MU, R, num_samples=50_000, seed=1)
    assert max_z(est["mu"], grad_mu) < 5
    assert max_z(est["R"], grad_R) < 5


def test_price_estimator_is_unbiased_for_C():
    C = tf.matmul(R, R, transpose_b=True)
    with tf.GradientTape() as tape:
        tape.watch(C)
        E = tf.exp(tf.tensordot(A_VEC, MU, 1) + 0.5 * tf.tensordot(A_VEC, tf.linalg.matvec(C, A_VEC), 1))
    est = G.price_gradients(f_exp, MU, R, num_samples=20_000, seed=2)
    assert max_z(est["C"], tape.gradient(E, C)) < 5


def test_price_factor_one_half_is_exact_for_a_quadratic():
    # E[ξᵀAξ] = Tr(AC) + μᵀAμ, so ∇_C E = A exactly; H = 2A for every sample, so ½H = A per sample.
    est = G.price_gradients(f_quad, MU, R, num_samples=7, seed=3)
    np.testing.assert_allclose(est["C"].numpy(), np.broadcast_to(A_MAT.numpy(), (7, 3, 3)),
                               rtol=1e-12, atol=1e-12)
    xi, _ = G.sample_gaussian(MU, R, 7, seed=3)
    np.testing.assert_allclose(est["mu"].numpy(), 2 * xi.numpy() @ A_MAT.numpy(), rtol=1e-12)


def test_R_gradient_convention_is_d_by_dR_ij_per_sample():
    # entry (i, j) of the per-sample estimate is ∂ f(μ + Rε) / ∂R_ij = g_i ε_j
    est = G.pathwise_gradients(f_exp, MU, R, num_samples=4, seed=4)
    _, eps = G.sample_gaussian(MU, R, 4, seed=4)
    for n in range(4):
        with tf.GradientTape() as tape:
            tape.watch(R)
            value = f_exp((MU + tf.linalg.matvec(R, eps[n]))[None, :])[0]
        np.testing.assert_allclose(est["R"][n].numpy(), tape.gradient(value, R).numpy(), rtol=1e-12)


def test_R_gradient_agrees_with_price_through_dC_dR():
    # for a quadratic, ∇_R E = 2 ∇_C E R = 2 A R; the pathwise average converges to it
    est = G.pathwise_gradients(f_quad, MU, R, num_samples=50_000, seed=5, wrt="R")
    assert set(est) == {"R"}
    assert max_z(est["R"], 2 * A_MAT @ R) < 5


def test_score_equals_autodiff_of_log_density():
    one = lambda xi: tf.ones(tf.shape(xi)[:1], F64)
    est = G.score_function_gradients(one, MU, R, num_samples=3, seed=6)
    xi, _ = G.sample_gaussian(MU, R, 3, seed=6)
    for n in range(3):
        with tf.GradientTape() as tape:
            tape.watch([MU, R])
            C = tf.matmul(R, R, transpose_b=True)
            d = xi[n] - MU
            lq = -0.5 * (tf.linalg.logdet(C) + tf.reduce_sum(d * tf.linalg.solve(C, d[:, None])[:, 0]))
        g_mu, g_R = tape.gradient(lq, [MU, R])
        np.testing.assert_allclose(est["mu"][n].numpy(), g_mu.numpy(), rtol=1e-10)
        np.testing.assert_allclose(est["R"][n].numpy(), g_R.numpy(), rtol=1e-10, atol=1e-12)


def test_score_function_variance_formula_for_sum_of_squares():
    K = 5
    f = lambda z: tf.reduce_sum(z ** 2, axis=-1)
    s = G.score_function_gradients(f, tf.ones([K], F64), tf.eye(K, dtype=F64), 200_000, seed=7,
                                   wrt="mu")["mu"][:, 0].numpy()
    c = s - s.mean()
    se = np.sqrt((np.mean(c ** 4) - np.var(s) ** 2) / len(s))
    assert abs(np.var(s, ddof=1) - 2 * (K + 2) * (2 * K + 3)) < 5 * se


def test_same_seed_same_samples_and_stateless():
    a, _ = G.sample_gaussian(MU, R, 5, seed=11)
    b, _ = G.sample_gaussian(MU, R, 5, seed=11)
    c, _ = G.sample_gaussian(MU, R, 5, seed=12)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())


# --- rank-one and diagonal helpers ------------------------------------------------------------

vectors = st.integers(1, 6).flatmap(lambda k: st.tuples(
    st.lists(st.floats(0.2, 5.0), min_size=k, max_size=k),
    st.lists(st.floats(-20.0, 20.0), min_size=k, max_size=k),
    st.lists(st.floats(-3.0, 3.0), min_size=k, max_size=k)))


@settings(max_examples=40, deadline=None)
@given(vectors)
def test_rank_one_helpers_match_dense_linear_algebra(dum):
    d, u, mu = (np.array(x) for x in dum)
    K = len(d)
    C = np.linalg.inv(np.diag(d) + np.outer(u, u))
    R_ = G.rank_one_scale(d, u).numpy()
    np.testing.assert_allclose(R_ @ R_.T, C, rtol=1e-8, atol=1e-10 * np.abs(C).max())
    np.testing.assert_allclose(G.rank_one_covariance(d, u).numpy(), C, rtol=1e-8,
                               atol=1e-10 * np.abs(C).max())
    eps = np.random.default_rng(0).normal(size=(3, K))
    np.testing.assert_allclose(G.rank_one_scale_matvec(d, u, eps).numpy(), eps @ R_.T, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(G.log_det_rank_one(d, u).numpy(), np.linalg.slogdet(C)[1], rtol=1e-9,
                               atol=1e-9)
    kl_dense = 0.5 * (np.trace(C) + mu @ mu - K - np.linalg.slogdet(C)[1])
    np.testing.assert_allclose(G.kl_rank_one_to_standard(mu, d, u).numpy(), kl_dense, rtol=1e-8,
                               atol=1e-9)
    np.testing.assert_allclose(G.kl_to_standard(mu, C).numpy(), kl_dense, rtol=1e-8, atol=1e-9)


def test_rank_one_with_zero_u_is_diagonal():
    d = np.array([0.5, 2.0, 4.0])
    np.testing.assert_allclose(G.rank_one_scale(d, np.zeros(3)).numpy(), np.diag(d ** -0.5))


def test_diagonal_helpers():
    mu, sigma = np.array([0.2, -1.0, 0.5]), np.array([0.5, 1.5, 2.0])
    np.testing.assert_allclose(G.log_det_diagonal(sigma).numpy(), np.sum(np.log(sigma ** 2)))
    C = np.diag(sigma ** 2)
    kl_dense = 0.5 * (np.trace(C) + mu @ mu - 3 - np.linalg.slogdet(C)[1])
    np.testing.assert_allclose(G.kl_diagonal_to_standard(mu, sigma).numpy(), kl_dense, rtol=1e-12)
    np.testing.assert_allclose(G.kl_to_standard(mu, C).numpy(), kl_dense, rtol=1e-12)
    assert G.kl_diagonal_to_standard(np.zeros(3), np.ones(3)).numpy() == 0.0
    assert G.kl_diagonal_to_standard(mu, sigma).numpy() > 0


@pytest.mark.parametrize("which", ["diagonal", "rank-one"])
def test_samplers_have_the_right_covariance(which):
    n, mu = 100_000, np.array([0.3, -0.2, 1.0])
    d, u, sigma = np.array([1.0, 2.0, 0.5]), np.array([0.8, -0.4, 0.3]), np.array([0.5, 1.0, 2.0])
    if which == "diagonal":
        xi, C = G.sample_diagonal(np.tile(mu, (n, 1)), sigma, seed=8).numpy(), np.diag(sigma ** 2)
    else:
        xi, C = G.sample_rank_one(np.tile(mu, (n, 1)), d, u, seed=9).numpy(), \
            np.linalg.inv(np.diag(d) + np.outer(u, u))
    c = xi - mu
    products = (c[:, :, None] * c[:, None, :]).reshape(n, -1)
    assert max_z(products, C.ravel()) < 5
    assert max_z(xi, mu) < 5


def test_batched_shapes():
    mu, d, u = np.zeros((4, 3)), np.ones((4, 3)), np.full((4, 3), 0.5)
    assert G.sample_rank_one(mu, d, u, seed=1).shape == (4, 3)
    assert G.kl_rank_one_to_standard(mu, d, u).shape == (4,)
    assert G.log_det_rank_one(d, u).shape == (4,)
    assert G.rank_one_scale(d, u).shape == (4, 3, 3)
    assert G.kl_diagonal_to_standard(mu, d).shape == (4,)


def test_graph_mode_asserts_positive_scales():
    fn = tf.function(lambda d: G.log_det_rank_one(d, tf.zeros_like(d)))
    assert np.isfinite(fn(tf.constant([1.0, 2.0], F64)).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="d must be positive"):
        fn(tf.constant([1.0, -2.0], F64))


# --- bad inputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: G.sample_diagonal([0.0, 1.0], [1.0, -0.5], seed=1), ValueError, "sigma must be positive"),
    (lambda: G.sample_diagonal([0.0, 1.0], [1.0, 0.0], seed=1), ValueError, "sigma must be positive"),
    (lambda: G.log_det_diagonal([1.0, np.nan]), ValueError, "sigma must be finite"),
    (lambda: G.log_det_rank_one([1.0, 0.0], [0.1, 0.2]), ValueError, "d must be positive"),
    (lambda: G.kl_rank_one_to_standard([0.0, np.nan], [1.0, 1.0], [0.0, 0.0]), ValueError,
     "mu must be finite"),
    (lambda: G.log_det_rank_one([1.0, 1.0], [0.1, 0.2, 0.3]), ValueError, "share the last dimension"),
    (lambda: G.sample_rank_one(np.zeros((2, 3)), np.ones((4, 3)), np.ones(3), seed=1), ValueError,
     "must broadcast"),
    (lambda: G.rank_one_scale_matvec([1.0, 1.0], [0.0, 0.0], [1.0, np.inf]), ValueError,
     "eps must be finite"),
    (lambda: G.sample_gaussian(MU, tf.eye(2, dtype=F64), 10, seed=1), ValueError, "R must be a square"),
    (lambda: G.sample_gaussian(tf.zeros([2, 3], F64), R, 10, seed=1), ValueError, "mu must be a vector"),
    (lambda: G.sample_gaussian(MU, R, 0, seed=1), ValueError, "num_samples"),
    (lambda: G.sample_gaussian(MU, R, 2.5, seed=1), TypeError, "num_samples"),
    (lambda: G.sample_gaussian(MU, R, 5, seed=1.5), TypeError, "seed"),
    (lambda: G.pathwise_gradients(lambda x: tf.reduce_sum(x), MU, R, 5, seed=1), ValueError,
     "f must map"),
    (lambda: G.pathwise_gradients(f_exp, MU, R, 5, seed=1, wrt="C"), ValueError, "wrt"),
    (lambda: G.score_function_gradients(f_exp, MU, tf.zeros([3, 3], F64), 5, seed=1), ValueError,
     "R must be invertible"),
    (lambda: G.kl_to_standard(MU, -tf.eye(3, dtype=F64)), ValueError, "positive definite"),
    (lambda: G.kl_to_standard(MU, tf.eye(2, dtype=F64)), ValueError, "C must have shape"),
    (lambda: G.sample_diagonal("zero", 1.0, seed=1), TypeError, "mu must"),
])
def test_bad_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_price_gradients_rejects_f_of_the_wrong_shape():
    with pytest.raises(ValueError, match="f must map"):
        G.price_gradients(lambda xi: tf.reduce_sum(xi), MU, R, 10, seed=1)


def test_price_gradients_warns_for_a_kink_and_not_for_smooth_f():
    """Price's theorem needs ∇f absolutely continuous: a ReLU breaks it and must be flagged."""
    import warnings
    relu = lambda xi: tf.nn.relu(xi[:, 0])
    with pytest.warns(RuntimeWarning, match="absolutely continuous"):
        G.price_gradients(relu, MU, R, 20_000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G.price_gradients(f_exp, MU, R, 20_000, seed=3)
        G.price_gradients(relu, MU, R, 20_000, seed=3, check_assumption=False)
