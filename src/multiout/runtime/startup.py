"""What a run prints before it starts: its config, where it writes, and the output layout.

Printed by the first process only, to stdout, and never waits for input: runs start
unattended under CI and job schedulers.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

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


def layout_lines(datamodule: Any) -> list[str]:
    """Features, channels and classes as the data module reports them."""
    names = list(getattr(datamodule, "channel_names", None) or [])
    shown = ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])}"
    lines = [
        f"features: {getattr(datamodule, 'num_features', '?')}",
        f"channels: {getattr(datamodule, 'num_channels', '?')} ({shown})" if names else "",
        f"classes per channel: {getattr(datamodule, 'num_classes', '?')}",
    ]
    values = getattr(datamodule, "label_values", None)
    if values is not None:  # data whose labels were shifted to class ids keeps the mapping
        lines.append("class ids -> labels: " + ", ".join(f"{i} -> {v}" for i, v in enumerate(values)))
    return [line for line in lines if line]


@rank_zero_only
def print_start(cfg: DictConfig, datamodule: Any, output_dir: str) -> None:
    """Config tree (if `cfg.print_config`), run directory and channel/class layout."""
    console = Console(soft_wrap=True)
    if cfg.print_config:
        console.print(config_tree(cfg))
    console.print(f"[bold]run dir[/bold]: {output_dir}")
    for line in layout_lines(datamodule):
        console.print(line, highlight=False)
