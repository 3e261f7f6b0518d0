import math

import numpy as np
import torch
from sklearn.metrics import f1_score

from multiout.metrics.per_channel import PerChannelConfusionMatrix
from multiout.metrics.report import channel_rows, write_rows_csv
from multiout.metrics.results import PER_CHANNEL, stage_result

B, K, C, IGNORE = 80, 3, 4, -100


def test_rows_match_sklearn_and_a_hand_count_and_mark_unlabelled_channels(tmp_path):
    g = torch.Generator().manual_seed(0)
    preds = torch.randint(0, K, (B, C), generator=g)
    target = torch.randint(0, K, (B, C), generator=g)
    target[torch.rand(B, C, generator=g) < 0.2] = IGNORE
    target[:, 3] = IGNORE  # a channel without labels
    metric = PerChannelConfusionMatrix(C, K, IGNORE)
    metric.update(preds, target)
    rows = channel_rows(stage_result(metric.compute(), torch.tensor(0.5)), ["a", "b", "c", "d"])
    for c, row in enumerate(rows[:3]):
        keep = target[:, c] != IGNORE
        y, p = target[keep, c].numpy(), preds[keep, c].numpy()
        assert row["support"] == keep.sum()
        assert row["acc"] == (y == p).mean()
        assert row["majority_acc"] == np.bincount(y).max() / len(y)
        assert math.isclose(row["macro_f1"], f1_score(y, p, average="macro", labels=np.union1d(y, p)))
    assert rows[3]["support"] == 0 and math.isnan(rows[3]["acc"])
    lines = write_rows_csv(tmp_path / "per_channel.csv", rows).read_text().splitlines()
    assert lines[0] == ",".join(["channel", *PER_CHANNEL, "majority_acc", "support"])
    assert lines[4] == "d" + "," * (len(PER_CHANNEL) + 1) + ",0"  # no labels: empty, not 0 or 1
