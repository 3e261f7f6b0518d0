"""`copier update`: a project made from an earlier release takes a later one."""

import pytest

from tests.project_template.template import PACKAGE, clone_template, copier, copy_project, run_tests, sh

LEFT_OUT = ["stream", "demos"]
BASE = "0.0.0.dev0"  # a tag the repository will not have
SEED = "# Seeds torch, numpy and Python in every process; also the per-epoch shuffle order.\n"


def replace_line(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_a_later_release_arrives_own_edits_stay_and_only_shared_lines_conflict(tmp_path):
    template = clone_template(tmp_path)
    sh("git", "tag", BASE, cwd=template)  # the earlier release: this commit
    project = tmp_path / "project"
    copy_project(template, project, left_out=LEFT_OUT, vcs_ref=BASE)
    sh("git", "init", "--quiet", cwd=project)
    sh("git", "add", "-A", cwd=project)
    sh("git", "commit", "--quiet", "-m", "Start from the template", cwd=project)

    # The project's own edits: a file the next release changes too (same line, and another
    # line of it), and one it leaves alone.
    train = project / "conf" / "train.yaml"
    replace_line(train, SEED, "# Seeds everything: our note.\n")
    replace_line(train, "# torch's CPU threads per process.", "# CPU threads: our note.")
    mlp = project / "src" / PACKAGE / "models" / "mlp.py"
    mlp.write_text(mlp.read_text() + "\n# Our own note.\n")
    sh("git", "commit", "--quiet", "-am", "Our settings", cwd=project)

    # The later release: the same line of conf/train.yaml, another line of it, and a file
    # the project did not touch.
    replace_line(
        template / "conf" / "train.yaml", SEED, "# Seeds torch, numpy and Python: the release's note.\n"
    )
    replace_line(template / "conf" / "train.yaml", "# Print the composed config", "# Print the whole config")
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
    merged = train.read_text()
    assert (
        "# Print the whole config" in merged and "# CPU threads: our note." in merged
    )  # each side's own line
    # Only the line both changed conflicts, and nowhere else.
    assert (
        "<<<<<<< before updating\n# Seeds everything: our note.\n=======\n"
        "# Seeds torch, numpy and Python: the release's note.\n>>>>>>> after updating\nseed: 42\n"
    ) in merged
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

    replace_line(train, "<<<<<<< before updating\n# Seeds everything: our note.\n=======\n", "")
    replace_line(train, ">>>>>>> after updating\n", "")
    run_tests(project, "tests/runtime/test_configs.py", "-k", "composes or builds or fast_dev_run_of")
