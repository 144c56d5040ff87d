"""Downloads against a real HTTP server on 127.0.0.1, and safe archive extraction."""
import hashlib
import io
import os
import socket
import tarfile

import pytest

from tinyconv.data.download import check_file, download, extract_tar
from tinyconv.data.errors import DownloadError

from data_builders import tar_bytes

BODY = bytes(range(256)) * 4000  # about 1 MB: several read chunks


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def test_download_with_matching_checksum_lands_whole(http_server, tmp_path):
    url = http_server("/data.bin", BODY)
    path = download(url, tmp_path / "sub" / "data.bin", md5(BODY))
    assert path.read_bytes() == BODY
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert check_file(path, "sha256:" + hashlib.sha256(BODY).hexdigest())


def test_existing_verified_file_is_not_downloaded_again(http_server, tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(BODY)
    url = http_server("/other.bin", b"different bytes")  # would fail the checksum if fetched
    assert download(url, target, md5(BODY)).read_bytes() == BODY


def test_checksum_mismatch_is_refused_and_the_file_removed(http_server, tmp_path):
    url = http_server("/data.bin", BODY)
    target = tmp_path / "data.bin"
    with pytest.raises(OSError, match="checksum mismatch.*deleted"):
        download(url, target, md5(b"the file we wanted"))
    assert list(tmp_path.iterdir()) == []


def test_connection_closed_early_is_not_taken_for_a_whole_file(http_server, tmp_path):
    # The server announces 1 MB but closes after half of it. Even with the checksum of
    # the half (so only the length check can catch it), nothing lands at the target.
    half = BODY[: len(BODY) // 2]
    url = http_server("/cut.bin", half, announced=len(BODY))
    with pytest.raises(OSError, match=f"interrupted: got {len(half)} of {len(BODY)} bytes"):
        download(url, tmp_path / "cut.bin", md5(half))
    assert list(tmp_path.iterdir()) == []


def test_http_error_names_the_url_and_leaves_nothing(http_server, tmp_path):
    url = http_server("/present.bin", BODY).replace("present", "absent")
    with pytest.raises(OSError, match=f"could not download {url}: HTTP Error 404"):
        download(url, tmp_path / "absent.bin", md5(BODY))
    assert list(tmp_path.iterdir()) == []


def test_extract_tar_writes_the_members(tmp_path):
    archive = tmp_path / "a.tgz"
    archive.write_bytes(tar_bytes({"top/x/1.txt": b"one", "top/2.txt": b"two"}))
    tops = extract_tar(archive, tmp_path / "out")
    assert tops == [tmp_path / "out" / "top"]
    assert (tmp_path / "out/top/x/1.txt").read_bytes() == b"one"
    assert (tmp_path / "out/top/2.txt").read_bytes() == b"two"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["top"]  # staging folder removed


def _tar_with(tmp_path, info: tarfile.TarInfo, content: bytes = b""):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        good = tarfile.TarInfo("top/ok.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    archive = tmp_path / "bad.tgz"
    archive.write_bytes(buffer.getvalue())
    return archive


@pytest.mark.parametrize("name", ["../escape.txt", "top/../../escape.txt", "/tmp/abs-escape.txt"])
def test_member_outside_the_target_is_refused(tmp_path, name):
    archive = _tar_with(tmp_path, tarfile.TarInfo(name), b"evil")
    with pytest.raises(ValueError, match="would land outside"):
        extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []  # nothing written, not even the good member


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_are_refused(tmp_path, kind):
    info = tarfile.TarInfo("top/link")
    info.type, info.linkname = kind, "/etc/passwd"
    archive = _tar_with(tmp_path, info)
    with pytest.raises(ValueError, match="is a link"):
        extract_tar(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_no_network_names_the_url_the_cause_and_where_the_file_goes(tmp_path):
    with socket.socket() as s:  # a local port where nothing listens
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/data.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "data.bin", md5(BODY))
    assert str(info.value).startswith(f"could not download {url}: [Errno 111] Connection refused; ")
    assert str(info.value).endswith(f"download it elsewhere and put it at {tmp_path / 'data.bin'}")
    assert isinstance(info.value, OSError) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_downloaded_file_has_the_permissions_of_any_new_file(http_server, tmp_path, umask):
    url = http_server("/data.bin", BODY)
    old = os.umask(umask)
    try:
        path = download(url, tmp_path / "data.bin", md5(BODY))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
