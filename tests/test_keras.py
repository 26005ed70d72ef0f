"""rsmlib.keras: the RSM layer and the DLGM model inside Keras (appendix A.1).

The regression that started it: an rsmlib.RSM inside a Keras model silently never trained. Here
the layer's weights must be in model.trainable_weights and fit must change them; the loss's
gradient must be the hand CD update; gradients must reach a layer below; saving, optimizers,
callbacks, tf.data, NumPy and scipy.sparse input must work the Keras way.
"""
import numpy as np
import pytest
import scipy.sparse
import tensorflow as tf

keras = pytest.importorskip("keras")

from rsmlib import finite_differences, relative_error  # noqa: E402
from rsmlib.keras import BackupAndRestore, DLGMModel, DocumentBatches, RSMLayer  # noqa: E402

K, F = 10, 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    docs = rng.poisson(1.2, (48, K)).astype(np.float32)
    docs[:, 0] += 1
    return docs, (docs[:, 1] > 1).astype(np.int32)


def classifier(dtype="float32", seed=1, **layer):
    inputs = keras.Input((K,), dtype=dtype)
    rsm = RSMLayer(F, seed=seed, init_scale=0.1, dtype=dtype, name="rsm", **layer)
    out = keras.layers.Dense(2, activation="softmax", dtype=dtype, name="head",
                             kernel_initializer=keras.initializers.GlorotUniform(seed=2))(rsm(inputs))
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    return model, rsm


def test_the_layer_weights_are_tracked_and_trained_by_fit(data):
    docs, labels = data
    model, rsm = classifier()
    names = {w.path for w in model.trainable_weights}
    assert {"rsm/W", "rsm/b_v", "rsm/b_h"} <= names
    assert model.count_params() == K * F + K + F + F * 2 + 2
    before = [w.numpy().copy() for w in rsm.trainable_weights]
    history = model.fit(docs, labels, batch_size=16, epochs=2, verbose=0)
    assert isinstance(history, keras.callbacks.History) and len(history.history["loss"]) == 2
    for old, w in zip(before, rsm.trainable_weights):
        assert np.abs(w.numpy() - old).max() > 1e-4, w.path


def test_without_hidden_bias_there_is_no_b_h(data):
    model, rsm = classifier(hidden_bias=False)
    assert [w.name for w in rsm.trainable_weights] == ["W", "b_v"]
    np.testing.assert_array_equal(rsm.rsm.b_h.numpy(), np.zeros(F))


def hand_cd_update(v0, vk, W, b_v, b_h):
    """dW = <v sᵀ>_data - <v sᵀ>_model, db_v, db_h = <D s>_data - <D s>_model (eq. rsm-cd-update)."""
    def stats(v):
        s = 1 / (1 + np.exp(-(v.sum(1, keepdims=True) * b_h + v @ W)))
        return v.T @ s / len(v), v.mean(0), (v.sum(1, keepdims=True) * s).mean(0)
    return [a - b for a, b in zip(stats(v0), stats(vk))]


def test_the_added_loss_has_the_hand_cd_gradient(data):
    docs = data[0][:12].astype(np.float64)
    layer = RSMLayer(F, k=2, seed=3, init_scale=0.3, dtype="float64")
    layer.build((None, K))
    layer.b_h.assign(np.linspace(-0.1, 0.1, F))
    state = layer.seed_generator.state.numpy()
    with tf.GradientTape() as tape:
        layer(docs, training=True)
        loss = layer.losses[-1]
    grads = tape.gradient(loss, [layer.W, layer.b_v, layer.b_h])
    layer.seed_generator.state.assign(state)
    negatives = layer.gibbs(tf.constant(docs), layer.seed_generator.next()).numpy()
    assert np.abs(negatives - docs).sum() > 0
    np.testing.assert_array_equal(negatives.sum(1), docs.sum(1))  # the lengths D are kept
    hand = hand_cd_update(docs, negatives, *(w.numpy() for w in (layer.W, layer.b_v, layer.b_h)))
    assert relative_error([-g.numpy() for g in grads], hand) < 1e-12


