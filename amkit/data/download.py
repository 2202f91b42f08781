"""``amkit data download NAME``: fetch a dataset from its original URL, check it, put it in place.

The files of a dataset (:data:`amkit.data.locations.KNOWN_DATASETS`) are fetched with pooch
(``pip install 'amkit[download]'``), each against the sha256 pinned for it, into a temporary
folder inside ``AMKIT_DATA``; tar and zip archives are unpacked there. Only when every file
has passed are they moved into the dataset's folder (``$AMKIT_DATA/NAME``), so a failed
checksum or an interrupted download leaves nothing behind.

Datasets whose licence does not let amkit fetch them, or whose original archive's checksum
could not be pinned, are *manual*: ``amkit data download NAME`` then says how to get them by
hand. A copy at another URL (a mirror, or the release archive a manual dataset names) can be
fetched with ``url`` and its ``sha256`` together: a download is never unverified.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from amkit.data.locations import RemoteFile, data_home, known_dataset
from amkit.errors import UserError
from amkit.io import replace_directory

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


class DownloadError(UserError, RuntimeError):
    """A download that cannot be made or failed its checks; nothing was left in place."""


@dataclass(frozen=True)
class Downloaded:
    """The result of :func:`download`: the dataset's folder and what was put there."""

    name: str
    path: Path  # the dataset's folder
    files: list[str]  # names of the files and folders put there


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, as hex (to pin a file you have)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _remote_files(name: str, url: str | None, sha256: str | None) -> list[RemoteFile]:
    dataset = known_dataset(name)
    if (url is None) != (sha256 is None):
        raise DownloadError(
            "give --url and --sha256 together: a copy at another URL is only fetched against "
            "the checksum you pin for it"
        )
    if url is not None:
        assert sha256 is not None
        digest = sha256.strip().lower()
        if not _SHA256.match(digest):
            raise DownloadError(f"--sha256 must be 64 hex digits, got {sha256!r}")
        filename = Path(urlparse(url).path).name or f"{name}.download"
        return [RemoteFile(url, digest, filename)]
    if not dataset.downloadable:
        raise DownloadError(
            f"{name}: {dataset.how_to_get()}. With a copy at a URL whose sha256 you know: "
            f"amkit data download {name} --url URL --sha256 HEX"
        )
    return list(dataset.files)


def _is_archive(filename: str) -> bool:
    return filename.lower().endswith(_ARCHIVE_SUFFIXES)


def _unpack(archive: Path, into: Path) -> None:
    """Unpack ``archive`` into ``into``, refusing members that would land outside it."""
    root = into.resolve()

    def check(member_name: str) -> None:
        target = (root / member_name).resolve()
        if target != root and root not in target.parents:
            raise DownloadError(f"{archive.name}: refusing unsafe member {member_name!r}")

    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                check(member)
            zipped.extractall(into)
        return
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            check(member.name)
            if member.issym() or member.islnk() or member.isdev():
                raise DownloadError(f"{archive.name}: refusing link or device {member.name!r}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(into, filter="data")
        else:  # every member was checked above
            tar.extractall(into)


def _fetch(remote: RemoteFile, folder: Path, progress: bool) -> Path:
    try:
        import pooch
    except ImportError:
        raise DownloadError(
            "amkit data download needs pooch: pip install 'amkit[download]' (or pip install pooch)"
        ) from None
    try:
        fetched = pooch.retrieve(
            remote.url,
            known_hash=f"sha256:{remote.sha256}",
            fname=remote.filename,
            path=folder,
            downloader=pooch.HTTPDownloader(progressbar=progress),
        )
    except ValueError as error:  # pooch: the hash does not match (the file is deleted)
        raise DownloadError(
            f"{remote.filename} from {remote.url}: sha256 mismatch, expected {remote.sha256} "
            f"({error}); the download is corrupt or not the pinned file"
        ) from None
    except Exception as error:  # requests' connection and HTTP errors
        raise DownloadError(f"{remote.url}: download failed: {error}") from None
    return Path(fetched)


def download(
    name: str,
    url: str | None = None,
    sha256: str | None = None,
    home: str | Path | None = None,
    progress: bool = True,
) -> Downloaded:
    """Fetch dataset ``name`` into ``home/name`` (``home``: :func:`data_home`, i.e. AMKIT_DATA).

    Args:
        name: a known dataset (``amkit data where`` lists them).
        url: fetch one file from here instead (a mirror, or the release archive of a manual
            dataset); needs ``sha256``.
        sha256: the checksum that file must have.
        home: the root folder; default ``AMKIT_DATA``.
        progress: show a progress bar.

    Raises:
        DownloadError: a manual dataset (the message says how to get it), a checksum
            mismatch, a failed or unsafe download; nothing is left in ``home``.
        UnknownNameError: ``name`` is not a known dataset.
    """
    remotes = _remote_files(name, url, sha256)
    home = Path(home) if home is not None else data_home()
    home.mkdir(parents=True, exist_ok=True)
    target = home / name
    with tempfile.TemporaryDirectory(dir=home, prefix=".amkit-download-") as tmp:
        fetched, staged = Path(tmp) / "fetched", Path(tmp) / "staged"
        staged.mkdir()
        for remote in remotes:
            path = _fetch(remote, fetched, progress)
            if _is_archive(path.name):
                _unpack(path, staged)
            else:
                os.replace(path, staged / path.name)
        target.mkdir(exist_ok=True)
        placed = []
        for item in sorted(staged.iterdir()):
            final = target / item.name
            if item.is_dir() and final.is_dir() and not final.is_symlink():
                replace_directory(item, final)  # the old copy stays until the new one is in
            else:
                if final.is_dir() and not final.is_symlink():
                    shutil.rmtree(final)
                os.replace(item, final)  # a file (or link) is replaced in one rename
            placed.append(item.name)
    return Downloaded(name, target, placed)
