"""Tests of rsmlib.dlgm (chapter 5): shapes, the model's identities, estimators, errors, state."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from rsmlib import DLGM, load_binarized_mnist, rank_one_covariance
from rsmlib.datasets import read_binarized_mnist_amat
from rsmlib.dlgm import GenerativeModel, RecognitionModel, standard_normal_noise

F64 = tf.float64


def binary(shape, seed, p=0.4):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float64)


def tiny_model(covariance, seed=3, head_scale=10.0, latent=(2,), D=8):
    model = DLGM(D, latent, hidden_size=6, covariance=covariance, seed=seed, dtype=F64)
    for W, _ in model.recognition.heads:
        W.assign(W * head_scale)
    return model


def quadrature_log_p(gen, v, nodes=100):
    """ln p(v) for a model with one stochastic layer of two units, by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    grid = np.sqrt(2.0) * np.array(list(itertools.product(x, x)))
    weights = np.prod(np.array(list(itertools.product(w, w))), axis=1) / np.pi
    logits = gen.visible_logits([grid]).numpy()
    log_lik = v @ logits.T - np.logaddexp(0, logits).sum(axis=1)
    top = log_lik.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(log_lik - top) @ weights)


@pytest.mark.parametrize("covariance", ["diagonal", "rank_one"])
def test_shapes(covariance):
    model = DLGM(20, (4, 3), hidden_size=7, covariance=covariance, seed=0)
    v = binary((5, 20), 0)
    q = model.recognition(v)
    assert [p["mu"].shape for p in q] == [(5, 4), (5, 3)]
    assert model.elbo(v, seed=1).shape == (5,)
    assert model.free_energy(v, seed=1).shape == ()
    samples, probs = model.sample(6, seed=2)
    assert samples.shape == probs.shape == (6, 20)
    assert set(np.unique(samples.numpy())) <= {0.0, 1.0}
    log_p, se = model.log_likelihood_is(v, 10, seed=3, batch_size=2)
    assert log_p.shape == se.shape == (5,)
    mask = np.ones_like(v)
    mask[:, 10:] = 0
    filled = model.impute(v, mask, steps=2, seed=4)
    assert filled.shape == (5, 20) and np.array_equal(filled[:, :10], v[:, :10])
    assert np.isfinite(float(model.train_step(v, seed=5, num_data=100)))


def test_two_factorisations_agree():
    gen = GenerativeModel(6, (2, 1), hidden_size=5, seed=1, dtype=F64)
    gen.G[0].assign([[0.8, 0.3], [-0.2, 1.4]])
    gen.G[1].assign([[-1.5]])
    v = binary((16, 6), 1)
    xis = standard_normal_noise((2, 1), 16, seed=2, dtype=F64)
    log_det = sum(np.log(abs(np.linalg.det(G.numpy()))) for G in gen.G)
    lhs = gen.log_joint_hidden(v, gen.hidden(xis)).numpy() + log_det
    np.testing.assert_allclose(lhs, gen.log_joint(v, xis).numpy(), rtol=1e-12)


@pytest.mark.parametrize("covariance", ["diagonal", "rank_one"])
def test_kl_closed_form_matches_monte_carlo(covariance):
    rec = RecognitionModel(12, (4,), hidden_size=5, covariance=covariance, head_scale=3.0,
                           seed=2, dtype=F64)
    q = rec(binary((1, 12), 3))
    n = 50_000
    tiled = [{k: tf.repeat(x, n, axis=0) for k, x in q[0].items()}]
    xi = rec.sample(tiled, standard_normal_noise((4,), n, seed=4, dtype=F64))
    log_ratio = (rec.log_density(tiled, xi).numpy()
                 + 0.5 * (xi[0].numpy() ** 2 + np.log(2 * np.pi)).sum(axis=1))
    z = (log_ratio.mean() - rec.kl(q).numpy()[0]) / (log_ratio.std() / np.sqrt(n))
    assert abs(z) < 5


def test_rank_one_scale_satisfies_R_R_transpose_equals_C():
    rec = RecognitionModel(12, (5,), hidden_size=5, covariance="rank_one", head_scale=3.0,
                           seed=5, dtype=F64)
    q = rec(binary((3, 12), 6))[0]
    for n in range(3):
        p = {k: tf.repeat(x[n:n + 1], 5, axis=0) for k, x in q.items()}
        R = rec.scale_times(p, tf.eye(5, dtype=F64)).numpy().T     # column j = R e_j
        C = rank_one_covariance(q["d"][n], q["u"][n]).numpy()
        np.testing.assert_allclose(R @ R.T, C, rtol=1e-10, atol=1e-12)
        assert abs(q["u"][n].numpy()).max() > 0.5                  # a genuinely rank-one case


