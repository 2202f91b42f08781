"""No code execution from files amkit reads, and archives extracted without escaping their
folder: a grep of the package for unsafe loaders, and malicious tars built in tmp_path."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from amkit.data.download import _unpack
from amkit.errors import UserError

PACKAGE = Path(__file__).resolve().parents[1] / "amkit"

UNSAFE = {
    "pickle.load": re.compile(r"\bpickle\.loads?\("),
    "cPickle / dill / joblib load": re.compile(r"\b(cPickle|dill|joblib)\.loads?\("),
    "torch.load without weights_only=True": re.compile(
        r"\btorch\.load\((?![^)]*weights_only=True)"
    ),
    "np.load with allow_pickle=True": re.compile(
        r"\bn(?:p|umpy)\.load\([^)]*allow_pickle\s*=\s*True"
    ),
    "yaml.load without SafeLoader": re.compile(r"\byaml\.(?:load|load_all)\((?![^)]*SafeLoader)"),
    "yaml.unsafe_load": re.compile(r"\byaml\.(?:unsafe_load|full_load)"),
    "eval / exec": re.compile(r"(?<![\w.])(?:eval|exec)\("),
    "marshal.load": re.compile(r"\bmarshal\.loads?\("),
}
ALLOWED: dict[tuple[str, str], str] = {}  # (relative path, rule) -> why it is safe


def test_no_unsafe_loader_in_the_package():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(PACKAGE.parent).as_posix()
        for rule, pattern in UNSAFE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                if (relative, rule) not in ALLOWED:
                    found.append(f"{relative}:{line}: {rule}")
    assert not found, "unsafe loaders:\n" + "\n".join(found)


def test_the_grep_catches_what_it_should():
    bad = ["pickle.load(f)", "torch.load(path)", "np.load(p, allow_pickle=True)",
           "yaml.load(text)", "eval(code)", "exec(code)"]  # fmt: skip
    good = ["torch.load(p, weights_only=True)", "np.load(p)", "yaml.safe_load(t)",
            "model.eval()", "yaml.load(t, Loader=yaml.SafeLoader)"]  # fmt: skip
    hits = lambda s: [r for r, p in UNSAFE.items() if p.search(s)]  # noqa: E731
    assert all(hits(s) for s in bad) and not any(hits(s) for s in good)


def _tar(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            data = b"hi" if info.isfile() else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escape.txt"),
        tarfile.TarInfo("data/../../escape.txt"),
        tarfile.TarInfo("/tmp/amkit-absolute-escape.txt"),
        _link("data/up", "../../escape.txt", tarfile.SYMTYPE),
        _link("data/abs", "/etc/passwd", tarfile.SYMTYPE),
        _link("data/hard", "/etc/passwd", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-up", "symlink-absolute", "hardlink"],
)
def test_malicious_tar_members_are_refused(tmp_path, member):
    archive = _tar(tmp_path / "evil.tar.gz", tarfile.TarInfo("data/ok.txt"), member)
    into = tmp_path / "out"
    into.mkdir()
    with pytest.raises(UserError) as error:
        _unpack(archive, into)
    assert "evil.tar.gz" in str(error.value) and member.name in str(error.value)
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/amkit-absolute-escape.txt").exists()


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/amkit-absolute-escape.txt"])
def test_malicious_zip_members_are_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data/ok.txt", "ok")
        zipped.writestr(zipfile.ZipInfo(name), "hi")
    into = tmp_path / "out"
    into.mkdir()
    with pytest.raises(UserError, match=re.escape(f"evil.zip: refusing unsafe member {name!r}")):
        _unpack(archive, into)
    assert not (tmp_path / "escape.txt").exists()


def test_a_safe_tar_unpacks(tmp_path):
    archive = _tar(tmp_path / "good.tar.gz", tarfile.TarInfo("data/ok.txt"))
    _unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "data" / "ok.txt").read_bytes() == b"hi"
