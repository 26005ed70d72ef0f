"""Mechanism tests of rsmlib.keras (appendix A.1; issue 18): properties a plausible bug breaks.

- the layer's negatives come from its ``keras.random.SeedGenerator``: each training call draws
  fresh ones, and the same generator state draws the same ones again;
- ``RSMLayer.gibbs`` draws what ``RSM.gibbs`` draws for the same weights and seed, and
  ``call`` returns p(h = 1 | v) = σ(D b_h + v W);
- ``cd_step`` is ``cd_loss`` at ``gibbs_negatives`` from the data, or from ``start`` (PCD);
- ``rows_of_global_batch`` gives a replica holding rows [a, a + n) of a global batch the random
  numbers a single device drawing the whole batch gives them (Bernoulli and multinomial);
- ``DLGMModel``: its noise outside a strategy is the DLGM's, ``call`` adds F(V)/B with that
  noise and returns μ_1, ``sample`` and ``log_likelihood_is`` are the DLGM's, and a model
  rebuilt from ``get_config`` is the same model.
"""
import numpy as np
import pytest
import tensorflow as tf

keras = pytest.importorskip("keras")

from rsmlib import RSM, bernoulli, multinomial_counts  # noqa: E402
from rsmlib.keras import (DLGMModel, RSMLayer, cd_step, gibbs_negatives, global_max,  # noqa: E402
                          rows_of_global_batch, shard_layout)

K, F = 7, 3


def docs(n=6, seed=0):
    v = np.random.default_rng(seed).poisson(1.5, (n, K)).astype(np.float64)
    v[:, 0] += 1
    return v


def built_layer(k=2, seed=3):
    layer = RSMLayer(F, k=k, seed=seed, init_scale=0.5, dtype="float64")
    layer.build((None, K))
    layer.b_h.assign(np.linspace(-0.3, 0.3, F))
    layer.b_v.assign(np.linspace(0.2, -0.2, K))
    return layer


def rsm_with_weights_of(layer):
    rsm = RSM(K, F, dtype=tf.float64)
    for p, w in zip(rsm.parameters, (layer.W, layer.b_v, layer.b_h)):
        p.assign(w.numpy())
    return rsm


def training_loss(layer, v):
    """The CD loss that one training call of the layer adds."""
    layer(v, training=True)
    return float(layer.losses[-1])


def test_each_training_call_draws_fresh_negatives_from_the_seed_generator():
    layer, v = built_layer(), docs()
    state = layer.seed_generator.state.numpy()
    first, second = training_loss(layer, v), training_loss(layer, v)
    assert first != second                           # the state moved: new negatives
    layer.seed_generator.state.assign(state)
    again = training_loss(layer, v)
    assert again == first                            # the same state: the same negatives
    layer.seed_generator.state.assign(state)
    seed = layer.seed_generator.next()
    loss, _ = cd_step(layer.rsm, v, layer.k, seed)
    assert float(loss) == pytest.approx(first, rel=1e-6)   # the layer adds it in floatx


def test_layer_gibbs_draws_what_rsm_gibbs_draws_and_call_returns_the_hidden_probs():
    layer, v = built_layer(k=3), docs()
    rsm = rsm_with_weights_of(layer)
    seed = tf.constant([4, 5], tf.int64)
    np.testing.assert_array_equal(layer.gibbs(v, seed).numpy(), rsm.gibbs(v, 3, seed).numpy())
    D = v.sum(1, keepdims=True)
    expected = 1 / (1 + np.exp(-(D * layer.b_h.numpy() + v @ layer.W.numpy())))
    np.testing.assert_allclose(layer(v).numpy(), expected, rtol=1e-12)
    assert layer(keras.Input((K,), dtype="float64")).shape == (None, F)


