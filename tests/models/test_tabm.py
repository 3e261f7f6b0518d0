"""The TabM trunk against one member written out by hand; the classifier's ensemble hook."""

import pytest
import torch
import torch.nn.functional as F

from multiout.errors import InputError
from multiout.models.tabm import BatchEnsembleLinear, TabM
from multiout.runtime.build import build, build_model, data_spec
from tests.helpers import compose_train, small_classifier

B, F_IN, K_MEMBERS = 6, 5, 4


def member_by_hand(trunk: TabM, x: torch.Tensor, i: int) -> torch.Tensor:
    """Member i as a plain MLP: each layer `relu(s_i * (W (r_i * h)) + b_i)` (TabM), or the
    input scaled by r_i and then the shared layers (TabM-mini)."""
    h = x
    for layer in trunk.layers:
        if isinstance(layer, BatchEnsembleLinear):
            h = F.linear(h * layer.r[i], layer.weight) * layer.s[i] + layer.bias[i]
        elif isinstance(layer, torch.nn.Linear):
            h = layer(h)
        elif isinstance(layer, torch.nn.ReLU):
            h = h.clamp(min=0)
        elif hasattr(layer, "r"):
            h = h * layer.r[i]
    return h


@pytest.mark.parametrize("adapters", ["all", "first"])
def test_each_member_is_its_own_mlp(adapters):
    torch.manual_seed(0)
    trunk = TabM(F_IN, [8, 7], ensemble_size=K_MEMBERS, dropout=0.0, adapters=adapters)
    for p in trunk.parameters():  # adapters away from their start, so every one matters
        p.data.add_(0.1 * torch.randn_like(p))
    x = torch.randn(B, F_IN)
    out = trunk(x)
    assert out.shape == (B, K_MEMBERS, trunk.out_features) == (B, K_MEMBERS, 7)
    for i in range(K_MEMBERS):
        torch.testing.assert_close(out[:, i], member_by_hand(trunk, x, i))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_members_start_apart_through_random_signs_and_share_the_rest():
    torch.manual_seed(1)
    trunk = TabM(F_IN, [8, 8], ensemble_size=K_MEMBERS, dropout=0.0)
    first, second = trunk.layers[0], trunk.layers[3]
    assert set(first.r.unique().tolist()) == {-1.0, 1.0}
    assert (second.r == 1).all() and (first.s == 1).all() and (second.s == 1).all()
    assert (first.bias == first.bias[0]).all()  # one shared starting bias
    mini = TabM(F_IN, [8, 8], ensemble_size=K_MEMBERS, adapters="first")
    # TabM-mini's only member-specific parameters: k input scalings.
    shared = sum(p.numel() for n, p in mini.named_parameters() if not n.endswith(".r"))
    assert sum(p.numel() for p in mini.parameters()) - shared == K_MEMBERS * F_IN


def test_classifier_trains_each_member_and_predicts_their_mean_probability():
    net = {
        "_target_": "multiout.models.tabm.TabM",
        "hidden_sizes": [8],
        "ensemble_size": K_MEMBERS,
        "dropout": 0.0,
    }
    model = small_classifier(num_features=F_IN, num_channels=3, net=net, class_weights="balanced")
    model.class_weight.copy_(torch.rand(3, 3) + 0.5)
    x, target = torch.randn(B, F_IN), torch.randint(0, 3, (B, 3))
    target[0, 1] = -100
    members = model.train()(x)
    assert members.shape == (B, 3, 3, K_MEMBERS)
    # Training: the mean over members of each member's own (class-weighted) loss.
    per_member = [
        F.cross_entropy(members[..., i], target, reduction="none", ignore_index=-100)
        for i in range(K_MEMBERS)
    ]
    weights = torch.stack([model.class_weight[c, target[:, c].clamp(min=0)] for c in range(3)], 1)
    weights = weights * (target != -100)
    expected = sum((loss * weights).sum() / weights.sum() for loss in per_member) / K_MEMBERS
    loss, _ = model.loss(members, target)
    torch.testing.assert_close(loss, expected)
    # Evaluation: one model whose probabilities are the members' mean.
    logits = model.eval()(x)
    mean_probability = sum(members[..., i].softmax(dim=1) for i in range(K_MEMBERS)) / K_MEMBERS
    torch.testing.assert_close(logits.softmax(dim=1), mean_probability)
    torch.testing.assert_close(logits.exp().sum(dim=1), torch.ones(B, 3))


@pytest.mark.parametrize(
    ("key", "value"),
    [("ensemble_size", 0), ("adapters", "some"), ("hidden_sizes", []), ("dropout", 1.0), ("norm", "batch")],
)
def test_bad_settings_are_input_errors(key, value):
    with pytest.raises(InputError, match=rf"model\.net\.{key}"):
        TabM(**{"in_features": 3, "hidden_sizes": [4], key: value})


def test_model_net_tabm_swaps_the_trunk_by_config_only():
    # An experiment written for the MLP takes the trunk too.
    cfg = compose_train("experiment=wide_mlp", "model/net=tabm", "model.net.ensemble_size=3")
    spec = data_spec(build(cfg.data), cfg.data)
    model = build_model(cfg.model, spec).eval()
    assert isinstance(model.trunk, TabM) and model.trunk.ensemble_size == 3
    assert model.trunk.out_features == 256  # the experiment's hidden_sizes: [512, 512, 256]
    assert model(torch.randn(4, *spec.input.shape)).shape == (4, 3, 47)
