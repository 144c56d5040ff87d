"""Errors of the data package whose advice names options, in the words of whoever reads them.

A library user fetches a missing dataset with ``download=True`` and points at it with ``root``;
a user of ``examples/train_alexnet.py`` does the same with ``--download`` and ``--data-dir``. An
:class:`AdvisedError` keeps its message as a template with a slot per piece of advice:
``str(error)`` fills the slots with the Python arguments (:data:`PYTHON`), and a program shows
``error.in_words(its_words)`` with its own options (:data:`tinyconv.train.messages.COMMAND_LINE`).
"""
from __future__ import annotations

import string

# The advice slots, in the words of the Python API. A word may name facts of the error ({path}).
PYTHON = {
    "download": "pass download=True",
    "root": "pass that folder as root",
    "skip_corrupt": "pass skip_corrupt=True",
    "place": "put it at {path}",
}


class AdvisedError(Exception):
    """An error whose message ``template`` has advice slots ({download}, {root}, ...) beside its ``facts``."""

    def __init__(self, template: str, **facts):
        self.template, self.facts = template, facts
        super().__init__(self.in_words(PYTHON))

    def in_words(self, words: dict) -> str:
        """The message with each advice slot in ``words`` (a dict like :data:`PYTHON`)."""
        slots = {name for _, name, _, _ in string.Formatter().parse(self.template) if name}
        return self.template.format_map({name: words[name].format_map(self.facts) if name in words
                                         else self.facts[name] for name in slots})


class MissingDataError(AdvisedError, FileNotFoundError):
    """A dataset that is not where it was looked for."""


class DamagedDataError(AdvisedError, ValueError):
    """A dataset file that is there but is not the official one (a checksum that does not match)."""


class DownloadError(AdvisedError, OSError):
    """A download that failed (no network, an HTTP error, a short read, a checksum that does not match)."""


class CorruptImageError(AdvisedError, ValueError):
    """An image file that Pillow cannot decode (truncated, damaged, or not an image)."""
