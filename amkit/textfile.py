"""Opening the text files users hand to readers: plain or gzip'd, UTF-8; and data files that
ship inside an installed (optional) package."""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from amkit.errors import UserError


def open_text(path: str | Path, newline: str | None = None, encoding: str = "utf-8") -> IO[str]:
    """Open ``path`` for reading as text (UTF-8 unless told), through gzip for ``.gz``.

    ``newline=""`` is what the ``csv`` module wants. Bytes that do not decode, and a gzip
    file that is not gzip, are a :class:`UserError` naming ``path`` (and the line when
    reading line by line), not a ``UnicodeDecodeError`` from deep inside.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    return _CheckedText(opener(path, "rt", encoding=encoding, newline=newline), path)


class _CheckedText:
    """A text file whose decoding errors name the file and line (see :func:`open_text`)."""

    def __init__(self, handle: IO[str], path: Path):
        self._handle, self._path, self._line = handle, path, 0

    def _error(self, error: Exception) -> UserError:
        where = f"{self._path}:{self._line + 1}" if self._line else str(self._path)
        if isinstance(error, UnicodeDecodeError):
            return UserError(f"{where}: not UTF-8 text ({error.reason}); save the file as UTF-8")
        return UserError(f"{where}: cannot be read ({error})")

    def __iter__(self) -> _CheckedText:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._handle)
        except (UnicodeDecodeError, OSError, EOFError) as error:
            raise self._error(error) from None
        self._line += 1
        return line

    def readline(self, *args: Any) -> str:
        try:
            line = self._handle.readline(*args)
        except (UnicodeDecodeError, OSError, EOFError) as error:
            raise self._error(error) from None
        self._line += 1
        return line

    def read(self, *args: Any) -> str:
        try:
            return self._handle.read(*args)
        except (UnicodeDecodeError, OSError, EOFError) as error:
            raise self._error(error) from None

    def readlines(self) -> list[str]:
        return list(self)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _CheckedText:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.close()


def decode_utf8(data: bytes, where: str | Path) -> str:
    """``data`` as UTF-8 text; bytes that are not UTF-8 are a :class:`UserError` naming
    ``where:line`` and the offending byte, with the fix."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise UserError(
            f"{where}:{line}: not UTF-8 (byte 0x{data[error.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def read_text_file(path: str | Path) -> str:
    """The whole of a UTF-8 text file; bytes that are not UTF-8 are a :class:`UserError`
    naming ``path:line`` (:func:`decode_utf8`)."""
    path = Path(path)
    return decode_utf8(path.read_bytes(), path)


def read_json(path: str | Path, expect: type | None = dict, fix: str = "") -> Any:
    """The JSON value in ``path`` (a run's ``metrics.json``, ``last.json``, a results file).

    A missing file is a ``FileNotFoundError`` naming it; bytes that are not UTF-8, text that
    is not JSON (with its line), a document nested too deep to parse, or a top-level value
    that is not an ``expect`` (default a JSON object; ``None``: anything) are a
    :class:`UserError` naming ``path`` and ending with ``fix`` (what to do, e.g. "retrain").
    """
    path = Path(path)
    fix = fix or "restore the file, or write it again"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror}); {fix}") from None
    text = decode_utf8(raw, path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}: not valid JSON ({error.msg}); {fix}") from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply to read; {fix}") from None
    if expect is not None and not isinstance(value, expect):
        wanted = {dict: "a JSON object", list: "a JSON array"}.get(expect, expect.__name__)
        raise UserError(
            f"{path}: expected {wanted} at the top level, got {type(value).__name__}; {fix}"
        )
    return value


def json_section(value: Any, key: str, path: str | Path) -> dict[str, Any]:
    """``value[key]`` when it is a JSON object (``{}`` when absent); anything else is a
    :class:`UserError` naming ``path`` and ``key``."""
    section = value.get(key, {}) if isinstance(value, dict) else None
    if not isinstance(section, dict):
        raise UserError(f"{path}: {key!r} should be a JSON object, got {section!r:.60}")
    return section


def package_file(package: str, relative: str, install_hint: str) -> Path:
    """``relative`` inside the installed ``package``; ``ModuleNotFoundError`` with
    ``install_hint`` (how to install it or what to pass instead) when it is absent."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {package!r} package is not installed: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def jsonl_records(
    handle: IO[str], path: str | Path, what: str = ""
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each non-blank line of a JSON-lines file; a line that is
    not a JSON object raises ``ValueError`` naming ``path:line`` (``what`` says what the
    object should hold, e.g. ``" with head/relation/tail"``)."""
    for line_no, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{line_no}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}:{line_no}: expected a JSON object{what}")
        yield line_no, record
