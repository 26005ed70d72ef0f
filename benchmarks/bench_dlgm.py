"""Training-step throughput of the rank-one DLGM: rsmlib (TensorFlow, with and without XLA)
against the same architecture written in PyTorch, in one process (chapter 5, issue 6).

    .venv/bin/python benchmarks/bench_dlgm.py [--steps 50] [--rounds 5] [--batch-size 100]

PyTorch is optional and not in requirements.txt (install a CPU build for the benchmark only,
e.g. `pip install torch`); without it the PyTorch rows are skipped with a message. The three
implementations are measured in interleaved rounds (so that a change in machine load hits all of
them) and the median images per second over rounds is reported, with the ratios. PyTorch is
measured with its default thread count and with one thread: on a loaded machine its OpenMP
workers can be much slower than a single thread. Each measured
step is one full training step: recognition pass, one draw ξ = μ + Rε per image (rank-one R in
O(K)), generative pass, free energy F/B (closed-form KL + Bernoulli NLL + ‖θ^g‖²/2κN), backward
pass and an Adam update. Weights differ between frameworks (independent initialisations); the
arithmetic per step is the same.

Also measured (``--fit-epochs``, ``--fit-rounds``): whole ``DLGM.fit`` calls, which run Keras's
``fit`` (rsmlib.keras_loop), against the same calls of the loop they replaced (the frozen copy
in tests/frozen_dlgm.py, one traced step per batch from a Python loop), on the 4,000 offline
digits, interleaved; each call traces its step, as a first call in a process does.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import DLGM, load_mnist_digits  # noqa: E402

LATENT, HIDDEN, NUM_DATA = (25, 10), 200, 4000


def tensorflow_runner(batch, jit_compile):
    model = DLGM(784, LATENT, HIDDEN, covariance="rank_one", visible_mean=batch.mean(0), seed=0)
    step = model.train_step_function(jit_compile=jit_compile)
    v = tf.constant(batch, tf.float32)
    num_data, lr = tf.constant(float(NUM_DATA)), tf.constant(1e-3)
    seeds = tf.random.experimental.stateless_split([0, 1], 10_000)

    def run(n, offset=[0]):
        for _ in range(n):
            loss = step(v, seeds[offset[0] % 10_000], num_data, lr)
            offset[0] += 1
        return float(loss)                      # waits for the last step to finish
    return run


def torch_runner(batch, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.a, self.b = nn.Linear(n_in, HIDDEN), nn.Linear(HIDDEN, n_out)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    class TorchDLGM(nn.Module):
        def __init__(self):
            super().__init__()
            K = LATENT
            self.G = nn.ParameterList([nn.Parameter(torch.eye(k)) for k in K])
            self.T = nn.ModuleList([MLP(K[0], 784)] + [MLP(K[l + 1], K[l])
                                                       for l in range(len(K) - 1)])
            self.rec = nn.Linear(784, HIDDEN)
            self.heads = nn.ModuleList([nn.Linear(HIDDEN, 3 * k) for k in K])

        def generative_parameters(self):
            return list(self.G.parameters()) + list(self.T.parameters())

        def loss(self, v, num_data, kappa=1.0):
            a = torch.tanh(self.rec(v))
            xis, kl = [], 0.0
            for head, k in zip(self.heads, LATENT):
                z = head(a)
                mu, d, u = z[:, :k], nn.functional.softplus(z[:, k:2 * k] + 0.5413) + 1e-6, z[:, 2 * k:]
                s = (u * u / d).sum(-1, keepdim=True)                      # uᵀD⁻¹u
                gamma = 1.0 / ((1.0 + s) * (1.0 + torch.rsqrt(1.0 + s)))
                root = torch.rsqrt(d)
                w = u * root
                eps = torch.randn_like(mu)
                xis.append(mu + root * (eps - gamma * w * (w * eps).sum(-1, keepdim=True)))
                trace = (1.0 / d).sum(-1) - ((u / d) ** 2).sum(-1) / (1.0 + s[:, 0])
                log_det = -(torch.log(d).sum(-1) + torch.log1p(s[:, 0]))
                kl = kl + 0.5 * (trace + (mu * mu).sum(-1) - k - log_det)
            L = len(LATENT)
            h = xis[L - 1] @ self.G[L - 1].T
            for l in range(L - 2, -1, -1):
                h = self.T[l + 1](h) + xis[l] @ self.G[l].T
            logits = self.T[0](h)
            nll = nn.functional.binary_cross_entropy_with_logits(logits, v, reduction="none").sum(-1)
            penalty = sum((p * p).sum() for p in self.generative_parameters()) / (2 * kappa)
            B = v.shape[0]
            return ((kl + nll).sum() + B / num_data * penalty) / B

    model = TorchDLGM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    v = torch.tensor(batch)

    def run(n):
        torch.set_num_threads(threads)              # per runner: the setting is process-wide
        for _ in range(n):
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss(v, NUM_DATA)
            loss.backward()
            optimizer.step()
        return loss.item()
    return run, torch.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="PyTorch intra-op threads; 1 thread is measured too (TensorFlow "
                             "uses its default pools)")
    parser.add_argument("--fit-epochs", type=int, default=3)
    parser.add_argument("--fit-rounds", type=int, default=3)
    args = parser.parse_args(argv)

    train = load_mnist_digits()[0]
    batch = train[:args.batch_size]
    runners = {"TensorFlow (tf.function)": tensorflow_runner(batch, False),
               "TensorFlow + XLA (jit_compile=True)": tensorflow_runner(batch, True)}
    try:
        for threads in sorted({args.threads, 1}, reverse=True):
            run, version = torch_runner(batch, threads)
            runners[f"PyTorch {version} (eager, {threads} thread{'s' * (threads > 1)})"] = run
    except ImportError:
        print("PyTorch is not installed: skipping the PyTorch comparison "
              "(pip install torch, a CPU build, to include it).")
    print(f"TensorFlow {tf.__version__}; {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; batch {args.batch_size}; "
          f"architecture 784-{HIDDEN}-{LATENT} rank-one")
    for run in runners.values():                    # warm-up: tracing, XLA compilation
        run(5)
    rates = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(args.steps)
            rates[name].append(args.steps * args.batch_size / (time.perf_counter() - start))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["TensorFlow (tf.function)"]
    for name, rate in medians.items():
        spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
        print(f"{name:40s} {rate:8.0f} images/s (rounds: {spread})  ratio to TF: {rate / base:.2f}")
    torch_names = [n for n in medians if n.startswith("PyTorch")]
    if torch_names:
        best = max(torch_names, key=medians.get)
        for name in list(medians)[:2]:
            print(f"{name} / best PyTorch ({best}): {medians[name] / medians[best]:.2f}")
    if args.fit_rounds:
        time_fit_calls(train, args.fit_epochs, args.fit_rounds, args.batch_size)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def time_fit_calls(train, epochs, rounds, batch_size):
    """Seconds of DLGM.fit (Keras's fit) and of the frozen old loop, interleaved rounds."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), "tests"))
    import frozen_dlgm
    from rsmlib.dlgm import fit_dlgm

    seconds = {"DLGM.fit (Keras's fit)": [], "the old loop (tests/frozen_dlgm.py)": []}
    for _ in range(rounds):
        for name, fit in zip(seconds, (fit_dlgm, frozen_dlgm.fit_dlgm)):
            model = DLGM(784, LATENT, HIDDEN, covariance="rank_one",
                         visible_mean=train.mean(0), seed=0)
            start = time.perf_counter()
            fit(model, train, epochs, batch_size=batch_size, seed=1, learning_rate=3e-3,
                progress=False)
            seconds[name].append(time.perf_counter() - start)
    new, old = seconds.values()
    print(f"{epochs}-epoch fit calls on {len(train)} digits (tracing included), seconds per "
          f"round: " + "; ".join(f"{name} {', '.join(f'{t:.1f}' for t in times)}"
                                 for name, times in seconds.items()))
    print(f"  DLGM.fit / old loop, time per round: "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(new, old))}")


if __name__ == "__main__":
    sys.exit(main())