@pytest.mark.parametrize("covariance", ["diagonal", "rank_one"])
def test_elbo_below_log_p_and_importance_sampling_matches_quadrature(covariance):
    model = tiny_model(covariance)
    v = binary((6, 8), 7, p=0.5)
    exact = quadrature_log_p(model.generative, v)
    elbos = model.elbo(np.repeat(v, 300, axis=0), seed=1).numpy().reshape(6, 300).T
    assert np.all(elbos.mean(0) + 3 * elbos.std(0) / np.sqrt(300) < exact)
    log_p, se = model.log_likelihood_is(v, 5000, seed=8)
    assert np.all(np.abs(log_p - exact) < 4 * se)
    assert np.all(log_p > elbos.mean(0))


def test_free_energy_is_kl_plus_nll_plus_penalty_with_the_same_noise():
    model = tiny_model("rank_one", latent=(3, 2), D=10)
    v = binary((4, 10), 9)
    eps = model.noise(4, seed=10)
    q = model.recognition(v)
    xis = model.recognition.sample(q, eps)
    nll = -model.generative.log_likelihood_given(v, model.generative.visible_logits(xis))
    penalty = sum(float(tf.reduce_sum(p * p)) for p in model.generative.trainable_variables) / 2
    expected = float(tf.reduce_sum(model.recognition.kl(q) + nll)) + penalty
    np.testing.assert_allclose(model.free_energy(v, noise=eps).numpy(), expected, rtol=1e-12)
    half = model.free_energy(v, noise=eps, num_data=8).numpy()     # B / N = 1/2 of the penalty
    np.testing.assert_allclose(half, expected - penalty / 2, rtol=1e-12)


@pytest.mark.parametrize("bad, message", [
    (lambda v: v * 0.5, "v must hold binary values in {0, 1}; found 0.5"),
    (lambda v: v[:, :7], "v must have width 8"),
    (lambda v: np.where(v == 1, np.nan, v), "v must not contain NaN"),
    (lambda v: v[0], "v must have rank 2"),
])
def test_bad_images_raise_errors_naming_the_argument(bad, message):
    model = tiny_model("diagonal")
    v = np.ones((3, 8))
    for call in (lambda x: model.elbo(x, seed=0),
                 lambda x: model.train_step(x, seed=0, num_data=3),
                 lambda x: model.log_likelihood_is(x, 4, seed=0)):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                           .replace("{", r"\{").replace("}", r"\}")):
            call(bad(v))


def test_bad_mask_and_arguments():
    model = tiny_model("rank_one")
    v = np.ones((3, 8))
    with pytest.raises(ValueError, match="mask must hold binary"):
        model.impute(v, np.full((3, 8), 2.0), steps=1, seed=0)
    with pytest.raises(ValueError, match="mask must have the shape of v"):
        model.impute(v, np.ones((2, 8)), steps=1, seed=0)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        model.impute(v, np.ones((3, 8)), steps=0, seed=0)
    with pytest.raises(ValueError, match="num_samples must be an int >= 2"):
        model.log_likelihood_is(v, 1, seed=0)
    with pytest.raises(ValueError, match="covariance must be one of"):
        DLGM(8, (2,), covariance="full")
    with pytest.raises(ValueError, match="latent_sizes"):
        DLGM(8, ())


def test_same_seed_same_numbers():
    a = DLGM(10, (3,), hidden_size=5, seed=0)
    b = DLGM(10, (3,), hidden_size=5, seed=0)
    v = binary((8, 10), 11)
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.variables, b.variables))
    assert np.array_equal(a.elbo(v, seed=3).numpy(), b.elbo(v, seed=3).numpy())
    assert not np.array_equal(a.elbo(v, seed=3).numpy(), a.elbo(v, seed=4).numpy())
    assert np.array_equal(a.sample(4, seed=5)[1].numpy(), b.sample(4, seed=5)[1].numpy())
    np.testing.assert_array_equal(a.log_likelihood_is(v, 5, seed=6)[0],
                                  b.log_likelihood_is(v, 5, seed=6)[0])
    a.fit(v, 2, batch_size=4, seed=7, progress=False)
    b.fit(v, 2, batch_size=4, seed=7, progress=False)
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.variables, b.variables))


