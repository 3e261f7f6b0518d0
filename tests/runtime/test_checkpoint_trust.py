"""A checkpoint from elsewhere never makes the template import a module it names."""

from __future__ import annotations

import re
import sys

import lightning as L
import pytest
import torch

from multiout.errors import InputError
from multiout.runtime.checkpoints import load_model
from tests.helpers import small_classifier

CLASSIFIER = "multiout.models.classifier.MultiOutputClassifier"
# Imported, this module leaves a marker file: proof that the checkpoint ran code.
FOREIGN = """
from pathlib import Path
Path(__file__).with_name("imported.marker").write_text("imported")
from multiout.models.mlp import MLP as Trunk
"""


def crafted_checkpoint(tmp_path, target: str = "foreign_trunk.Trunk") -> str:
    """A real checkpoint whose trunk is named as `target`; its first part, unless the template's
    or torch's, is a module beside it."""
    top = target.split(".")[0]
    if top.isidentifier() and top not in ("multiout", "torch"):
        (tmp_path / f"{top}.py").write_text(FOREIGN)
    trainer = L.Trainer(max_epochs=0, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(small_classifier(num_features=3, num_channels=2))
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"]["net"]["_target_"] = target
    torch.save(checkpoint, path)
    return str(path)


# Names that only look like trusted ones: each must be refused as any untrusted module is.
PACKAGE = CLASSIFIER.partition(".")[0]  # built from the class path, so a renamed fork tests its own name
NEAR_MISSES = [
    f"{PACKAGE}_evil.Trunk",  # the template's name with a suffix
    "torch.nnx.Trunk",  # torch.nn's, likewise
    f"{PACKAGE.capitalize()}.Trunk",  # another case
    ".foreign_trunk.Trunk",  # a relative import path
    f"{PACKAGE}..foreign_trunk.Trunk",  # an empty part
    "torch.nn..Linear",
]
FOREIGN_MODULES = ("foreign_trunk", f"{PACKAGE}_evil", PACKAGE.capitalize())


@pytest.fixture(autouse=True)
def forget_foreign_module():
    """Each test imports the modules afresh: one already loaded would never write its marker."""
    for name in FOREIGN_MODULES:
        sys.modules.pop(name, None)
    yield
    for name in FOREIGN_MODULES:
        sys.modules.pop(name, None)


def test_a_foreign_class_in_a_checkpoint_is_refused_before_its_module_is_imported(tmp_path, monkeypatch):
    path = crafted_checkpoint(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match=r"module 'foreign_trunk', which is not trusted; .*trusted_modules"):
        load_model(CLASSIFIER, path)
    assert not (tmp_path / "imported.marker").exists()
    model = load_model(CLASSIFIER, path, trusted_modules=["foreign_trunk"])  # trusted: it loads
    assert (tmp_path / "imported.marker").exists() and model(torch.randn(4, 3)).shape == (4, 3, 2)


def test_evaluate_refuses_it_with_one_line(tmp_path, entry, monkeypatch):
    path = crafted_checkpoint(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code, stderr = entry("evaluate", f"ckpt_path={path}", f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 2
    errors = [line for line in stderr if line.startswith("error:")]
    assert (
        len(errors) == 1 and "'foreign_trunk'" in errors[0] and "trusted_modules=[foreign_trunk]" in errors[0]
    )
    assert not (tmp_path / "imported.marker").exists()  # importable, but never imported


@pytest.mark.parametrize("target", NEAR_MISSES)
def test_a_name_that_only_looks_trusted_is_refused_too(tmp_path, monkeypatch, target):
    path = crafted_checkpoint(tmp_path, target)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match=r"which is not trusted|which is not an import path"):
        load_model(CLASSIFIER, path)
    assert not (tmp_path / "imported.marker").exists()


@pytest.mark.parametrize("name", ["", ".foreign_trunk", "foreign_trunk.", "foreign..trunk"])
def test_trusted_modules_must_be_module_names(tmp_path, monkeypatch, name):
    path = crafted_checkpoint(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match=rf"^trusted_modules: '{re.escape(name)}' is not a module name"):
        load_model(CLASSIFIER, path, trusted_modules=[name])
    assert not (tmp_path / "imported.marker").exists()
