"""The residual trunk: shapes, residual path, and a swap by config alone."""

import pytest
import torch
from hydra import compose, initialize_config_dir

from multiout.errors import InputError
from multiout.models.resmlp import ResidualMLP
from multiout.runtime.build import build, build_model, data_spec
from tests.helpers import REPO_ROOT


def test_shapes_and_identity_blocks():
    trunk = ResidualMLP(in_features=7, width=12, depth=2, expansion=3, dropout=0.0)
    x = torch.randn(5, 7)
    assert trunk(x).shape == (5, trunk.out_features) == (5, 12)
    for block in trunk.blocks:  # a block whose last layer is zero passes its input through
        torch.nn.init.zeros_(block.body[-1].weight)
        torch.nn.init.zeros_(block.body[-1].bias)
    torch.testing.assert_close(trunk(x), trunk.norm(trunk.stem(x)))


def test_bad_width_is_an_input_error():
    with pytest.raises(InputError, match=r"model\.net\.width"):
        ResidualMLP(in_features=3, width=0)


def test_model_resmlp_swaps_the_trunk_by_config_only():
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["model=resmlp", "data.num_samples=100", "model.net.depth=2"])
    data = build(cfg.data)
    model = build_model(cfg.model, data_spec(data, cfg.data))
    assert isinstance(model.trunk, ResidualMLP) and len(model.trunk.blocks) == 2
    assert model(torch.randn(4, data.num_features)).shape == (4, data.num_classes, data.num_channels)
