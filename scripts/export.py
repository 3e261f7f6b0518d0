"""Export a checkpoint: `python scripts/export.py ckpt_path=<ckpt> format=onnx|torchscript|exported_program`.

Optional: `output=<path>` (default: the checkpoint's path, or for a checkpoint in an object store
(`ckpt_path=s3://...`) its name in the current directory; the format's suffix is added),
`model_class=<import path>` (default: the template's classifier) and `trusted_modules=[mypkg]`
(modules beyond this package, torch.nn and torch.optim whose classes the checkpoint may name).
The exported model maps features `[B, F]` to logits `[B, K, C]` (input format: docs/experiments.md,
"Export"); it is checked against the checkpoint's model on a random batch, with missing
values and categories, before the script ends.
"""

from __future__ import annotations

import sys

import torch
from omegaconf import OmegaConf

from multiout.errors import InputError, exit_on_input_error
from multiout.runtime import storage
from multiout.runtime.checkpoints import existing_checkpoint, load_model
from multiout.tools.export import example_features, export_model, run_exported

DEFAULTS = {
    "ckpt_path": None,
    "format": "onnx",
    "output": None,
    "model_class": "multiout.models.classifier.MultiOutputClassifier",
    "trusted_modules": [],
}


def main(argv: list[str]) -> None:
    with exit_on_input_error():
        unknown = [arg for arg in argv if arg.partition("=")[0] not in DEFAULTS or "=" not in arg]
        if unknown:
            raise InputError(
                f"export: expected key=value arguments with keys {sorted(DEFAULTS)}, got {unknown}"
            )
        args = OmegaConf.merge(DEFAULTS, OmegaConf.from_dotlist(argv))
        if args.ckpt_path is None:
            raise InputError("export: ckpt_path=<checkpoint file> is required")
        ckpt_path = existing_checkpoint(str(args.ckpt_path))
        model = load_model(args.model_class, ckpt_path, list(args.trusted_modules)).eval()
        output = args.output or str(ckpt_path).removesuffix(".ckpt")
        if storage.is_url(output):
            if args.output:
                raise InputError(f"output={output}: export writes a local file; give a local path")
            output = storage.name(output)
        path = export_model(model, args.format, output)
    features = example_features(model, 5)
    with torch.no_grad():
        expected = model(features)
    got = run_exported(path, args.format, features)
    if got is None:
        print(f"exported to {path} (not checked: onnxruntime is not installed)")
    else:
        diff = (got - expected).abs().max().item()
        print(
            f"exported to {path}: logits {tuple(got.shape)}, max abs difference to the checkpoint {diff:.2e}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
