"""CD-1 training throughput of rsmlib's RSM (fit_rsm and the Keras layer) against a plain NumPy
baseline, with TensorFlow at one intra-op thread and at its default, in one run.

    .venv/bin/python benchmarks/bench_rsm.py [--epochs 5] [--rounds 3] [--throughput-only]

The run starts this script four times more (``--threads 1``, ``--threads 0`` = TensorFlow's
default, each with ``--allocator malloc`` and ``--allocator bfc``; twice with ``--allocator``),
each in its own process,
since TensorFlow's thread pools and its CPU memory allocator are fixed when it starts
(``tf.config.threading.set_intra_op_parallelism_threads``; the environment variable
``TF_CPU_ALLOCATOR_USE_BFC=true``, TensorFlow's best-fit-with-coalescing allocator, which
keeps the memory it has allocated instead of returning every buffer to the C library's
malloc); each prints its own table, NumPy measured in the same process (NumPy allocates
with malloc in both).

Data: the 395 Reuters stories of the `lda` package (K = 4258 words); F = 50 hidden units;
batch 100; CD-1 with momentum SGD. The baseline is the update as the widely copied NumPy RSM
codes write it: hidden probabilities by matrix products, and the negative documents sampled with
one `np.random.multinomial` call per document in a Python loop.

What is timed, in --rounds interleaved rounds (median over rounds reported):
* fit_rsm, steady state: one ``fit_rsm`` call of 1 + --epochs epochs, timed at the end of every
  epoch (by its callback); documents per second over the last --epochs epochs, so that the
  one-off cost of tracing the epoch, paid in the first, is left out.
* the same with the TensorFlow-ops sampler (the compiled op switched off, as where it is not
  built): what the op contributes.
* the old per-step trace, in the same process: the same traced function called once per batch
  from a Python loop (``time_per_step``): what tracing the whole epoch contributes.
* fit_rsm, short call: a 5-epoch call on the first 300 documents of a new model when no RSM
  of its shape has been trained in the process (tracing included), the same call on a second
  new model (the traced epoch shared by every RSM of one shape and options), and a second
  call on that model.
* fit_rsm, short call in a new process (``--short-probe``: started with an empty cache of
  traced epochs, ``rsmlib.training.epoch_cache_dir``; again with the epoch that run saved; and
  the same two with TensorFlow's graph optimizer Grappler on for the epoch, the second timed),
  after a warm-up call on a model of another shape: the same 5-epoch call, the call again on
  that model (no one-off cost left), and NumPy's, timed in that process. The rows above run
  with the cache off, so their first calls trace.
* the one-off cost of a graph: TensorFlow's seconds per node to trace a tf.function and to
  call it the first time (``one_off_per_node``), against the traced epoch's number of nodes
  and what a short call may spend once if it is to take half NumPy's time.
* rsmlib.keras, steady state: ``model.fit`` of a model that is one ``RSMLayer`` (k = 1) with
  ``keras.optimizers.SGD(momentum=0.9)``, timed the same way (a Keras callback per epoch):
  fed the NumPy array, the same with ``steps_per_execution=4``, fed
  ``DocumentBatches.dataset()``, and fed that with ``steps_per_execution=4``.
* NumPy: the baseline with the BLAS library's default threads and with one thread (the faster
  is the baseline of the ratios), on all 395 documents and on the short call's 300.

Also printed: the matrix-multiply bound (5 products of about 2 x 100 x K x F flops per batch,
at the float32 GEMM rate measured here) and the fraction of it reached, a breakdown of one
CD-1 step into its pieces, and the time of a held-out perplexity with each AIS estimator. Record
the output, with the machine's load (`uptime`), in benchmarks/RESULTS.md.
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def without_allocator(argv):
    """(argv without its --allocator option, the allocator it named or None)."""
    rest, allocator, it = [], None, iter(argv)
    for a in it:
        if a.startswith("--allocator="):
            allocator = a.split("=", 1)[1]
        elif a == "--allocator":
            allocator = next(it, None)
        else:
            rest.append(a)
    return rest, allocator


# read by TensorFlow when it makes its CPU allocator, so set before it is imported
_ALLOCATOR = without_allocator(sys.argv[1:])[1]
if _ALLOCATOR == "bfc":
    os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
elif _ALLOCATOR == "malloc":
    os.environ.pop("TF_CPU_ALLOCATOR_USE_BFC", None)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (installed with scikit-learn)

from rsmlib import RSM, load_reuters  # noqa: E402
from rsmlib.datasets import split_documents  # noqa: E402
from rsmlib.evaluation import perplexity, rsm_log_probs, unigram_base_rates  # noqa: E402
from rsmlib.ais import ais_log_partition, ais_log_partition_by_length  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402

from rsmlib import counts_op, training  # noqa: E402

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


def time_fit(docs, epochs, seed, compiled_op=True):
    """Seconds of one fit_rsm call: (first epoch, tracing included; mean of the later epochs).

    ``compiled_op=False``: with the TensorFlow-ops sampler (the op switched off)."""
    model = RSM(docs.shape[1], F, seed=seed, init_scale=0.01)
    training._SHARED.trainers.clear()  # its first epoch traces, as in a new process
    ends = []
    saved = list(counts_op._LIBRARY)
    if not compiled_op:
        counts_op._LIBRARY[:] = [None]
    try:
        start = time.perf_counter()
        fit_rsm(model, docs, epochs=epochs, batch_size=BATCH, learning_rate=LR, seed=seed,
                progress=False, callback=lambda epoch, model: ends.append(time.perf_counter()))
    finally:
        counts_op._LIBRARY[:] = saved
    return ends[0] - start, (ends[-1] - ends[0]) / (epochs - 1)


def time_per_step(docs, epochs, seed):
    """Seconds per epoch, steady state, of the old per-step trace: one traced call per
    batch from a Python loop, as before the epoch was traced whole.

    The same traced function as fit_rsm's (one epoch of fit_rsm traces it), called with
    one batch's indices at a time, so that only the per-call overhead differs."""
    model = RSM(docs.shape[1], F, seed=seed, init_scale=0.01)
    training._SHARED.trainers.clear()  # the trainer of the call below, alone in the cache
    fit_rsm(model, docs, epochs=1, batch_size=BATCH, learning_rate=LR, seed=seed,
            progress=False)
    ((trainer, functions),) = training._SHARED.trainers.values()
    step, data, n = functions[1, BATCH], trainer.arguments[0], len(docs)

    def one_epoch(epoch):
        order = np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)
        for b in range(0, n, BATCH):
            errors, finite = step(data, tf.constant(order[b:b + BATCH]),
                                  tf.constant([1_000 * epoch + b // BATCH, 0], tf.int64))
        return bool(finite)

    one_epoch(0)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        one_epoch(epoch)
    return (time.perf_counter() - start) / epochs


def time_short_calls(docs, epochs, seed):
    """Seconds of three fit_rsm calls of ``epochs`` epochs: on a new model when no RSM of its
    shape has been trained in the process (the cache of traced epochs emptied: tracing
    included); on a second new model, which reuses that traced epoch; and again on the
    second model."""
    models = [RSM(docs.shape[1], F, seed=seed + i, init_scale=0.01) for i in range(2)]
    training._SHARED.trainers.clear()
    seconds = []
    for call, model in enumerate((models[0], models[1], models[1])):
        gc.collect()  # not the garbage of the measurements before (their traced graphs)
        start = time.perf_counter()
        fit_rsm(model, docs, epochs=epochs, batch_size=BATCH, learning_rate=LR,
                seed=seed + call, progress=False)
        seconds.append(time.perf_counter() - start)
    return seconds


def short_in_new_process(args, cache, grappler=False):
    """{"fit_rsm": seconds, "again": seconds, "numpy": seconds, "tracings": [...]} of the
    short call in a new process whose cache of traced epochs is the folder ``cache`` (see
    ``short_probe``); ``grappler``: with TensorFlow's graph optimizer on for the epoch."""
    argv = [sys.executable, __file__, "--short-probe", str(cache), "--threads",
            str(args.threads), "--short-docs", str(args.short_docs)]
    done = subprocess.run(argv + ["--grappler"] * grappler, check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def short_probe(args):
    """The short call in this new process, its cache of traced epochs ``args.short_probe``;
    prints (as JSON) its seconds, those of the same call again on that model (no one-off
    cost left), the faster NumPy's and how often its epoch was traced."""
    if args.grappler:
        training.GRAPPLER_OFF = False  # the epoch run with Grappler, as a tf.function
    docs = load_reuters().counts.astype(np.float32)
    short = docs[:args.short_docs]
    # the process's one-off costs (Keras, TensorFlow's first function) paid on a model of
    # another shape, with the cache off
    os.environ["RSMLIB_CACHE_DIR"] = "off"
    fit_rsm(RSM(docs.shape[1], 2 * F, seed=1), docs[:2 * BATCH], epochs=1, batch_size=BATCH,
            learning_rate=LR, seed=0, progress=False)
    time_numpy(short, 1, seed=0)
    training._SHARED.trainers.clear()  # the warm-up's trainer: its tracings are not counted
    os.environ["RSMLIB_CACHE_DIR"] = args.short_probe
    model = RSM(docs.shape[1], F, seed=10, init_scale=0.01)
    gc.collect()
    start = time.perf_counter()
    fit_rsm(model, short, epochs=5, batch_size=BATCH, learning_rate=LR, seed=10,
            progress=False)
    seconds = time.perf_counter() - start
    tracings = [f.experimental_get_tracing_count()
                for _, fs in training._SHARED.trainers.values() for f in fs.values()]
    start = time.perf_counter()
    fit_rsm(model, short, epochs=5, batch_size=BATCH, learning_rate=LR, seed=11,
            progress=False)
    again = time.perf_counter() - start
    with threadpool_limits(limits=1, user_api="blas"):
        one = time_numpy(short, 5, seed=0)
    print(json.dumps({"fit_rsm": seconds, "again": again, "tracings": tracings,
                      "numpy": min(one, time_numpy(short, 5, seed=0))}))


def graph_nodes(function):
    """Nodes of a traced tf.function's graph, the bodies of its loops included."""
    graph = function.get_concrete_function().graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)


def one_off_per_node():
    """TensorFlow's one-off costs per graph node on this machine: (seconds per node to trace,
    seconds per node at the first call), the least-squares slopes over three chains of 100,
    200 and 400 trivial nodes (x <- x * c + c, autograph off), each traced and called once.

    The first call of a concrete function instantiates it (Grappler's passes, the executor and
    its kernels); a second call costs about a millisecond whatever the size."""
    x = tf.zeros([BATCH, F])
    sizes, traces, firsts = [], [], []
    for links in (25, 50, 100):
        def chain(x, links=links):
            for _ in range(links):
                x = x * 1.0001 + 0.5
            return x

        function = tf.function(chain, autograph=False, input_signature=[tf.TensorSpec(x.shape)])
        start = time.perf_counter()
        concrete = function.get_concrete_function()
        traced = time.perf_counter()
        concrete(x).numpy()
        firsts.append(time.perf_counter() - traced)
        traces.append(traced - start)
        sizes.append(graph_nodes(function))
    return np.polyfit(sizes, traces, 1)[0], np.polyfit(sizes, firsts, 1)[0]


def time_keras(docs, epochs, seed, steps_per_execution=1, dataset=False):
    """Seconds of one Keras fit of an RSMLayer model: (first epoch; mean of the later epochs).

    ``steps_per_execution``: batches Keras runs in one call of its traced train function;
    ``dataset``: feed ``DocumentBatches(docs, BATCH, seed).dataset()`` (tf.data, batches
    gathered in the graph) instead of the NumPy array."""
    import keras
    from rsmlib.keras import DocumentBatches, RSMLayer

    inputs = keras.Input((docs.shape[1],))
    model = keras.Model(inputs, RSMLayer(F, k=1, seed=seed, init_scale=0.01)(inputs))
    model.compile(keras.optimizers.SGD(LR, momentum=MOMENTUM),
                  steps_per_execution=steps_per_execution)
    ends = []
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
    start = time.perf_counter()
    if dataset:
        batches = DocumentBatches(docs, BATCH, seed=seed)
        model.fit(batches.dataset(), steps_per_epoch=len(batches), epochs=epochs,
                  shuffle=False, callbacks=[batches.epoch_callback, timer], verbose=0)
    else:
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

    logits = model.visible_logits(h)
    weights = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    uniforms = tf.random.stateless_uniform([BATCH, int(tf.reduce_max(D))], seed,
                                           dtype=tf.float64)
    pieces = {"h ~ p(h|v)  (one product)": lambda: model.sample_hidden(v, seed),
              "v ~ p(v|h)  (one product + sampling)": lambda: model.sample_visible(h, D, seed),
              "  of which the logits b_v + W h": lambda: model.visible_logits(h),
              "  of which the compiled op (counts from uniforms)": lambda: (
                  counts_op.counts_from_uniforms(weights, uniforms, D)
                  if counts_op.library() is not None else tf.zeros([])),
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


def rounds_of(values):
    return ", ".join(f"{x:.0f}" for x in values)


def main():
    # no abbreviations: --allocator is read from sys.argv before TensorFlow is imported
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short-docs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow intra-op threads (0: its default); without it, the "
                             "script runs itself with 1 and with 0, one process each")
    parser.add_argument("--allocator", choices=("malloc", "bfc"), default=None,
                        help="TensorFlow's CPU allocator: malloc (its default) or bfc "
                             "(TF_CPU_ALLOCATOR_USE_BFC=true); without --threads, both")
    parser.add_argument("--short-probe", metavar="CACHE", default=None,
                        help="(internal) time the short call in this process, with CACHE as "
                             "its cache of traced epochs, and print JSON")
    parser.add_argument("--grappler", action="store_true",
                        help="(internal, with --short-probe) Grappler on for the epoch")
    parser.add_argument("--throughput-only", action="store_true",
                        help="skip the step breakdown and the perplexity timings")
    args = parser.parse_args()
    if args.rounds < 1 or args.epochs < 1:
        parser.error(f"--rounds and --epochs must be >= 1; got {args.rounds}, {args.epochs}")
    if args.threads is None:
        print(f"machine load average at the start (1, 5, 15 min): {os.getloadavg()}")
        allocators = ("malloc", "bfc") if args.allocator is None else (args.allocator,)
        for threads in (1, 0):
            for allocator in allocators:
                argv = without_allocator(sys.argv[1:])[0]
                if (threads, allocator) != (1, allocators[0]) and (
                        "--throughput-only" not in argv):
                    argv.append("--throughput-only")   # the breakdown once is enough
                subprocess.run([sys.executable, __file__, *argv, "--threads", str(threads),
                                "--allocator", allocator], check=True)
        print(f"machine load average at the end (1, 5, 15 min): {os.getloadavg()}")
        return
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    if args.short_probe is not None:
        return short_probe(args)
    os.environ["RSMLIB_CACHE_DIR"] = "off"  # every call below traces: no cache between runs
    threads = f"{args.threads} intra-op thread" if args.threads else "default threads"
    bfc = os.environ.get("TF_CPU_ALLOCATOR_USE_BFC", "").lower() in ("true", "1")
    allocator = "bfc (TF_CPU_ALLOCATOR_USE_BFC=true)" if bfc else "malloc"
    if args.allocator is not None and (args.allocator == "bfc") != bfc:
        parser.error(f"--allocator {args.allocator} but TF_CPU_ALLOCATOR_USE_BFC is "
                     f"{os.environ.get('TF_CPU_ALLOCATOR_USE_BFC')!r}")
    print(f"\n=== TensorFlow with {threads} "
          f"({tf.config.threading.get_intra_op_parallelism_threads()} requested, 0 = "
          f"default), CPU allocator {allocator}; compiled sampler op loaded: "
          f"{counts_op.library() is not None} ===")
    docs = load_reuters().counts.astype(np.float32)
    n, K = docs.shape
    short = docs[:args.short_docs]
    # warm-up, so that no timed call pays the process's one-off costs (importing Keras,
    # TensorFlow's first function): a call on a model of its own
    time_fit(docs[:2 * BATCH], 2, seed=99)
    time_keras(docs[:2 * BATCH], 2, seed=99)
    time_keras(docs[:2 * BATCH], 2, seed=99, dataset=True)

    fit_rates, tf_ops_rates, keras_rates, np_rates, np1_rates, one_off = [], [], [], [], [], []
    keras_spe_rates, keras_ds_rates, per_step_rates = [], [], []
    keras_ds_spe_rates = []
    short_first, short_shared, short_again, np_short = [], [], [], []
    new_process = [], [], []  # short calls in new processes: cache empty, filled, Grappler
    per_node = []
    for r in range(args.rounds):
        first, steady = time_fit(docs, 1 + args.epochs, seed=r)
        fit_rates.append(n / steady)
        one_off.append(first - steady)
        tf_ops_rates.append(n / time_fit(docs, 1 + args.epochs, seed=r, compiled_op=False)[1])
        per_step_rates.append(n / time_per_step(docs, args.epochs, seed=r))
        keras_rates.append(n / time_keras(docs, 1 + args.epochs, seed=r)[1])
        # all of an epoch's 4 batches in one call of Keras's traced train function
        keras_spe_rates.append(
            n / time_keras(docs, 1 + args.epochs, seed=r, steps_per_execution=4)[1])
        keras_ds_rates.append(n / time_keras(docs, 1 + args.epochs, seed=r, dataset=True)[1])
        keras_ds_spe_rates.append(n / time_keras(docs, 1 + args.epochs, seed=r, dataset=True,
                                                 steps_per_execution=4)[1])
        first_call, shared_call, second_call = time_short_calls(short, 5, seed=10 + r)
        if r == 0:  # the traced epoch of the short calls' first model
            ((_, functions),) = training._SHARED.trainers.values()
            epoch_nodes = graph_nodes(functions[1, BATCH].traced)
        per_node.append(one_off_per_node())
        short_first.append(first_call)
        short_shared.append(shared_call)
        short_again.append(second_call)
        np_rates.append(n * args.epochs / time_numpy(docs, args.epochs, seed=r))
        with threadpool_limits(limits=1, user_api="blas"):
            np1_rates.append(n * args.epochs / time_numpy(docs, args.epochs, seed=r))
            one = time_numpy(short, 5, seed=r)
        np_short.append(min(one, time_numpy(short, 5, seed=r)))
        with tempfile.TemporaryDirectory() as cache:
            probes = [short_in_new_process(args, cache),   # traces, and saves the epoch
                      short_in_new_process(args, cache),   # loads it
                      # Grappler is in the cache key: its epoch saved, then loaded
                      short_in_new_process(args, cache, grappler=True),
                      short_in_new_process(args, cache, grappler=True)]
        tracings = [probe["tracings"] for probe in probes]
        if tracings != [[1], [0], [1], [0]]:
            raise RuntimeError(f"new-process tracings {tracings}: expected [1] (empty "
                               "cache), then [0] (the saved epoch loaded), for each setting")
        for rows, probe in zip(new_process, probes[:2] + probes[3:]):
            rows.append(probe)

    rate = np.median(fit_rates)
    rate_np = max(np.median(np_rates), np.median(np1_rates))   # the faster NumPy
    gflops = gemm_gflops(K)
    bound = gflops * 1e9 / (5 * 2 * BATCH * K * F) * BATCH      # documents/s
    rate_keras = np.median(keras_rates)
    print(f"fit_rsm CD-1, steady state:                {rate:8.0f} documents/s "
          f"(rounds: {rounds_of(fit_rates)})")
    print(f"  with the TensorFlow-ops sampler:         {np.median(tf_ops_rates):8.0f} "
          f"documents/s (rounds: {rounds_of(tf_ops_rates)})")
    paired_step = [p / f for p, f in zip(per_step_rates, fit_rates)]
    print(f"  one traced call per step, from Python:   {np.median(per_step_rates):8.0f} "
          f"documents/s (rounds: {rounds_of(per_step_rates)}); per step / traced epoch, "
          f"per round: {', '.join(f'{x:.2f}' for x in paired_step)}")
    print(f"rsmlib.keras RSMLayer + model.fit CD-1:    {rate_keras:8.0f} documents/s "
          f"(rounds: {rounds_of(keras_rates)}); Keras / fit_rsm: {rate_keras / rate:.2f}")
    rate_spe, rate_ds = np.median(keras_spe_rates), np.median(keras_ds_rates)
    print(f"  the same, steps_per_execution=4:         {rate_spe:8.0f} documents/s "
          f"(rounds: {rounds_of(keras_spe_rates)}); Keras / fit_rsm: {rate_spe / rate:.2f}")
    print(f"  the same, DocumentBatches.dataset():     {rate_ds:8.0f} documents/s "
          f"(rounds: {rounds_of(keras_ds_rates)}); Keras / fit_rsm: {rate_ds / rate:.2f}")
    rate_ds_spe = np.median(keras_ds_spe_rates)
    print(f"  dataset() and steps_per_execution=4:     {rate_ds_spe:8.0f} documents/s "
          f"(rounds: {rounds_of(keras_ds_spe_rates)}); Keras / fit_rsm: "
          f"{rate_ds_spe / rate:.2f}")
    print(f"NumPy baseline CD-1, BLAS default threads: {np.median(np_rates):8.0f} documents/s "
          f"(rounds: {rounds_of(np_rates)})")
    print(f"NumPy baseline CD-1, BLAS 1 thread:        {np.median(np1_rates):8.0f} documents/s "
          f"(rounds: {rounds_of(np1_rates)})")
    # Paired: each round's fit_rsm rate over the faster NumPy of the same round, so that a
    # change of the machine's load between rounds does not enter the ratio.
    paired = [f / max(a, b) for f, a, b in zip(fit_rates, np_rates, np1_rates)]
    paired_keras = [k / f for k, f in zip(keras_rates, fit_rates)]
    paired_spe = [k / f for k, f in zip(keras_spe_rates, fit_rates)]
    paired_ds = [k / f for k, f in zip(keras_ds_rates, fit_rates)]
    paired_ds_spe = [k / f for k, f in zip(keras_ds_spe_rates, fit_rates)]
    steady_ratio = rate / rate_np
    print(f"steady state, fit_rsm / faster NumPy: {steady_ratio:.2f}x (medians); per round "
          f"{', '.join(f'{x:.2f}' for x in paired)}, min {min(paired):.2f}x "
          f"(target 3x: {'reached' if min(paired) >= 3 else 'NOT reached'} in every round)")
    print(f"Keras / fit_rsm per round: {', '.join(f'{x:.2f}' for x in paired_keras)}; with "
          f"steps_per_execution=4: {', '.join(f'{x:.2f}' for x in paired_spe)}; with "
          f"DocumentBatches.dataset(): {', '.join(f'{x:.2f}' for x in paired_ds)}; with "
          f"both: {', '.join(f'{x:.2f}' for x in paired_ds_spe)} (target: at least 0.90)")
    print(f"one-off cost of fit_rsm's first epoch on a new model (tracing it): "
          f"{np.median(one_off):.2f} s")
    t_first, t_shared = np.median(short_first), np.median(short_shared)
    t_again, t_np = np.median(short_again), np.median(np_short)
    print(f"short call, 5 epochs on {len(short)} documents: fit_rsm on the process's first "
          f"model of its shape {t_first:.2f} s (tracing included), on another new model "
          f"{t_shared:.2f} s (the traced epoch shared), again on that model {t_again:.2f} s; "
          f"faster NumPy {t_np:.2f} s")
    for name, times in (("first model (tracing)", short_first),
                        ("new model, trace shared", short_shared),
                        ("same model", short_again)):
        ratios = [t_n / t for t_n, t in zip(np_short, times)]
        print(f"  short call, {name}: NumPy / fit_rsm time per round "
              f"{', '.join(f'{x:.2f}' for x in ratios)}x "
              f"(target 2x: {'reached' if min(ratios) >= 2 else 'NOT reached'} in every round)")
    for name, probes in zip(("cache empty (trace, save)", "cache filled (load)",
                             "cache filled, Grappler on"), new_process):
        ratios = [p["numpy"] / p["fit_rsm"] for p in probes]
        print(f"  short call in a new process, {name}: fit_rsm "
              f"{np.median([p['fit_rsm'] for p in probes]):.3f} s, again on that model "
              f"{np.median([p['again'] for p in probes]):.3f} s, NumPy "
              f"{np.median([p['numpy'] for p in probes]):.3f} s; NumPy / fit_rsm per round "
              f"{', '.join(f'{x:.2f}' for x in ratios)}x "
              f"(target 2x: {'reached' if min(ratios) >= 2 else 'NOT reached'} in every round)")
    # What a short call may spend once, if it is to take half NumPy's time: the budget
    # against what TensorFlow spends per node of a graph, traced and called the first time.
    trace_node, first_node = np.median(per_node, axis=0)
    per_node_s = trace_node + first_node
    budget = t_np / 2 - t_shared
    print(f"one-off cost of a graph here: {1e3 * trace_node:.2f} ms per node to trace and "
          f"{1e3 * first_node:.2f} ms per node at its first call (chains of trivial nodes; "
          f"rounds: {', '.join(f'{1e3 * (a + b):.2f}' for a, b in per_node)} ms together)")
    print(f"  the traced epoch has {epoch_nodes} nodes: {epoch_nodes * per_node_s:.2f} s "
          f"predicted, {t_first - t_shared:.2f} s measured (first short call - shared); a 2x "
          f"short call leaves {budget:.2f} s for every one-off cost (half NumPy's "
          f"{t_np:.2f} s - the shared call's {t_shared:.2f} s): room for "
          f"{max(budget, 0) / per_node_s:.0f} nodes")
    print(f"float32 GEMM rate ((100, {K}) x ({K}, {F})): {gflops:.1f} GFLOP/s -> matmul bound "
          f"{bound:.0f} documents/s (fit_rsm reaches {100 * rate / bound:.0f}% of it)")
    if args.throughput_only:
        return
    print("one CD-1 step, by piece (ms per batch of 100):")
    for name, ms in step_breakdown(docs).items():
        print(f"  {name:50s} {ms:6.2f}")

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
        print(f"held-out perplexity ({len(held_out)} documents, {len(np.unique(held_out.sum(1)))} lengths, "
              f"F = {F}), {name}: {time.perf_counter() - start:.0f} s "
              f"(perplexity {perplexity(log_p, held_out.sum(1)):.0f} for an untrained model)")


if __name__ == "__main__":
    main()
