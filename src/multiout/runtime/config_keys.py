"""A misspelt config key stops the program in one line that names it and the nearest valid key.

On the command line Hydra already refuses a key the config does not have (`+key=value` adds
one on purpose); `exit_on_config_error` turns its error into that one line. Files merged over
the defaults (an experiment, a debug preset) may add keys, so `RejectMisspeltKeys` compares
them with the defaults they were merged over, before the run dir is made: a new key that is
a near miss of an existing one, or that the class of its node does not take, stops the run;
so does a sweep override (`-m key=a,b`) of a key the config lacks.
"""

from __future__ import annotations

import difflib
import inspect
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from multiout.errors import InputError, exit_on_input_error
from multiout.models.targets import locate

# A key a file adds that is this close (difflib's ratio) to an existing one is taken for a
# misspelling of it; a key unlike any other is taken for a deliberate addition.
MISSPELT = 0.75


def did_you_mean(name: str, options: Iterable[Any], prefix: str = "", cutoff: float = 0.6) -> str:
    """`; did you mean 'prefix.option'?` for the option nearest to `name`, or "" if none is near."""
    match = difflib.get_close_matches(name, [str(option) for option in options], n=1, cutoff=cutoff)
    return f"; did you mean '{prefix}{match[0]}'?" if match else ""


def composition_error(err: ConfigCompositionException | OverrideParseException) -> str:
    """Hydra's error for a config that did not compose, on one line, with a suggestion where
    the key or option was probably misspelt."""
    cause = err.__cause__
    if isinstance(cause, ConfigKeyError | ConfigAttributeError) and isinstance(cause.parent_node, DictConfig):
        parent = str(cause.full_key).rpartition(".")[0]
        prefix = f"{parent}." if parent else ""
        trained = _trained_setting(str(cause.full_key), cause.parent_node.keys())
        if trained is not None:
            return trained
        return f"no key '{cause.full_key}'" + did_you_mean(str(cause.key), cause.parent_node.keys(), prefix)
    if isinstance(err, MissingConfigException) and err.options and err.missing_cfg_file:
        group, _, name = err.missing_cfg_file.rpartition("/")
        return f"no option '{name}' in group '{group}'" + did_you_mean(name, err.options, f"{group}=")
    return " ".join(str(err).split("Config search path")[0].split())