class WordWeights(keras.layers.Layer):
    """u = D (e^a ⊙ v) / (e^a · v): a learned weight per word that keeps each length D."""

    def build(self, input_shape):
        self.a = self.add_weight(shape=input_shape[-1:], initializer="zeros", name="a")

    def call(self, v):
        weighted = keras.ops.exp(self.a) * v
        D = keras.ops.sum(v, axis=-1, keepdims=True)
        return D * weighted / keras.ops.sum(weighted, axis=-1, keepdims=True)


@pytest.mark.parametrize("to_input", [True, False])
def test_gradients_reach_a_layer_below_or_are_blocked(data, to_input):
    """Below the RSM: a length-keeping reweighting u = D e^a ⊙ v / (e^a · v); above: a
    classifier. With the seed state reset before each evaluation the negatives are fixed,
    and the total loss is a smooth function of a, checked against float64 central
    differences: of CD + CE by default (the data term's gradient reaches a), of CE alone
    with cd_gradient_to_input=False. The RSM's own gradients do not depend on the option."""
    docs, labels = data[0][:8].astype(np.float64), data[1][:8]
    below = WordWeights(dtype="float64")
    below.build((None, K))
    below.a.assign(np.linspace(-0.2, 0.2, K))
    head = keras.layers.Dense(2, dtype="float64", kernel_initializer=keras.initializers.GlorotUniform(5))

    def make(flag):
        layer = RSMLayer(F, seed=4, init_scale=0.3, dtype="float64", loss_dtype="float64",
                         cd_gradient_to_input=flag)
        layer.build((None, K))
        return layer

    layer, reference = make(to_input), make(True)
    state = layer.seed_generator.state.numpy()

    def terms(layer):
        layer.seed_generator.state.assign(state)
        h = layer(below(docs), training=True)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, head(h)))
        return layer.losses[-1], ce

    with tf.GradientTape() as tape:
        loss = sum(terms(layer))
    grads = tape.gradient(loss, [below.a] + layer.trainable_weights)
    with tf.GradientTape() as tape:
        loss = sum(terms(reference))
    reference_grads = tape.gradient(loss, [below.a] + reference.trainable_weights)
    numeric_total = finite_differences([below.a], lambda: float(sum(terms(layer))))[0]
    numeric_ce = finite_differences([below.a], lambda: float(terms(layer)[1]))[0]
    assert relative_error(numeric_ce, numeric_total) > 0.1  # the CD term's share is material
    expected = numeric_total if to_input else numeric_ce
    assert relative_error(grads[0].numpy(), expected) < 1e-6
    for g, r in zip(grads[1:], reference_grads[1:]):
        np.testing.assert_array_equal(g.numpy(), r.numpy())


def test_the_option_is_saved_and_checked(data, tmp_path):
    model, _ = classifier(cd_gradient_to_input=False)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path).get_layer("rsm")
    assert loaded.cd_gradient_to_input is False and loaded.loss_dtype is None
    with pytest.raises(TypeError, match="cd_gradient_to_input"):
        RSMLayer(3, cd_gradient_to_input="no")
    with pytest.raises(TypeError, match="loss_dtype"):
        RSMLayer(3, loss_dtype="int32")


