"""A checkpoint trained with its own label values is read in them by evaluate.py and predict.py,
which take them from its data spec (the config's default is [-1, 0, 1]). In-process, with a few
hundred rows."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from tests.data.tabular_files import CHANNELS, labelled_frame
from tests.helpers import read_metrics, run_in_process

# Down the list: 1, 0, -1 are class ids 0, 1, 2, the reverse of the config's default [-1, 0, 1].
TRAINED_LABELS = "data.label_values=[1,0,-1]"
QUIET = [
    "logger=none",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A training run with labels [1, 0, -1], then predict.py on its test file with the default."""
    root = tmp_path_factory.mktemp("label_values")
    files = []
    for split, (n, seed) in {"train": (400, 1), "val": (100, 2), "test": (200, 3)}.items():
        labelled_frame(n, seed).to_csv(root / f"{split}.csv", index=False)
        files.append(f"data.{split}_path={root / f'{split}.csv'}")
    # One epoch of 25 steps at a high learning rate: learnt well enough to score 0.7 or more.
    fast = [
        "data.batch_size=16",
        "model.net.hidden_sizes=[16]",
        "model.optimizer.lr=0.03",
        "trainer.max_epochs=1",
    ]
    code, stderr = run_in_process(
        "train",
        f"hydra.run.dir={root / 'train'}",
        "data=tabular",
        "data.id_column=key",
        *QUIET,
        *fast,
        *files,
        TRAINED_LABELS,
    )
    assert code == 0, stderr[-20:]
    metrics = read_metrics(root / "train")
    code, stderr = run_in_process(
        "predict", f"hydra.run.dir={root / 'predict'}", f"ckpt_path={metrics['ckpt_path']}",
        f"data.predict_path={root / 'test.csv'}",
    )  # fmt: skip
    assert code == 0, stderr[-20:]
    return root, metrics, pd.read_csv(root / "predict" / "predictions.csv"), pd.read_csv(root / "test.csv")


def sklearn_accuracy(truth: pd.DataFrame, predicted: pd.DataFrame) -> list[float]:
    """Per channel, over the labelled rows: computed here, independently of the template's metrics."""
    return [
        accuracy_score(truth[name].dropna(), predicted.loc[truth[name].notna(), name]) for name in CHANNELS
    ]


def test_predict_names_the_labels_the_checkpoint_was_trained_with(trained):
    _, metrics, predicted, truth = trained
    assert predicted["key"].tolist() == truth["key"].tolist()
    assert set(predicted[CHANNELS].to_numpy().ravel()) <= {-1, 0, 1}
    assert sklearn_accuracy(truth, predicted) == pytest.approx(metrics["test/acc_per_channel"], abs=1e-12)
    assert min(metrics["test/acc_per_channel"]) > 0.5  # learnt, so labels read swapped would show


def test_evaluate_scores_a_file_in_the_checkpoints_label_values(trained, entry):
    root, metrics, predicted, truth = trained
    code, stderr = entry(
        "evaluate", f"hydra.run.dir={root / 'evaluate'}", f"ckpt_path={metrics['ckpt_path']}", *QUIET,
        f"data.test_path={root / 'test.csv'}",
    )  # fmt: skip
    assert code == 0, stderr[-20:]
    evaluated = read_metrics(root / "evaluate")["test/acc_per_channel"]
    assert evaluated == pytest.approx(sklearn_accuracy(truth, predicted), abs=1e-12)
    assert evaluated == pytest.approx(metrics["test/acc_per_channel"], abs=1e-12)


@pytest.mark.parametrize(
    ("override", "checkpoint_value"),
    [("data.label_values=[-1,0,1]", "[1, 0, -1]"), ("data.target_columns=[y_up]", "'y_*'")],
)
def test_an_override_of_what_the_model_sees_names_the_key_the_value_and_the_checkpoints(
    trained, override, checkpoint_value
):
    root, metrics, _, _ = trained
    run_dir = root / "conflict"
    code, stderr = run_in_process(
        "evaluate", f"hydra.run.dir={run_dir}", f"ckpt_path={metrics['ckpt_path']}", override
    )
    assert code == 2
    line = stderr[-1]
    assert override in line and checkpoint_value in line, line
    assert not (run_dir / "metrics.json").exists()
