"""Every trunk for table rows, and each loss: a short real training lowers the loss, and the
trained model exports with the same logits."""

import pytest
import torch

from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from multiout.tools.export import export_model, run_exported  # part: export
from tests.helpers import multi_output_cross_entropy, quiet_trainer, spec_dict

F, C, K = 6, 4, 3

TRUNKS = {
    "mlp": ({"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16]}, "cross_entropy"),
    # part: tabular_trunks
    "plr_mlp": (
        {"_target_": "multiout.models.plr.PLRMLP", "hidden_sizes": [16], "d_embedding": 4},
        "cross_entropy",
    ),
    "tabm_mini": (
        {
            "_target_": "multiout.models.tabm.TabM",
            "hidden_sizes": [16],
            "ensemble_size": 4,
            "adapters": "first",
        },
        "cross_entropy",
    ),
    "plr_tabm": (
        {
            "_target_": "multiout.models.plr.PLRTabM",
            "hidden_sizes": [16],
            "ensemble_size": 4,
            "d_embedding": 4,
        },
        "cross_entropy",
    ),
    # end part
    # part: ordinal
    "mlp_ordinal": ({"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16]}, "ordinal"),
    # end part
    # part: tabular_trunks, ordinal
    "tabm_ordinal": (
        {"_target_": "multiout.models.tabm.TabM", "hidden_sizes": [16], "ensemble_size": 4},
        "ordinal",
    ),
    # end part
}


def training_loss(model: MultiOutputClassifier, data: SyntheticDataModule) -> float:
    """Cross entropy of the (evaluated) model's probabilities on the whole training split."""
    x, y = data.splits["train"]
    with torch.no_grad():
        return multi_output_cross_entropy(model.eval()(x), y).item()


@pytest.fixture(scope="module")
def data():
    data = SyntheticDataModule(num_samples=400, num_features=F, num_channels=C, num_classes=K, batch_size=64)
    data.setup("fit")
    return data


def make_model(name: str) -> MultiOutputClassifier:
    net, loss = TRUNKS[name]
    torch.manual_seed(0)
    data = spec_dict(F, C, K)
    return MultiOutputClassifier(
        data, net=net, optimizer={"_target_": "torch.optim.Adam", "lr": 0.02}, loss=loss
    )


@pytest.mark.parametrize("name", list(TRUNKS))
def test_short_training_lowers_the_loss(name, data, tmp_path):
    model = make_model(name)
    before = training_loss(model, data)
    trainer = quiet_trainer(tmp_path, max_epochs=3, limit_val_batches=0, accelerator="cpu")
    trainer.fit(model.train(), datamodule=data)
    after = training_loss(model, data)
    assert after < 0.95 * before, (before, after)


# part: export
# torch (and Lightning) deprecate TorchScript; the test checks it still works while it exists.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        *((name, "torchscript") for name in TRUNKS),
        ("mlp", "exported_program"),
        ("plr_mlp", "exported_program"),  # part: tabular_trunks
        ("tabm_ordinal", "exported_program"),  # part: tabular_trunks, ordinal
    ],
)
def test_exported_model_gives_the_model_logits(name, fmt, tmp_path):
    model = make_model(name).eval()
    features = torch.randn(7, F)  # not the batch size it was traced with
    with torch.no_grad():
        expected = model(features)
    got = run_exported(export_model(model, fmt, tmp_path / "model"), fmt, features)
    assert got is not None and got.shape == (7, K, C)
    torch.testing.assert_close(got, expected)


# end part
