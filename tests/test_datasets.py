"""Data helpers of Chapter 3: split, damping, and the 20 Newsgroups loader on a local fixture."""
import numpy as np
import pytest

from rsmlib.datasets import load_20newsgroups, log_counts, split_documents


def test_split_is_seeded_and_a_partition():
    counts = np.arange(40).reshape(10, 4)
    train, held = split_documents(counts, 0.3, seed=1)
    again = split_documents(counts, 0.3, seed=1)
    assert len(held) == 3 and len(train) == 7
    np.testing.assert_array_equal(held, again[1])
    rows = {tuple(r) for r in np.concatenate([train, held])}
    assert rows == {tuple(r) for r in counts}
    with pytest.raises(ValueError, match="held_out_fraction must be strictly between 0 and 1"):
        split_documents(counts, 1.0, seed=0)


def test_log_counts():
    np.testing.assert_array_equal(log_counts([[0, 1, 2, 20, 1000]]), [[0, 1, 1, 3, 7]])
    with pytest.raises(ValueError, match="non-negative integer"):
        log_counts([[1.5]])
    with pytest.raises(ValueError, match="non-negative integer"):
        log_counts([[-1]])


def _write_fixture(root):
    texts = {"train": {"sci.space": ["rocket orbit launch orbit", "orbit moon rocket"],
                       "rec.autos": ["engine car wheel", "car engine engine oil"]},
             "test": {"sci.space": ["moon orbit"], "rec.autos": ["car wheel", "the of and"]}}
    for split, groups in texts.items():
        for group, docs in groups.items():
            folder = root / f"20news-bydate-{split}" / group
            folder.mkdir(parents=True)
            for i, doc in enumerate(docs):
                (folder / str(100 + i)).write_text(doc, encoding="latin-1")


def test_20newsgroups_loader_on_a_local_fixture(tmp_path):
    _write_fixture(tmp_path)
    train = load_20newsgroups(tmp_path, vocab_size=5)
    test = load_20newsgroups(tmp_path, vocab_size=5, subset="test")
    assert train.counts.shape == (4, 5) and len(train.vocab) == 5
    assert "orbit" in train.vocab and "engine" in train.vocab
    assert train.titles[0].startswith("rec.autos/")
    assert test.vocab == train.vocab                     # the vocabulary comes from training data
    assert test.counts.shape[0] == 2                     # "the of and" is empty and dropped
    assert np.all(test.counts.sum(axis=1) > 0)
    with pytest.raises(FileNotFoundError, match="20news-bydate-train"):
        load_20newsgroups(tmp_path / "missing")
    with pytest.raises(ValueError, match="subset must be"):
        load_20newsgroups(tmp_path, subset="valid")


@pytest.mark.parametrize("cut", [(slice(1, None), slice(None)), (slice(None), slice(1, None))])
def test_load_reuters_refuses_counts_that_do_not_match_its_titles_and_vocabulary(
        monkeypatch, cut):
    # a broken copy of lda's data, one document or one word short, is refused by name,
    # not returned with rows or columns that no longer match the titles or the vocabulary
    import lda.datasets

    from rsmlib import load_reuters

    full = lda.datasets.load_reuters()
    monkeypatch.setattr(lda.datasets, "load_reuters", lambda: full[cut])
    with pytest.raises(ValueError, match="Reuters counts must have shape"):
        load_reuters()
