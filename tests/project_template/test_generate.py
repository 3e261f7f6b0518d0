"""`copier copy`: a project with every part, one with none, and the inputs it refuses."""

import re
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT
from tests.project_template.template import (
    PACKAGE,
    PARTS,
    clone_template,
    copier,
    copy_project,
    mentions,
    run_tests,
    sh,
    src_lines,
    text_files,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return clone_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def projects(template):
    full, minimal = template.parent / "full", template.parent / "minimal"
    copy_project(template, full)
    copy_project(template, minimal, left_out=PARTS)
    return full, minimal


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS)
def test_a_left_out_part_leaves_no_trace_and_a_kept_one_stays(projects, part):
    full, minimal = projects
    assert mentions(full, part)  # the names to look for are the part's own
    assert not mentions(minimal, part)


@pytest.mark.slow
def test_the_project_has_its_own_name_and_remembers_the_template(projects):
    for project in projects:
        assert (project / "src" / PACKAGE / "__init__.py").is_file()
        assert not (project / "src" / "multiout").exists()
        stale = [
            f"{p.relative_to(project)}"
            for p, text in text_files(project)
            if re.search(r"\bmultiout(\b|_)", text)
        ]
        assert not stale
        assert 'name = "churn-model"' in (project / "pyproject.toml").read_text()
        answers = (project / ".copier-answers.yml").read_text()
        assert "\n_commit: " in answers and "\nproject_name: churn-model\n" in answers
        for only_in_the_template in [
            "copier.yml",
            "project_template",
            "tests/project_template",
            "CHANGELOG.md",
        ]:
            assert not (project / only_in_the_template).exists()
    full, _ = projects
    assert [p.name for p in (full / "src" / "hydra_plugins").iterdir()] == [f"{PACKAGE}_optuna_sweeper"]
    # Every part kept: the same files as this repository, but for what only the template needs.
    tracked = sh("git", "ls-files", cwd=REPO_ROOT).stdout.splitlines()
    own = {n for n in tracked if not n.startswith(("project_template/", "tests/project_template/"))}
    own -= {"copier.yml", "CHANGELOG.md", "{{ _copier_conf.answers_file }}.jinja"}
    copied = {str(p.relative_to(full)).replace(PACKAGE, "multiout") for p, _ in text_files(full)}
    copied |= {str(p.relative_to(full)) for p in full.rglob("*.csv")}
    assert own - copied == set()


@pytest.mark.slow
def test_the_minimal_project_is_smaller_imports_every_module_and_passes_its_config_tests(projects):
    full, minimal = projects
    # A project with no optional part carries at most half of the template's src/ (README).
    assert src_lines(minimal) <= 0.5 * src_lines(full), (src_lines(minimal), src_lines(full))
    walk = (
        f"import importlib, pkgutil, {PACKAGE}; "
        f"[importlib.import_module(m.name) for m in pkgutil.walk_packages({PACKAGE}.__path__, '{PACKAGE}.')]"
    )
    sh(sys.executable, "-c", walk, cwd=minimal, env={"PYTHONPATH": str(minimal / "src")})
    # Every config of the project composes and builds its `_target_`s; a run trains in-process.
    run_tests(minimal, "tests/runtime/test_configs.py", "-k", "composes or builds or fast_dev_run_of")


def one_line_refusal(result: subprocess.CompletedProcess, message: str) -> None:
    """Copier refuses before writing anything; its last line names the question and the problem."""
    assert result.returncode != 0
    assert message in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("2fast", "project name must give a Python identifier as package name"),
        ("my.pkg", "project name must give a Python identifier as package name"),
        ("class", "project name must give a Python identifier as package name"),
        (
            "torch",
            "project name 'torch' gives the package name 'torch', which shadows a module the project imports",
        ),
        (
            "lightning",
            "project name 'lightning' gives the package name 'lightning', which shadows a module the project imports",
        ),
    ],
)
def test_a_bad_project_name_writes_nothing(template, tmp_path, name, message):
    result = copy_project(template, tmp_path / "new", name=name, check=False)
    one_line_refusal(result, f"Validation error for question 'project_name': {message}")
    assert not (tmp_path / "new").exists()


def test_a_destination_that_is_not_empty_is_left_as_it_was(template, tmp_path):
    dest = tmp_path / "notes"
    (dest / "old").mkdir(parents=True)
    (dest / "old" / "todo.txt").write_text("mine")
    result = copy_project(template, dest, check=False)
    one_line_refusal(result, f"destination {dest} is not empty")
    assert sorted(p.name for p in dest.rglob("*")) == ["old", "todo.txt"]


def test_a_part_given_without_the_part_it_needs_writes_nothing(template, tmp_path):
    answers = ["-d", "project_name=churn-model", "-d", "tables=false", "-d", "stream=true"]
    result = copier("copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "HEAD", *answers, template,
                    tmp_path / "new", cwd=tmp_path, check=False)  # fmt: skip
    one_line_refusal(
        result,
        "Validation error for question 'stream': stream needs tables: add -d tables=true, or leave stream out",
    )
    assert not (tmp_path / "new").exists()


def test_without_tables_the_parts_that_read_them_are_not_asked_and_left_out(template, tmp_path):
    copy_project(template, tmp_path / "new", left_out=["tables"])
    answers = (tmp_path / "new" / ".copier-answers.yml").read_text()
    assert "\ntables: false\n" in answers and "\noptuna: true\n" in answers
    assert not re.search(r"^(stream|windows|demos):", answers, flags=re.M)  # not asked, not recorded
    for part in ("tables", "stream", "windows", "demos"):
        assert not mentions(tmp_path / "new", part), part
    assert mentions(tmp_path / "new", "optuna")
