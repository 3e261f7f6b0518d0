"""Each split of the configured data as a scikit-learn table: features as a data frame (strings
as categories, gaps as NaN) and class ids `[N, C]`, from the split tensors of the data module
(the built-in synthetic data, or your own)."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import numpy as np
import pandas as pd
from baseline_tables import table_frames  # part: tables
from omegaconf import DictConfig

from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS
from multiout.data.tables.datamodule import TabularDataModule  # part: tables


@dataclass
class Split:
    """Features (strings as pandas categories of the training split's values) and class ids
    `[N, C]` (`ignore_index` where a label is missing)."""

    x: pd.DataFrame
    y: np.ndarray


def category_columns(x: pd.DataFrame) -> list[str]:
    return [name for name in x.columns if isinstance(x[name].dtype, pd.CategoricalDtype)]


def split_frames(data: DictConfig, datamodule: L.LightningDataModule, spec: DataSpec) -> dict[str, Split]:
    """The train/val/test splits of `datamodule`, built from the data config `data`; examples of
    more than one dimension (windows `[L, F]`, ...) flattened into one row each."""
    # part: tables
    # A table is read from its file as it is, so the baselines see its strings and gaps.
    if isinstance(datamodule, TabularDataModule):
        return {s: Split(x, y) for s, (x, y) in table_frames(data, spec).items()}
    # end part
    datamodule.setup("fit")
    splits = {s: datamodule.examples(s) for s in SPLITS}
    return {
        s: Split(pd.DataFrame(x.flatten(1).numpy()).add_prefix("x"), y.numpy())
        for s, (x, y) in splits.items()
    }
