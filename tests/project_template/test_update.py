"""`copier update`: a project made from an earlier release takes a later one."""

import pytest

from tests.project_template.template import PACKAGE, clone_template, copier, copy_project, run_tests, sh

LEFT_OUT = ["stream", "demos"]


def replace_line(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_a_later_release_arrives_own_edits_stay_and_only_shared_lines_conflict(tmp_path):
    template = clone_template(tmp_path)
    sh("git", "tag", "1.0.0", cwd=template)  # the earlier release: this commit
    project = tmp_path / "project"
    copy_project(template, project, left_out=LEFT_OUT, vcs_ref="1.0.0")
    sh("git", "init", "--quiet", cwd=project)
    sh("git", "add", "-A", cwd=project)
    sh("git", "commit", "--quiet", "-m", "Start from the template", cwd=project)

    # The project's own edits: a file the next release changes too (same line, and another
    # line of it), and one it leaves alone.
    replace_line(project / "conf" / "train.yaml", "seed: 42\n", "seed: 7\n")
    replace_line(project / "conf" / "train.yaml", "cpu_threads: auto\n", "cpu_threads: 2\n")
    mlp = project / "src" / PACKAGE / "models" / "mlp.py"
    mlp.write_text(mlp.read_text() + "\n# Our own note.\n")
    sh("git", "commit", "--quiet", "-am", "Our settings", cwd=project)

    # The later release: the same line of conf/train.yaml, another line of it, and a file
    # the project did not touch.
    replace_line(template / "conf" / "train.yaml", "seed: 42\n", "seed: 123\n")
    replace_line(template / "conf" / "train.yaml", "print_config: true\n", "print_config: false\n")
    resmlp = template / "src" / "multiout" / "models" / "resmlp.py"
    resmlp.write_text(resmlp.read_text() + "\n# From the later release of multiout.\n")
    sh("git", "commit", "--quiet", "-am", "A later release", cwd=template)

    # Uncommitted changes: Copier refuses, in one line, and changes nothing.
    (project / "README.md").write_text((project / "README.md").read_text() + "draft\n")
    refused = copier("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project, check=False)
    assert (
        refused.returncode != 0
        and "Destination repository is dirty" in refused.stderr.strip().splitlines()[-1]
    )
    assert sh("git", "status", "--porcelain", cwd=project).stdout == " M README.md\n"
    sh("git", "checkout", "--", "README.md", cwd=project)

    copier("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)

    # The release's change to an untouched file arrives, renamed; the project's own edit stays.
    assert (
        (project / "src" / PACKAGE / "models" / "resmlp.py")
        .read_text()
        .endswith(f"\n# From the later release of {PACKAGE}.\n")
    )
    assert mlp.read_text().endswith("\n# Our own note.\n")
    train = (project / "conf" / "train.yaml").read_text()
    assert "print_config: false\n" in train and "cpu_threads: 2\n" in train  # both sides' own lines
    # Only the line both changed conflicts, and nowhere else.
    assert "<<<<<<< before updating\nseed: 7\n=======\nseed: 123\n>>>>>>> after updating\n" in train
    status = sh("git", "status", "--porcelain", cwd=project).stdout.splitlines()
    assert sorted(status) == sorted(
        [
            "UU conf/train.yaml",
            " M .copier-answers.yml",
            f" M src/{PACKAGE}/models/resmlp.py",
        ]
    )
    # Left-out parts stay out, and the package keeps its name.
    assert not list(project.rglob("*stream*.py")) and not (project / "data").exists()
    assert not (project / "src" / "multiout").exists()

    replace_line(project / "conf" / "train.yaml", "<<<<<<< before updating\nseed: 7\n=======\n", "")
    replace_line(project / "conf" / "train.yaml", ">>>>>>> after updating\n", "")
    run_tests(project, "tests/runtime/test_configs.py", "tests/models/test_resmlp.py", "-m", "not slow")
