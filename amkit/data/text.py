"""Text classification data: a tokenizer, a vocabulary saved with the run, and readers.

- :func:`tokenize`: lower-cased words (with inner apostrophes, ``don't``) plus ``!`` and
  ``?``, which carry sentiment; other punctuation is dropped.
- :func:`text_tokens`: those words, and with ``ngrams`` > 1 also their word n-grams
  (``"not good"``), each placed right after its last word, so that head + tail truncation
  keeps words and n-grams of the same passages (fastText-style bags, Joulin et al. 2017).
  With ``phrases`` (an :class:`~amkit.knowledge.linking.EntityLinker` of multi-word names,
  ``data.phrases``) each linked name is a token too, placed the same way, so a knowledge
  table keyed by words (vectors, lexicons, WordNet) gives it the name's knowledge.
- :class:`Vocabulary`: ``<pad>`` = 0, ``<unk>`` = 1, then words by falling frequency (ties
  alphabetical), with a minimum frequency and a maximum size; saved as JSON in the run dir.
- Long texts are cut to ``max_len`` tokens keeping the **head and the tail**: the first
  quarter of the budget from the start, the rest from the end, where reviews tend to state
  their verdict (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?", found
  head + tail best for long IMDB reviews).
- :func:`read_labelled_texts`: ``text, label`` rows from CSV, TSV or JSONL (``.gz`` too).
  An empty text, a missing column or a label outside the declared ``labels`` raises
  ``ValueError`` naming file:line.
- The ``text`` dataset (any such file) and the ``imdb`` dataset share
  :func:`build_text_bundle`: stratified validation split carved from train (seeded), an
  optional stratified subset of train for learning curves, token ids ``(N, T)``.

Legend: N examples, T tokens (``max_len``), V vocabulary.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sklearn.model_selection import train_test_split

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, pad_rows, register_dataset
from amkit.data.pseudo_labels import load_pseudo_labels, unlabelled_indices
from amkit.errors import UserError
from amkit.io import read_tensors
from amkit.knowledge.linking import EntityLinker, phrase_names
from amkit.textfile import jsonl_records, open_text, read_json

log = logging.getLogger("amkit")

PAD, UNK = "<pad>", "<unk>"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[!?]")


def tokenize(text: str) -> list[str]:
    """``"I didn't like it!!"`` -> ``["i", "didn't", "like", "it", "!", "!"]``."""
    return _TOKEN.findall(text.lower())


def text_tokens(text: str, ngrams: int = 1, phrases: EntityLinker | None = None) -> list[str]:
    """Words, and with ``ngrams`` = n their 2..n-grams (space-joined) after their last word:
    ``text_tokens("not a good film", 2)`` ->
    ``["not", "a", "not a", "good", "a good", "film", "good film"]``.

    ``phrases`` (:func:`phrase_linker`): each multi-word name it links (longest match, no
    overlaps) follows its last word as the lower-cased name, unless an n-gram token already
    spells it: ``"tom hanks"`` in ``["i", "like", "tom", "hanks", "tom hanks"]``."""
    words = tokenize(text)
    linked = {}  # end position -> the name of the mention ending there
    if phrases is not None:
        linked = {m.end: m.entry.lower() for m in phrases.link(words) if m.end - m.start > 1}
    if ngrams <= 1 and not linked:
        return words
    tokens = []
    for end, word in enumerate(words, start=1):
        tokens.append(word)
        grams = [" ".join(words[end - n : end]) for n in range(2, min(ngrams, end) + 1)]
        tokens += grams
        if end in linked and linked[end] not in grams:
            tokens.append(linked[end])
    return tokens


def phrase_linker(names: Sequence[str]) -> EntityLinker:
    """An :class:`~amkit.knowledge.linking.EntityLinker` of the ``names`` that
    :func:`tokenize` splits into several words, matched on those words (``"St. Louis"``
    matches ``st louis``)."""
    return EntityLinker((n for n in names if len(tokenize(n)) > 1), split=tokenize)


def head_tail(items: Sequence, max_len: int) -> list:
    """Keep the first ``max_len // 4`` and the last ``max_len - max_len // 4`` items."""
    if len(items) <= max_len:
        return list(items)
    head = max_len // 4
    tail = max_len - head
    return list(items[:head]) + list(items[len(items) - tail :])


