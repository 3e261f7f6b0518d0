"""The LightningModule: encoder -> trunk -> one linear head for all channels, K-dimensional
cross entropy."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch import Tensor, nn

from multiout.data.spec import DataSpec
from multiout.metrics.results import EvalMetrics, StageResult
from multiout.metrics.training import TrainingMetrics
from multiout.models.compiled import compiled_logits
from multiout.models.encoders import build_encoder
from multiout.models.ensemble import ensemble_logits, member_logits, member_targets
from multiout.models.loss import cross_entropy_terms, mean_loss
from multiout.models.options import MASKED_LOGIT, check_options, class_weight, label_mask
from multiout.models.ordinal import corn_log_probs, outputs_per_channel  # part: ordinal
from multiout.models.schedules import build_optimizer, build_scheduler
from multiout.models.trunks import build_trunk, is_ensemble, trunk_width
from multiout.runtime.speed import LeanHooks  # part: speed


class MultiOutputClassifier(
    LeanHooks,  # part: speed
    L.LightningModule,
):
    """Predicts, for each output channel, one of that channel's classes.

    `data` is the data spec (data/spec.py) as plain values. `forward` returns logits `[B, K, C]`
    from one `Linear(hidden, K * C)` head, class dimension second as `cross_entropy` wants it; a
    channel's missing classes get no probability. `net`, `optimizer` and `scheduler` are
    `{"_target_": ..., **arguments}` dicts of plain values, so a checkpoint alone rebuilds the model under `weights_only=True`.
    """

    class_weight: Tensor | None
    class_mask: Tensor | None

    # mutmut must leave `__init__` unwrapped: `save_hyperparameters` reads its caller's frame.
    def __init__(
        self,
        data: dict[str, Any],
        net: dict[str, Any],
        optimizer: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        label_smoothing: float = 0.0,
        class_weights: str | None = None,
        loss: str = "cross_entropy",
        compile: bool = False,
        embedding_dim: int | None = None,
    ) -> None:  # pragma: no mutate block
        super().__init__()
        self.save_hyperparameters()
        self.spec = spec = DataSpec.from_dict(data, "data")
        out = spec.output
        check_options(optimizer, scheduler, class_weights, loss, out)
        self.ordinal = loss == "ordinal"  # part: ordinal
        self.num_channels, self.num_classes = out.num_channels, out.num_classes
        self.ignore_index = out.ignore_index
        self.label_smoothing, self.compile_logits = label_smoothing, compile
        self.encoder = build_encoder(spec.input, embedding_dim)
        self.trunk = build_trunk(net, self.encoder.out_shape)
        self.ensemble = is_ensemble(self.trunk)
        outputs = self.num_classes
        outputs = outputs_per_channel(loss, self.num_classes)  # part: ordinal
        self.head = nn.Linear(trunk_width(self.trunk), outputs * self.num_channels)
        self.register_buffer("class_weight", class_weight(out) if class_weights else None)
        self.register_buffer("class_mask", label_mask(out), persistent=False)
        self.train_metrics = TrainingMetrics(out.ignore_index)
        self.val_metrics = EvalMetrics(self.num_channels, self.num_classes, out.ignore_index)
        self.test_metrics = EvalMetrics(self.num_channels, self.num_classes, out.ignore_index)
        self.results: dict[str, StageResult] = {}  # of each stage's last finished epoch

    def forward(self, x: Tensor) -> Tensor:
        # `model.compile=true` compiles this only, not `__call__` (DDP would recompile every step).
        return compiled_logits(self, x) if self.compile_logits else self.logits(x)

    def logits(self, x: Tensor) -> Tensor:
        """Logits `[B, K, C]` of examples `x` (an ensemble trunk's in training: `[B, K, C, k]`, one
        per member; see models/ensemble.py)."""
        hidden = self.trunk(self.encoder(x))  # [B, hidden], or [B, k, hidden] from an ensemble trunk
        logits = self.head(hidden).unflatten(-1, (-1, self.num_channels))
        if self.ordinal:  # K-1 thresholds -> K classes, masked  # part: ordinal
            logits = corn_log_probs(logits, dim=-2, mask=self.class_mask)  # part: ordinal
            return member_logits(logits, self.training) if self.ensemble else logits  # part: ordinal
        if self.class_mask is not None:
            logits = logits.masked_fill(~self.class_mask, MASKED_LOGIT)  # a channel's missing classes
        return member_logits(logits, self.training) if self.ensemble else logits

    def loss(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Mean cross entropy over the labelled cells (and members), and their (weighted) count."""
        options = (self.ignore_index, self.label_smoothing, self.class_weight, self.class_mask)
        total, weight = cross_entropy_terms(logits, member_targets(target, logits), *options)
        return mean_loss(total, weight), weight

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
        return self(batch[0]).softmax(dim=1)  # class probabilities [B, K, C]

    def on_validation_epoch_end(self) -> None:
        self.finish_eval_epoch("val", self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self.finish_eval_epoch("test", self.test_metrics)

    def finish_eval_epoch(self, stage: str, metrics: EvalMetrics) -> None:
        result = metrics.compute()  # counts summed over processes: exact under DDP
        values = result.logged(stage, self.spec.output.channel_names)
        self.log_global({f"{stage}/acc": values.pop(f"{stage}/acc")}, prog_bar=True)
        self.log_global(values)
        if not self.trainer.sanity_checking:
            self.results[stage] = result
        metrics.reset()

    def log_global(self, values: dict[str, Any], prog_bar: bool = False) -> None:
        """Log epoch values equal on every process; `max` syncs them bit for bit under DDP."""
        self.log_dict(values, prog_bar=prog_bar, sync_dist=True, reduce_fx="max")

    def configure_optimizers(self) -> Any:
        clipping, precision = bool(self.trainer.gradient_clip_val), self.trainer.precision
        optimizer = build_optimizer(self.hparams["optimizer"], self.parameters(), precision, clipping)
        total_steps = int(self.trainer.estimated_stepping_batches)
        val_every = self.trainer.check_val_every_n_epoch or 1  # the training budget may space validations
        scheduler = build_scheduler(self.hparams["scheduler"], optimizer, total_steps, val_every)
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
