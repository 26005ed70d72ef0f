"""CD-1 training throughput of rsmlib's RSM (fit_rsm and the Keras layer) against a plain NumPy
baseline, in one process.

    .venv/bin/python benchmarks/bench_rsm.py [--epochs 5] [--rounds 3] [--throughput-only]

Data: the 395 Reuters stories of the `lda` package (K = 4258 words); F = 50 hidden units;
batch 100; CD-1 with momentum SGD. The baseline is the update as the widely copied NumPy RSM
codes write it: hidden probabilities by matrix products, and the negative documents sampled with
one `np.random.multinomial` call per document in a Python loop.

What is timed, in --rounds interleaved rounds (median over rounds reported):
* rsmlib, steady state: one ``fit_rsm`` call of 1 + --epochs epochs, timed at the end of every
  epoch (by its callback); documents per second over the last --epochs epochs, so that the
  one-off cost of tracing the training step, paid in the first epoch, is left out. That cost
  (first epoch minus a steady epoch) is printed too.
* fit_rsm before it moved onto Keras optimizers (the frozen copy in tests/frozen_training.py),
  timed the same way in the same round: the before/after ratio of that change.
* rsmlib.keras, steady state: ``model.fit`` of a model that is one ``RSMLayer`` (k = 1, its CD
  loss the only loss) with ``keras.optimizers.SGD(momentum=0.9)``, timed the same way (a Keras
  callback at every epoch end). Also on the corpus repeated --tile times (more batches per
  epoch), where Keras's fixed cost per epoch (a new data iterator, callbacks) weighs less.
* NumPy: --epochs epochs of the baseline (it has nothing to trace), with the BLAS library's
  default threads and with one thread; the faster of the two is the baseline of the ratio.

Also printed: the matrix-multiply bound (about 2 MFLOP per document per CD-1 step, divided by
the float32 GEMM rate of this machine, measured here), a breakdown of one rsmlib CD-1 step into
its pieces, and the time to compute a held-out perplexity with each AIS estimator. Record the
output, with the machine's load, in benchmarks/RESULTS.md.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (installed with scikit-learn)

from rsmlib import RSM, load_reuters  # noqa: E402
from rsmlib.datasets import split_documents  # noqa: E402
from rsmlib.evaluation import perplexity, rsm_log_probs, unigram_base_rates  # noqa: E402
from rsmlib.ais import ais_log_partition, ais_log_partition_by_length  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from frozen_training import fit_rsm as frozen_fit_rsm  # noqa: E402  (hand-written optimizers)

F, BATCH, LR, MOMENTUM = 50, 100, 1e-3, 0.9


def numpy_cd1_epoch(W, b_v, b_h, vel, docs, rng):
    """One epoch of CD-1 as the copied NumPy codes do it (D on the hidden bias included)."""
    for start in range(0, len(docs), BATCH):
        v0 = docs[start:start + BATCH]
        D = v0.sum(axis=1, keepdims=True)
        h0 = 1 / (1 + np.exp(-(v0 @ W + D * b_h)))
        h_sample = (rng.random(h0.shape) < h0).astype(np.float32)
        logits = h_sample @ W.T + b_v
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        vk = np.stack([rng.multinomial(int(d), pi) for d, pi in zip(D[:, 0], p.astype(np.float64))])
        vk = vk.astype(np.float32)
        hk = 1 / (1 + np.exp(-(vk @ W + D * b_h)))
        n = len(v0)
        grads = ((v0.T @ h0 - vk.T @ hk) / n, (v0 - vk).mean(axis=0),
                 (D * h0 - D * hk).mean(axis=0))
        for param, velocity, g in zip((W, b_v, b_h), vel, grads):
            velocity *= MOMENTUM
            velocity += LR * g
            param += velocity


def time_fit(docs, epochs, seed, fit=fit_rsm):
    """Seconds of one fit_rsm call: (first epoch, tracing included; mean of the later epochs).

    ``fit``: today's fit_rsm (Keras optimizers), or the frozen hand-written one it replaced."""
    model = RSM(docs.shape[1], F, seed=seed, init_scale=0.01)
    ends = []
    start = time.perf_counter()
    fit(model, docs, epochs=epochs, batch_size=BATCH, learning_rate=LR, seed=seed,
            progress=False, callback=lambda epoch, model: ends.append(time.perf_counter()))
    return ends[0] - start, (ends[-1] - ends[0]) / (epochs - 1)


