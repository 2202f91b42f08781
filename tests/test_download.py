"""``amkit data download``: a generated archive served on 127.0.0.1, good and bad checksums."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from amkit.cli import main
from amkit.data.babi import load_babi
from amkit.data.download import DownloadError, download, sha256_of
from amkit.data.stories import write_babi_tree


@pytest.fixture
def served_archive(tmp_path):
    archive = write_babi_tree(tmp_path / "src", tasks=(1,), n_train=20, n_test=20, archive=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{archive.name}", sha256_of(archive)
    server.shutdown()
    server.server_close()


def test_download_verifies_and_extracts(served_archive, tmp_path):
    url, digest = served_archive
    result = download("babi", tmp_path / "data", url=url, sha256=digest, progress=False)
    assert result.verified and result.sha256 == digest
    assert (tmp_path / "data" / "tasks_1-20_v1-2" / "en").is_dir()
    assert len(load_babi(tmp_path / "data", "en", [1], "train")) >= 20
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.startswith(".amkit")]


def test_bad_checksum_leaves_nothing_behind(served_archive, tmp_path):
    url, _ = served_archive
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download("babi", dest, url=url, sha256="0" * 64, progress=False)
    assert list(dest.iterdir()) == []


def test_cli_download_and_errors(served_archive, tmp_path, capsys):
    url, digest = served_archive
    assert main(["data", "download", "babi", "--dest", str(tmp_path / "d"), "--url", url]) == 0
    assert f"pin it with --sha256 {digest}" in capsys.readouterr().out
    assert (
        main(
            [
                "data",
                "download",
                "babi",
                "--dest",
                str(tmp_path / "e"),
                "--url",
                url,
                "--sha256",
                "f" * 64,
            ]
        )
        == 2
    )
    assert "sha256 mismatch" in capsys.readouterr().err
    assert main(["data", "download", "nope", "--dest", str(tmp_path / "f")]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert not Path(tmp_path / "e").exists() or not any(Path(tmp_path / "e").iterdir())
