"""The window trunks: `[B, L, F]` -> `[B, out_features]`, built from the data spec's window shape,
and a short real training on labels that only the past of a window gives lowers the loss."""

from __future__ import annotations

import pytest
import torch

from multiout.data.spec import DataSpec
from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.sequence import Conv1dTrunk, GRUTrunk, TransformerTrunk, sinusoidal_positions
from multiout.models.trunks import build_trunk
from multiout.tools.export import export_model, run_exported  # part: export
from tests.helpers import InMemoryData, multi_output_cross_entropy, quiet_trainer, spec_dict

L, F, C = 6, 3, 2
NETS = {
    "conv1d": {"_target_": "multiout.models.sequence.Conv1dTrunk", "hidden": 16},
    "conv1d_mean": {"_target_": "multiout.models.sequence.Conv1dTrunk", "hidden": 16, "pooling": "mean"},
    "gru": {"_target_": "multiout.models.sequence.GRUTrunk", "hidden": 16},
    "transformer": {
        "_target_": "multiout.models.sequence.TransformerTrunk",
        "hidden": 16,
        "heads": 2,
        "layers": 1,
    },
}


@pytest.mark.parametrize("name", list(NETS))
def test_a_window_trunk_gives_one_hidden_per_window(name):
    trunk = build_trunk(NETS[name], [L, F])
    out = trunk(torch.randn(5, L, F))
    assert out.shape == (5, trunk.out_features) == (5, 16)


def test_the_last_step_of_a_causal_convolution_sees_the_whole_window_and_nothing_after():
    trunk = Conv1dTrunk(F, hidden=8, layers=2, kernel_size=3).eval()
    x = torch.randn(1, L, F)
    changed = x.clone()
    changed[0, 0] += 1.0  # the first step: in the receptive field (1 + 2 + 4 = 7 >= 6 steps)
    assert not torch.allclose(trunk(x), trunk(changed))
    early = trunk.convs[0](torch.nn.functional.pad(x.transpose(1, 2), (2, 0)))[..., 0]
    moved = x.clone()
    moved[0, 1:] += 1.0  # later steps never reach step 0's output
    assert torch.equal(early, trunk.convs[0](torch.nn.functional.pad(moved.transpose(1, 2), (2, 0)))[..., 0])


def test_sinusoidal_positions_match_the_formula():
    codes = sinusoidal_positions(5, 4)
    assert codes[3, 0].item() == pytest.approx(torch.sin(torch.tensor(3.0)).item())
    assert codes[3, 3].item() == pytest.approx(torch.cos(torch.tensor(3.0 / 100.0)).item(), rel=1e-5)


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (GRUTrunk, {"hidden": 0}, "model.net.hidden must be a positive integer"),
        (Conv1dTrunk, {"pooling": "max"}, "model.net.pooling must be one of"),
        (TransformerTrunk, {"hidden": 10, "heads": 4}, "multiple of model.net.heads=4"),
    ],
)
def test_bad_trunk_settings_stop_with_one_line(cls, options, message):
    with pytest.raises(InputError, match=message):
        cls(F, **options)


def lagged_windows(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows whose labels are the sign class of feature 0 three steps before the last."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, L, F, generator=g)
    past = x[:, -4, 0].contiguous()
    y = torch.bucketize(past, torch.tensor([-0.4, 0.4]))[:, None].repeat(1, C)
    return x, y


@pytest.mark.parametrize("name", ["conv1d", "gru", "transformer"])
def test_short_training_on_windows_lowers_the_loss(name, tmp_path):
    x, y = lagged_windows()
    torch.manual_seed(0)
    spec = DataSpec.from_dict(spec_dict(num_channels=C, shape=[L, F]))
    model = MultiOutputClassifier(
        spec.to_dict(), net=NETS[name], optimizer={"_target_": "torch.optim.Adam", "lr": 0.01}
    )

    def loss() -> float:
        with torch.no_grad():
            return multi_output_cross_entropy(model.eval()(x), y).item()

    before = loss()
    trainer = quiet_trainer(tmp_path, max_epochs=10, limit_val_batches=0, accelerator="cpu")
    trainer.fit(model.train(), datamodule=InMemoryData(x, y, batch_size=64))
    assert loss() < 0.8 * before


# part: export
@pytest.mark.parametrize("name", ["conv1d", "gru", "transformer"])
def test_an_exported_window_model_gives_the_model_logits_for_any_batch(name, tmp_path):
    # A tabular spec, as data=windows gives: the encoder standardizes and flags gaps over [B, L, F].
    spec = spec_dict(num_channels=C, shape=[L, F], imputed=["x1"])
    model = MultiOutputClassifier(spec, net=NETS[name], optimizer={"_target_": "torch.optim.Adam"}).eval()
    features = torch.randn(7, L, F)  # not the batch size it was traced with
    features[0, 2, 1] = float("nan")
    with torch.no_grad():
        expected = model(features)
    got = run_exported(
        export_model(model, "exported_program", tmp_path / "model"), "exported_program", features
    )
    assert got is not None and got.shape == (7, 3, C)
    torch.testing.assert_close(got, expected)


# end part
