"""CD-1 training throughput of rsmlib's RSM against a plain NumPy baseline, in one process.

    .venv/bin/python benchmarks/bench_rsm.py [--epochs 3] [--repeats 3]

Data: the 395 Reuters stories of the `lda` package (K = 4258 words); F = 50 hidden units;
batch 100; CD-1 with momentum SGD. The baseline is the update as the widely copied NumPy RSM
codes write it: hidden probabilities by matrix products, and the negative documents sampled with
one `np.random.multinomial` call per document in a Python loop. Both run the same number of
epochs over the same documents, in this process, one after the other; the figure reported is
documents per second (best of --repeats), and the ratio rsmlib / NumPy.

Also printed: the matrix-multiply bound (about 2 MFLOP per document per CD-1 step, divided by
the measured float32 GEMM rate of this machine) and the time to compute a held-out perplexity
with AIS. Record the output, with the machine's load, in benchmarks/RESULTS.md.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import RSM, load_reuters  # noqa: E402
from rsmlib.datasets import split_documents  # noqa: E402
from rsmlib.evaluation import perplexity, rsm_log_probs, unigram_base_rates  # noqa: E402
from rsmlib.partition import ais_log_partition  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402

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


def gemm_gflops(repeats=20):
    a = tf.random.stateless_normal([BATCH, 4258], [0, 1])
    b = tf.random.stateless_normal([4258, F], [0, 2])
    f = tf.function(lambda: tf.matmul(a, b))
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f().numpy()
    seconds = (time.perf_counter() - start) / repeats
    return 2 * BATCH * 4258 * F / seconds / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    docs = load_reuters().counts.astype(np.float32)
    n, K = docs.shape
    total = n * args.epochs

    tf_rates, np_rates = [], []
    for r in range(args.repeats):
        model = RSM(K, F, seed=r, init_scale=0.01)
        fit_rsm(model, docs, epochs=1, batch_size=BATCH, learning_rate=LR, seed=r,
                progress=False)  # warm-up: traces the training step
        start = time.perf_counter()
        fit_rsm(model, docs, epochs=args.epochs, batch_size=BATCH, learning_rate=LR, seed=r,
                progress=False)
        tf_rates.append(total / (time.perf_counter() - start))

        rng = np.random.default_rng(r)
        W = (0.01 * rng.standard_normal((K, F))).astype(np.float32)
        b_v, b_h = np.zeros(K, np.float32), np.zeros(F, np.float32)
        vel = [np.zeros_like(W), np.zeros_like(b_v), np.zeros_like(b_h)]
        start = time.perf_counter()
        for _ in range(args.epochs):
            numpy_cd1_epoch(W, b_v, b_h, vel, docs, rng)
        np_rates.append(total / (time.perf_counter() - start))

    best_tf, best_np = max(tf_rates), max(np_rates)
    gflops = gemm_gflops()
    bound = gflops * 1e9 / 2.1e6
    print(f"rsmlib fit_rsm CD-1:       {best_tf:8.0f} documents/s")
    print(f"NumPy baseline CD-1:       {best_np:8.0f} documents/s")
    print(f"ratio rsmlib / NumPy:      {best_tf / best_np:8.1f}x")
    print(f"float32 GEMM rate:         {gflops:8.1f} GFLOP/s -> matmul bound {bound:.0f} documents/s "
          f"(rsmlib reaches {100 * best_tf / bound:.0f}% of it)")

    train, held_out = split_documents(load_reuters().counts, 0.2, seed=0)
    model = RSM(K, F, seed=0, init_scale=0.01)
    base = unigram_base_rates(train)
    start = time.perf_counter()
    log_p = rsm_log_probs(model, held_out, log_partition=lambda D: ais_log_partition(
        model, D, num_runs=16, num_betas=500, seed=0, base_log_probs=base)[0])
    seconds = time.perf_counter() - start
    print(f"held-out perplexity with AIS (79 documents, {len(np.unique(held_out.sum(1)))} lengths, "
          f"16 runs x 500 temperatures, F = {F}): {seconds:.0f} s "
          f"(perplexity {perplexity(log_p, held_out.sum(1)):.0f} for an untrained model)")
    print(f"machine load average (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
