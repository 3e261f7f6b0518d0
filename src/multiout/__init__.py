"""Multi-output classification: one model, many small classification problems at once."""

__version__ = "0.1.0"
