"""``amkit data download`` against a local HTTP server (no network), and ``amkit data where``."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from amkit.cli import main
from amkit.data import download as download_module
from amkit.data.babi import load_babi
from amkit.data.download import DownloadError, download, sha256_of
from amkit.data.locations import KNOWN_DATASETS, RemoteFile
from amkit.data.stories import write_babi_tree

pytest.importorskip("pooch")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "served"``; yields ``(folder, url)``."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # requests must not use a proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    root = tmp_path / "amkit-data"
    monkeypatch.setenv("AMKIT_DATA", str(root))
    return root


@pytest.fixture
def babi_archive(server):
    folder, url = server
    archive = write_babi_tree(folder / "src", tasks=(1,), n_train=20, n_test=20, archive=True)
    served = folder / "tasks_1-20_v1-2.tar.gz"
    archive.rename(served)
    return f"{url}/{served.name}", sha256_of(served)


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name.startswith(".amkit")] if root.exists() else []


def test_good_checksum_unpacks_where_the_reader_looks(babi_archive, home):
    url, digest = babi_archive
    result = download("babi", url=url, sha256=digest, progress=False)
    assert result.path == home / "babi" and result.files == ["tasks_1-20_v1-2"]
    assert len(load_babi(home / "babi", "en", [1], "train")) == 20
    assert KNOWN_DATASETS["babi"].is_present()
    assert not _leftovers(home)
    assert not list((home / "babi").glob("*.tar.gz"))  # the archive is unpacked, not kept


def test_bad_checksum_is_a_clear_error_and_leaves_nothing(babi_archive, home):
    url, _ = babi_archive
    with pytest.raises(DownloadError, match=r"sha256 mismatch, expected 0{64}"):
        download("babi", url=url, sha256="0" * 64, progress=False)
    assert not (home / "babi").exists()
    assert not _leftovers(home)


def test_pinned_files_of_a_dataset(server, home, monkeypatch):
    """A downloadable dataset's own list of files (here two small gzip files served locally,
    in place of multi30k's pinned URLs): fetched, checked, put in its folder as they are."""
    folder, url = server
    files = []
    for name in ("train.en.gz", "train.de.gz"):
        (folder / name).write_bytes(gzip.compress(f"{name}\n".encode(), mtime=0))
        files.append(RemoteFile(f"{url}/{name}", sha256_of(folder / name), name))
    dataset = KNOWN_DATASETS["multi30k"]
    monkeypatch.setitem(KNOWN_DATASETS, "multi30k", _replace_files(dataset, files))
    assert main(["data", "download", "multi30k"]) == 0
    assert sorted(p.name for p in (home / "multi30k").iterdir()) == ["train.de.gz", "train.en.gz"]
    # one bad file: nothing of the dataset is put in place, not even the good one
    (folder / "train.de.gz").write_bytes(b"tampered")
    monkeypatch.setitem(KNOWN_DATASETS, "multi30k", _replace_files(dataset, files))
    with pytest.raises(DownloadError, match="train.de.gz from .*: sha256 mismatch"):
        download("multi30k", home=home / "other", progress=False)
    assert not (home / "other" / "multi30k").exists() and not _leftovers(home / "other")


def _replace_files(dataset, files):
    from dataclasses import replace

    return replace(dataset, files=tuple(files))


def test_every_downloadable_file_is_pinned():
    for dataset in KNOWN_DATASETS.values():
        assert dataset.downloadable != bool(dataset.manual), dataset.name
        for remote in dataset.files:
            assert remote.url.startswith("https://") and len(remote.sha256) == 64
            assert "/blob/" not in remote.url  # a raw file, not a web page


def test_manual_datasets_say_how_to_get_them(home, capsys):
    assert main(["data", "download", "imdb"]) == 2
    err = capsys.readouterr().err
    assert "cannot be downloaded automatically" in err
    assert f"unpack it in {home / 'imdb'}" in err and "--url URL --sha256 HEX" in err
    assert not home.exists()


def test_cli_errors(home, capsys):
    assert main(["data", "download", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert main(["data", "download", "babi", "--url", "http://127.0.0.1:9/x.tar.gz"]) == 2
    assert "give --url and --sha256 together" in capsys.readouterr().err
    assert main(["data", "download", "babi", "--url", "http://x/y", "--sha256", "abc"]) == 2
    assert "64 hex digits" in capsys.readouterr().err


def test_unsafe_archive_member_is_refused(server, home):
    folder, url = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (folder / "evil.tar.gz").write_bytes(buffer.getvalue())
    digest = sha256_of(folder / "evil.tar.gz")
    with pytest.raises(DownloadError, match="unsafe member"):
        download("babi", url=f"{url}/evil.tar.gz", sha256=digest, progress=False)
    assert not (home / "escape.txt").exists() and not (home / "babi").exists()


def test_without_pooch_the_error_names_the_extra(babi_archive, home, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pooch", None)
    url, digest = babi_archive
    with pytest.raises(DownloadError, match=r"pip install 'amkit\[download\]'"):
        download_module.download("babi", url=url, sha256=digest, progress=False)