class Vocabulary:
    """Words <-> ids. ``words[0]`` is ``<pad>``, ``words[1]`` is ``<unk>``."""

    def __init__(self, words: Sequence[str]):
        if list(words[:2]) != [PAD, UNK]:
            raise UserError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {list(words[:2])}")
        if len(set(words)) != len(words):
            raise UserError("a vocabulary lists each word once")
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """Words seen at least ``min_freq`` times, most frequent first, at most ``max_size``
        entries in all (the two specials included)."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            ranked = ranked[: max(max_size - 2, 0)]
        return cls([PAD, UNK, *ranked])

    def encode(self, tokens: Sequence[str], max_len: int | None = None) -> list[int]:
        """Token ids; unknown words map to 1; head + tail cut to ``max_len``."""
        ids = [self.index.get(token, 1) for token in tokens]
        return head_tail(ids, max_len) if max_len is not None else ids

    def to_json(self) -> str:
        return json.dumps({"words": self.words}, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        data = read_json(path, fix="restore it, or retrain the run")
        if not isinstance(data.get("words"), list) or not all(
            isinstance(w, str) for w in data["words"]
        ):
            raise UserError(f"{path}: expected {{'words': [...]}}")
        return cls(data["words"])


def load_phrase_linker(run_dir: str | Path, required: bool = False) -> EntityLinker | None:
    """The :func:`phrase_linker` a run tokenized its texts with (its ``phrases.json``, written
    when ``data.phrases`` is set), or ``None`` when the run has none (an error if
    ``required``: the run's config sets ``data.phrases``)."""
    path = Path(run_dir) / "phrases.json"
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"{path} is missing: the run's config sets data.phrases")
        return None
    data = read_json(path, fix="restore it, or retrain the run")
    if not isinstance(data.get("names"), list) or not all(
        isinstance(n, str) for n in data["names"]
    ):
        raise UserError(f"{path}: expected {{'source': ..., 'names': [...]}}")
    return phrase_linker(data["names"])


