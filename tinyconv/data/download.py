"""Downloads with checksums and safe archive extraction, using only the standard library.

A download streams into a temporary file beside its destination, checks that the
server sent as many bytes as it announced (``Content-Length``), verifies the
checksum and only then renames the file into place (:func:`tinyconv.files.replace_atomically`),
so a file at the destination path is always whole and verified. A failure (no network,
a short read, a checksum mismatch) leaves nothing behind and raises a
:class:`~tinyconv.data.errors.DownloadError` naming the URL and the cause. Archives
are extracted member by member: absolute paths, members that would land outside the
target folder, links and device files are refused.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tinyconv.data.errors import DownloadError
from tinyconv.files import replace_atomically

_CHUNK = 1 << 20


def data_home() -> Path:
    """Where downloads and cached statistics go: ``$TINYCONV_DATA`` or ``~/.cache/tinyconv``."""
    return Path(os.environ.get("TINYCONV_DATA") or Path.home() / ".cache" / "tinyconv")


def file_digest(path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks (``algorithm`` is any name hashlib knows)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _parse(checksum: str) -> tuple[str, str]:
    algorithm, _, expected = checksum.rpartition(":")
    return algorithm or "md5", expected.lower()


def check_file(path, checksum: str) -> bool:
    """True when ``path`` exists and matches ``checksum`` (``"md5:..."``, ``"sha256:..."``, bare = md5)."""
    algorithm, expected = _parse(checksum)
    return Path(path).is_file() and file_digest(path, algorithm) == expected


def download(url: str, path, checksum: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``path`` unless a verified copy is already there; return the path.

    ``checksum`` is ``"md5:<hex>"`` or ``"sha256:<hex>"``. The bytes go to a temporary
    file first; no network, an HTTP error, a short read (the server closed the connection
    before ``Content-Length`` bytes) or a checksum mismatch removes the temporary file and
    raises :class:`~tinyconv.data.errors.DownloadError` (an ``OSError``), so an interrupted
    or corrupted download is never taken for a whole one.
    """
    path = Path(path)
    if check_file(path, checksum):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    algorithm, expected = _parse(checksum)
    digest, received = hashlib.new(algorithm), 0
    with replace_atomically(path) as out:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                expected_size = response.headers.get("Content-Length")
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts and resets are OSErrors
            cause = getattr(error, "reason", None) if type(error) is urllib.error.URLError else None
            raise DownloadError("could not download {url}: {cause}; check the network and retry, or download it "
                                "elsewhere and {place}", url=url, cause=cause or error, path=path) from error
        if expected_size is not None and received != int(expected_size):
            raise DownloadError("download of {url} was interrupted: got {received} of {size} bytes; run again to "
                                "retry", url=url, received=received, size=expected_size)
        if digest.hexdigest() != expected:
            raise DownloadError(
                "checksum mismatch for {url}: expected {algorithm}:{expected}, got {algorithm}:{got}; the file was "
                "deleted. The server may have sent an error page or a changed file: retry, or download it yourself "
                "and {place}", url=url, algorithm=algorithm, expected=expected, got=digest.hexdigest(), path=path)
    return path


def _checked_target(root: Path, member: tarfile.TarInfo, archive) -> Path:
    """Where ``member`` goes under ``root``; refuse anything that is not a plain file or folder inside it."""
    if member.issym() or member.islnk():
        raise ValueError(
            f"refusing to extract {archive}: member {member.name!r} is a link "
            f"(to {member.linkname!r}); the archive is not a plain dataset archive"
        )
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} is not a file or folder")
    target = (root / member.name).resolve()
    if os.path.isabs(member.name) or os.path.commonpath([root, target]) != str(root):
        raise ValueError(
            f"refusing to extract {archive}: member {member.name!r} would land outside {root}"
        )
    return target


def extract_tar(archive, into) -> list[Path]:
    """Safely extract a (gzipped) tar ``archive`` into the folder ``into``; return its top-level paths.

    Every member is checked before anything is written (links, absolute paths and
    ``..`` escapes are refused with an error naming the member). Extraction happens
    in a temporary folder inside ``into`` whose top-level entries are renamed into
    place at the end, so an interrupted extraction leaves no half-written dataset.
    """
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=into)).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            targets = [_checked_target(staging, m, archive) for m in members]
            for member, target in zip(members, targets):
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        tops = sorted(staging.iterdir())
        for top in tops:
            final = into / top.name
            if final.is_dir():
                shutil.rmtree(final)
            os.replace(top, final)
        return [into / top.name for top in tops]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