def test_cd_step_is_the_cd_loss_at_the_negatives_from_the_data_or_from_start():
    layer, v = built_layer(k=2), docs()
    rsm, seed = layer.rsm, tf.constant([6, 7], tf.int64)
    loss, negatives = cd_step(rsm, v, 2, seed)
    np.testing.assert_array_equal(negatives.numpy(), gibbs_negatives(rsm, v, 2, seed).numpy())
    assert float(loss) == float(rsm.cd_loss(v, negatives))
    np.testing.assert_array_equal(negatives.numpy().sum(1), v.sum(1))
    reused = cd_step(rsm, v, 2, seed, hidden_probs=rsm.hidden_probs(v))[1]
    np.testing.assert_array_equal(reused.numpy(), negatives.numpy())
    start = docs(seed=8)
    loss_p, from_start = cd_step(rsm, v, 2, seed, start=start)
    np.testing.assert_array_equal(from_start.numpy(), gibbs_negatives(rsm, start, 2, seed))
    assert float(loss_p) == float(rsm.cd_loss(v, from_start))
    assert not np.array_equal(from_start.numpy(), negatives.numpy())


@pytest.mark.parametrize("offset, n", [(0, 2), (2, 3), (5, 1)])
def test_rows_of_global_batch_give_a_replica_the_rows_one_device_draws(offset, n):
    rng = np.random.default_rng(9)
    seed = tf.constant([10, 11], tf.int64)
    probs = tf.constant(rng.random((6, 5)))
    whole = bernoulli(probs, seed).numpy()
    part = rows_of_global_batch(lambda p: bernoulli(p, seed), probs[offset:offset + n], offset,
                                tf.zeros_like(probs[0]))
    np.testing.assert_array_equal(part.numpy(), whole[offset:offset + n])
    logits = tf.constant(rng.normal(size=(6, 4)))
    D = tf.constant([3, 9, 1, 4, 9, 2])
    whole = multinomial_counts(logits, D, seed).numpy()
    rows = tf.concat([logits, tf.cast(D, logits.dtype)[:, None]], axis=-1)
    filler = tf.concat([tf.zeros_like(logits[0]), [tf.cast(global_max(D), logits.dtype)]], 0)
    part = rows_of_global_batch(
        lambda x: multinomial_counts(x[:, :-1], tf.cast(x[:, -1], tf.int32), seed),
        rows[offset:offset + n], offset, filler)
    np.testing.assert_array_equal(part.numpy(), whole[offset:offset + n])
    assert shard_layout(tf.constant(n)) == (0, 1) and int(global_max(D)) == 9


def dlgm_model(seed=0):
    return DLGMModel(8, (2,), hidden_size=4, seed=seed, num_data=40, dtype="float64")


def test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise():
    model, v = dlgm_model(), (np.random.default_rng(12).random((5, 8)) < 0.4).astype(np.float64)
    state = model.seed_generator.state.numpy()
    mu = model(v, training=True).numpy()
    added = float(model.losses[-1])
    model.seed_generator.state.assign(state)
    seed = model.seed_generator.next()
    noise = model.noise(5, seed)
    for mine, its in zip(noise, model.dlgm.noise(5, seed)):
        np.testing.assert_array_equal(mine.numpy(), its.numpy())
    direct = float(model.dlgm.free_energy(v, noise=noise, num_data=40)) / 5
    assert added == pytest.approx(direct, rel=1e-12)
    np.testing.assert_array_equal(mu, model.dlgm.recognition(v)[0]["mu"].numpy())
    for a, b in zip(model.sample(3, seed=13), model.dlgm.sample(3, seed=13)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    ours = model.log_likelihood_is(v, 4, seed=14)
    theirs = model.dlgm.log_likelihood_is(v, 4, seed=14)
    np.testing.assert_array_equal(ours[0], theirs[0])


def test_dlgm_model_from_its_config_is_the_same_model_and_adapt_sets_the_output_bias():
    model = dlgm_model(seed=15)
    twin = DLGMModel.from_config(model.get_config())
    for a, b in zip(model.trainable_weights, twin.trainable_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert twin.get_config()["num_data"] == 40 and twin.dlgm.latent_sizes == (2,)
    images = np.zeros((10, 8))
    images[:3, :4] = 1
    model.adapt(images)
    m = np.clip(images.mean(0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(model.dlgm.generative.T[0].b2.numpy(), np.log(m / (1 - m)))
