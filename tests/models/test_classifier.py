import lightning as L
import pytest
import torch
import torch.nn.functional as F

from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from tests.helpers import multi_output_cross_entropy, spec_dict

B, F_IN, C, K = 16, 8, 5, 3


def make_model(num_channels: int = C, ignore_index: int = -100, **overrides) -> MultiOutputClassifier:
    data = spec_dict(F_IN, num_channels, K)
    data["output"]["ignore_index"] = ignore_index
    kwargs = {
        "data": data,
        "net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [32], "norm": "layer"},
        "optimizer": {"_target_": "torch.optim.AdamW", "lr": 1e-3},
        "scheduler": {
            "_target_": "multiout.models.schedules.WarmupCosine",
            "warmup_fraction": 0.1,
            "interval": "step",
        },
    }
    return MultiOutputClassifier(**{**kwargs, **overrides})


def test_logits_are_batch_class_channel_from_one_head():
    model = make_model()
    assert model(torch.randn(B, F_IN)).shape == (B, K, C)
    linear_out = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert linear_out == K * C
    assert model.head.in_features == 32


def test_loss_is_mean_of_per_channel_cross_entropies_skipping_ignored():
    torch.manual_seed(0)
    logits = torch.randn(B, K, C)
    target = torch.randint(0, K, (B, C))
    target[::3, 1] = -100
    total, count = 0.0, 0
    for b in range(B):  # an independent, cell-by-cell computation
        for c in range(C):
            if target[b, c] != -100:
                total += -torch.log_softmax(logits[b, :, c], dim=0)[target[b, c]].item()
                count += 1
    assert multi_output_cross_entropy(logits, target).item() == pytest.approx(total / count, rel=1e-6)


def test_label_smoothing_matches_per_channel_functional():
    logits, target = torch.randn(B, K, C), torch.randint(0, K, (B, C))
    by_channel = torch.stack(
        [F.cross_entropy(logits[:, :, c], target[:, c], label_smoothing=0.1) for c in range(C)]
    )
    ours = multi_output_cross_entropy(logits, target, label_smoothing=0.1)
    assert ours.item() == pytest.approx(by_channel.mean().item(), rel=1e-6)


def test_checkpoint_holds_only_plain_values_and_loads_with_weights_only(tmp_path):
    model = make_model()
    trainer = L.Trainer(max_epochs=0, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)  # raises on any pickled object
    assert checkpoint["hyper_parameters"]["net"]["hidden_sizes"] == [32]
    # Weights only: no metric bookkeeping that would tie a checkpoint to it.
    weights = {name for name, _ in model.named_parameters()}
    assert set(checkpoint["state_dict"]) == weights
    restored = MultiOutputClassifier.load_from_checkpoint(path, weights_only=True)
    x = torch.randn(B, F_IN)
    model.eval()
    restored.eval()
    assert torch.equal(model(x), restored(x))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"optimizer": {"_target_": "torch.optim.Adamm", "lr": 1e-3}},
            r"model\.optimizer\._target_: 'torch\.optim\.Adamm' is not an importable class path",
        ),
        (
            {"optimizer": {"_target_": "torch.optim.AdamW", "lr": 1e-3, "momentum": 0.9}},
            r"model\.optimizer: AdamW takes no argument 'momentum'",
        ),
        ({"scheduler": {"name": "linear"}}, r"model\.scheduler: expected a `_target_` key"),
        ({"net": {"_target_": "multiout.models.nope.MLP", "hidden_sizes": [4]}}, r"model\.net\._target_"),
        ({"class_weights": "inverse"}, r"model\.class_weights must be one of"),
        ({"ignore_index": 1}, r"data: ignore_index=1 collides with class id 1"),
        ({"net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": []}}, "hidden_sizes"),
        (
            {"net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [4], "activation": "foo"}},
            "activation",
        ),
    ],
)
def test_bad_model_config_is_a_clear_error(overrides, message):
    with pytest.raises(InputError, match=message):
        make_model(**overrides)


def test_a_training_step_with_an_ignore_index_above_the_class_ids():
    model = make_model(ignore_index=255)
    target = torch.randint(0, K, (B, C))
    target[::2, 0] = 255
    loss = model.training_step((torch.randn(B, F_IN), target), 0)
    assert torch.isfinite(loss)
    labelled = target != 255
    assert model.train_metrics.labelled.item() == labelled.sum().item()


