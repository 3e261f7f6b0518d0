"""The one exception type for user mistakes, and how the entry points report it."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from omegaconf.errors import MissingMandatoryValue


class InputError(Exception):
    """A bad config value, file, column or label, found before any training starts.

    The message says what was expected and where (config key, file, column, row). The
    command-line entry points print it as one line and exit non-zero; tracebacks are kept
    for bugs.
    """


@contextmanager
def exit_on_input_error() -> Iterator[None]:
    """A user mistake ends the program with one line on stderr and exit code 2."""
    try:
        yield
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except MissingMandatoryValue as err:  # a `???` in a config file that the command left unset
        print(f"error: {err.full_key}: no value given; set it, e.g. {err.full_key}=...", file=sys.stderr)
        sys.exit(2)
