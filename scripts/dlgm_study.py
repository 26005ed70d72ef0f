"""Chapter 5's DLGM study on the 5,000 offline MNIST digits, at the size that fits 2 CPU cores.

Writes scripts/results/dlgm_study.json (the chapter reads and checks it). Parts, in order:

* static:  the chapter's protocol (4,000 training digits binarised once, 30 epochs, lr 3e-3,
           K = (25, 10), H = 200), training seeds 0..4 for each covariance; test -ln p(v) by
           importance sampling with S = --samples on the first --test-images test digits.
* sweep:   for the seed-0 static models, -ln p̂(v) on the first 100 test digits at
           S = --sweep (default 50, 500, 5,000 and 20,000).
* mixture: exact mixtures of Bernoullis (--mixtures, default K = 10 and 500) on the same 4,000 / 1,000 split, the
           prior α chosen on a validation split (the last 500 training digits).
* dynamic: dynamic binarisation (fresh pixels from the grey levels every epoch) on the first 3,500
           training digits, early stopping on the last 500 (--patience, at most --dynamic-epochs
           epochs, --dynamic-learning-rate), seeds 0..(--dynamic-seeds - 1) per covariance.

The committed results came from four runs, in parallel on 2 CPU cores shared with other jobs:

    nice -n 5 python scripts/dlgm_study.py              # stopped after static seed 3
    nice -n 5 python scripts/dlgm_study.py --parts static --seed-start 4 \\
        --out scripts/results/dlgm_static_seed4.json
    nice -n 5 python scripts/dlgm_study.py --parts sweep mixture \\
        --out scripts/results/dlgm_sweep.json
    nice -n 5 python scripts/dlgm_study.py --parts dynamic --dynamic-seeds 1 --dynamic-epochs 60 \\
        --dynamic-learning-rate 3e-3 --patience 5 --out scripts/results/dlgm_dynamic.json

Model seed k, training seed k + 1 (seed 0 is the chapter's run). Every random step is seeded.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import DLGM, load_mnist_digits  # noqa: E402
from rsmlib.dlgm import bernoulli_mixture_log_likelihood, fit_bernoulli_mixture  # noqa: E402

CONFIG = dict(num_visible=784, latent_sizes=(25, 10), hidden_size=200, kappa=1.0)
COVARIANCES = ("diagonal", "rank_one")


def evaluate(model, test, samples, seed):
    log_p, se = model.log_likelihood_is(test, samples, seed=seed,
                                        batch_size=max(1, 50_000 // samples))
    elbo = model.elbo(test, seed=seed + 1, num_samples=10).numpy()
    return {"log_p": log_p.tolist(), "se": se.tolist(), "elbo": elbo.tolist()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-start", type=int, default=0, help="static part: first seed")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--dynamic-seeds", type=int, default=2)
    parser.add_argument("--dynamic-epochs", type=int, default=80)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--dynamic-learning-rate", type=float, default=1e-3)
    parser.add_argument("--mixtures", type=int, nargs="+", default=[10, 500])
    parser.add_argument("--sweep", type=int, nargs="+", default=[50, 500, 5000, 20_000])
    parser.add_argument("--parts", nargs="+", default=["static", "sweep", "mixture", "dynamic"])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "dlgm_study.json"))
    args = parser.parse_args(argv)
    tf.config.experimental.enable_op_determinism()
    train, test, _, _, grey = load_mnist_digits(num_test=1000, seed=0, grey=True)
    evaluation = test[:args.test_images]
    results = {"command": "python scripts/dlgm_study.py " + " ".join(argv or sys.argv[1:]),
               "config": {**CONFIG, "latent_sizes": list(CONFIG["latent_sizes"])},
               "args": vars(args), "test_images": args.test_images}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = {**json.load(f), **{k: v for k, v in results.items() if k != "command"}}

    def save():
        with open(args.out, "w") as f:
            json.dump(results, f)

    models = {}
    if "static" in args.parts:
        results["static"] = {c: [] for c in COVARIANCES}
        for seed in range(args.seed_start, args.seeds):
            for cov in COVARIANCES:
                start = time.perf_counter()
                model = DLGM(covariance=cov, visible_mean=train.mean(axis=0), seed=seed, **CONFIG)
                history = model.fit(train, args.epochs, seed=seed + 1, learning_rate=3e-3,
                                    test=test, progress=False)
                run = {"seed": seed, "epochs": args.epochs, "history": history,
                       **evaluate(model, evaluation, args.samples, seed=10),
                       "seconds": time.perf_counter() - start}
                results["static"][cov].append(run)
                if seed == 0:
                    models[cov] = model
                print(f"static {cov} seed {seed}: -ln p = {-np.mean(run['log_p']):.2f} "
                      f"({run['seconds']:.0f} s)", flush=True)
                save()
    if "sweep" in args.parts:
        if not models:                                  # the seed-0 static models, retrained
            for cov in COVARIANCES:
                models[cov] = DLGM(covariance=cov, visible_mean=train.mean(axis=0), seed=0,
                                   **CONFIG)
                models[cov].fit(train, args.epochs, seed=1, learning_rate=3e-3, progress=False)
        results["sweep"] = {}
        for cov, model in models.items():
            results["sweep"][cov] = {}
            for S in args.sweep:
                log_p, se = model.log_likelihood_is(test[:100], S, seed=20,
                                                    batch_size=max(1, 50_000 // S))
                results["sweep"][cov][str(S)] = {"log_p": log_p.tolist(), "se": se.tolist()}
                print(f"sweep {cov} S={S}: -ln p = {-log_p.mean():.2f}", flush=True)
            save()
    if "mixture" in args.parts:
        results["mixture"] = {}
        fit_part, valid_part = train[:3500], train[3500:]
        for K in args.mixtures:
            iterations = 100 if K <= 10 else 30
            valid = {}
            for alpha in (0.01, 0.1, 1.0):
                mix = fit_bernoulli_mixture(fit_part, K, iterations, seed=K, alpha=alpha)
                valid[alpha] = float(bernoulli_mixture_log_likelihood(mix, valid_part).mean())
            alpha = max(valid, key=valid.get)
            mix = fit_bernoulli_mixture(train, K, iterations, seed=K, alpha=alpha)
            results["mixture"][str(K)] = {
                "alpha": alpha, "iterations": iterations,
                "validation": {str(a): x for a, x in valid.items()},
                "log_p": bernoulli_mixture_log_likelihood(mix, evaluation).tolist(),
                "train_log_p": float(bernoulli_mixture_log_likelihood(mix, train).mean())}
            print(f"mixture K={K} alpha={alpha}: -ln p = "
                  f"{-np.mean(results['mixture'][str(K)]['log_p']):.2f}", flush=True)
            save()
    if "dynamic" in args.parts:
        results["dynamic"] = {c: [] for c in COVARIANCES}
        validation = train[3500:]                       # binarised once, like the test set
        for seed in range(args.dynamic_seeds):
            for cov in COVARIANCES:
                start = time.perf_counter()
                model = DLGM(covariance=cov, visible_mean=grey[:3500].mean(axis=0), seed=seed,
                             **CONFIG)
                history = model.fit(grey[:3500], args.dynamic_epochs, seed=seed + 1,
                                    learning_rate=args.dynamic_learning_rate, test=test,
                                    binarization="dynamic",
                                    validation=validation, patience=args.patience,
                                    progress=False)
                run = {"seed": seed, "history": history,
                       **evaluate(model, evaluation, args.samples, seed=10),
                       "seconds": time.perf_counter() - start}
                results["dynamic"][cov].append(run)
                print(f"dynamic {cov} seed {seed}: best epoch {history['best_epoch']}, "
                      f"-ln p = {-np.mean(run['log_p']):.2f} ({run['seconds']:.0f} s)", flush=True)
                save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
