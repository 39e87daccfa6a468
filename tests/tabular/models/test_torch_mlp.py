"""The PyTorch MLP: learns, is deterministic with a seed, and survives skops."""

from __future__ import annotations

import numpy as np
import skops.io as sio

from trainyard.tabular.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    y = np.sin(X[:, 0]) * 3 + X[:, 1] ** 2 + rng.normal(scale=0.1, size=600)
    return X, y


def test_regressor_learns_and_is_deterministic(tmp_path) -> None:
    X, y = _data()
    a = TorchMLPRegressor(random_state=3, max_epochs=150, patience=20).fit(X[:500], y[:500])
    b = TorchMLPRegressor(random_state=3, max_epochs=150, patience=20).fit(X[:500], y[:500])
    assert a.score(X[500:], y[500:]) > 0.7
    np.testing.assert_array_equal(a.predict(X[500:]), b.predict(X[500:]))
    sio.dump(a, tmp_path / "m.skops")
    loaded = sio.load(tmp_path / "m.skops", trusted=sio.get_untrusted_types(file=tmp_path / "m.skops"))
    np.testing.assert_allclose(loaded.predict(X[500:]), a.predict(X[500:]))


def test_classifier_probabilities() -> None:
    X, y = _data()
    labels = np.where(y > np.median(y), "high", "low")
    model = TorchMLPClassifier(max_epochs=30).fit(X, labels)
    proba = model.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1)
    assert (model.predict(X) == labels).mean() > 0.85


def test_fit_leaves_the_process_thread_count_alone() -> None:
    import torch

    before = torch.get_num_threads()
    X, y = _data()
    TorchMLPRegressor(threads=1, max_epochs=2).fit(X, y)
    assert torch.get_num_threads() == before
