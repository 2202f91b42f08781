"""``amkit data download NAME --dest DIR``: fetch a dataset archive, verify it, extract it.

The archive is streamed into a temp file with a progress bar, its size and sha256 are
checked, and it is extracted into a temp folder that is renamed into place only when
complete: an interrupted or corrupt download never leaves a half-written dataset behind.

Checksums: where the publisher's sha256 is known it is pinned in :data:`SOURCES`; where it
is not (the original bAbI archive), the size is checked, the computed sha256 is printed, and
``--sha256`` pins it for later runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from amkit.errors import UserError
from amkit.registry import UnknownNameError


@dataclass(frozen=True)
class Source:
    url: str
    filename: str
    sha256: str | None  # None: not published; size is checked and the hash printed
    size: int | None
    note: str = ""


SOURCES: dict[str, Source] = {
    "babi": Source(
        # The original host (thespermwhale.com/jaseweston/babi) is gone; this is the mirror
        # most tools use. Same archive: 11,745,123 bytes.
        url="https://s3.amazonaws.com/text-datasets/babi_tasks_1-20_v1-2.tar.gz",
        filename="tasks_1-20_v1-2.tar.gz",
        sha256=None,
        size=11_745_123,
        note="bAbI tasks v1.2 (Weston et al. 2015), CC BY 3.0",
    ),
}


@dataclass(frozen=True)
class Downloaded:
    path: Path  # the destination folder
    sha256: str
    size: int
    verified: bool  # False when no checksum was known


class DownloadError(UserError, RuntimeError):
    """A download that failed its checks; nothing was left in the destination."""


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, target: Path, progress: bool) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
        total = response.headers.get("Content-Length")
        bar = tqdm(
            total=int(total) if total else None,
            unit="B",
            unit_scale=True,
            desc=target.name,
            disable=None if progress else True,
        )
        with bar:
            while block := response.read(1 << 16):
                out.write(block)
                bar.update(len(block))


def _safe_extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not str(target).startswith(str(dest.resolve())) or member.issym() or member.islnk():
                raise DownloadError(f"{archive}: refusing unsafe member {member.name!r}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(dest, filter="data")
        else:  # members were checked above
            tar.extractall(dest)


def download(
    name: str,
    dest: str | Path,
    url: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
) -> Downloaded:
    """Download dataset ``name`` into ``dest`` and extract it.

    Args:
        name: a key of :data:`SOURCES`.
        dest: destination folder; the archive is kept next to the extracted tree.
        url: another location of the same archive (a mirror, or ``file://`` path).
        sha256: expected checksum; overrides the pinned one.

    Raises:
        DownloadError: size or checksum mismatch, or an unsafe archive member.
    """
    if name not in SOURCES:
        raise UnknownNameError(
            f"unknown dataset {name!r}; downloadable: {', '.join(sorted(SOURCES))}"
        )
    source = SOURCES[name]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    expected = (sha256 or source.sha256 or "").lower() or None
    with tempfile.TemporaryDirectory(dir=dest, prefix=".amkit-download-") as tmp:
        archive = Path(tmp) / source.filename
        _fetch(url or source.url, archive, progress)
        digest = sha256_of(archive)
        size = archive.stat().st_size
        if expected is not None and digest != expected:
            raise DownloadError(
                f"{name}: sha256 mismatch: expected {expected}, got {digest}; the download is "
                "corrupt or a different file -- nothing was written to " + str(dest)
            )
        if expected is None and source.size is not None and size != source.size and url is None:
            raise DownloadError(f"{name}: expected {source.size} bytes, got {size}")
        extracted = Path(tmp) / "extracted"
        extracted.mkdir()
        _safe_extract(archive, extracted)
        for item in extracted.iterdir():
            final = dest / item.name
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            os.replace(item, final)
        os.replace(archive, dest / source.filename)
    return Downloaded(dest, digest, size, verified=expected is not None)