def encode_texts(
    texts: Sequence[str],
    vocab: Vocabulary,
    max_len: int,
    ngrams: int = 1,
    phrases: EntityLinker | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (N, T) right-padded with 0, lengths (N,))`` of :func:`text_tokens`; an empty
    token list gets one ``<unk>`` so every example has a real token."""
    rows = [vocab.encode(text_tokens(text, ngrams, phrases), max_len) or [1] for text in texts]
    return pad_rows(rows, width=max_len), torch.tensor([len(row) for row in rows])


# ---------------------------------------------------------------- reading labelled files
def read_labelled_texts(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a CSV, TSV or JSONL file (optionally ``.gz``).

    CSV/TSV need a header row naming ``text_column`` and ``label_column``. Labels are read
    as strings; with ``labels`` given, any other label is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    allowed = set(labels) if labels is not None else None
    texts: list[str] = []
    found: list[str] = []

    def add(where: str, text: Any, label: Any) -> None:
        if text is None or not str(text).strip():
            raise UserError(f"{where}: empty text")
        if label is None or str(label).strip() == "":
            raise UserError(f"{where}: missing label")
        label = str(label).strip()
        if allowed is not None and label not in allowed:
            raise UserError(f"{where}: unknown label {label!r}; expected one of {sorted(allowed)}")
        texts.append(str(text))
        found.append(label)

    with open_text(path, newline="" if kind in (".csv", ".tsv") else None) as handle:
        if kind == ".jsonl":
            for line_no, record in jsonl_records(handle, path):
                add(f"{path}:{line_no}", record.get(text_column), record.get(label_column))
        elif kind in (".csv", ".tsv"):
            reader = csv.DictReader(handle, delimiter="\t" if kind == ".tsv" else ",")
            missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(
                    f"{path}:1: header {reader.fieldnames} lacks column(s) {missing}; name them "
                    "with data.text_column / data.label_column"
                )
            for row in reader:
                if None in row:  # more fields than the header
                    raise UserError(
                        f"{path}:{reader.line_num}: {len(reader.fieldnames) + len(row[None])} "
                        f"fields, the header has {len(reader.fieldnames)}"
                    )
                add(f"{path}:{reader.line_num}", row.get(text_column), row.get(label_column))
        else:
            raise UserError(f"{path}: unknown format; use .csv, .tsv or .jsonl (optionally .gz)")
    if not texts:
        raise UserError(f"{path}: no examples")
    return texts, found


# ---------------------------------------------------------------- datasets
@dataclass
class TokenizationConfig:
    """What every text dataset shares."""

    max_len: int = option(400, ge=1)  # tokens per text, head + tail kept (IMDB median ~ 200)
    min_freq: int = option(2, ge=1)  # words seen once are mostly typos and names
    max_vocab: int = option(30000, ge=3)
    # > 1: word n-grams up to this length are tokens too (text_tokens); they count towards
    # max_len, min_freq and max_vocab, so raise those (configs/imdb/ngram_bag.yaml)
    ngrams: int = option(1, ge=1, le=3)
    # multi-word names to link in the texts, each a token of its own after its last word
    # (text_tokens), so knowledge keyed by words reaches them: afinn | vader (multi-word
    # entries), wordnet (multi-word lemmas), a KG embeddings folder, a .txt list of names or a
    # triples file (their entities). Phrase tokens count towards max_len, min_freq, max_vocab
    phrases: str | None = None
    val_fraction: float = option(0.1, gt=0, lt=1)  # carved from train, stratified, seeded
    # seed of the validation split (and train_fraction subset); None: the run's seed. Fix it
    # to train several seeds on one split, e.g. to ensemble them (amkit ensemble).
    split_seed: int | None = None
    train_fraction: float = option(1.0, gt=0, le=1)  # learning curves: a stratified subset
    # a run directory whose probabilities.safetensors holds out-of-fold "train" predictions
    # (amkit baseline ... --set nbsvm.train_folds=5): its soft labels train the model too
    teacher: str | None = None
    # self-training (amkit.data.pseudo_labels), with train_fraction < 1: the training texts
    # the subset leaves out are unlabelled. predict_unlabelled (amkit baseline): the run also
    # saves its predictions of them; pseudo_labels: RUN (such a run, or an ensemble of them):
    # train on them too, labelled by RUN where its probability is >= pseudo_threshold
    predict_unlabelled: bool = False
    pseudo_labels: str | None = None
    pseudo_threshold: float = option(0.9, ge=0.5, le=1)
    # > 0: training batches of similar length (pools of this many batches sorted by length, the
    # batches then shuffled): less padding, 1.5-2x faster on IMDB; 0 keeps plain random batches
    bucket_pool: int = option(0, ge=0)

    def validate(self) -> list[str]:
        problems = []
        for key in ("predict_unlabelled", "pseudo_labels"):
            if getattr(self, key) and self.train_fraction >= 1:
                problems.append(f"{key} needs train_fraction < 1 (the texts it leaves out are "
                                "the unlabelled ones)")  # fmt: skip
        if self.pseudo_labels and self.teacher:
            problems.append("pseudo_labels and teacher: give one (the teacher's soft labels "
                            "cover the labelled texts only)")  # fmt: skip
        return problems


@dataclass
class LabelledTexts:
    """A text dataset before tokenization: train (and test) texts with class ids."""

    train_texts: list[str]
    train_targets: list[int]
    label_names: list[str]
    test_texts: list[str] | None = None
    test_targets: list[int] | None = None


# name -> reader(config) -> LabelledTexts, for every text dataset (baselines read them too)
TEXT_SOURCES: dict[str, Callable[[Any], LabelledTexts]] = {}


def text_dataset(name: str, config: type):
    """Register ``reader(config) -> LabelledTexts`` as a text source *and* as the dataset
    ``name`` (tokenized by :func:`build_text_bundle`)."""

    def decorator(reader: Callable[[Any], LabelledTexts]):
        TEXT_SOURCES[name] = reader
        register_dataset(name, config=config, task="classification")(
            lambda cfg, seed: build_text_bundle(cfg, seed, reader(cfg))
        )
        return reader

    return decorator


def read_labelled_file(
    path: str | Path, data_config: Any, label_names: Sequence[str]
) -> tuple[list[str], list[int]]:
    """``(texts, class ids)`` of a labelled file read with a trained run's text and label
    columns (``data_config``'s, or ``text`` / ``label``); a label the run does not know is
    an error naming ``path:line``."""
    texts, labels = read_labelled_texts(
        path,
        getattr(data_config, "text_column", "text"),
        getattr(data_config, "label_column", "label"),
        labels=label_names,
    )
    index = {name: i for i, name in enumerate(label_names)}
    return texts, [index[label] for label in labels]


def split_indices(
    targets: Sequence[int], config: TokenizationConfig, seed: int
) -> tuple[list[int], list[int]]:
    """``(train, val)`` indices: a stratified, seeded validation split carved from train,
    then (``train_fraction < 1``) a stratified, seeded subset of what is left; ``seed`` is
    the run's, unless ``config.split_seed`` is set."""
    seed = seed if config.split_seed is None else config.split_seed
    fit_idx, val_idx = train_test_split(
        list(range(len(targets))),
        test_size=config.val_fraction,
        random_state=seed,
        stratify=list(targets),
    )
    if config.train_fraction < 1:
        fit_idx, _ = train_test_split(
            fit_idx,
            train_size=config.train_fraction,
            random_state=seed,
            stratify=[targets[i] for i in fit_idx],
        )
    return fit_idx, val_idx


def load_teacher_logits(run_dir: str | Path, fit_idx: Sequence[int]) -> torch.Tensor:
    """``(N_train, C)`` log-probabilities of a teacher run's out-of-fold ``train`` predictions,
    checked to be for exactly these training examples in this order."""

    path = Path(run_dir) / "probabilities.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"data.teacher: {path} does not exist")
    saved = read_tensors(path)
    if "train" not in saved or "train_index" not in saved:
        raise UserError(
            f"data.teacher: {path} has no out-of-fold training predictions; train the teacher "
            "with --set nbsvm.train_folds=5"
        )
    if saved["train_index"].tolist() != list(fit_idx):
        raise UserError(
            f"data.teacher: {path} predicts another training split; give the teacher the same "
            "seed, val_fraction and train_fraction as this run"
        )
    return saved["train"].clamp_min(1e-6).log()


def build_text_bundle(config: TokenizationConfig, seed: int, data: LabelledTexts) -> DataBundle:
    """Split, build the vocabulary on the training part only, and encode every split."""
    texts, targets = data.train_texts, data.train_targets
    fit_idx, val_idx = split_indices(targets, config, seed)
    if config.predict_unlabelled:
        raise UserError(
            "data.predict_unlabelled: only amkit baseline runs predict the unlabelled texts (a "
            "trained model can be a student: data.pseudo_labels)"
        )
    files = {}
    fit_targets = [targets[i] for i in fit_idx]
    if config.pseudo_labels is not None:  # self-training: the pool texts the teacher labels
        pool = unlabelled_indices(len(targets), fit_idx, val_idx)
        pseudo = load_pseudo_labels(config.pseudo_labels, pool, config.pseudo_threshold)
        fit_idx, fit_targets = [*fit_idx, *pseudo.indices], [*fit_targets, *pseudo.labels]
        files["pseudo_labels.json"] = json.dumps(pseudo.summary(targets), indent=1)
    linker = None
    if config.phrases is not None:
        try:
            phrase_list = phrase_names(config.phrases)
        except (FileNotFoundError, ValueError) as error:
            raise type(error)(f"data.phrases: {error}") from error
        linker = phrase_linker(phrase_list)
        files["phrases.json"] = json.dumps({"source": config.phrases, "names": phrase_list})
    vocab = Vocabulary.build(
        (text_tokens(texts[i], config.ngrams, linker) for i in fit_idx), config.min_freq,
        config.max_vocab,
    )  # fmt: skip
    if linker is not None:
        phrase_tokens = {name.lower() for name in phrase_list}
        in_vocab = sum(word in phrase_tokens for word in vocab.words)
        log.info(
            "phrases %s: %d multi-word names, %d of them in the vocabulary",
            config.phrases, linker.n_names, in_vocab,
        )  # fmt: skip

    def encode(some_texts: list[str]) -> torch.Tensor:
        return encode_texts(some_texts, vocab, config.max_len, config.ngrams, linker)[0]

    splits = {}
    split_targets = {"train": fit_targets, "val": [targets[i] for i in val_idx]}
    for name, idx in (("train", fit_idx), ("val", val_idx)):
        ids = encode([texts[i] for i in idx])
        tensors = {"tokens": ids, "targets": torch.tensor(split_targets[name])}
        if name == "train" and config.teacher is not None:
            tensors["teacher_logits"] = load_teacher_logits(config.teacher, fit_idx)
        if name == "train" and config.bucket_pool:
            splits[name] = TensorDictDataset(tensors, ("tokens",), config.bucket_pool)
        else:
            splits[name] = TensorDictDataset(tensors)
    if data.test_texts is not None:
        ids = encode(data.test_texts)
        splits["test"] = TensorDictDataset(
            {"tokens": ids, "targets": torch.tensor(data.test_targets)}
        )
    names = data.label_names
    return DataBundle(
        splits,
        info=DataInfo(
            task="classification",
            vocab=vocab.words,
            vocab_size=len(vocab),
            n_classes=len(names),
            label_names=names,
            max_len=config.max_len,
            # the texts as read, for the per-example predictions of amkit serve
            examples={"val": [texts[i] for i in val_idx], "test": list(data.test_texts or [])},
        ),
        files={"vocab.json": vocab.to_json(), "labels.json": json.dumps(names), **files},
    )


@dataclass
class TextDataConfig(TokenizationConfig):
    """Any labelled text file: ``data: {name: text, train: FILE, test: FILE}``."""

    train: str = ""
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    labels: list[str] | None = None  # the allowed labels, in class order (default: sorted)

    def validate(self) -> list[str]:
        problems = super().validate()
        if not self.train:
            problems.append("train: the path of the training file is required")
        return problems


@text_dataset("text", config=TextDataConfig)
def read_text_source(config: TextDataConfig) -> LabelledTexts:
    columns = (config.text_column, config.label_column)
    texts, labels = read_labelled_texts(config.train, *columns, labels=config.labels)
    names = list(config.labels) if config.labels else sorted(set(labels))
    if len(names) < 2:
        raise UserError(f"{config.train}: needs at least two labels, found {names}")
    index = {name: i for i, name in enumerate(names)}
    data = LabelledTexts(texts, [index[label] for label in labels], names)
    if config.test:
        test_texts, test_labels = read_labelled_texts(config.test, *columns, labels=names)
        data.test_texts, data.test_targets = test_texts, [index[x] for x in test_labels]
    return data
