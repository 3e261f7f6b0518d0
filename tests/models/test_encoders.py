"""The input encoders: standardization, embeddings, imputation and indicators, checked against
hand-made tensors; any input shape."""

import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from multiout.data.spec import DataSpec
from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.encoders import PlainEncoder, TabularEncoder, build_encoder, embedding_size
from tests.helpers import spec_dict

NAN = float("nan")
VOCABS = {"region": ["east", "north", "south", None], "flag": ["False", "True"]}


def FeatureEncoder(names, categorical=None, imputed=None, embedding_dim=None, shape=None, stats=None):
    """The tabular encoder of features `names`, standardizing with mean 0 and std 1 (or `stats`)."""
    spec = DataSpec.from_dict(
        spec_dict(
            shape=shape or [len(names)],
            feature_names=list(names),
            categorical=dict(categorical or {}),
            imputed=list(imputed or []),
            statistics=stats,
        )
    )
    return TabularEncoder(spec.input, embedding_dim)


def test_embedding_size_follows_the_documented_rule():
    by_hand = {2: round(1.6 * 2**0.56), 5: round(1.6 * 5**0.56), 50: round(1.6 * 50**0.56)}
    assert {n: embedding_size(n) for n in by_hand} == by_hand == {2: 2, 5: 4, 50: 14}
    assert embedding_size(10_000) == 16  # capped
    encoder = FeatureEncoder(["a", "region", "flag"], VOCABS, [], embedding_dim=3)
    assert [e.embedding_dim for e in encoder.embeddings] == [3, 3] and encoder.out_shape == [1 + 6]


def test_embedding_lookup_equals_one_hot_times_the_weight():
    encoder = FeatureEncoder(["a", "region", "b", "flag"], VOCABS, [])
    codes = {"region": torch.tensor([0, 1, 2, 3, 4, 1]), "flag": torch.tensor([2, 1, 0, 0, 2, 1])}
    x = torch.randn(6, 4)
    x[:, 1], x[:, 3] = codes["region"].float(), codes["flag"].float()
    out = encoder(x)
    torch.testing.assert_close(out[:, :2], x[:, [0, 2]])  # the numbers, unchanged
    start = 2
    for (name, vocab), embedding in zip(VOCABS.items(), encoder.embeddings, strict=True):
        one_hot = F.one_hot(codes[name], len(vocab) + 1).float()
        width = embedding.embedding_dim
        torch.testing.assert_close(out[:, start : start + width], one_hot @ embedding.weight)
        start += width
    assert [start] == encoder.out_shape == [out.shape[1]]


def test_a_category_out_of_range_or_nan_reads_as_unknown():
    encoder = FeatureEncoder(["region"], {"region": VOCABS["region"]})
    x = torch.tensor([[7.0], [-2.0], [NAN], [0.0]])
    weight = encoder.embeddings[0].weight
    torch.testing.assert_close(encoder(x), weight[[0, 0, 0, 0]])


def test_missing_numbers_take_the_training_median_and_set_their_indicator():
    stats = {"mean": [1.0, 2.0, 3.0], "std": [2.0, 4.0, 0.5], "median": [10.0, 20.0, 30.0]}
    encoder = FeatureEncoder(["a", "b", "c"], {}, ["c"], stats=stats)
    x = torch.tensor([[1.0, NAN, NAN], [NAN, 2.0, 3.5]])
    by_hand = torch.tensor(  # (value or median - mean) / std, then the indicator of c
        [[0.0, (20 - 2) / 4, (30 - 3) / 0.5, 1.0], [(10 - 1) / 2, 0.0, 1.0, 0.0]]
    )
    torch.testing.assert_close(encoder(x), by_hand)


def test_windows_are_encoded_row_by_row():
    encoder = FeatureEncoder(["a", "region", "b"], {"region": VOCABS["region"]}, ["b"], shape=[5, 3])
    x = torch.randn(4, 5, 3)
    x[..., 1] = torch.randint(0, 5, (4, 5)).float()
    x[0, 2, 2] = NAN
    rows = encoder(x.reshape(20, 3)).reshape(4, 5, -1)
    assert encoder.out_shape == [5, rows.shape[-1]]
    torch.testing.assert_close(encoder(x), rows)


def test_the_plain_encoder_passes_any_shape_through():
    spec = DataSpec.from_dict(spec_dict(shape=[3, 8, 8]))
    encoder = build_encoder(spec.input)
    x = torch.randn(2, 3, 8, 8)
    assert isinstance(encoder, PlainEncoder) and encoder(x) is x and encoder.out_shape == [3, 8, 8]
    assert not list(encoder.state_dict())


def test_unknown_feature_names_and_a_bad_embedding_dim_are_refused():
    with pytest.raises(InputError, match="not among the feature names"):
        FeatureEncoder(["a"], {"b": ["x"]})
    with pytest.raises(InputError, match=r"model\.embedding_dim must be a positive integer or null, got 0"):
        FeatureEncoder(["a"], {"a": ["x"]}, embedding_dim=0)


def categorical_model() -> MultiOutputClassifier:
    stats = {"mean": [0.0, 0.0, 1.0, 0.0], "std": [1.0, 1.0, 2.0, 1.0], "median": [0.5, 0.0, -2.0, 0.0]}
    names = ["a", "region", "b", "flag"]
    return MultiOutputClassifier(
        data=spec_dict(
            num_channels=3, feature_names=names, categorical=VOCABS, imputed=["b"], statistics=stats
        ),
        net={"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
        optimizer={"_target_": "torch.optim.AdamW"},
    )


def test_trunk_reads_the_encoders_output():
    model = categorical_model()
    widths = 2 + 1 + sum(embedding_size(len(v) + 1) for v in VOCABS.values())
    assert model.encoder.out_shape == [widths] and widths == model.trunk[0].in_features


def test_checkpoint_with_categories_loads_with_weights_only(tmp_path):
    model = categorical_model()
    trainer = L.Trainer(max_epochs=0, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)  # raises on any pickled object
    assert saved["hyper_parameters"]["data"]["input"]["categorical"] == VOCABS
    restored = MultiOutputClassifier.load_from_checkpoint(path, weights_only=True)
    x = torch.tensor([[1.0, 4.0, NAN, 2.0], [NAN, 0.0, 3.0, 1.0]])
    model.eval()
    restored.eval()
    assert torch.equal(model(x), restored(x)) and not math.isnan(restored(x).sum().item())