def test_checkpoint_resume_equals_uninterrupted_training(tmp_path):
    v = binary((40, 10), 12)
    straight = DLGM(10, (3,), hidden_size=5, seed=0)
    straight.fit(v, 4, batch_size=10, seed=1, progress=False)
    first = DLGM(10, (3,), hidden_size=5, seed=0)
    first.fit(v, 2, batch_size=10, seed=1, checkpoint_dir=str(tmp_path), progress=False)
    resumed = DLGM(10, (3,), hidden_size=5, seed=99)       # different init: all must be restored
    history = resumed.fit(v, 4, batch_size=10, seed=1, checkpoint_dir=str(tmp_path),
                          progress=False)
    assert len(history["train"]) == 2 and int(resumed.step_count) == 16
    for x, y in zip(resumed.variables, straight.variables):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-7)


def test_binarized_mnist_loader_on_a_local_fixture(tmp_path):
    images = (np.random.default_rng(0).random((3, 784)) < 0.3).astype(int)
    source = tmp_path / "remote"
    source.mkdir()
    (source / "binarized_mnist_valid.amat").write_text(
        "".join(" ".join(map(str, row)) + "\n" for row in images))
    url = "file://" + str(source / "binarized_mnist_{split}.amat")
    loaded = load_binarized_mnist("valid", str(tmp_path / "cache"), url=url)
    np.testing.assert_array_equal(loaded, images)
    assert loaded.dtype == np.float32
    again = load_binarized_mnist("valid", str(tmp_path / "cache"), download=False)
    np.testing.assert_array_equal(again, images)
    with pytest.raises(FileNotFoundError):
        load_binarized_mnist("test", str(tmp_path / "cache"), download=False)
    with pytest.raises(ValueError, match="split must be"):
        load_binarized_mnist("training", str(tmp_path))
    bad = tmp_path / "bad.amat"
    bad.write_text("0 1 2\n")
    with pytest.raises(ValueError, match="line 1: expected 784 values 0 or 1"):
        read_binarized_mnist_amat(str(bad))


# --- moved from chapter 5 (software behaviour, not claims of the chapter) ----------------------

def test_fit_refuses_fewer_epochs_than_the_checkpoint_holds(tmp_path):
    v = binary((40, 10), 12)
    DLGM(10, (3,), hidden_size=5, seed=0).fit(v, 3, batch_size=10, seed=1,
                                                checkpoint_dir=str(tmp_path), progress=False)
    with pytest.raises(ValueError, match="epochs = 2 is fewer than the 3 epochs"):
        DLGM(10, (3,), hidden_size=5, seed=0).fit(v, 2, batch_size=10, seed=1,
                                                    checkpoint_dir=str(tmp_path), progress=False)
    same = DLGM(10, (3,), hidden_size=5, seed=0)             # equal epochs: nothing left to do
    assert same.fit(v, 3, batch_size=10, seed=1, checkpoint_dir=str(tmp_path),
                    progress=False)["train"] == []


def test_restored_model_has_the_writers_state_exactly(tmp_path):
    v = binary((40, 10), 12)
    writer = DLGM(10, (3,), hidden_size=5, covariance="rank_one", seed=0)
    writer.fit(v, 2, batch_size=10, seed=1, checkpoint_dir=str(tmp_path), progress=False)
    reader = DLGM(10, (3,), hidden_size=5, covariance="rank_one", seed=7)
    tf.train.Checkpoint(model=reader).restore(tf.train.latest_checkpoint(str(tmp_path)))
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(reader.variables, writer.variables))
    assert int(reader.step_count) == 8
    assert np.array_equal(reader.elbo(v, 0).numpy(), writer.elbo(v, 0).numpy())


def test_fit_sets_the_visible_bias_from_the_data_when_not_given():
    v = binary((40, 10), 12, p=0.1)
    model = DLGM(10, (3,), hidden_size=5, seed=0)
    assert np.allclose(model.generative.T[0].b2.numpy(), 0.0)
    model.fit(v, 1, batch_size=40, seed=1, learning_rate=1e-12, progress=False)
    m = np.clip(v.mean(0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(model.generative.T[0].b2.numpy(), np.log(m / (1 - m)), rtol=1e-4,
                               atol=1e-4)
    given = DLGM(10, (3,), hidden_size=5, seed=0, visible_mean=np.full(10, 0.5))
    given.fit(v, 1, batch_size=40, seed=1, learning_rate=1e-12, progress=False)
    np.testing.assert_allclose(given.generative.T[0].b2.numpy(), 0.0, atol=1e-4)


def test_dynamic_binarisation_and_early_stopping():
    grey = np.random.default_rng(3).random((40, 10)).astype(np.float32)
    model = DLGM(10, (3,), hidden_size=5, seed=0)
    history = model.fit(grey, 6, batch_size=10, seed=1, binarization="dynamic",
                        validation=binary((10, 10), 4), patience=2, progress=False)
    assert 1 <= history["best_epoch"] <= len(history["train"]) <= 6
    assert len(history["validation_elbo"]) == len(history["train"])
    best = int(np.argmax(history["validation_elbo"])) + 1
    assert history["best_epoch"] == best
    with pytest.raises(ValueError, match="grey levels in \\[0, 1\\]"):
        model.fit(grey * 2, 1, batch_size=10, binarization="dynamic", progress=False)
    with pytest.raises(ValueError, match="train must hold binary values"):
        model.fit(grey, 1, batch_size=10, progress=False)
    with pytest.raises(ValueError, match="patience .* needs validation"):
        model.fit(grey, 1, batch_size=10, binarization="dynamic", patience=1, progress=False)
    with pytest.raises(ValueError, match="binarization must be"):
        model.fit(grey, 1, binarization="soft", progress=False)


def test_bernoulli_mixture_is_exact_and_normalised():
    from rsmlib.dlgm import bernoulli_mixture_log_likelihood, fit_bernoulli_mixture
    v = binary((60, 6), 5)
    mix = fit_bernoulli_mixture(v, 3, 20, seed=0)
    all_images = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    total = np.exp(bernoulli_mixture_log_likelihood(mix, all_images)).sum()
    assert abs(total - 1) < 1e-12
    again = fit_bernoulli_mixture(v, 3, 20, seed=0)
    assert np.array_equal(mix["means"], again["means"])


@pytest.mark.parametrize("call, expected", [
    (lambda m, g: m.elbo(g * 0.5, seed=0), "v must hold binary values"),
    (lambda m, g: m.log_likelihood_is(g[:, :7], 10, seed=0), "v must have width 8"),
    (lambda m, g: m.train_step(np.where(g == 1, np.nan, g), 0, 4000), "v must not contain NaN"),
    (lambda m, g: m.elbo(g[0], seed=0), "v must have rank 2"),
    (lambda m, g: m.impute(g, 2 * np.ones_like(g), 1, seed=0), "mask must hold binary"),
    (lambda m, g: m.impute(g, np.ones((3, 8)), 1, seed=0), "mask must have the shape"),
    (lambda m, g: m.fit(g[:, :5], 1), "train must have width 8"),
])
def test_entry_points_name_the_bad_argument(call, expected):
    model = tiny_model("rank_one")
    good = binary((2, 8), 1)
    with pytest.raises(ValueError, match=expected):
        call(model, good)


def test_local_proposal_matches_quadrature_and_refuses_bad_options():
    model = tiny_model("rank_one")
    v = binary((6, 8), 5)
    exact = quadrature_log_p(model.generative, v)
    log_p, se = model.log_likelihood_is(v, 4000, seed=2, proposal="local", local_steps=50)
    assert np.all(np.abs(log_p - exact) < 4 * se + 1e-6)
    plain, _ = model.log_likelihood_is(v, 4000, seed=2)                 # the default: q
    assert not np.array_equal(plain, log_p)
    with pytest.raises(ValueError, match="proposal must be one of"):
        model.log_likelihood_is(v, 10, seed=0, proposal="t")
    with pytest.raises(ValueError, match="defensive must be a weight in"):
        model.log_likelihood_is(v, 10, seed=0, proposal="local", defensive=1.0)
    with pytest.raises(ValueError, match="widen must be a number >= 1"):
        model.log_likelihood_is(v, 10, seed=0, proposal="local", widen=0.5)


# --- DLGM.fit against a frozen copy of the loop that produced Chapter 5 (tests/frozen_dlgm.py) ---

import frozen_dlgm  # noqa: E402  (tests/ is on the path: conftest)
from rsmlib.dlgm import fit_dlgm  # noqa: E402


def same_state(a, b):
    return all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.variables, b.variables))


def grey_images():
    return np.random.default_rng(3).random((40, 10)).astype(np.float32)


