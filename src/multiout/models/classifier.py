"""The LightningModule: a trunk, one linear head for all channels, K-dimensional cross entropy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from multiout.errors import InputError
from multiout.metrics.per_channel import default_channel_names
from multiout.metrics.results import EvalMetrics, StageResult
from multiout.metrics.training import TrainingMetrics
from multiout.models.ensemble import ensemble_logits, member_logits, member_targets
from multiout.models.features import FeatureEncoder, check_feature_statistics
from multiout.models.loss import balanced_class_weights, cross_entropy_terms, mean_loss
from multiout.models.ordinal import check_loss, corn_log_probs, outputs_per_channel
from multiout.models.schedules import build_optimizer, build_scheduler, scheduler_class
from multiout.models.targets import build, target_class
from multiout.runtime.speed import LeanHooks


class MultiOutputClassifier(LeanHooks, L.LightningModule):  # without LeanHooks: plain Lightning
    """Predicts `num_classes` classes for each of `num_channels` outputs at once.

    `forward` returns logits `[B, K, C]`: one `Linear(hidden, K * C)` head reshaped so that the
    class dimension comes second, as `cross_entropy` wants it (`loss="ordinal"`: K-1 threshold
    logits per channel, turned into class log-probabilities). `net`, `optimizer` and
    `scheduler` are `{"_target_": ..., **arguments}` dicts: every argument is a plain value, so
    a checkpoint alone rebuilds the model, under `weights_only=True` too.
    """

    feature_mean: Tensor
    feature_std: Tensor
    class_weight: Tensor | None

    # `save_hyperparameters` finds the arguments in the caller's frame by its name, `__init__`:
    # mutation testing (mutmut) must leave this function unwrapped.
    def __init__(
        self,
        num_features: int,
        num_channels: int,
        num_classes: int,
        net: dict[str, Any],
        optimizer: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        class_weights: str | None = None,
        loss: str = "cross_entropy",
        channel_names: list[str] | None = None,
        feature_names: list[str] | None = None,
        label_values: list | None = None,
        compile: bool = False,
        categorical_features: dict[str, list] | None = None,
        imputed_features: list[str] | None = None,
        embedding_dim: int | None = None,
    ) -> None:  # pragma: no mutate block
        super().__init__()
        self.save_hyperparameters()
        check_options(optimizer, scheduler, class_weights, ignore_index, num_classes)
        check_loss(loss, num_classes)
        self.ordinal = loss == "ordinal"  # class logits from K-1 thresholds: models/ordinal.py
        self.num_channels, self.num_classes = num_channels, num_classes
        self.ignore_index, self.label_smoothing, self.compile_logits = ignore_index, label_smoothing, compile
        self.channel_names = channel_names or default_channel_names(num_channels)
        # Your labels in class-id order (e.g. -1, 0, 1): what predictions are mapped back to.
        self.label_values = label_values or list(range(num_classes))
        # Missing numbers imputed and flagged, categories embedded: what the trunk reads.
        names = feature_names or [f"x{j}" for j in range(num_features)]
        self.encoder = FeatureEncoder(names, categorical_features, imputed_features, embedding_dim)
        self.trunk = build(net, "model.net", in_features=self.encoder.out_features)
        if not isinstance(getattr(self.trunk, "out_features", None), int):
            raise InputError(f"model.net: {net['_target_']} must set an integer attribute `out_features`")
        self.head = nn.Linear(self.trunk.out_features, outputs_per_channel(loss, num_classes) * num_channels)
        # Set from the training split in `setup` and saved in checkpoints, so that evaluation,
        # prediction and export transform inputs and weigh classes exactly as training did.
        self.register_buffer("feature_mean", torch.zeros(num_features))
        self.register_buffer("feature_std", torch.ones(num_features))
        self.register_buffer("class_weight", torch.ones(num_channels, num_classes) if class_weights else None)
        self.train_metrics = TrainingMetrics(ignore_index)
        self.val_metrics = EvalMetrics(num_channels, num_classes, ignore_index)
        self.test_metrics = EvalMetrics(num_channels, num_classes, ignore_index)
        self.results: dict[str, StageResult] = {}  # of each stage's last finished epoch

    def forward(self, x: Tensor) -> Tensor:
        # `model.compile=true` compiles this computation only, not the module's `__call__`, through
        # which Lightning runs whole steps under DDP (tracing those would recompile every step).
        return compiled_logits(self, x) if self.compile_logits else self.logits(x)

    def logits(self, x: Tensor) -> Tensor:
        """Logits `[B, K, C]` of features `[B, F]` (an ensemble trunk's in training: `[B, K, C, k]`,
        one per member; see models/ensemble.py)."""
        x = (x - self.feature_mean) / self.feature_std  # category indices: mean 0, std 1
        hidden = self.trunk(self.encoder(x))  # [B, hidden], or [B, k, hidden] from an ensemble trunk
        logits = self.head(hidden).unflatten(-1, (-1, self.num_channels))
        if self.ordinal:
            logits = corn_log_probs(logits, dim=-2)  # K-1 thresholds -> K class log-probabilities
        return logits if hidden.dim() == 2 else member_logits(logits, self.training)

    def loss(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Mean cross entropy over the labelled cells (and ensemble members), and their
        (class-weighted) count."""
        total, weight = cross_entropy_terms(
            logits, member_targets(target, logits), self.ignore_index, self.label_smoothing, self.class_weight
        )
        return mean_loss(total, weight), weight

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.fit_to_training_data(self.trainer.datamodule)  # type: ignore[attr-defined]

    def fit_to_training_data(self, datamodule: Any) -> None:
        """Standardization, imputation and class weights from the training split, where the data
        module offers them (`feature_statistics()`, `train_label_counts()`; see docs/adapt.md)."""
        if hasattr(datamodule, "feature_statistics"):
            mean, std, median = check_feature_statistics(
                datamodule.feature_statistics(), len(self.feature_mean), type(datamodule).__name__
            )
            self.feature_mean.copy_(mean)
            self.feature_std.copy_(std)
            if self.encoder.active:
                self.encoder.fill.copy_((median - mean) / std)
        if self.class_weight is not None:
            if not hasattr(datamodule, "train_label_counts"):
                raise InputError(
                    "model.class_weights=balanced counts the training labels, which needs a data module "
                    "with train_label_counts() (as TensorDataModule has); set model.class_weights=null"
                )
            self.class_weight.copy_(balanced_class_weights(datamodule.train_label_counts()))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits = self(x)
        loss, weight = self.loss(logits, y)
        self.train_metrics.update(ensemble_logits(logits.detach()), y, loss.detach(), weight)
        self.log("train/loss_step", loss.detach(), prog_bar=True)
        return loss

    def on_train_epoch_end(self) -> None:
        values = self.train_metrics.compute()  # summed over processes
        self.log_global({f"train/{name}_epoch": value for name, value in values.items()})
        self.train_metrics.reset()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.eval_step(batch, self.val_metrics)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.eval_step(batch, self.test_metrics)

    def eval_step(self, batch: tuple[Tensor, Tensor], metrics: EvalMetrics) -> None:
        x, y = batch
        logits = self(x)
        loss, weight = self.loss(logits, y)
        metrics.update(logits, y, loss, weight)

    def predict_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """Class probabilities `[B, K, C]`."""
        return self(batch[0]).softmax(dim=1)

    def on_validation_epoch_end(self) -> None:
        self.finish_eval_epoch("val", self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self.finish_eval_epoch("test", self.test_metrics)

    def finish_eval_epoch(self, stage: str, metrics: EvalMetrics) -> None:
        result = metrics.compute()  # counts summed over processes: exact under DDP
        values = result.logged(stage, self.channel_names)
        self.log_global({f"{stage}/acc": values.pop(f"{stage}/acc")}, prog_bar=True)
        self.log_global(values)
        if not self.trainer.sanity_checking:
            self.results[stage] = result
        metrics.reset()

    def log_global(self, values: dict[str, Any], prog_bar: bool = False) -> None:
        """Log epoch values that are already the same on every process. Lightning wants them
        synced under DDP (it warns otherwise): `max` over equal values keeps them bit for bit."""
        self.log_dict(values, prog_bar=prog_bar, sync_dist=True, reduce_fx="max")

    def configure_optimizers(self) -> Any:
        clipping = bool(self.trainer.gradient_clip_val)
        optimizer = build_optimizer(
            self.hparams["optimizer"], self.parameters(), self.trainer.precision, clipping
        )
        total_steps = int(self.trainer.estimated_stepping_batches)
        scheduler = build_scheduler(self.hparams["scheduler"], optimizer, total_steps)
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}


def check_options(
    optimizer: dict, scheduler: dict | None, class_weights: str | None, ignore_index: int, num_classes: int
) -> None:
    """Config mistakes that would otherwise surface only once training is set up."""
    target_class(optimizer, "model.optimizer")
    if scheduler:
        scheduler_class(scheduler)
    if class_weights not in (None, "balanced"):
        raise InputError(f"model.class_weights must be one of [None, 'balanced'], got {class_weights!r}")
    if 0 <= ignore_index < num_classes:
        raise InputError(f"model.ignore_index={ignore_index} collides with class id {ignore_index}; use -100")


@functools.cache
def _compiled(logits: Callable[..., Tensor]) -> Callable[..., Tensor]:
    return torch.compile(logits)


def compiled_logits(model: MultiOutputClassifier, x: Tensor) -> Tensor:
    """`model.logits(x)` through one `torch.compile`d function per class, shared by its models."""
    return _compiled(type(model).logits)(model, x)
