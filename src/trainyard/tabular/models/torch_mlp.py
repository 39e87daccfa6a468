"""A PyTorch MLP as a scikit-learn estimator (regression and classification).

It takes the preprocessed features (one-hot categoricals, scaled numbers), normalises
them again from the training rows, trains with AdamW and a one-cycle learning rate,
stops early on an internal validation split and keeps the best epoch's weights.
One seed makes it deterministic on the CPU, also when folds are fitted in parallel
threads: weights come from a local generator, batches from a local NumPy RNG, and
dropout (which would draw from torch's global RNG) is off unless asked for. The fitted network is kept as plain
NumPy arrays in the pickled state, so skops can store it without a torch pickle.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted
from torch import nn

from trainyard.tabular.saved import saved


def _network(
    n_in: int, n_out: int, hidden: tuple[int, ...], dropout: float, generator: torch.Generator | None = None
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for size in hidden:
        layers += [nn.Linear(width, size), nn.SiLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = size
    layers.append(nn.Linear(width, n_out))
    net = nn.Sequential(*layers)
    if generator is not None:  # a local generator: folds fitted in parallel threads must not share torch's global RNG
        for layer in net:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / np.sqrt(layer.in_features)
                with torch.no_grad():
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return net


class _TorchMLP(BaseEstimator):
    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (256, 128),
        dropout: float = 0.0,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 512,
        max_epochs: int = 60,
        patience: int = 8,
        validation_share: float = 0.1,
        random_state: int = 0,
        threads: int | None = None,
        log_positive: bool = True,
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_share = validation_share
        self.random_state = random_state
        self.threads = threads
        self.log_positive = log_positive  # regression only: learn a positive target on a log scale

    # --- subclasses say how targets are encoded and scored ------------------------------
    def _encode_target(self, y) -> tuple[torch.Tensor, int]:
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def fit(self, X, y):
        before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)  # for this fit only: restored below
        try:
            return self._fit(X, y)
        finally:
            torch.set_num_threads(before)

    def _fit(self, X, y):
        generator = torch.Generator().manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        features = np.asarray(X, dtype=np.float32)
        self.n_features_in_ = features.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.mean_ = np.nan_to_num(features.mean(axis=0))
        self.scale_ = features.std(axis=0)
        self.scale_[~np.isfinite(self.scale_) | (self.scale_ < 1e-8)] = 1.0
        inputs = torch.from_numpy(np.nan_to_num((features - self.mean_) / self.scale_))
        target, n_out = self._encode_target(y)
        order = rng.permutation(len(inputs))
        n_valid = max(1, int(len(order) * self.validation_share)) if len(order) > 20 else 0
        valid, train = order[:n_valid], order[n_valid:]
        net = _network(inputs.shape[1], n_out, tuple(self.hidden), self.dropout, generator)
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps_per_epoch = max(1, int(np.ceil(len(train) / self.batch_size)))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=self.lr, epochs=self.max_epochs, steps_per_epoch=steps_per_epoch
        )
        loss_fn = self._loss()
        best, best_state, stale = float("inf"), None, 0
        self.history_ = []
        for _epoch in range(self.max_epochs):
            net.train()
            for batch in np.array_split(rng.permutation(train), steps_per_epoch):
                index = torch.from_numpy(batch)
                optimiser.zero_grad()
                loss = loss_fn(net(inputs[index]), target[index])
                loss.backward()
                optimiser.step()
                schedule.step()
            if n_valid == 0:
                continue
            net.eval()
            with torch.inference_mode():
                valid_loss = float(loss_fn(net(inputs[valid]), target[valid]))
            self.history_.append(valid_loss)
            if valid_loss < best - 1e-6:
                best, stale = valid_loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_) or self.max_epochs
        self.n_out_ = n_out
        self._net = net.eval()
        return self

    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self, "mean_")
        features = np.asarray(X, dtype=np.float32)
        inputs = torch.from_numpy(np.nan_to_num((features - self.mean_) / self.scale_))
        with torch.inference_mode():
            return self._net(inputs).numpy()

    # --- pickling and skops: weights as NumPy arrays, the network rebuilt on load --------
    def __getstate__(self):
        state = dict(self.__dict__)
        net = state.pop("_net", None)
        if net is not None:
            state["weights_"] = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        return state

    def __setstate__(self, state):
        weights = state.pop("weights_", None)
        self.__dict__.update(state)
        if weights is not None:
            net = _network(len(self.mean_), self.n_out_, tuple(self.hidden), self.dropout)
            net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
            self._net = net.eval()


@saved
class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """Regression; a positive target is learned on a log scale (``log_positive=True``).

    Prices and other positive amounts have multiplicative errors, which the log scale fits better
    (docs/benchmarks.md, "Measurements behind the code"); predictions stay positive.
    """

    def _encode_target(self, y):
        values = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        self.log_ = bool(self.log_positive and (values > 0).all())
        if self.log_:
            values = np.log(values)
        self.y_mean_, self.y_scale_ = float(values.mean()), float(values.std() or 1.0)
        return torch.from_numpy(((values - self.y_mean_) / self.y_scale_).astype(np.float32)), 1

    def _loss(self):
        return nn.HuberLoss(delta=1.0)

    def predict(self, X):
        values = self._forward(X)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_
        return np.exp(values) if self.log_ else values


@saved
class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """A PyTorch MLP classifier with scikit-learn's interface (probabilities by softmax)."""

    def _encode_target(self, y):
        self._labels = LabelEncoder().fit(np.asarray(y))
        self.classes_ = self._labels.classes_
        codes = self._labels.transform(np.asarray(y))
        return torch.from_numpy(codes.astype(np.int64)), len(self.classes_)

    def _loss(self):
        return nn.CrossEntropyLoss()

    def predict_proba(self, X):
        return torch.softmax(torch.from_numpy(self._forward(X)), dim=1).numpy()

    def predict(self, X):
        return self.classes_[np.argmax(self._forward(X), axis=1)]
