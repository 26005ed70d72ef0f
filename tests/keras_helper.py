"""Fresh-interpreter halves of tests/test_keras_scale.py: model.fit under MirroredStrategy, and
BackupAndRestore resumed in a new process.

    python tests/keras_helper.py distribute OUT.json
        2 logical CPU devices (configured before TensorFlow initialises them); fits the RSM layer
        below a classifier, and the DLGMModel, with SGD on one device and under
        MirroredStrategy; writes the relative differences of the weights (and of a broken run
        whose loss is not scaled by 1/replicas, which must differ).
    python tests/keras_helper.py resume DIR EPOCHS [STOP]
        fits the RSM layer model for EPOCHS epochs with rsmlib.keras.BackupAndRestore(DIR); with
        STOP, a callback interrupts the run at the start of epoch STOP (as a crash would); writes
        DIR/weights.npz (the final weights) when the run completes.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

if sys.argv[1:2] == ["distribute"]:
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402

from rsmlib import relative_error  # noqa: E402
from rsmlib.keras import BackupAndRestore, DLGMModel, DocumentBatches, RSMLayer  # noqa: E402

K, F = 12, 5


def corpus(n=32):
    rng = np.random.default_rng(0)
    docs = rng.poisson(1.5, (n, K)).astype(np.float32)
    docs[:, 0] += 1
    return docs, (docs[:, 1] > 1).astype(np.int32)


def rsm_classifier(dtype="float64"):
    inputs = keras.Input((K,), dtype=dtype)
    h = RSMLayer(F, k=2, seed=1, init_scale=0.1, dtype=dtype)(inputs)
    out = keras.layers.Dense(2, activation="softmax", dtype=dtype,
                             kernel_initializer=keras.initializers.GlorotUniform(seed=4))(h)
    return keras.Model(inputs, out)


def fit_rsm_model(strategy=None, broken=False):
    docs, labels = corpus()
    with strategy.scope() if strategy else _null():
        model = rsm_classifier()
        model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    if broken:   # the CD loss counted once per replica (as if Keras did not scale it by 1/replicas)
        model.layers[1].call = _unscaled(model.layers[1])
    model.fit(docs, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return [w.numpy() for w in model.trainable_weights]


def _unscaled(layer):
    original = layer.call

    def call(v, training=None):
        out = original(v, training=training)
        if training:
            layer.add_loss(layer.losses[-1] * (tf.distribute.get_strategy().num_replicas_in_sync - 1))
        return out
    return call


def fit_dlgm(strategy=None):
    images = (np.random.default_rng(12).random((32, 20)) < 0.4).astype(np.float64)
    with strategy.scope() if strategy else _null():
        model = DLGMModel(20, (3, 2), hidden_size=8, seed=2, num_data=32, dtype="float64")
        model.compile(keras.optimizers.SGD(0.01))
    model.fit(images, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return [w.numpy() for w in model.trainable_weights]


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def distribute(out):
    keras.config.set_floatx("float64")   # every loss in float64: differences are the replicas'
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single, mirrored = fit_rsm_model(), fit_rsm_model(strategy)
    broken = fit_rsm_model(strategy, broken=True)
    d_single, d_mirrored = fit_dlgm(), fit_dlgm(strategy)
    result = {"replicas": strategy.num_replicas_in_sync,
              "rsm": relative_error(mirrored, single), "rsm_broken": relative_error(broken, single),
              "dlgm": relative_error(d_mirrored, d_single)}
    with open(out, "w") as f:
        json.dump(result, f)


class Interrupt(keras.callbacks.Callback):
    def __init__(self, stop):
        super().__init__()
        self.stop = stop

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop:
            raise SystemExit(3)


def resume(directory, epochs, stop=None, seed=5):
    docs, labels = corpus(40)
    model = rsm_classifier("float32")
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    batches = DocumentBatches(docs, 8, seed=seed, labels=labels)
    callbacks = [batches.epoch_callback,
                 BackupAndRestore(os.path.join(directory, "backup"),
                                  run={"data_seed": seed, "documents": len(docs), "batch_size": 8})]
    if stop is not None:
        callbacks.append(Interrupt(stop))
    if os.environ.get("HELPER_INPUT") == "dataset":   # DocumentBatches.dataset(): tf.data
        model.fit(batches.dataset(), steps_per_epoch=len(batches), epochs=epochs,
                  shuffle=False, callbacks=callbacks, verbose=0)
    else:
        model.fit(batches, epochs=epochs, callbacks=callbacks, verbose=0)
    np.savez(os.path.join(directory, "weights.npz"), *[w.numpy() for w in model.weights])


if __name__ == "__main__":
    if sys.argv[1] == "distribute":
        distribute(sys.argv[2])
    else:
        resume(sys.argv[2], int(sys.argv[3]), *(int(a) for a in sys.argv[4:5]),
               **({"seed": int(sys.argv[5])} if len(sys.argv) > 5 else {}))
