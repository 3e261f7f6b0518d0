"""A run's log file (`train.log`, `evaluate.log`, `predict.log`; `train_rank1.log` ... under
DDP): what the terminal shows but for progress bars, tables and the config tree (which is
`.hydra/config.yaml`). Also what the terminal is spared: Lightning's adverts and one
deprecation that Lightning itself triggers.

Hydra writes the template's own log lines to the terminal and to the file. Lightning's
messages and Python's warnings (Lightning's rank-zero warnings among them) go to the terminal
by their own ways; `run_log` also sends them, and a run's error, to the file.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from multiout.errors import InputError
from multiout.runtime.faults.non_finite_loss import NonFiniteLossError  # part: faults

# Lightning logs without the root logger's handlers (it adds its own terminal handler when it
# is imported before logging is set up, as it is under Hydra).
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
# Lightning's `rank_zero_info` logs here, its adverts among other messages.
LIGHTNING_RANK_ZERO_LOGGER = "lightning.pytorch.utilities.rank_zero"
ADVERT_PREFIX = "💡 Tip:"
# Errors the entry point prints as one line: the file keeps that line, not a traceback.
ONE_LINE_ERRORS: tuple[type[Exception], ...] = (InputError,)
ONE_LINE_ERRORS += (NonFiniteLossError,)  # part: faults
# What goes to the file only: warnings (shown on the terminal by Python) and errors (printed
# by the entry point as one line).
FILE_ONLY_LOGGER = "multiout.run"


class DropAdverts(logging.Filter):
    """Lightning's `💡 Tip: ... litlogger` / `litmodels` lines, which every run would print."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(ADVERT_PREFIX)


def quiet_lightning() -> None:
    """No adverts and no `LeafSpec` FutureWarning; every other message stays.

    torch 2.13 deprecated constructing `torch.utils._pytree.LeafSpec`; Lightning's
    `CombinedLoader` (the wrapper of every data loader a Trainer runs) still constructs one,
    at `lightning/pytorch/utilities/_pytree.py`. Nothing a user does avoids it, so it is
    filtered there, by message and module; `tests/runtime/test_run_log.py` fails once
    Lightning no longer triggers it, and the filter can go.
    """
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )
    rank_zero = logging.getLogger(LIGHTNING_RANK_ZERO_LOGGER)
    if not any(isinstance(f, DropAdverts) for f in rank_zero.filters):
        rank_zero.addFilter(DropAdverts())


@contextmanager
def run_log() -> Iterator[None]:
    """While a run runs: Lightning's messages, warnings and the run's error also go to the
    file handlers Hydra set up for this job (none without Hydra: then nothing changes)."""
    quiet_lightning()
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    if not files:
        yield
        return
    file_only = logging.getLogger(FILE_ONLY_LOGGER)
    targets = [logging.getLogger(name) for name in LIGHTNING_LOGGERS if not logging.getLogger(name).propagate]
    saved = [(logger, list(logger.handlers), logger.propagate) for logger in [*targets, file_only]]
    for logger in targets:
        logger.handlers.extend(h for h in files if h not in logger.handlers)
    file_only.handlers[:] = files
    file_only.propagate = False
    show = warnings.showwarning

    def show_and_log(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        show(message, category, filename, lineno, file, line)
        file_only.warning(warnings.formatwarning(message, category, filename, lineno, line).rstrip())

    warnings.showwarning = show_and_log
    try:
        yield
    except ONE_LINE_ERRORS as err:
        file_only.error(f"error: {err}")
        raise
    except Exception:
        file_only.error(traceback.format_exc().rstrip())
        raise
    finally:
        warnings.showwarning = show
        for logger, handlers, propagate in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate
