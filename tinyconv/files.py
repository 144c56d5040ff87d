"""Files written whole or not at all, with the permissions of any other file the user creates.

:func:`replace_atomically` writes to a temporary file in the destination's folder, flushes it to
disk with ``fsync`` and renames it over the destination with ``os.replace`` (atomic on POSIX and
Windows): a reader, or a crash, never meets half a file. The temporary file is created as
``open()`` creates files (mode 0o666 less the umask, 0644 as a rule), not with the 0600 of
``tempfile.mkstemp``, so what lands at the destination can be read by whoever may read the
folder's other files.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager


@contextmanager
def replace_atomically(path, mode: str = "wb", **open_options):
    """``with replace_atomically(path) as f: f.write(...)``: ``path`` holds the new bytes only once the
    block ends without an error; an error (Ctrl-C included) leaves the old file, and no temporary one.

    ``mode`` is "wb" or "w" (``open_options`` such as ``encoding`` go to :func:`os.fdopen`).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, mode, **open_options) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
