"""Downloads with checksums and safe archive extraction, using only the standard library.

A download streams into a temporary file beside its destination, checks that the
server sent as many bytes as it announced (``Content-Length``), verifies the
checksum and only then renames the file into place, so a file at the destination
path is always whole and verified. A checksum mismatch deletes the bad file and
raises. Archives are extracted member by member: absolute paths, members that
would land outside the target folder, links and device files are refused.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

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
    file first; a short read (the server closed the connection before ``Content-Length``
    bytes) or a checksum mismatch removes the temporary file and raises ``OSError``,
    so an interrupted or corrupted download is never taken for a whole one.
    """
    path = Path(path)
    if check_file(path, checksum):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            expected_size = response.headers.get("Content-Length")
            received = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                received += len(chunk)
        if expected_size is not None and received != int(expected_size):
            raise OSError(
                f"download of {url} was interrupted: got {received} of {expected_size} bytes; "
                "run again to retry"
            )
        algorithm, expected = _parse(checksum)
        got = file_digest(tmp, algorithm)
        if got != expected:
            raise OSError(
                f"checksum mismatch for {url}: expected {algorithm}:{expected}, got {algorithm}:{got}; "
                "the file was deleted. The server may have sent an error page or a changed file: retry, "
                f"or download it yourself and place it at {path}"
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
