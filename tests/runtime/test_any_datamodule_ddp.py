"""Any LightningDataModule is sharded under DDP, not only the template's own."""

from __future__ import annotations

import os

import pytest

from tests.helpers import REPO_ROOT, run_script


@pytest.mark.slow
def test_a_plain_dataloader_data_module_is_sharded_under_ddp_sim(tmp_path):
    rows_dir = tmp_path / "rows"
    result = run_script(
        "train.py", f"hydra.run.dir={tmp_path / 'run'}", "trainer=ddp_sim", "trainer.max_epochs=1",
        "~data", "+data._target_=tests.helpers.PlainLoaderData", "+data.num_samples=512",
        "+callbacks.rows._target_=tests.helpers.RecordTrainingRows", f"+callbacks.rows.dirpath={rows_dir}",
        "callbacks.per_channel_report=null", "trainer.enable_progress_bar=false", "callbacks.rich_progress_bar=null",
        cwd=tmp_path, env={"PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = [[int(line) for line in (rows_dir / f"rows_{rank}.txt").read_text().split()] for rank in (0, 1)]
    # Each process trained on its own half: together every row once, none twice.
    assert len(seen[0]) == len(seen[1]) == 256
    assert sorted(seen[0] + seen[1]) == list(range(512))