RUNS = {
    "static": dict(train=lambda: binary((40, 10), 12), epochs=3, test=binary((8, 10), 5)),
    "dynamic-early-stopping": dict(train=grey_images, epochs=8, binarization="dynamic",
                                   validation=binary((10, 10), 4), patience=2,
                                   learning_rate=0.05),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_fit_is_bit_for_bit_the_frozen_loop(name):
    options = dict(RUNS[name])
    train = options.pop("train")()
    runs = []
    for fit in (fit_dlgm, frozen_dlgm.fit_dlgm):
        model = DLGM(10, (3,), hidden_size=5, seed=0)
        runs.append((model, fit(model, train, batch_size=10, seed=1, progress=False, **options)))
    (today, history), (frozen, frozen_history) = runs
    assert history == frozen_history
    assert same_state(today, frozen)
    if name == "dynamic-early-stopping":
        assert history["best_epoch"] < len(history["train"])  # it did stop early


def test_resume_is_bit_for_bit_the_frozen_loop(tmp_path):
    v = binary((40, 10), 12)
    ends = []
    for fit, directory in ((fit_dlgm, tmp_path / "today"), (frozen_dlgm.fit_dlgm, tmp_path / "frozen")):
        fit(DLGM(10, (3,), hidden_size=5, seed=0), v, 2, batch_size=10, seed=1,
            checkpoint_dir=str(directory), progress=False)
        resumed = DLGM(10, (3,), hidden_size=5, seed=99)
        history = fit(resumed, v, 4, batch_size=10, seed=1, checkpoint_dir=str(directory),
                      progress=False)
        ends.append((resumed, history))
    straight = DLGM(10, (3,), hidden_size=5, seed=0)
    frozen_dlgm.fit_dlgm(straight, v, 4, batch_size=10, seed=1, progress=False)
    assert ends[0][1] == ends[1][1] and len(ends[0][1]["train"]) == 2
    assert same_state(ends[0][0], ends[1][0]) and same_state(ends[0][0], straight)


@pytest.fixture
def dlgm_checkpoint(tmp_path):
    v = binary((40, 10), 12)
    DLGM(10, (3,), hidden_size=5, seed=0).fit(v, 3, batch_size=10, seed=1,
                                                checkpoint_dir=str(tmp_path), progress=False)
    return v, tmp_path


@pytest.mark.parametrize("fit", [fit_dlgm, frozen_dlgm.fit_dlgm], ids=["today", "frozen"])
def test_a_restore_that_fails_halfway_leaves_the_model_as_it_was(dlgm_checkpoint, fit,
                                                                  monkeypatch):
    v, directory = dlgm_checkpoint
    restore = tf.train.Checkpoint.restore

    def fails_after_assigning(self, path, **kwargs):   # as a read error after some variables
        restore(self, path, **kwargs)
        raise OSError("the checkpoint's data file could not be read to the end")

    monkeypatch.setattr(tf.train.Checkpoint, "restore", fails_after_assigning)
    model = DLGM(10, (3,), hidden_size=5, seed=7)
    before = [x.numpy().copy() for x in model.variables]
    with pytest.raises(ValueError, match="cannot be restored: OSError"):
        fit(model, v, 4, batch_size=10, seed=1, checkpoint_dir=str(directory), progress=False)
    unchanged = all(np.array_equal(a, x.numpy()) for a, x in zip(before, model.variables))
    assert unchanged if fit is fit_dlgm else not unchanged  # the frozen loop restored in place


def test_a_corrupted_checkpoint_leaves_the_model_as_it_was(dlgm_checkpoint):
    v, directory = dlgm_checkpoint
    for data in directory.glob("ckpt-3.data-*"):   # the data file cut short halfway
        data.write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])
    model = DLGM(10, (3,), hidden_size=5, seed=7)
    before = [x.numpy().copy() for x in model.variables]
    with pytest.raises(ValueError, match="cannot be restored"):
        model.fit(v, 4, batch_size=10, seed=1, checkpoint_dir=str(directory), progress=False)
    assert all(np.array_equal(a, x.numpy()) for a, x in zip(before, model.variables))


@pytest.mark.parametrize("fit", [fit_dlgm, frozen_dlgm.fit_dlgm], ids=["today", "frozen"])
def test_fewer_epochs_than_the_checkpoint_holds_is_refused_before_anything_is_restored(
        dlgm_checkpoint, fit):
    v, directory = dlgm_checkpoint
    model = DLGM(10, (3,), hidden_size=5, seed=7)
    before = [x.numpy().copy() for x in model.variables]
    with pytest.raises(ValueError, match="epochs = 2 is fewer than the 3 epochs"):
        fit(model, v, 2, batch_size=10, seed=1, checkpoint_dir=str(directory), progress=False)
    unchanged = all(np.array_equal(a, x.numpy()) for a, x in zip(before, model.variables))
    assert unchanged if fit is fit_dlgm else not unchanged
