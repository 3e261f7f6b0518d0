"""The part markers: what stays of a shared file when parts are left out."""

import importlib.util

import pytest

from tests.helpers import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    "make_project", REPO_ROOT / "project_template" / "make_project.py"
)
make_project = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_project)

TEXT = """import os
import optuna  # part: optuna


# part: stream
def streamed():
    return 1


# end part
def kept():
    # part: optuna, stream
    both = 2
    # end part
    return os.sep
"""


def test_left_out_lines_go_kept_lines_lose_their_markers_and_blank_runs_merge():
    assert make_project.strip_parts(TEXT, {"stream"}, "t.py") == (
        "import os\nimport optuna\n\n\ndef kept():\n    return os.sep\n"
    )
    assert make_project.strip_parts(TEXT, set(), "t.py") == (
        "import os\nimport optuna\n\n\ndef streamed():\n    return 1\n\n\n"
        "def kept():\n    both = 2\n    return os.sep\n"
    )


def test_markdown_markers_and_a_table_row():
    text = "a\n\n<!-- part: demos -->\n## Demo\n\ntext\n<!-- end part -->\n\n## Next\n| x | y | <!-- part: demos -->\n"
    assert make_project.strip_parts(text, {"demos"}, "t.md") == "a\n\n## Next\n"
    assert make_project.strip_parts(text, set(), "t.md") == "a\n\n## Demo\n\ntext\n\n## Next\n| x | y |\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x  # part: streams\n", r"t.py:1: unknown part \['streams'\]"),
        ("# part: stream\nx\n", "not closed"),
        ("x\n# end part\n", "t.py:2: `end part` without an open `part:`"),
    ],
)
def test_a_marker_mistake_names_the_file_and_line(text, message):
    with pytest.raises(SystemExit, match=message):
        make_project.strip_parts(text, set(), "t.py")


def test_each_part_has_a_question_and_each_glob_matches_a_file():
    questions = (REPO_ROOT / "copier.yml").read_text()
    files = make_project.template_files(REPO_ROOT)
    for part, globs in make_project.PARTS.items():
        need = make_project.NEEDS.get(part)
        if need is None:
            assert f"\n{part}:\n  type: bool\n  default: true\n" in questions, part
        else:  # asked only with the part it needs, after it
            asked = f'\n{part}:\n  type: bool\n  default: "{{{{ {need} }}}}"\n  when: "{{{{ {need} }}}}"\n'
            assert asked in questions, part
            assert questions.index(f"\n{need}:\n") < questions.index(f"\n{part}:\n"), part
        for glob in globs:
            assert any(make_project.fnmatch.fnmatchcase(name, glob) for name in files), (part, glob)


def test_a_part_kept_without_the_part_it_needs_is_refused_before_any_file_is_touched(tmp_path):
    answers = {part: True for part in make_project.PARTS} | {"tables": False}
    (tmp_path / "kept.txt").write_text("mine")
    with pytest.raises(
        SystemExit, match=r"^error: stream needs tables: answer tables=true, or stream=false$"
    ):
        make_project.main(REPO_ROOT, tmp_path, "p", "p", answers)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_parts_without_their_base_need_no_answer_but_every_other_part_does(tmp_path):
    answers = {part: True for part in make_project.PARTS if part not in make_project.NEEDS} | {
        "tables": False
    }
    with pytest.raises(SystemExit, match=r"copier.yml asks no question for the parts \['optuna'\]$"):
        make_project.main(REPO_ROOT, tmp_path, "p", "p", {k: v for k, v in answers.items() if k != "optuna"})