def time_keras(docs, epochs, seed):
    """Seconds of one Keras fit of an RSMLayer model: (first epoch; mean of the later epochs)."""
    import keras
    from rsmlib.keras import RSMLayer

    inputs = keras.Input((docs.shape[1],))
    model = keras.Model(inputs, RSMLayer(F, k=1, seed=seed, init_scale=0.01)(inputs))
    model.compile(keras.optimizers.SGD(LR, momentum=MOMENTUM))
    ends = []
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
    start = time.perf_counter()
    model.fit(docs, batch_size=BATCH, epochs=epochs, callbacks=[timer], verbose=0)
    return ends[0] - start, (ends[-1] - ends[0]) / (epochs - 1)


def time_numpy(docs, epochs, seed):
    rng = np.random.default_rng(seed)
    K = docs.shape[1]
    W = (0.01 * rng.standard_normal((K, F))).astype(np.float32)
    b_v, b_h = np.zeros(K, np.float32), np.zeros(F, np.float32)
    vel = [np.zeros_like(W), np.zeros_like(b_v), np.zeros_like(b_h)]
    start = time.perf_counter()
    for _ in range(epochs):
        numpy_cd1_epoch(W, b_v, b_h, vel, docs, rng)
    return time.perf_counter() - start


def gemm_gflops(K, repeats=50):
    """float32 rate of the step's (100, K) x (K, 50) product, inside one tf.function."""
    a = tf.random.stateless_normal([BATCH, K], [0, 1])
    b = tf.random.stateless_normal([K, F], [0, 2])

    @tf.function
    def products():
        total = tf.zeros([BATCH, F])
        for _ in tf.range(repeats):
            total += tf.matmul(a, b)
        return total

    products()
    start = time.perf_counter()
    products().numpy()
    return 2 * BATCH * K * F * repeats / (time.perf_counter() - start) / 1e9


