"""Built-in synthetic data: correlated, learnable channels with a known Bayes-optimal accuracy.

Labels are sampled from a fixed random "teacher": a shared hidden layer (tanh) feeds the
logits of every channel, so channels are correlated and a per-channel linear model cannot
match the teacher. Because the true class probabilities are known, so is the best accuracy
any model can reach on each split.
"""

from __future__ import annotations

import torch
from torch import Tensor

from multiout.data.splits import split_indices
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.errors import InputError
from multiout.metrics.per_channel import default_channel_names


def sample_teacher(
    num_samples: int,
    num_features: int,
    num_channels: int,
    num_classes: int,
    hidden: int,
    scale: float,
    seed: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Features `[N, F]`, labels `[N, C]` and true class probabilities `[N, K, C]`."""
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(num_features, hidden, generator=g) / num_features**0.5
    b1 = torch.randn(hidden, generator=g) * 0.5
    w2 = torch.randn(hidden, num_classes * num_channels, generator=g) / hidden**0.5
    b2 = torch.randn(num_classes * num_channels, generator=g) * 0.3
    x = torch.randn(num_samples, num_features, generator=g)
    h = torch.tanh(2.0 * (x @ w1) + b1)
    probs = (scale * (h @ w2) + b2).view(num_samples, num_classes, num_channels).softmax(dim=1)
    # Inverse-CDF sampling: one uniform draw per (sample, channel).
    u = torch.rand(num_samples, 1, num_channels, generator=g)
    y = (probs.cumsum(dim=1) < u).sum(dim=1).clamp_(max=num_classes - 1)
    return x, y, probs


def bayes_accuracy(probs: Tensor, y: Tensor) -> float:
    """Accuracy of always predicting the truly most likely class, on these labels."""
    return (probs.max(dim=1).indices == y).double().mean().item()


class SyntheticDataModule(TensorDataModule):
    """Deterministic synthetic data: the same tensors in every process and every run."""

    def __init__(
        self,
        num_samples: int = 40_000,
        num_features: int = 32,
        num_channels: int = 47,
        num_classes: int = 3,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        num_folds: int | None = None,
        fold: int = 0,
        batch_size: int = 256,
        num_workers: int = 0,
        seed: int = 0,
        shuffle_seed: int = 0,
        teacher_hidden: int = 32,
        teacher_scale: float = 3.0,
        device_resident_max_gb: float = 4.0,
        device_resident_on_cpu: bool = False,
    ) -> None:
        super().__init__(
            batch_size, num_workers, shuffle_seed, device_resident_max_gb, device_resident_on_cpu
        )
        for key, value, least in (
            ("num_samples", num_samples, 3),
            ("num_features", num_features, 1),
            ("num_channels", num_channels, 1),
            ("num_classes", num_classes, 2),
            ("teacher_hidden", teacher_hidden, 1),
        ):
            if value < least:
                raise InputError(f"data.{key} must be at least {least}, got {value}")
        self.num_features = num_features
        self.num_channels = num_channels
        self.num_classes = num_classes
        self.channel_names = default_channel_names(num_channels)
        self._sample_args = (num_samples, num_features, num_channels, num_classes)
        self._teacher = (teacher_hidden, teacher_scale, seed)
        # Checked now, so a bad fraction stops the run before the trainer is even built.
        self._indices = split_indices(num_samples, val_fraction, test_fraction, seed, num_folds, fold)
        self.bayes_acc: dict[str, float] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        x, y, probs = sample_teacher(*self._sample_args, *self._teacher)
        for split, idx in self._indices.items():
            self.splits[split] = (x[idx], y[idx])
            self.bayes_acc[split] = bayes_accuracy(probs[idx], y[idx])

    def reference_metrics(self) -> dict[str, float]:
        """The Bayes-optimal accuracy of each split: what `metrics.json` compares a model with."""
        self.setup()
        return {f"{split}/bayes_acc": acc for split, acc in self.bayes_acc.items() if split != "train"}
