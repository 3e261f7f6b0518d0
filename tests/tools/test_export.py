"""Exported models give the checkpoint's logits `[B, K, C]`, for any batch size."""

import lightning as L
import pytest
import torch
from export import main as export_script  # scripts/export.py, in this process

from multiout.data.synthetic import SyntheticDataModule
from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.tools.export import export_model, run_exported
from tests.helpers import spec_dict

F, C, K = 6, 5, 4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A briefly trained checkpoint, saved as training saves one."""
    data = SyntheticDataModule(num_samples=300, num_features=F, num_channels=C, num_classes=K, batch_size=64)
    model = MultiOutputClassifier(
        data.data_spec().to_dict(),
        net={"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16, 16]},
        optimizer={"_target_": "torch.optim.Adam"},
    )
    trainer = L.Trainer(
        max_steps=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model, datamodule=data)
    path = tmp_path_factory.mktemp("ckpt") / "model.ckpt"
    trainer.save_checkpoint(path)
    return path


def expected_logits(ckpt, features):
    model = MultiOutputClassifier.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True).eval()
    with torch.no_grad():
        return model(features)


# torch (and Lightning) deprecate TorchScript; the test checks it still works while it exists.
TORCHSCRIPT = pytest.param("torchscript", marks=pytest.mark.filterwarnings("ignore::DeprecationWarning"))


@pytest.mark.parametrize("fmt", [TORCHSCRIPT, "exported_program"])
def test_torch_formats_round_trip(checkpoint, tmp_path, fmt):
    model = MultiOutputClassifier.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    path = export_model(model, fmt, tmp_path / "model")
    features = torch.randn(7, F)  # not the batch size it was traced with
    with torch.no_grad():
        if fmt == "torchscript":
            got = torch.jit.load(str(path))(features)
        else:
            got = torch.export.load(str(path)).module()(features)
    assert got.shape == (7, K, C)
    torch.testing.assert_close(got, expected_logits(checkpoint, features))


@pytest.mark.slow
def test_onnx_export_script_round_trip(checkpoint, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    export_script([f"ckpt_path={checkpoint}", "format=onnx", f"output={tmp_path / 'm'}"])
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    features = torch.randn(9, F)
    (got,) = session.run(["logits"], {"features": features.numpy()})
    assert got.shape == (9, K, C)
    torch.testing.assert_close(
        torch.from_numpy(got), expected_logits(checkpoint, features), atol=1e-5, rtol=1e-5
    )


def test_unknown_format_is_an_input_error(checkpoint, tmp_path):
    model = MultiOutputClassifier.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    with pytest.raises(InputError, match="format must be one of"):
        export_model(model, "tflite", tmp_path / "model")


ONNX_SLOW = pytest.param("onnx", marks=pytest.mark.slow)


@pytest.mark.parametrize("fmt", [TORCHSCRIPT, "exported_program", ONNX_SLOW])
def test_export_with_categories_and_missing_values_gives_the_models_logits(tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    stats = {"mean": [0.0] * 4, "std": [1.0] * 4, "median": [0.3, 0.0, -0.7, 0.0]}
    data = spec_dict(
        num_channels=C,
        num_classes=K,
        feature_names=["a", "region", "b", "flag"],
        categorical={"region": ["east", "north", None], "flag": ["False", "True"]},
        imputed=["b"],
        statistics=stats,
    )
    model = MultiOutputClassifier(
        data,
        net={"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16]},
        optimizer={"_target_": "torch.optim.Adam"},
    ).eval()
    path = export_model(model, fmt, tmp_path / "model")
    nan = float("nan")
    features = torch.tensor(
        [[0.1, 1, nan, 2], [nan, 3, 0.5, 0], [1.2, 0, 2.0, 1], [0.0, 9, nan, nan], [-1.0, 2, 0.1, 1]]
    )  # every category index, an out-of-range one, missing numbers and a NaN category
    with torch.no_grad():
        expected = model(features)
    got = run_exported(path, fmt, features)
    assert got is not None and not expected.isnan().any()
    torch.testing.assert_close(got, expected)
