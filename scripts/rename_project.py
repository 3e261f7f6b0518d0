"""Rename this project for your fork: `python scripts/rename_project.py <new_name>`.

Renames the package folder under src/ and the Hydra plugin folders named after it
(src/hydra_plugins/<name>_*: `hydra_plugins` is one namespace that every installed package
shares), then rewrites those names, as whole words, in every text file of the repository:
imports, `_target_` entries in conf/, the pyproject metadata, docs, CI. Run it on a clean
checkout (`git diff` shows what changed), then reinstall: `pip install -e ".[dev]"`. `--dry-run` lists the files it would change.
Only the standard library is used, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "build",
    "dist",
    "outputs",
    "multirun",
    "wandb",
    "mlruns",
}
SKIP_DIRS |= {".pytest_cache", ".ruff_cache", "lightning_logs"}
SKIP_DIRS |= {".hypothesis", "mutants"}  # test tools' caches; mutmut's copy of src/ and tests/
TEXT_SUFFIXES = {
    ".py",
    ".yaml",
    ".yml",
    ".toml",
    ".md",
    ".txt",
    ".cfg",
    ".ini",
    ".rst",
    ".sh",
    ".sbatch",
    ".json",
    "",
}


def current_name(root: Path) -> str:
    """The one package under src/ (a folder with `__init__.py`)."""
    packages = [p.parent.name for p in (root / "src").glob("*/__init__.py")]
    if len(packages) != 1:
        raise SystemExit(f"error: expected exactly one package under {root / 'src'}, found {packages}")
    return packages[0]


def text_files(root: Path):
    for path in sorted(root.rglob("*")):
        parts = set(path.relative_to(root).parts)
        if parts & SKIP_DIRS or any(part.endswith(".egg-info") for part in parts):
            continue
        if path.is_file() and not path.is_symlink() and path.suffix in TEXT_SUFFIXES:
            yield path


def rename(root: Path, new: str, dry_run: bool = False) -> list[Path]:
    """Rename the package to `new` in `root`; returns the files whose text changed."""
    old = current_name(root)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", new) or keyword.iskeyword(new):
        raise SystemExit(f"error: the new name must be a lowercase Python identifier, got {new!r}")
    if new == old:
        raise SystemExit(f"error: the package is already called {old!r}")
    plugins = sorted(p for p in (root / "src" / "hydra_plugins").glob(f"{old}_*") if p.is_dir())
    suffixes = [p.name.removeprefix(old) for p in plugins]
    renamed = {p: p.with_name(new + suffix) for p, suffix in zip(plugins, suffixes, strict=True)}
    for path in [root / "src" / new, *renamed.values()]:
        if path.exists():
            raise SystemExit(f"error: {path} exists already")
    # The old name as a word of its own, or as the start of a plugin folder's name.
    pattern = re.compile(rf"\b{re.escape(old)}(?=(?:{'|'.join(map(re.escape, suffixes))})?\b)")
    changed = []
    for path in text_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file after all
        if pattern.search(text):
            changed.append(path)
            if not dry_run:
                path.write_text(pattern.sub(new, text), encoding="utf-8")
    if not dry_run:
        (root / "src" / old).rename(root / "src" / new)
        for plugin, new_path in renamed.items():
            plugin.rename(new_path)
        # The old install's metadata would keep pointing at the old name.
        shutil.rmtree(root / "src" / f"{old}.egg-info", ignore_errors=True)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("new_name", help="the new package name, a lowercase Python identifier")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would change")
    args = parser.parse_args(argv)
    old = current_name(ROOT)
    changed = rename(ROOT, args.new_name, args.dry_run)
    for path in changed:
        print(path.relative_to(ROOT))
    verb = "would change" if args.dry_run else "changed"
    print(
        f"{old} -> {args.new_name}: {verb} {len(changed)} files and the folders src/{old}/, "
        f"src/hydra_plugins/{old}_*/ -> src/{args.new_name}/, src/hydra_plugins/{args.new_name}_*/"
    )
    if not args.dry_run:
        print('now reinstall: pip install -e ".[dev]"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
