import json
import os
import stat

from multiout.runtime.atomic import write_json_atomic


def test_json_is_written_whole_with_a_plain_files_mode(tmp_path):
    path = write_json_atomic(tmp_path / "metrics.json", {"a": 1.5, "per_channel": [0.5, float("nan")]})
    assert json.loads(path.read_text()) == {"a": 1.5, "per_channel": [0.5, None]}  # NaN -> null
    plain = tmp_path / "plain"
    plain.write_text("")
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
