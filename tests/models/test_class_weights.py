import lightning as L
import pytest
import torch

from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from tests.helpers import InMemoryData, spec_dict

MODEL = {
    "net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
    "optimizer": {"_target_": "torch.optim.SGD", "lr": 0.1},
}


class OtherValLabels(InMemoryData):
    """Every split the given tensors, but for validation labels that are all class 2."""

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        self.splits["val"] = (self.x, torch.full_like(self.y, 2))


def test_balanced_weights_are_counted_on_the_training_split_and_saved(tmp_path):
    # Channel 0: class 0 three times as frequent as 2 in training; val labels are all 2.
    y = torch.tensor([[0, 1], [0, 2], [0, 1], [2, 2], [0, 1], [0, 2], [0, 1], [2, 2]])
    dm = OtherValLabels(torch.arange(8.0)[:, None], y, num_classes=3, batch_size=4)
    model = MultiOutputClassifier(dm.data_spec().to_dict(), class_weights="balanced", **MODEL)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(model, datamodule=dm)
    # n / (classes present * count): channel 0 has 8 labels over 2 classes; class 1 is absent -> 1.
    expected = torch.tensor([[8 / (2 * 6), 1.0, 8 / (2 * 2)], [1.0, 8 / (2 * 4), 8 / (2 * 4)]])
    torch.testing.assert_close(model.class_weight, expected)
    assert "class_weight" in model.state_dict()


def test_unknown_class_weights_option():
    with pytest.raises(InputError, match=r"model\.class_weights must be one of"):
        MultiOutputClassifier(spec_dict(3, 2, 3), class_weights="inverse", **MODEL)
