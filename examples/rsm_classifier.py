"""Train an RSM layer below a classifier on the Reuters stories, with Keras (appendix A.1).

    python examples/rsm_classifier.py                        # the full run: a few minutes on 2 CPUs
    python examples/rsm_classifier.py --epochs 3 --hidden 10 # a quick try

The 395 Reuters stories of the ``lda`` package; the label says whether a story was filed from the
USA (the country in its title). The RSM's hidden probabilities feed a logistic classifier, and one
``keras.optimizers.Adam`` trains both: the RSM by the CD loss that the layer adds, the classifier
by cross-entropy. EarlyStopping watches the validation loss. The model is saved as a .keras file
and reloaded (same predictions), and the top words of a few hidden units are printed: the words
that unit j makes most likely when it is on, the largest entries of b_v + W[:, j].
"""
import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402

import rsmlib  # noqa: E402
from rsmlib.keras import RSMLayer  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=50, help="hidden units F (default 50)")
    parser.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="directory for rsm_classifier.keras "
                        "(default: a temporary directory)")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    corpus = rsmlib.load_reuters()
    docs = corpus.counts.astype(np.float32)
    labels = np.array([t.split()[1].rstrip(":") == "USA" for t in corpus.titles], np.int32)
    order = np.random.default_rng(args.seed).permutation(len(docs))
    docs, labels = docs[order], labels[order]

    inputs = keras.Input((docs.shape[1],))
    rsm = RSMLayer(args.hidden, k=1, seed=args.seed, name="rsm").adapt(docs)  # b_v: log base rates
    outputs = keras.layers.Dense(1, activation="sigmoid", name="classifier")(rsm(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(args.learning_rate), "binary_crossentropy",
                  metrics=["accuracy"])
    print(f"parameters: RSM {rsm.count_params():,} (W, b_v, b_h), classifier "
          f"{model.get_layer('classifier').count_params()}; all trainable: "
          f"{sum(w.numpy().size for w in model.trainable_weights) == model.count_params()}")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(docs, labels, batch_size=args.batch_size, epochs=args.epochs,
                        validation_split=0.25, callbacks=[stop], verbose=0)
    epochs = len(history.history["loss"])
    print(f"trained {epochs} epochs; validation accuracy {history.history['val_accuracy'][-1]:.3f} "
          f"(always 'not USA': {1 - labels[-len(labels) // 4:].mean():.3f})")

    out = args.out or tempfile.mkdtemp()
    path = os.path.join(out, "rsm_classifier.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    same = np.array_equal(reloaded.predict(docs, verbose=0), model.predict(docs, verbose=0))
    print(f"saved {path}; reloaded model gives the same predictions: {same}")
    if not same:
        raise SystemExit("the reloaded model differs")

    layer = reloaded.get_layer("rsm")
    scores = layer.b_v.numpy()[:, None] + layer.W.numpy()
    for j in range(min(5, args.hidden)):
        words = [corpus.vocab[i] for i in np.argsort(-scores[:, j])[:8]]
        print(f"unit {j}: {' '.join(words)}")


if __name__ == "__main__":
    main()
