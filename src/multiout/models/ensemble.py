"""Trunks that are ensembles: how the classifier trains their members and averages them.

A trunk that returns one hidden per member, `[B, k, out_features]` (its `ensemble_size` is k),
is an ensemble; the head turns each into logits. In training the model returns the
members' logits `[B, K, C, k]` and every member is trained on its own loss (the loss is the
mean over members as well as cells). In evaluation, prediction and export it returns the
ensemble's logits `[B, K, C]`: the log of the members' mean probability, so that softmax gives
that mean and everything downstream (metrics, predictions, export) sees one model.
"""

from __future__ import annotations

from torch import Tensor


def member_logits(logits: Tensor, training: bool) -> Tensor:
    """Per-member logits `[B, k, K, C]` as the model returns them: `[B, K, C, k]` in training
    (one loss per member), else the ensemble's `[B, K, C]`."""
    logits = logits.movedim(1, -1)
    return logits if training else ensemble_logits(logits)


def ensemble_logits(logits: Tensor) -> Tensor:
    """Logits `[B, K, C]` whose softmax is the members' mean probability; `[B, K, C]` passes."""
    if logits.dim() == 3:
        return logits
    log_probs = logits.log_softmax(dim=1)
    # log(mean(exp)) around the largest member: no underflow to log(0), no shape as a constant
    # in a traced export.
    top = log_probs.amax(dim=-1, keepdim=True)
    return top.squeeze(-1) + (log_probs - top).exp().mean(dim=-1).log()


def member_targets(target: Tensor, logits: Tensor) -> Tensor:
    """Targets `[B, C]` repeated for each member of logits `[B, K, C, k]`: `[B, C, k]`."""
    if logits.dim() == 3:
        return target
    return target.unsqueeze(-1).expand(-1, -1, logits.shape[-1])
