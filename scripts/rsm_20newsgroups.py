"""The paper's 20 Newsgroups experiment (Salakhutdinov & Hinton 2009), for readers who are online.

Not run by the tests: it downloads the corpus (about 14 MB) through scikit-learn and trains for a
long time (hours on 2 CPU cores; minutes on a GPU).

    .venv/bin/python scripts/rsm_20newsgroups.py --epochs 200 --out results_20ng.json
    .venv/bin/python scripts/rsm_20newsgroups.py --data-dir /path/to/20news-bydate  # local copy

It builds the 2,000-word vocabulary, trains RSM-50 with `fit_rsm` (CD-1 rising to CD-5, Adam),
fits LDA-50 with scikit-learn, and reports:
  * held-out perplexity per word on --eval-docs test documents: RSM-50 with AIS (the paper's
    temperature schedule: 1,000 in [0, 0.5], 4,000 in [0.5, 0.9], 10,000 in [0.9, 1]; here a
    linear grid of --num-betas) and with AIS over the document length (chapter 3: the
    temperature schedule fails for long documents), the unigram model, and LDA-50's variational
    bound;
  * the precision-recall curve of document retrieval: each test document queries the training
    set by cosine similarity of the hidden-unit probabilities; a retrieved document is relevant
    when it comes from the same newsgroup.
The paper's own numbers (LDA-50 about 1091, RSM-50 about 953) are on its own preprocessing.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import RSM  # noqa: E402
from rsmlib.datasets import load_20newsgroups  # noqa: E402
from rsmlib.evaluation import perplexity, rsm_log_probs, unigram_base_rates, unigram_log_probs  # noqa: E402
from rsmlib.ais import ais_log_partition, ais_log_partition_by_length  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402


def precision_recall(train_codes, train_groups, test_codes, test_groups, fractions):
    """Mean precision and recall over test queries when retrieving each fraction of the training set."""
    a = train_codes / np.linalg.norm(train_codes, axis=1, keepdims=True)
    b = test_codes / np.linalg.norm(test_codes, axis=1, keepdims=True)
    order = np.argsort(-(b @ a.T), axis=1)
    relevant = train_groups[order] == test_groups[:, None]
    total_relevant = relevant.sum(axis=1)
    curve = []
    for f in fractions:
        k = max(1, int(round(f * len(train_codes))))
        hits = relevant[:, :k].sum(axis=1)
        curve.append((float(np.mean(hits / k)), float(np.mean(hits / np.maximum(total_relevant, 1)))))
    return curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="local 20news-bydate folder (default: download)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--eval-docs", type=int, default=50)
    parser.add_argument("--num-runs", type=int, default=100)
    parser.add_argument("--num-betas", type=int, default=15000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results_20ng.json")
    args = parser.parse_args()

    train = load_20newsgroups(args.data_dir, subset="train")
    test = load_20newsgroups(args.data_dir, subset="test")
    print(f"train {train.counts.shape}, test {test.counts.shape}")
    model = RSM(train.counts.shape[1], args.hidden, seed=args.seed)
    base = unigram_base_rates(train.counts)
    model.b_v.assign(tf.constant(base, tf.float32))
    start = time.time()
    fit_rsm(model, train.counts, epochs=args.epochs, cd_steps=(1, 5), learning_rate=1e-3,
            optimizer="adam", seed=args.seed, progress=True)
    print(f"trained in {time.time() - start:.0f} s")

    rng = np.random.default_rng(args.seed)
    subset = test.counts[rng.choice(len(test.counts), size=args.eval_docs, replace=False)]
    lengths = subset.sum(axis=1)
    log_p = rsm_log_probs(model, subset, log_partition=lambda D: ais_log_partition(
        model, D, num_runs=args.num_runs, num_betas=args.num_betas, seed=args.seed,
        base_log_probs=base)[0])
    log_p_by_length = rsm_log_probs(model, subset, log_partition=lambda D: ais_log_partition_by_length(
        model, D, num_runs=args.num_runs, seed=args.seed)[0])
    results = {"rsm_perplexity_ais": perplexity(log_p, lengths),
               "rsm_perplexity_ais_by_length": perplexity(log_p_by_length, lengths),
               "unigram_perplexity": perplexity(unigram_log_probs(train.counts, subset), lengths)}
    from sklearn.decomposition import LatentDirichletAllocation
    lda = LatentDirichletAllocation(n_components=50, random_state=args.seed).fit(train.counts)
    results["lda50_perplexity_variational_bound"] = float(lda.perplexity(subset))

    groups = lambda corpus: np.array([t.split("/")[0] for t in corpus.titles])  # noqa: E731
    fractions = [0.0002, 0.001, 0.004, 0.016, 0.064, 0.256, 1.0]
    codes = lambda c: model.hidden_probs(tf.constant(c, tf.float32)).numpy()  # noqa: E731
    results["precision_recall"] = {"fractions": fractions, "rsm": precision_recall(
        codes(train.counts), groups(train), codes(test.counts), groups(test), fractions)}
    print(json.dumps(results, indent=1))
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
