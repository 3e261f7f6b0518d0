import lightning as L
import pandas as pd
import pytest
import torch

from multiout.data.tables.datamodule import TabularDataModule
from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from tests.helpers import spec_dict

MODEL = {
    "net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
    "optimizer": {"_target_": "torch.optim.SGD", "lr": 0.1},
}


def test_balanced_weights_are_counted_on_the_training_split_and_saved(tmp_path):
    # Channel y_a: class -1 three times as frequent as 1 in training; val labels are all 1.
    train = pd.DataFrame({"f": range(8), "y_a": [-1, -1, -1, 1, -1, -1, -1, 1], "y_b": [0, 1] * 4})
    val = train.assign(y_a=1)
    train.to_csv(tmp_path / "train.csv", index=False)
    val.to_csv(tmp_path / "val.csv", index=False)
    dm = TabularDataModule(
        train_path=str(tmp_path / "train.csv"), val_path=str(tmp_path / "val.csv"), batch_size=4
    )
    model = MultiOutputClassifier(dm.data_spec().to_dict(), class_weights="balanced", **MODEL)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(model, datamodule=dm)
    # n / (classes present * count): y_a has 8 labels over 2 classes; class 0 is absent -> 1.
    expected = torch.tensor([[8 / (2 * 6), 1.0, 8 / (2 * 2)], [1.0, 8 / (2 * 4), 8 / (2 * 4)]])
    torch.testing.assert_close(model.class_weight, expected)
    assert "class_weight" in model.state_dict()


def test_unknown_class_weights_option():
    with pytest.raises(InputError, match=r"model\.class_weights must be one of"):
        MultiOutputClassifier(spec_dict(3, 2, 3), class_weights="inverse", **MODEL)
