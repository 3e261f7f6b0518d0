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

from multiout.data.spec import DataSpec

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


def layout_lines(spec: DataSpec) -> list[str]:
    """The example shape, channels and classes of the data spec."""
    out = spec.output
    names = out.channel_names
    shown = ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])}"
    lines = [
        f"example shape: {spec.input.shape} ({spec.input.num_features} features)",
        f"channels: {out.num_channels} ({shown})",
        f"classes per channel: {out.num_classes}",
    ]
    shared = out.shared_labels
    if shared is not None:  # labels shifted to class ids keep the mapping
        lines.append("class ids -> labels: " + ", ".join(f"{i} -> {v}" for i, v in enumerate(shared)))
    else:
        sets = sorted({len(values) for values in out.label_values})
        lines[-1] = f"classes per channel: {', '.join(map(str, sets))} (each channel its own labels)"
    return lines


@rank_zero_only
def print_start(cfg: DictConfig, spec: DataSpec, output_dir: str) -> None:
    """Config tree (if `cfg.print_config`), run directory and channel/class layout."""
    console = Console(soft_wrap=True)
    if cfg.print_config:
        console.print(config_tree(cfg))
    console.print(f"[bold]run dir[/bold]: {output_dir}")
    for line in layout_lines(spec):
        console.print(line, highlight=False)
