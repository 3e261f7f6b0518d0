"""A checkpoint whose categories or missing indicators differ from the data's: one clear line."""

import pytest

from multiout.errors import InputError
from multiout.runtime.checkpoints import check_shapes

TRAINED = {"categorical_features": {"region": ["a", "b"], "flag": ["F", "T"]}, "imputed_features": ["x"]}


def test_same_layout_passes():
    check_shapes("m.ckpt", TRAINED, dict(TRAINED), "this run's config")
    check_shapes("m.ckpt", TRAINED, {}, "the data")  # a data module that does not say


def test_other_vocabulary_names_the_column():
    given = {**TRAINED, "categorical_features": {"region": ["a", "b", "c"], "flag": ["F", "T"]}}
    with pytest.raises(
        InputError, match=r"other categorical_features than checkpoint m\.ckpt .*\['region'\]\)"
    ):
        check_shapes("m.ckpt", TRAINED, given, "this run's config")


def test_other_missing_indicators_name_the_columns():
    given = {**TRAINED, "imputed_features": ["y"]}
    with pytest.raises(InputError, match=r"other imputed_features .*\['x', 'y'\]\); give the data"):
        check_shapes("m.ckpt", TRAINED, given, "this run's config", hint="give the data")