def _trained_setting(full_key: str, location_keys: Iterable[Any]) -> str | None:
    """For `data.<key>=<value>` at evaluate or predict (`ckpt_path=` given), where `<key>` changes
    what the model sees: the key, the value given and the value the checkpoint was trained
    with. None where that does not apply or the checkpoint cannot be read (its own error
    comes later)."""
    from multiout.runtime.checkpoints import saved_spec  # reads the checkpoint: only on this error

    given = dict(arg.lstrip("+").split("=", 1) for arg in sys.argv[1:] if "=" in arg)
    ckpt_path = given.get("ckpt_path")
    _, _, key = full_key.partition(".")
    if not full_key.startswith("data.") or not ckpt_path or full_key not in given:
        return None
    try:
        trained = saved_spec(ckpt_path).data_config
    except (InputError, OSError, RuntimeError, ValueError):
        return None
    if key not in trained:
        return None
    kept = ", ".join(f"data.{name}" for name in location_keys)
    return (
        f"{full_key}={given[full_key]}: the model of {ckpt_path} was trained with {full_key}="
        f"{trained[key]!r}, and evaluate and predict read the data as it was; only where the data "
        f"lives and how it is served can change ({kept})"
    )


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Around `hydra.main`: a config mistake ends the program with one line and exit code 2.

    Hydra prints its own error and exits 1 unless HYDRA_FULL_ERROR=1 lets the exception
    through; it is set here, so only a user who set it themselves gets Hydra's full traceback.
    """
    before = os.environ.get("HYDRA_FULL_ERROR")
    if before == "1":
        yield
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        with exit_on_input_error():
            try:
                yield
            except (ConfigCompositionException, OverrideParseException) as err:
                raise InputError(f"config: {composition_error(err)}") from None
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


class RejectMisspeltKeys(Callback):
    """Hydra callback: a key that a file of an `overlays` group (experiment, debug, ...) adds to
    the defaults and that looks misspelt is an `InputError`, raised before the run dir is made."""

    def __init__(self, overlays: list[str]) -> None:
        self.overlays = list(overlays)

    # Hydra turns a callback's exception into a warning and carries on: these exit themselves.
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        with exit_on_input_error():
            self.check(config, kwargs["config_name"])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        with exit_on_input_error():
            self.check(config, kwargs["config_name"])

    def check(self, config: DictConfig, config_name: str) -> None:
        """Sweep overrides name existing keys; overlay files add no misspelt key."""
        choices = dict(config.hydra.runtime.choices)
        overrides = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        # Hydra composes a sweep's jobs only after making its dir: check their keys here.
        plain = _plain(config)
        for override in overrides:
            adding = override.is_add() or override.is_force_add()
            if override.is_sweep_override() and not adding and override.key_or_group not in choices:
                found = missing_key(plain, override.key_or_group)
                if found is not None:
                    raise InputError(f"config: no key '{found[0]}'{found[1]}")
        chosen = [f"{group}={choices[group]}" for group in self.overlays if choices.get(group) is not None]
        if not chosen:
            return
        # The same choices of every other group, and the keys the command line adds with `+`.
        others = {
            group: choice for group, choice in choices.items() if group.split("/")[0] not in self.overlays
        }
        kept = [f"{group}={choice}" for group, choice in others.items() if choice is not None]
        adds = [o.key_or_group for o in overrides if o.is_add() or o.is_force_add()]
        added = [f"++{key}=null" for key in adds if key not in choices]
        reference = compose(config_name, overrides=[*kept, *added])
        found = misspelt_key(plain, _plain(reference))
        if found is not None:
            key, hint = found
            raise InputError(f"config: no key '{key}' (from {' '.join(chosen)}){hint}")


def missing_key(config: Mapping[str, Any], key: str) -> tuple[str, str] | None:
    """The first part of dotted `key` that `config` lacks, with the nearest key at its level."""
    node: Any = config
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, Mapping) or parts[0] == "hydra":
            return None  # into a list or a value, or Hydra's own node: Hydra reports those
        if part not in node:
            path = ".".join(parts[:depth])
            return ".".join(parts[: depth + 1]), did_you_mean(part, node, f"{path}." if path else "")
        node = node[part]
    return None


def misspelt_key(
    config: Mapping[str, Any], defaults: Mapping[str, Any], path: str = ""
) -> tuple[str, str] | None:
    """The first key of `config` that `defaults` lacks and that looks misspelt, with a hint
    (the nearest valid key, or the argument its class does not take); None if there is none."""
    target = config.get("_target_")
    accepted, takes_any = _arguments(target) or (None, True)
    for key, value in config.items():
        if key in defaults:
            if isinstance(value, Mapping) and isinstance(defaults[key], Mapping):
                found = misspelt_key(value, defaults[key], f"{path}{key}.")
                if found is not None:
                    return found
            continue
        new_object = isinstance(value, Mapping) and "_target_" in value  # e.g. one more callback
        if key.startswith("_") or key in (accepted or ()) or new_object:
            continue
        hint = did_you_mean(key, [*defaults, *(accepted or ())], path, cutoff=MISSPELT)
        if hint:
            return f"{path}{key}", hint
        if accepted is not None and not takes_any:
            return f"{path}{key}", f"; {target} takes no argument '{key}'"
    return None


def _arguments(target: Any) -> tuple[set[str], bool] | None:
    """The argument names of the class `target` names, and whether it takes any other keyword
    too (`**kwargs`); None if it does not import (its build reports that)."""
    if not isinstance(target, str) or "${" in target:
        return None
    try:
        parameters = inspect.signature(locate(target, "_target_")).parameters.values()
    except (InputError, TypeError, ValueError):
        return None
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}, takes_any


def _plain(config: DictConfig) -> dict[str, Any]:
    """The config as nested dicts, interpolations unresolved, without Hydra's own node."""
    plain = OmegaConf.to_container(config, resolve=False)
    assert isinstance(plain, dict)
    return {str(key): value for key, value in plain.items() if key != "hydra"}
