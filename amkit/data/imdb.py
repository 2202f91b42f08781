"""IMDB Large Movie Review Dataset (Maas et al. 2011, "Learning Word Vectors for Sentiment
Analysis"): 25,000 train and 25,000 test reviews, balanced, label 1 = positive (rating >= 7),
0 = negative (rating <= 4).

``read_imdb(path, split)`` reads either layout:

- ``{split}.jsonl.gz`` (or ``.jsonl``) files, one ``{"text", "label", "id", "rating"}`` object
  per line (a repacked copy);
- the original ``aclImdb/{split}/{pos,neg}/<id>_<rating>.txt`` folders.

Reviews keep their text verbatim except that the ``<br />`` tags of the original files become
spaces (``strip_html=False`` keeps them). An empty review, a bad JSON line or label, or a file
name that is not ``<id>_<rating>.txt`` raises ``ValueError`` naming the file (and line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from amkit.data.locations import dataset_path
from amkit.data.text import LabelledTexts, TokenizationConfig, text_dataset
from amkit.errors import UserError
from amkit.textfile import jsonl_records, open_text, read_text_file

SPLITS = ("train", "test")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")


@dataclass(frozen=True)
class Review:
    text: str
    label: int  # 1 positive, 0 negative
    id: int
    rating: int  # 1..10 stars


def read_imdb(path: str | Path, split: str, strip_html: bool = True) -> list[Review]:
    """All reviews of ``split`` (``"train"`` or ``"test"``), in file order (negatives first
    in both layouts: shuffle before training)."""
    if split not in SPLITS:
        raise UserError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(path)
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        if (folder / name).is_file():
            return _read_jsonl(folder / name, strip_html)
    for root in (folder, folder / "aclImdb"):
        if (root / split / "pos").is_dir() and (root / split / "neg").is_dir():
            return _read_folders(root / split, strip_html)
    raise FileNotFoundError(
        f"no IMDB {split} split under {folder}: expected {split}.jsonl.gz or "
        f"aclImdb/{split}/{{pos,neg}}/ (the original archive's layout)"
    )


def _clean(text: str, strip_html: bool) -> str:
    return _BREAK.sub(" ", text) if strip_html else text


def _read_jsonl(path: Path, strip_html: bool) -> list[Review]:
    reviews = []
    with open_text(path) as handle:
        for line_no, record in jsonl_records(handle, path, " with 'text' and 'label'"):
            where = f"{path}:{line_no}"
            if "text" not in record or "label" not in record:
                raise UserError(f"{where}: expected an object with 'text' and 'label'")
            if record["label"] not in (0, 1):
                raise UserError(f"{where}: label must be 0 or 1, got {record['label']!r}")
            text = _clean(str(record["text"]), strip_html)
            if not text.strip():
                raise UserError(f"{where}: empty review text")
            reviews.append(
                Review(
                    text,
                    int(record["label"]),
                    int(record.get("id", -1)),
                    int(record.get("rating", -1)),
                )
            )
    if not reviews:
        raise UserError(f"{path}: no reviews")
    return reviews


def _read_folders(split_dir: Path, strip_html: bool) -> list[Review]:
    reviews = []
    for label, sub in ((0, "neg"), (1, "pos")):
        named = []  # (id, rating, file)
        for file in (split_dir / sub).glob("*.txt"):
            match = _NAME.match(file.name)
            if match is None:
                raise UserError(f"{file}: expected a name '<id>_<rating>.txt'")
            named.append((int(match.group(1)), int(match.group(2)), file))
        for review_id, rating, file in sorted(named):
            text = _clean(read_text_file(file), strip_html)
            if not text.strip():
                raise UserError(f"{file}: empty review text")
            reviews.append(Review(text, label, review_id, rating))
    if not reviews:
        raise UserError(f"{split_dir}: no reviews in pos/ or neg/")
    return reviews


@dataclass
class ImdbDataConfig(TokenizationConfig):
    """``data: {name: imdb}``: the official 25k / 25k split; validation is carved from train
    (``val_fraction``), test is scored once."""

    path: str | None = None  # null: the imdb folder under AMKIT_DATA (amkit data where)


@text_dataset("imdb", config=ImdbDataConfig)
def read_imdb_source(config: ImdbDataConfig) -> LabelledTexts:
    folder = dataset_path("imdb", config.path)
    train = read_imdb(folder, "train")
    test = read_imdb(folder, "test")
    return LabelledTexts(
        [r.text for r in train],
        [r.label for r in train],
        ["negative", "positive"],
        [r.text for r in test],
        [r.label for r in test],
    )