def step_breakdown(docs, repeats=30):
    """Milliseconds per batch of 100 of the pieces of one CD-1 step, each in its own tf.function."""
    model = RSM(docs.shape[1], F, seed=0, init_scale=0.01)
    v = tf.constant(docs[:BATCH])
    D = tf.cast(tf.reduce_sum(v, -1), tf.int32)
    seed = tf.constant([1, 2], tf.int64)
    h = model.sample_hidden(v, seed)
    v_k = model.sample_visible(h, D, seed)

    def loss_and_gradient():
        with tf.GradientTape() as tape:
            loss = model.cd_loss(v, v_k)
        return tape.gradient(loss, model.parameters)[0]

    pieces = {"h ~ p(h|v)  (one product)": lambda: model.sample_hidden(v, seed),
              "v ~ p(v|h)  (one product + sampling)": lambda: model.sample_visible(h, D, seed),
              "  of which the logits b_v + W h": lambda: model.visible_logits(h),
              "cd_loss and its gradient  (four products)": loss_and_gradient}
    out = {}
    for name, fn in pieces.items():
        fn = tf.function(fn)
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            result = fn()
        result.numpy()
        out[name] = 1e3 * (time.perf_counter() - start) / repeats
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tile", type=int, default=8,
                        help="repeat the corpus this many times for the second Keras comparison")
    parser.add_argument("--throughput-only", action="store_true",
                        help="skip the step breakdown and the perplexity timings")
    args = parser.parse_args()
    docs = load_reuters().counts.astype(np.float32)
    n, K = docs.shape
    print(f"machine load average at the start (1, 5, 15 min): {os.getloadavg()}")

    tf_rates, keras_rates, np_rates, np1_rates, one_off, tiled_rates = [], [], [], [], [], []
    frozen_rates, frozen_one_off = [], []
    for r in range(args.rounds):
        first, steady = time_fit(docs, 1 + args.epochs, seed=r)
        tf_rates.append(n / steady)
        one_off.append(first - steady)
        first, steady = time_fit(docs, 1 + args.epochs, seed=r, fit=frozen_fit_rsm)
        frozen_rates.append(n / steady)
        frozen_one_off.append(first - steady)
        keras_rates.append(n / time_keras(docs, 1 + args.epochs, seed=r)[1])
        tiled = np.tile(docs, (args.tile, 1))
        tiled_rates.append((len(tiled) / time_fit(tiled, 3, seed=r)[1],
                            len(tiled) / time_keras(tiled, 3, seed=r)[1]))
        np_rates.append(n * args.epochs / time_numpy(docs, args.epochs, seed=r))
        with threadpool_limits(limits=1, user_api="blas"):   # BLAS threads collapse under load
            np1_rates.append(n * args.epochs / time_numpy(docs, args.epochs, seed=r))

    rate_tf = np.median(tf_rates)
    rate_np = max(np.median(np_rates), np.median(np1_rates))   # the faster NumPy is the baseline
    gflops = gemm_gflops(K)
    bound = gflops * 1e9 / (5 * 2 * K * F)                      # five (100, K) x (K, F) products
    print(f"rsmlib fit_rsm CD-1, steady state: {rate_tf:8.0f} documents/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in tf_rates)})")
    print(f"fit_rsm before (hand-written optimizers): {np.median(frozen_rates):8.0f} documents/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in frozen_rates)}); now / before: "
          f"{rate_tf / np.median(frozen_rates):.2f} (per round: "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(tf_rates, frozen_rates))}); one-off cost "
          f"now {np.median(one_off):.2f} s, before {np.median(frozen_one_off):.2f} s")
    rate_keras = np.median(keras_rates)
    print(f"rsmlib.keras RSMLayer + model.fit CD-1:    {rate_keras:8.0f} documents/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in keras_rates)}); Keras / fit_rsm: "
          f"{rate_keras / rate_tf:.2f} (per round: "
          f"{', '.join(f'{k / t:.2f}' for k, t in zip(keras_rates, tf_rates))})")
    ratios = [k / t for t, k in tiled_rates]
    print(f"corpus x{args.tile} ({args.tile * n} documents, 2 steady epochs): fit_rsm "
          f"{np.median([t for t, _ in tiled_rates]):.0f}, Keras {np.median([k for _, k in tiled_rates]):.0f} "
          f"documents/s; Keras / fit_rsm: {np.median(ratios):.2f} (per round: "
          f"{', '.join(f'{x:.2f}' for x in ratios)})")
    print(f"NumPy baseline CD-1, BLAS default threads: {np.median(np_rates):8.0f} documents/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in np_rates)})")
    print(f"NumPy baseline CD-1, BLAS 1 thread:        {np.median(np1_rates):8.0f} documents/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in np1_rates)})")
    print(f"ratio rsmlib / faster NumPy:       {rate_tf / rate_np:8.2f}x")
    print(f"one-off cost of a fit_rsm call (tracing the step): {np.median(one_off):.2f} s")
    print(f"float32 GEMM rate ((100, {K}) x ({K}, {F})): {gflops:.1f} GFLOP/s -> matmul bound "
          f"{bound:.0f} documents/s (rsmlib reaches {100 * rate_tf / bound:.0f}% of it)")
    if args.throughput_only:
        print(f"machine load average at the end (1, 5, 15 min): {os.getloadavg()}")
        return
    print("one CD-1 step, by piece (ms per batch of 100):")
    for name, ms in step_breakdown(docs).items():
        print(f"  {name:45s} {ms:6.2f}")

    train, held_out = split_documents(load_reuters().counts, 0.2, seed=0)
    model = RSM(K, F, seed=0, init_scale=0.01)
    base = unigram_base_rates(train)
    estimators = {
        "AIS over the length, 300 runs": lambda D: ais_log_partition_by_length(
            model, D, num_runs=300, seed=0)[0],
        "AIS over the temperature, 16 runs x 500 temperatures": lambda D: ais_log_partition(
            model, D, num_runs=16, num_betas=500, seed=0, base_log_probs=base)[0]}
    for name, log_partition in estimators.items():
        start = time.perf_counter()
        log_p = rsm_log_probs(model, held_out, log_partition=log_partition)
        print(f"held-out perplexity (79 documents, {len(np.unique(held_out.sum(1)))} lengths, "
              f"F = {F}), {name}: {time.perf_counter() - start:.0f} s "
              f"(perplexity {perplexity(log_p, held_out.sum(1)):.0f} for an untrained model)")
    print(f"machine load average at the end (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
