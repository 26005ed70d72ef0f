"""Does fit_rsm on Keras optimizers reproduce the hand-written optimizers on Chapter 3's runs?

    .venv/bin/python scripts/fit_rsm_keras_equivalence.py [--out scripts/results/fit_rsm_keras.json]

Trains Chapter 3's Adam recipe for RSM-16 (Reuters training split, b_v at the unigram base rates,
40 epochs, CD-1 rising to CD-5, learning rate 0.01, seed 0) three times in one process: with the
frozen copy of the hand-written implementation (tests/frozen_training.py), with today's
``fit_rsm(optimizer="adam")`` (``rsmlib.training.adam``, a keras.optimizers.Adam subclass that
keeps the old order of float32 operations), and with ``fit_rsm(optimizer=
keras.optimizers.Adam(0.01, epsilon=1e-8))``. Keras's own Adam computes the same update in a
different order (m += (g - m)(1 - β₁) instead of β₁m + (1 - β₁)g; the step size folded into α
before the division), so its parameters differ by rounding, and a rounding difference that flips
one sampled word grows. Records, against the frozen run, the largest relative parameter
difference, whether the reconstruction-error histories are identical (the same words sampled at
every step), and the exact held-out perplexity. Momentum SGD is bitwise identical
(tests/test_training_frozen.py). About 4 CPU-minutes.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import frozen_training  # noqa: E402
from rsmlib import RSM, load_reuters, perplexity, split_documents  # noqa: E402
from rsmlib.evaluation import unigram_base_rates  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "scripts", "results", "fit_rsm_keras.json"))
    args = parser.parse_args()
    tf.config.experimental.enable_op_determinism()
    train, held_out = split_documents(load_reuters().counts, 0.2, seed=0)
    base_rates = unigram_base_rates(train)
    result = {"recipe": "Chapter 3's RSM-16: epochs=40, cd_steps=(1, 5), learning_rate=0.01, "
                        "seed=0, Adam", "load_average": os.getloadavg()}
    import keras
    fits = {"frozen": (frozen_training.fit_rsm, {"optimizer": "adam", "learning_rate": 0.01}),
            "fit_rsm adam": (fit_rsm, {"optimizer": "adam", "learning_rate": 0.01}),
            "keras.optimizers.Adam": (fit_rsm, {"optimizer": keras.optimizers.Adam(
                0.01, epsilon=1e-8)})}
    runs = {}
    for name, (fit, options) in fits.items():
        model = RSM(train.shape[1], 16, seed=0, init_scale=0.01)
        model.b_v.assign(tf.constant(base_rates, tf.float32))
        start = time.perf_counter()
        history = fit(model, train, epochs=40, cd_steps=(1, 5), seed=0, progress=False, **options)
        runs[name] = {"seconds": time.perf_counter() - start,
                      "parameters": [p.numpy() for p in model.parameters],
                      "recon": history["reconstruction_error"],
                      "held_out_perplexity": float(perplexity(model, held_out,
                                                              log_partition="exact"))}
    reference = runs["frozen"]
    for name, r in runs.items():
        result[name] = {
            "held_out_perplexity": r["held_out_perplexity"],
            "max_relative_parameter_difference": max(
                float(np.abs(x - y).max() / np.abs(y).max())
                for x, y in zip(r["parameters"], reference["parameters"])),
            "bitwise_equal": all(np.array_equal(x, y)
                                 for x, y in zip(r["parameters"], reference["parameters"])),
            "same_reconstruction_history": r["recon"] == reference["recon"],
            "first_epoch_that_differs": next((e + 1 for e, (x, y) in enumerate(
                zip(r["recon"], reference["recon"])) if x != y), None),
            "seconds": round(r["seconds"], 1)}
        print(name, json.dumps(result[name]), flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
