"""Periodic (PLR) embeddings against a loop over features and frequencies; the trunk's contract."""

import math

import pytest
import torch

from multiout.errors import InputError
from multiout.models.plr import PLRMLP, PeriodicEmbeddings, PLRTabM
from multiout.runtime.build import build, build_model, data_spec
from tests.helpers import compose_train

B, F, N, D = 5, 4, 3, 6


def embed_by_hand(emb: PeriodicEmbeddings, x: torch.Tensor) -> torch.Tensor:
    """ReLU(bias_j + sum_i W_j[i] * periodic_i) for each sample and feature, one number at a time."""
    out = torch.zeros(B, F, D, dtype=torch.float64)
    for b in range(B):
        for j in range(F):
            features = []
            for c in emb.frequencies[j].tolist():
                features.append(math.cos(2 * math.pi * c * x[b, j].item()))
            for c in emb.frequencies[j].tolist():
                features.append(math.sin(2 * math.pi * c * x[b, j].item()))
            weight = emb.weight if emb.lite else emb.weight[j]
            bias = emb.bias if emb.lite else emb.bias[j]
            for o in range(D):
                value = bias[o].item() + sum(v * weight[i, o].item() for i, v in enumerate(features))
                out[b, j, o] = max(value, 0.0)
    return out


@pytest.mark.parametrize("lite", [False, True])
def test_embeddings_equal_the_formula(lite):
    torch.manual_seed(0)
    emb = PeriodicEmbeddings(F, D, N, frequency_scale=0.5, lite=lite)
    x = torch.randn(B, F)
    with torch.no_grad():
        got = emb(x)
    assert got.shape == (B, F, D)
    torch.testing.assert_close(got.double(), embed_by_hand(emb, x), atol=1e-5, rtol=1e-5)


def test_lite_shares_one_linear_and_full_has_one_per_feature():
    full, lite = (PeriodicEmbeddings(F, D, N, 0.1, lite=flag) for flag in (False, True))
    assert full.weight.shape == (F, 2 * N, D) and full.bias.shape == (F, D)
    assert lite.weight.shape == (2 * N, D) and lite.bias.shape == (D,)


def test_frequencies_start_near_the_scale_and_never_beyond_three_of_it():
    torch.manual_seed(1)
    frequencies = PeriodicEmbeddings(200, 2, 50, frequency_scale=0.2, lite=True).frequencies
    assert frequencies.abs().max() <= 0.6
    assert frequencies.std().item() == pytest.approx(0.2, rel=0.1)


def test_trunk_maps_features_to_out_features():
    trunk = PLRMLP(in_features=F, hidden_sizes=[16, 8], d_embedding=D, n_frequencies=N)
    assert trunk.mlp[0].in_features == F * D
    assert trunk(torch.randn(B, F)).shape == (B, trunk.out_features) == (B, 8)


@pytest.mark.parametrize(
    ("key", "value"), [("d_embedding", 0), ("n_frequencies", 0), ("frequency_scale", 0.0)]
)
def test_bad_settings_are_input_errors(key, value):
    with pytest.raises(InputError, match=rf"model\.net\.{key}"):
        PLRMLP(in_features=F, hidden_sizes=[8], **{key: value})


def test_model_net_plr_mlp_swaps_the_trunk_by_config_only():
    cfg = compose_train("model/net=plr_mlp", "data.num_samples=100", "model.net.lite=true")
    data = build(cfg.data)
    model = build_model(cfg.model, data_spec(data, cfg.data))
    assert isinstance(model.trunk, PLRMLP) and model.trunk.embeddings.lite
    assert model(torch.randn(4, data.num_features)).shape == (4, data.num_classes, data.num_channels)


def test_tabm_members_read_the_same_embeddings():
    trunk = PLRTabM(
        in_features=F, hidden_sizes=[16, 8], ensemble_size=3, d_embedding=D, n_frequencies=N
    ).eval()
    seen = []
    trunk.tabm.layers[0].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x = torch.randn(B, F)
    out = trunk(x)
    assert out.shape == (B, 3, 8) and trunk.ensemble_size == 3
    # The first member layer gets the flattened embeddings (checked against the formula above),
    # the same for every member; the members' adapters then make their outputs differ.
    (members_in,) = seen
    assert members_in.shape == (B, 3, F * D)
    for member in range(3):
        torch.testing.assert_close(members_in[:, member], trunk.embeddings(x).flatten(1))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_model_net_plr_tabm_swaps_the_trunk_by_config_only():
    cfg = compose_train("model/net=plr_tabm", "data.num_samples=100", "model.net.ensemble_size=2")
    data = build(cfg.data)
    model = build_model(cfg.model, data_spec(data, cfg.data)).eval()
    assert isinstance(model.trunk, PLRTabM) and model.trunk.embeddings.lite
    assert model(torch.randn(4, data.num_features)).shape == (4, data.num_classes, data.num_channels)
