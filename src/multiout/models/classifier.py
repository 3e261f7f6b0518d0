"""The LightningModule: a trunk, one linear head for all channels, K-dimensional cross entropy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric

from multiout.class_path import import_class
from multiout.errors import InputError
from multiout.metrics.per_channel import (
    PerChannelConfusionMatrix,
    default_channel_names,
    per_channel_accuracy,
)
from multiout.metrics.running_mean import RunningMean
from multiout.models.loss import balanced_class_weights, cell_weights, multi_output_cross_entropy
from multiout.models.optim import (
    adapted_to_trainer,
    build_optimizer,
    build_scheduler,
    check_scheduler,
    optimizer_class,
)

EVAL_STAGES = ("val", "test")
CLASS_WEIGHTS = (None, "balanced")


@functools.cache
def compiled(function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """`torch.compile(function)`, made once per function: every model shares its compiled code."""
    return torch.compile(function)


def build_trunk(config: dict[str, Any], in_features: int) -> nn.Module:
    """`{"class_path": "pkg.mod.Class", **kwargs}` -> `Class(in_features=..., **kwargs)`.

    The class must map `[B, in_features]` to `[B, out_features]` and expose `out_features`.
    """
    options = dict(config)
    path = str(options.pop("class_path", ""))
    trunk = import_class(path, "model.net.class_path")(in_features=in_features, **options)
    if not isinstance(getattr(trunk, "out_features", None), int):
        raise InputError(f"model.net.class_path: {path} must set an integer attribute `out_features`")
    return trunk


class MultiOutputClassifier(L.LightningModule):
    """Predicts `num_classes` classes for each of `num_channels` outputs at once.

    `forward` returns logits `[B, K, C]`: one `Linear(hidden, K * C)` head reshaped so that
    the class dimension comes second, as `cross_entropy` wants it. Every constructor argument
    is a plain value, so a checkpoint alone rebuilds the model, under `weights_only=True` too.
    """

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
        channel_names: list[str] | None = None,
        class_weights: str | None = None,
        feature_names: list[str] | None = None,
        feature_mean: list[float] | None = None,
        feature_std: list[float] | None = None,
        label_values: list | None = None,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        optimizer_class(optimizer)  # a misspelt name fails now, not once training has started
        check_scheduler(scheduler)
        if class_weights not in CLASS_WEIGHTS:
            raise InputError(
                f"model.class_weights must be one of {list(CLASS_WEIGHTS)}, got {class_weights!r}"
            )
        if class_weights is not None:
            # Filled from the training labels in `setup`; saved, so evaluation weighs alike.
            self.register_buffer("class_weight", torch.ones(num_channels, num_classes))
        # Standardization from the training split, kept as plain hyperparameters so that the
        # checkpoint alone transforms new files the way training did.
        self.standardize = feature_mean is not None and feature_std is not None
        if self.standardize:
            self.register_buffer("feature_mean", torch.tensor(feature_mean), persistent=False)
            self.register_buffer("feature_std", torch.tensor(feature_std), persistent=False)
        self.num_channels = num_channels
        self.num_classes = num_classes
        self.channel_names = channel_names or default_channel_names(num_channels)
        self.trunk = build_trunk(net, num_features)
        self.head = nn.Linear(self.trunk.out_features, num_classes * num_channels)
        self.confusion = nn.ModuleDict(
            {s: PerChannelConfusionMatrix(num_channels, num_classes, ignore_index) for s in EVAL_STAGES}
        )
        self.eval_loss = nn.ModuleDict({s: MeanMetric() for s in EVAL_STAGES})
        self.train_loss = RunningMean()
        self.train_acc = RunningMean()
        # Set in `setup` when no training label equals `ignore_index`: training steps then
        # skip every mask (see `training_step`).
        self.train_fully_labelled = False
        # Final per-stage results of the last finished epoch, for metrics.json and reports.
        self.epoch_results: dict[str, dict[str, Any]] = {}
        # `forward` runs `logits` through `torch.compile` (at the first batch). The module
        # itself is neither wrapped nor changed, so parameter names stay as they are and
        # checkpoints move freely between compiled and uncompiled models.
        self.compile_logits = compile

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning stores the running hook's name here around every hook call, about 40
        # times a training step, and `nn.Module.__setattr__` first checks each value against
        # the parameter, buffer and module types: ~3% of a default CPU step. A name is none
        # of those, so it is stored directly.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x: Tensor) -> Tensor:
        # Only this computation is compiled, not the module's `__call__` (`nn.Module.compile`):
        # under DDP Lightning runs the training and evaluation steps through `__call__`, and
        # tracing them would take in their logging and recompile at every global step.
        if self.compile_logits:
            return compiled(type(self).logits)(self, x)
        return self.logits(x)

    def logits(self, x: Tensor) -> Tensor:
        """Logits `[B, K, C]` of features `[B, F]`: what `forward` runs, compiled or not."""
        if self.standardize:
            x = (x - self.feature_mean) / self.feature_std
        return self.head(self.trunk(x)).view(-1, self.num_classes, self.num_channels)

    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        splits = getattr(self.trainer.datamodule, "splits", None)
        targets = splits["train"][1] if splits and "train" in splits else None
        # Known only for in-memory training labels; any other data takes the masked path.
        self.train_fully_labelled = targets is not None and not bool(
            (targets == self.hparams.ignore_index).any()
        )
        if self.hparams.class_weights == "balanced":
            if targets is None:
                raise InputError(
                    "model.class_weights=balanced counts the training labels, which needs a data "
                    "module with in-memory splits (data.splits['train'] = (x, y)); set it to null"
                )
            weights = balanced_class_weights(targets, self.num_classes, self.hparams.ignore_index)
            self.class_weight.copy_(weights)

    def loss(self, logits: Tensor, target: Tensor, num_labelled: int | Tensor | None = None) -> Tensor:
        return multi_output_cross_entropy(
            logits,
            target,
            self.hparams.ignore_index,
            self.hparams.label_smoothing,
            getattr(self, "class_weight", None),
            num_labelled,
        )

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits = self(x)
        # Each small tensor op costs ~10-20 us between a CPU step's large kernels, so the
        # common case (no missing labels) takes the shortest path: no masks, counts known.
        if self.train_fully_labelled:
            labelled, num_labelled, target = None, y.numel(), y
        else:
            labelled = y != self.hparams.ignore_index
            num_labelled = labelled.sum()
            # Ignored targets are clamped into the class range for the gather, masked out below.
            target = y.clamp(0, self.num_classes - 1)
        loss = self.loss(logits, y, num_labelled=num_labelled)
        with torch.no_grad():
            # Right when the target's logit is the largest: the argmax compared with the
            # target but for exact ties, at a fraction of `max(dim=1).indices` on CPU. A
            # boolean sum counts exactly in int64, whatever the logits' (autocast) dtype.
            correct = logits.gather(1, target.unsqueeze(1)) >= logits.amax(dim=1, keepdim=True)
            if labelled is not None:
                correct.logical_and_(labelled.unsqueeze(1))
            num_correct = correct.sum()
            # Epoch values: exact over all batches and processes, weighted by labelled cells.
            # A non-finite loss (skipped by `non_finite_loss.action=skip`) stays out of the mean.
            finite = torch.isfinite(loss)
            self.train_loss.update(
                total=torch.where(finite, loss, 0.0) * num_labelled, weight=finite * num_labelled
            )
            self.train_acc.update(total=num_correct, weight=num_labelled)
        # Step values only on the steps whose values reach the loggers: each `self.log` call
        # costs Lightning ~0.5 ms on CPU (it moves its result record to the device), a tenth
        # of a default step. The Metric objects themselves are logged once per epoch.
        if self._logs_this_step():
            denominator = num_labelled.clamp(min=1) if isinstance(num_labelled, Tensor) else num_labelled
            acc = num_correct / denominator
            self.log_dict({"train/loss_step": loss.detach(), "train/acc_step": acc}, prog_bar=True)
        return loss

    def _logs_this_step(self) -> bool:
        """Whether Lightning hands this step's logged values to the loggers."""
        if self._trainer is None:  # a step called by hand, outside a Trainer: no loggers
            return False
        every = self.trainer.log_every_n_steps
        return bool(self.trainer.fast_dev_run) or (every > 0 and (self.global_step + 1) % every == 0)

    def on_train_epoch_end(self) -> None:
        self.log_dict({"train/loss_epoch": self.train_loss, "train/acc_epoch": self.train_acc})

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def predict_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """Class probabilities `[B, K, C]`."""
        return self(batch[0]).softmax(dim=1)

    def _eval_step(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x, y = batch
        logits = self(x)
        if hasattr(self, "class_weight"):
            labelled = float(cell_weights(y, self.class_weight, self.hparams.ignore_index).sum())
        else:
            labelled = int((y != self.hparams.ignore_index).sum())
        if labelled:
            # Weighted by labelled cells (or their class weights), so the epoch loss is exact
            # however batches are cut.
            self.eval_loss[stage].update(self.loss(logits, y), weight=labelled)
        self.confusion[stage].update(logits, y)

    def on_validation_epoch_end(self) -> None:
        self._finish_eval_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._finish_eval_epoch("test")

    def _finish_eval_epoch(self, stage: str) -> None:
        confmat = self.confusion[stage].compute()  # summed over processes: exact under DDP
        loss = self.eval_loss[stage].compute()
        acc = per_channel_accuracy(confmat)
        mean_acc = acc.nanmean()  # channels without labels are NaN and left out
        # The values are already global, but Lightning wants epoch-level logs synced under DDP
        # (it warns otherwise). `max` over equal values returns them bit for bit; a mean need not.
        synced = {"sync_dist": True, "reduce_fx": "max"}
        self.log(f"{stage}/loss", loss.float(), **synced)
        self.log(f"{stage}/acc", mean_acc.float(), prog_bar=True, **synced)
        per_channel = {f"{stage}/acc/{name}": acc[c].float() for c, name in enumerate(self.channel_names)}
        self.log_dict(per_channel, **synced)
        if not self.trainer.sanity_checking:
            self.epoch_results[stage] = {
                "loss": loss.item(),
                "acc": mean_acc.item(),  # float64: exact mean of the per-channel values
                "acc_per_channel": acc.tolist(),
                "confmat": confmat.cpu(),
            }
        self.confusion[stage].reset()
        self.eval_loss[stage].reset()

    def configure_gradient_clipping(
        self,
        optimizer: Any,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        # Lightning asks on every step; with clipping off (the default) there is nothing to do.
        if gradient_clip_val:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Accept weights saved from a `torch.compile(module)` wrapper (keys with `_orig_mod.`)."""
        state = checkpoint.get("state_dict")
        if state is not None:
            checkpoint["state_dict"] = {key.replace("_orig_mod.", ""): value for key, value in state.items()}

    def configure_optimizers(self) -> Any:
        config = adapted_to_trainer(
            self.hparams.optimizer, self.trainer.precision, self.trainer.gradient_clip_val
        )
        optimizer = build_optimizer(self.parameters(), config)
        total_steps = int(self.trainer.estimated_stepping_batches)
        scheduler = build_scheduler(optimizer, self.hparams.scheduler, total_steps)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
