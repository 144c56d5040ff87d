"""How the programs (``examples/train_alexnet.py``, ``examples/evaluate.py``) report what went wrong.

An error a user can cause at the command line ends as one ``error: ...`` line and a non-zero exit
status, never a traceback: :data:`USER_ERRORS` are the exceptions that carry such a message. The
data package words its advice for Python callers (``download=True``); :func:`error_message` words it
for the command line (``--download``, :data:`COMMAND_LINE`). Warnings show as one ``warning: ...``
line (:func:`plain_warnings`), not as the file and line of the library that raised them.
"""
from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

from ..data.errors import AdvisedError
from .checkpoint import CheckpointError

USER_ERRORS = (CheckpointError, OSError, RuntimeError, ValueError)  # OSError: files, folders, downloads
COMMAND_LINE = {
    "download": "add --download",
    "root": "give that folder as --data-dir",
    "skip_corrupt": "add --skip-corrupt",
    "place": "put it at {path} (or in the folder you give as --data-dir)",
}


def error_message(exc: BaseException, words: dict = COMMAND_LINE) -> str:
    """The message of ``exc``, its advice in ``words`` where it has some (:class:`AdvisedError`)."""
    return exc.in_words(words) if isinstance(exc, AdvisedError) else str(exc)


@contextmanager
def plain_warnings():
    """Within the block, a warning prints as ``warning: <message>`` on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=file or sys.stderr)
    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
