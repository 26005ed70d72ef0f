"""Held-out perplexity of RSM-16 and RSM-50 on Reuters, by the two AIS estimators of Chapter 3.

    .venv/bin/python scripts/reuters_perplexity.py [--runs 1000] [--num-betas 2000]

Same split, training code and seeds as chapters/03_training_rsm.ipynb (40 epochs, CD-1 rising to
CD-5, Adam, learning rate 0.01). For each model, log Z_D for every held-out length is estimated
(a) by AIS over the length (``ais_log_partition_by_length``, --runs runs) and (b) by AIS over the
temperature from the base-rate model (``ais_log_partition``, 16 runs x --num-betas temperatures);
for RSM-16 the exact value (enumeration) is printed too, which measures both estimators' error.
A larger budget than the chapter's; about 20 minutes on 2 busy CPU cores.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import RSM, load_reuters  # noqa: E402
from rsmlib.datasets import split_documents  # noqa: E402
from rsmlib.evaluation import perplexity, rsm_log_probs, unigram_base_rates, unigram_log_probs  # noqa: E402
from rsmlib.ais import ais_log_partition, ais_log_partition_by_length  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--num-betas", type=int, default=2000)
    args = parser.parse_args()
    train, held_out = split_documents(load_reuters().counts, 0.2, seed=0)
    lengths = held_out.sum(axis=1)
    base = unigram_base_rates(train)
    print(f"unigram perplexity: {perplexity(unigram_log_probs(train, held_out), lengths):.1f}")
    estimators = {
        f"AIS over the length, {args.runs} runs": lambda model: lambda D: ais_log_partition_by_length(
            model, D, num_runs=args.runs, seed=21)[0],
        f"AIS over the temperature, 16 runs x {args.num_betas}": lambda model: lambda D: ais_log_partition(
            model, D, num_runs=16, num_betas=args.num_betas, seed=21, base_log_probs=base)[0]}
    for F in (16, 50):
        model = RSM(train.shape[1], F, seed=0, init_scale=0.01)
        model.b_v.assign(tf.constant(base, tf.float32))
        fit_rsm(model, train, epochs=40, cd_steps=(1, 5), learning_rate=0.01, seed=0,
                optimizer="adam", progress=False)
        if F <= 20:
            exact = perplexity(rsm_log_probs(model, held_out, log_partition=lambda D: model
                                             .log_partition_exact(D).numpy()), lengths)
            print(f"RSM-{F} exact perplexity: {exact:.1f}", flush=True)
        for name, estimator in estimators.items():
            start = time.time()
            value = perplexity(rsm_log_probs(model, held_out, log_partition=estimator(model)), lengths)
            print(f"RSM-{F} perplexity, {name}: {value:.1f}  [{time.time() - start:.0f} s]", flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