@pytest.mark.parametrize("fully_labelled", [True, False])
def test_training_steps_accumulate_exact_epoch_loss_and_accuracy(fully_labelled):
    torch.manual_seed(0)
    model = make_model().eval()  # no dropout: the steps and the check below see the same logits
    batches = []
    for size in (B, B // 2 + 1):
        target = torch.randint(0, K, (size, C))
        if not fully_labelled:
            target[::3, 2] = -100
        batches.append((torch.randn(size, F_IN), target))
    for i, batch in enumerate(batches):
        model.training_step(batch, i)
    correct = labelled = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, target in batches:  # cell by cell, with argmax as the prediction
            logits = model(x)
            n = int((target != -100).sum())
            loss_sum += F.cross_entropy(logits, target, ignore_index=-100).item() * n
            labelled += n
            for b in range(len(x)):
                for c in range(C):
                    if target[b, c] != -100:
                        correct += int(logits[b, :, c].argmax() == target[b, c])
    epoch = model.train_metrics.compute()
    assert epoch["acc"].item() == pytest.approx(correct / labelled, abs=1e-6)
    assert epoch["loss"].item() == pytest.approx(loss_sum / labelled, rel=1e-5)


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.parametrize("clip", [None, 0.01])
def test_gradient_clipping_still_applies(clip):
    torch.manual_seed(0)
    model = make_model(optimizer={"_target_": "torch.optim.SGD", "lr": 1.0}, scheduler=None)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    x, y = torch.randn(B, F_IN), torch.randint(0, K, (B, C))
    trainer = L.Trainer(
        max_steps=1, gradient_clip_val=clip, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=B))
    step = torch.cat([p.detach().flatten() for p in model.parameters()]) - before  # = -lr * gradient
    if clip is None:
        assert step.norm() > 0.1
    else:
        assert step.norm() == pytest.approx(clip, rel=1e-3)


def test_training_accuracy_counts_exactly_under_bf16_autocast():
    torch.manual_seed(0)
    model = make_model(num_channels=47).eval()  # 64 x 47 cells: counts past bf16's exact integers
    x, target = torch.randn(64, F_IN), torch.randint(0, K, (64, 47))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model.training_step((x, target), 0)
        logits = model(x)
    assert logits.dtype == torch.bfloat16
    correct = sum(  # cell by cell: the first largest logit is the target's
        int(logits[b, :, c].float().argmax()) == int(target[b, c]) for b in range(64) for c in range(47)
    )
    assert model.train_metrics.correct.item() == correct and model.train_metrics.labelled.item() == 64 * 47


def test_the_tabular_encoder_standardizes_with_the_specs_statistics_and_saves_them(tmp_path):
    x = torch.randn(B, F_IN) * 3 + 2
    mean, std, median = x.mean(dim=0), x.std(dim=0), x.median(dim=0).values
    stats = {"mean": mean.tolist(), "std": std.tolist(), "median": median.tolist()}
    model = make_model(data=spec_dict(F_IN, C, K, statistics=stats))
    assert {"encoder.mean", "encoder.std", "encoder.fill"} <= set(model.state_dict())
    model.eval()
    standardized = (x - mean) / std  # by hand: what the trunk must see
    expected = model.head(model.trunk(standardized)).view(-1, K, C)
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize(
    ("statistics", "message"),
    [
        ({"mean": [0.0] * F_IN, "std": [1.0] * F_IN}, "statistics must hold"),  # no median
        ({"mean": [0.0] * F_IN, "std": [1.0] * F_IN, "median": [0.0] * (F_IN + 1)}, "statistics must hold"),
        ({"mean": [0.0] * F_IN, "std": [float("nan")] * F_IN, "median": [0.0] * F_IN}, "finite numbers"),
    ],
)
def test_statistics_other_than_mean_std_median_of_every_feature_stop_with_what_was_expected(
    statistics, message
):
    data = spec_dict(
        F_IN, C, K, statistics={"mean": [0.0] * F_IN, "std": [1.0] * F_IN, "median": [0.0] * F_IN}
    )
    data["input"]["statistics"] = statistics
    with pytest.raises(InputError, match=message):
        make_model(data=data)
