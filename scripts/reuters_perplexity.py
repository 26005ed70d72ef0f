"""Held-out perplexity of RSM-16 and RSM-50 on Reuters with AIS (the number Chapter 3 quotes).

    .venv/bin/python scripts/reuters_perplexity.py [--num-runs 16] [--num-betas 2000]

Same split, training code and seeds as chapters/03_training_rsm.ipynb (40 epochs, CD-1 rising to
CD-5, Adam, learning rate 0.01). Prints the unigram perplexity, RSM-16's exact perplexity and its
AIS estimate with the given settings (the AIS bias, measured where the truth is known), and RSM-50's
AIS estimate with the same settings. Takes about half an hour on 2 CPU cores.
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
from rsmlib.partition import ais_log_partition  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-runs", type=int, default=16)
    parser.add_argument("--num-betas", type=int, default=2000)
    args = parser.parse_args()
    train, held_out = split_documents(load_reuters().counts, 0.2, seed=0)
    lengths = held_out.sum(axis=1)
    base = unigram_base_rates(train)
    print(f"unigram perplexity: {perplexity(unigram_log_probs(train, held_out), lengths):.1f}")

    def ais_ppl(model):
        start = time.time()
        log_p = rsm_log_probs(model, held_out, log_partition=lambda D: ais_log_partition(
            model, D, num_runs=args.num_runs, num_betas=args.num_betas, seed=21,
            base_log_probs=base)[0])
        return perplexity(log_p, lengths), time.time() - start

    for F in (16, 50):
        model = RSM(train.shape[1], F, seed=0, init_scale=0.01)
        model.b_v.assign(tf.constant(base, tf.float32))
        fit_rsm(model, train, epochs=40, cd_steps=(1, 5), learning_rate=0.01, seed=0,
                optimizer="adam", progress=False)
        if F <= 20:
            exact = perplexity(rsm_log_probs(model, held_out, log_partition=lambda D: model
                                             .log_partition_exact(D).numpy()), lengths)
            print(f"RSM-{F} exact perplexity: {exact:.1f}", flush=True)
        value, seconds = ais_ppl(model)
        print(f"RSM-{F} AIS perplexity ({args.num_runs} runs x {args.num_betas} temperatures): "
              f"{value:.1f}  [{seconds:.0f} s]", flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
