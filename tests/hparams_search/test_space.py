"""Hydra's sweep syntax as Optuna distributions, against the values Hydra's own sweeper tries."""

import pytest

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402

from multiout.errors import InputError  # noqa: E402
from multiout.hparams_search.space import search_space, trial_overrides  # noqa: E402


def test_each_sweep_expression_becomes_its_distribution():
    searched, fixed = search_space(
        [
            "lr=tag(log, interval(1e-4, 1e-2))",
            "dropout=interval(0.0, 0.3)",
            "units=tag(log, interval(8, 512))",
            "depth=range(1, 4)",
            "stride=range(0, 10, 3)",
            "width=choice(64, 128)",
            "act=choice(relu, gelu)",
            "data.num_samples=2000",
            "hparams_search=optuna",
        ]
    )
    assert searched["lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert searched["dropout"] == FloatDistribution(0.0, 0.3)
    assert searched["units"] == FloatDistribution(8.0, 512.0, log=True)  # Hydra's interval is of floats
    # Hydra's range excludes its end, as Python's does.
    for key, values in (("depth", range(1, 4)), ("stride", range(0, 10, 3))):
        dist = searched[key]
        assert isinstance(dist, IntDistribution)
        assert list(range(dist.low, dist.high + 1, dist.step)) == list(values)
    assert searched["width"] == CategoricalDistribution([64, 128])
    assert searched["act"] == CategoricalDistribution(["relu", "gelu"])
    assert fixed == {"data.num_samples": "data.num_samples=2000", "hparams_search": "hparams_search=optuna"}


def test_a_later_override_replaces_an_earlier_one():
    searched, fixed = search_space(
        ["depth=range(1, 4)", "width=choice(8, 16)", "depth=2", "width=choice(1, 2)"]
    )
    assert fixed == {"depth": "depth=2"}
    assert searched == {"width": CategoricalDistribution([1, 2])}


def test_a_trial_runs_with_the_fixed_overrides_then_its_values():
    overrides = trial_overrides({"lr": 0.001, "act": "gelu"}, {"seed": "seed=3"})
    assert overrides == ["seed=3", "lr=0.001", "act=gelu"]


def test_an_empty_range_is_an_input_error():
    with pytest.raises(InputError, match=r"depth=range\(3, 1\)"):
        search_space(["depth=range(3, 1)"])