def test_a_float64_layer_trains_with_fit_beside_a_compiled_float32_loss(data):
    """Keras's compiled loss is float32 (floatx) even in a float64 model, and Keras cannot sum
    losses of two dtypes ("Cannot convert a list containing a tensor of dtype float64 to
    float32"): the layer adds its loss in floatx. The cast leaves the gradients exact."""
    docs, labels = data
    model, rsm = classifier(dtype="float64")
    before = [w.numpy().copy() for w in rsm.trainable_weights]
    history = model.fit(docs.astype(np.float64), labels, batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(w.dtype == "float64" for w in rsm.trainable_weights)
    for old, w in zip(before, rsm.trainable_weights):
        assert np.abs(w.numpy() - old).max() > 1e-4, w.path
    # the float32 loss has the float64 loss's gradient, bit for bit
    v = tf.constant(docs[:12].astype(np.float64))
    grads = {}
    for loss_dtype in (None, "float64"):
        layer = RSMLayer(F, k=2, seed=3, init_scale=0.3, dtype="float64", loss_dtype=loss_dtype)
        with tf.GradientTape() as tape:
            layer(v, training=True)
            loss = layer.losses[-1]
        assert loss.dtype == (tf.float32 if loss_dtype is None else tf.float64)
        grads[loss_dtype] = tape.gradient(loss, layer.trainable_weights)
    for a, b in zip(grads[None], grads["float64"]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_file_round_trip_gives_identical_outputs_and_random_state(data, tmp_path):
    docs, labels = data
    model, rsm = classifier()
    model.fit(docs, labels, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(docs, verbose=0), model.predict(docs, verbose=0))
    np.testing.assert_array_equal(loaded.get_layer("rsm").seed_generator.state.numpy(),
                                  rsm.seed_generator.state.numpy())
    assert loaded.get_layer("rsm").get_config()["num_hidden"] == F


@pytest.mark.parametrize("optimizer", ["SGD", "RMSprop", "Adagrad"])
def test_any_keras_optimizer(data, optimizer):
    docs, labels = data
    model, rsm = classifier()
    model.compile(getattr(keras.optimizers, optimizer)(1e-2), "sparse_categorical_crossentropy")
    W0 = rsm.W.numpy().copy()
    model.fit(docs, labels, batch_size=16, epochs=1, verbose=0)
    assert np.abs(rsm.W.numpy() - W0).max() > 1e-5


def test_callbacks(data, tmp_path):
    docs, labels = data
    model, _ = classifier()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1e9)
    save = keras.callbacks.ModelCheckpoint(tmp_path / "best.keras")
    history = model.fit(docs, labels, batch_size=16, epochs=5, validation_split=0.25,
                        callbacks=[stop, save], verbose=0)
    assert len(history.history["val_loss"]) == 2          # stopped after patience 0
    reloaded = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_array_equal(reloaded.predict(docs, verbose=0), model.predict(docs, verbose=0))


def test_numpy_tf_data_and_scipy_sparse_input_agree(data):
    docs, labels = data
    results = []
    for make in (lambda: (docs, labels),
                 lambda: (tf.data.Dataset.from_tensor_slices((docs, labels)).batch(16), None),
                 lambda: (scipy.sparse.csr_matrix(docs), labels)):
        model, rsm = classifier()
        x, y = make()
        model.fit(x, y, batch_size=None if y is None else 16, epochs=1, shuffle=False, verbose=0)
        results.append([w.numpy() for w in model.weights])
    assert relative_error(results[1], results[0]) == 0
    assert relative_error(results[2], results[0]) == 0


def test_adapt_sets_the_unigram_log_base_rates(data):
    docs = data[0]
    layer = RSMLayer(F).adapt(scipy.sparse.csr_matrix(docs))
    totals = docs.sum(0) + 1
    np.testing.assert_allclose(layer.b_v.numpy(), np.log(totals / totals.sum()), rtol=1e-6)
    np.testing.assert_allclose(np.exp(layer.b_v.numpy()).sum(), 1, rtol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_hidden"):
        RSMLayer(0)
    with pytest.raises(ValueError, match="k must"):
        RSMLayer(3, k=0)
    with pytest.raises(ValueError, match="batch_size"):
        DocumentBatches(np.ones((4, 3)), 0, seed=0)
    with pytest.raises(ValueError, match="docs must"):
        RSMLayer(3).adapt(-np.ones((4, 3)))


def test_document_batches_order_is_a_function_of_seed_and_epoch(data):
    docs = data[0]

    def epoch_of(batches):
        return np.concatenate([batches[i] for i in (2, 0, 1)])   # the indices Keras asks are ignored

    a, b, c = (DocumentBatches(docs, 16, seed=7) for _ in range(3))
    b.start_epoch(5)
    b.start_epoch(0)
    c.start_epoch(1)
    first = epoch_of(a)
    np.testing.assert_array_equal(first, epoch_of(b))
    np.testing.assert_array_equal(np.sort(first, 0), np.sort(docs, 0))   # every document once
    a.on_epoch_end()
    second = epoch_of(a)
    np.testing.assert_array_equal(second, epoch_of(c))
    assert not np.array_equal(first, second)


def test_a_backup_of_another_run_is_refused(data, tmp_path):
    docs, labels = data

    class Interrupted(Exception):
        pass

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise Interrupted

    def fit(seed):
        model, _ = classifier()
        batches = DocumentBatches(docs, 16, seed=seed, labels=labels)
        callbacks = [batches.epoch_callback,
                     BackupAndRestore(tmp_path / "backup", run={"data_seed": seed}), Stop()]
        model.fit(batches, epochs=3, callbacks=callbacks, verbose=0)

    with pytest.raises(Interrupted):
        fit(seed=1)
    with pytest.raises(ValueError, match=r"another run \(data_seed: saved 1, now 2"):
        fit(seed=2)


def test_dlgm_model_fit_evaluate_and_importance_sampling():
    rng = np.random.default_rng(1)
    images = (rng.random((64, 16)) < 0.3).astype(np.float32)
    model = DLGMModel(16, (3,), hidden_size=8, seed=0, num_data=64).adapt(images)
    model.compile(keras.optimizers.Adam(1e-2))
    assert len(model.trainable_weights) == len(model.dlgm.parameters) == 9   # G, T_0 (4), W, b, head (2)
    # the DLGM computes with the Keras weights: its parameters are their variables
    assert {id(w.value) for w in model.trainable_weights} == {id(p) for p in model.dlgm.parameters}
    before = model.evaluate(images, batch_size=64, verbose=0)
    history = model.fit(images, batch_size=16, epochs=5, verbose=0)
    after = model.evaluate(images, batch_size=64, verbose=0)
    assert after < before - 0.25 and history.history["loss"][-1] < history.history["loss"][0]
    # evaluate reports F/B of eq. free-energy: DLGM.free_energy with the same noise
    state = model.seed_generator.state.numpy()
    reported = model.evaluate(images, batch_size=64, verbose=0)
    model.seed_generator.state.assign(state)
    noise = model.noise(64, model.seed_generator.next())
    direct = float(model.dlgm.free_energy(images, noise=noise, num_data=64)) / 64
    assert abs(reported - direct) < 1e-4 * abs(direct)
    log_p, se = model.log_likelihood_is(images[:5], 50, seed=0)
    elbo = model.dlgm.elbo(images[:5], seed=1, num_samples=100).numpy()
    assert log_p.shape == (5,) and log_p.mean() > elbo.mean() and se.max() < 0.2
    v, p = model.sample(4, seed=0)
    assert v.shape == (4, 16)


# --- persistent chains -----------------------------------------------------------------------

def test_persistent_chains_are_each_batch_negatives_and_are_saved(data, tmp_path):
    from rsmlib.keras import _RSMAt, gibbs_negatives
    docs, labels = data
    model, rsm = classifier(persistent_chains=16, k=2)
    assert {"rsm/chains", "rsm/chains_started"} <= {w.path for w in rsm.non_trainable_weights}
    starts = []
    for b in range(3):
        x, y = docs[16 * b:16 * (b + 1)], labels[16 * b:16 * (b + 1)]
        before = _RSMAt(*(tf.constant(w.numpy()) for w in (rsm.W, rsm.b_v, rsm.b_h)))
        seed = tf.constant(rsm.seed_generator.state.numpy())
        start = x if b == 0 else rsm.chains.numpy()        # the first batch starts the chains
        starts.append(start)
        model.train_on_batch(x, y)
        expected = gibbs_negatives(before, tf.constant(start), 2, seed).numpy()
        np.testing.assert_array_equal(rsm.chains.numpy(), expected)   # this batch's negatives
        np.testing.assert_array_equal(expected.sum(1), docs[:16].sum(1))   # lengths kept
    assert not np.array_equal(starts[1], starts[2]) and int(rsm.chains_started.numpy()) == 1
    path = tmp_path / "pcd.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.get_layer("rsm").chains.numpy(), rsm.chains.numpy())
    assert int(loaded.get_layer("rsm").chains_started.numpy()) == 1
    model.train_on_batch(docs[:16], labels[:16])
    loaded.train_on_batch(docs[:16], labels[:16])              # continues from the saved chains
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_persistent_chains_bad_arguments():
    with pytest.raises(ValueError, match="persistent_chains must be an int >= 0"):
        RSMLayer(F, persistent_chains=-1)
    layer = RSMLayer(F, persistent_chains=4)
    with pytest.raises(Exception, match="more documents than the layer's persistent_chains"):
        layer(np.ones((5, K), np.float32), training=True)


# --- TensorBoard -----------------------------------------------------------------------------

def logged_scalars(directory):
    """{tag: [values]} of the per-epoch scalars TensorBoard reads from ``directory``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(directory), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
            for tag in events.Tags()["tensors"] if tag.startswith("epoch_")}


def test_tensorboard_logs_the_losses_of_the_layer_and_the_dlgm(data, tmp_path):
    docs, labels = data
    model, _ = classifier()
    history = model.fit(docs, labels, batch_size=16, epochs=2, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(tmp_path / "rsm")])
    logged = logged_scalars(tmp_path / "rsm" / "train")
    np.testing.assert_allclose(logged["epoch_loss"], history.history["loss"], rtol=1e-6)
    images = (np.random.default_rng(1).random((32, 16)) < 0.3).astype(np.float32)
    dlgm = DLGMModel(16, (3,), hidden_size=8, seed=0, num_data=32).adapt(images)
    dlgm.compile(keras.optimizers.Adam(1e-2))
    history = dlgm.fit(images, batch_size=16, epochs=3, verbose=0, validation_data=(images,),
                       callbacks=[keras.callbacks.TensorBoard(tmp_path / "dlgm")])
    logged = logged_scalars(tmp_path / "dlgm" / "train")
    np.testing.assert_allclose(logged["epoch_loss"], history.history["loss"], rtol=1e-6)
    validation = logged_scalars(tmp_path / "dlgm" / "validation")
    np.testing.assert_allclose(validation["epoch_loss"], history.history["val_loss"], rtol=1e-6)


def test_the_dataset_serves_the_pydatasets_batches_epoch_after_epoch():
    # DocumentBatches.dataset(): the batches of epochs e, e + 1, ... (labels included) as
    # the PyDataset serves them, e read when the first batch is pulled, not when it is made
    docs = np.random.default_rng(0).integers(0, 3, (37, 6)).astype(np.float32)
    labels = np.arange(37)
    batches = DocumentBatches(docs, 8, seed=3, labels=labels)
    dataset = batches.dataset()
    batches.start_epoch(2)   # after dataset() was called
    served = [(x.numpy(), y.numpy()) for x, y in dataset.take(3 * len(batches))]
    batches.start_epoch(2)
    expected = []
    for _ in range(3):
        expected += [batches[j] for j in range(len(batches))]
        batches.on_epoch_end()
    assert [len(x) for x, _ in served[:5]] == [8, 8, 8, 8, 5]
    for (x, y), (ex, ey) in zip(served, expected, strict=True):
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)
    assert not np.array_equal(served[0][1], served[5][1])   # epochs differ
