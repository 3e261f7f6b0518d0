"""Export a trained classifier as a standalone model: examples `[B, *shape]` (`[B, F]` rows,
`[B, L, F]` windows, the shape in the checkpoint's data spec) -> logits `[B, K, C]`.

Formats:
- `onnx`: for ONNX Runtime and other runtimes (needs the `onnx` extra: onnx, onnxscript);
- `torchscript`: `torch.jit.load` it without this package (deprecated by torch since 2.10,
  still working; it warns);
- `exported_program`: `torch.export` (`.pt2`), torch's current format; `torch.export.load`.
The batch dimension stays dynamic in all three. Apply `softmax(dim=1)` for probabilities.
The input is what the data module gives the model; for the tabular encoder, numbers in the
data spec's `feature_names` order, NaN where missing, and at a categorical feature the
category's index in its vocabulary plus one (0: unknown).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import Tensor, nn

from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.encoders import TabularEncoder

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "exported_program": ".pt2"}


class Logits(nn.Module):
    """The classifier's forward only: no metrics, optimizer or trainer attached."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: Tensor) -> Tensor:
        return self.model(features)


def export_model(model: MultiOutputClassifier, fmt: str, path: str | Path) -> Path:
    """Write `model` (in eval mode, on CPU) to `path` in format `fmt`, for inputs of the shape
    its data spec gives (`[B, F]`, `[B, L, F]`, ...); returns the path written (`path`, with
    the format's suffix appended if it has another)."""
    if fmt not in SUFFIXES:
        raise InputError(f"format must be one of {sorted(SUFFIXES)}, got {fmt!r}")
    if fmt == "onnx" and not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript")):
        raise InputError('format=onnx needs the onnx and onnxscript packages: pip install -e ".[onnx]"')
    path = Path(path)
    if path.suffix != SUFFIXES[fmt]:
        path = path.with_name(path.name + SUFFIXES[fmt])  # torch.export.load wants .pt2
    path.parent.mkdir(parents=True, exist_ok=True)
    module = Logits(model).cpu().eval()
    example = torch.randn(2, *model.spec.input.shape)  # a batch of 2, so its size is not fixed at 1
    batch = {"features": {0: torch.export.Dim("batch")}}
    with torch.no_grad():
        if fmt == "torchscript":  # Lightning's own tracing, which keeps the trainer out of it
            scripted = model.cpu().eval().to_torchscript(method="trace", example_inputs=example)
            assert isinstance(scripted, torch.jit.ScriptModule)
            scripted.save(str(path))
        elif fmt == "exported_program":
            torch.export.save(torch.export.export(module, (example,), dynamic_shapes=batch), str(path))
        else:
            torch.onnx.export(
                module,
                (example,),
                str(path),
                input_names=["features"],
                output_names=["logits"],
                dynamic_shapes=batch,
                dynamo=True,
            )
    return path


def example_features(model: MultiOutputClassifier, rows: int, seed: int = 0) -> Tensor:
    """Random examples as the model reads them; for the tabular encoder, numbers (a tenth NaN,
    where it imputes) and valid category indices at its categorical features."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, *model.spec.input.shape, generator=generator)
    encoder = model.encoder
    if not isinstance(encoder, TabularEncoder):
        return x
    x[torch.rand(x.shape, generator=generator) < 0.1] = float("nan")
    for j, size in zip(encoder.categorical_index.tolist(), encoder.num_categories.tolist(), strict=True):
        x[..., j] = torch.randint(0, size, x.shape[:-1], generator=generator).float()
    return x


def run_exported(path: str | Path, fmt: str, features: Tensor) -> Tensor | None:
    """Logits of a model exported in format `fmt` (None for ONNX without onnxruntime)."""
    if fmt == "onnx":
        if importlib.util.find_spec("onnxruntime") is None:
            return None
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(["logits"], {"features": features.numpy()})[0])
    with torch.no_grad():
        if fmt == "exported_program":
            return torch.export.load(str(path)).module()(features)
        return torch.jit.load(str(path))(features)
