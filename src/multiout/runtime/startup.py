"""What a run prints before it starts: its config and where it writes.

Printed by the first process only, to stdout, and never waits for input: runs start
unattended under CI and job schedulers.
"""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

log = logging.getLogger(__name__)

# Groups shown first, in the order a run uses them; any other key follows.
CONFIG_ORDER = ("data", "model", "trainer", "callbacks", "logger", "paths")


def _yaml(node: Any) -> str:
    if not OmegaConf.is_config(node):
        return str(node)
    try:
        return OmegaConf.to_yaml(node, resolve=True).rstrip()
    except Exception:  # an interpolation that only resolves later: show it as written
        return OmegaConf.to_yaml(node).rstrip()


def config_tree(cfg: DictConfig) -> Tree:
    """The composed config as a tree: one branch per group, scalars under `run`."""
    tree = Tree("config", guide_style="dim")
    groups = [key for key in CONFIG_ORDER if key in cfg]
    groups += [str(key) for key in cfg if key not in groups and OmegaConf.is_config(cfg[key])]
    scalars = {str(key): cfg[key] for key in cfg if key not in groups}
    for key in groups:
        tree.add(key, style="bold").add(Syntax(_yaml(cfg[key]), "yaml", background_color="default"))
    if scalars:
        text = "\n".join(f"{key}: {_yaml(value)}" for key, value in scalars.items())
        tree.add("run", style="bold").add(Syntax(text, "yaml", background_color="default"))
    return tree


@rank_zero_only
def print_start(cfg: DictConfig, output_dir: str) -> None:
    """Config tree (if `cfg.print_config`; the run's log has it as `.hydra/config.yaml`) and
    the run directory. The data summary follows once the data is read (`runtime/data_summary.py`)."""
    if cfg.get("print_config", False):
        Console(soft_wrap=True).print(config_tree(cfg))
    log.info(f"run dir: {output_dir}")
