"""A checkpoint whose data looks other to the model than this run's: one clear line."""

import pytest

from multiout.data.spec import DataSpec
from multiout.errors import InputError
from multiout.runtime.checkpoints import check_same_data
from tests.helpers import spec_dict

VOCABS = {"region": ["a", "b"], "flag": ["F", "T"]}


def spec(**changes) -> DataSpec:
    options = {"feature_names": ["region", "flag", "x"], "categorical": VOCABS, "imputed": ["x"]}
    return DataSpec.from_dict(spec_dict(**{**options, **changes}))


def test_same_data_passes_whatever_its_statistics():
    stats = {"mean": [0.0, 0.0, 5.0], "std": [1.0, 1.0, 2.0], "median": [0.0, 0.0, 4.0]}
    check_same_data("m.ckpt", spec(), spec(statistics=stats))


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"categorical": {"region": ["a", "b", "c"], "flag": ["F", "T"]}}, "categorical features"),
        ({"imputed": []}, "imputed features"),
        ({"feature_names": ["region", "flag", "y"], "imputed": ["y"]}, "features"),
        ({"label_values": [-1, 0, 1]}, "label values"),
        ({"num_channels": 5}, "channels"),
    ],
)
def test_data_that_differs_names_what_differs_and_the_hint(changes, what):
    with pytest.raises(
        InputError, match=rf"other {what} than checkpoint m\.ckpt was trained with .*; give the data"
    ):
        check_same_data("m.ckpt", spec(), spec(**changes), hint="give the data")
