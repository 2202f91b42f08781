"""The link-prediction benchmarks WN18RR (Dettmers et al. 2018) and FB15k-237 (Toutanova &
Chen 2015): their train / valid / test triples, from an unpacked folder or the ConvE
release's ``.tar.gz`` (members ``train.txt``, ``valid.txt``, ``test.txt``; FB15k-237's lines
end in CRLF, read the same).

    read_benchmark("wn18rr")                 # $AMKIT_DATA/kg/WN18RR(.tar.gz)
    read_benchmark("fb15k237", "/data/FB15k-237.tar.gz")

Returns ``{"train": [(head, relation, tail), ...], "valid": ..., "test": ...}``.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from amkit.errors import UserError
from amkit.graph import read_tsv_triples

BENCHMARKS = {"wn18rr": "WN18RR", "fb15k237": "FB15k-237"}
SPLITS = ("train", "valid", "test")


def default_benchmark_path(name: str) -> Path:
    """``$AMKIT_DATA/kg/<folder>`` when unpacked there, else ``...<folder>.tar.gz``."""
    from amkit.data.locations import data_home

    folder = data_home() / "kg" / BENCHMARKS[name]
    return folder if folder.is_dir() else folder.with_name(folder.name + ".tar.gz")


def read_benchmark(name: str, path: str | Path | None = None) -> dict[str, list]:
    """The three splits of benchmark ``name`` (``wn18rr`` or ``fb15k237``).

    Raises:
        UserError: an unknown name, a path that is neither a folder with the three files nor
            an archive holding them, or a malformed line (naming ``file:line``).
    """
    if name not in BENCHMARKS:
        raise UserError(
            f"data.name: {name!r} is not a link-prediction benchmark; "
            f"known: {', '.join(BENCHMARKS)}"
        )
    path = Path(path) if path else default_benchmark_path(name)
    if path.is_dir():
        missing = [s for s in SPLITS if not (path / f"{s}.txt").is_file()]
        if missing:
            raise UserError(f"data.path: {path} lacks {', '.join(f'{s}.txt' for s in missing)}")
        return {s: read_tsv_triples(path / f"{s}.txt") for s in SPLITS}
    if not path.is_file():
        raise UserError(
            f"data.path: no {BENCHMARKS[name]} at {path} (a folder with train.txt, valid.txt, "
            f"test.txt or {BENCHMARKS[name]}.tar.gz); set data.path or AMKIT_DATA"
        )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(path) as archive:
                for split in SPLITS:
                    member = archive.extractfile(f"{split}.txt")
                    if member is None:
                        raise UserError(f"{path}: {split}.txt is not a file in the archive")
                    Path(tmp, f"{split}.txt").write_bytes(member.read())
        except (tarfile.TarError, KeyError, EOFError, OSError) as error:
            raise UserError(
                f"data.path: {path} is not a {BENCHMARKS[name]} archive ({error})"
            ) from None
        splits = {s: read_tsv_triples(Path(tmp, f"{s}.txt")) for s in SPLITS}
    return splits
