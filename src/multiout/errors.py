"""The one exception type for user mistakes."""


class InputError(Exception):
    """A bad config value, file, column or label, found before any training starts.

    The message says what was expected and where (config key, file, column, row). The
    command-line entry points print it as one line and exit non-zero; tracebacks are kept
    for bugs.
    """
