"""Parallel text for translation: Multi30k (Elliott et al. 2016) or any line-aligned pair.

- :func:`read_parallel`: two files, one sentence per line (``.gz`` or not), aligned by line;
  different line counts are an error naming both files and both counts.
- :class:`SubwordTokenizer`: a sentencepiece model trained on the *training* split only
  (one joint model for both languages, so embeddings can be shared), identity Unicode
  normalisation so ``decode(encode(text)) == text`` (runs of spaces become one); saved in
  the run directory as ``spm.model``.
- the ``translation`` dataset: ``src (N, S)``, ``tgt_in (N, T)`` (``<s>`` + target),
  ``targets (N, T)`` (target + ``</s>``), padded with 0.

Legend: N sentences, S source tokens, T target tokens, V subword vocabulary.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, pad_rows, register_dataset
from amkit.data.locations import dataset_path
from amkit.errors import UserError
from amkit.textfile import open_text

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def read_lines(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    with open_text(path) as f:
        return [line.rstrip("\r\n") for line in f]


def read_parallel(source: str | Path, target: str | Path) -> list[tuple[str, str]]:
    """Line-aligned ``(source, target)`` pairs."""
    src, tgt = read_lines(source), read_lines(target)
    if len(src) != len(tgt):
        raise UserError(
            f"parallel files differ in length: {source} has {len(src)} lines, "
            f"{target} has {len(tgt)}"
        )
    return list(zip(src, tgt, strict=True))


def find_split(folder: str | Path, split: str, language: str) -> Path:
    """``folder/split.language`` with or without ``.gz``."""
    folder = Path(folder)
    for name in (f"{split}.{language}.gz", f"{split}.{language}"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}/{split}.{language}[.gz] not found")


class SubwordTokenizer:
    """A sentencepiece model with ids pad 0, unk 1, ``<s>`` 2, ``</s>`` 3."""

    def __init__(self, model_bytes: bytes):
        import sentencepiece as spm

        self.model_bytes = model_bytes
        self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)

    @classmethod
    def train(cls, texts: list[str], vocab_size: int, model_type: str = "unigram"):
        """Train on ``texts`` (deterministic: one thread, no sampling of sentences)."""
        try:
            import sentencepiece as spm
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "subword tokenization needs sentencepiece: pip install 'amkit[translation]'"
            ) from error
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS,
            normalization_rule_name="identity",
            character_coverage=1.0,
            num_threads=1,
            shuffle_input_sentence=False,
            hard_vocab_limit=False,
            minloglevel=2,
        )  # fmt: skip
        return cls(model.getvalue())

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode([i for i in ids if i > EOS])

    def pieces(self, text: str) -> list[str]:
        return self.sp.encode(text, out_type=str)


def encode_pairs(pairs, tokenizer: SubwordTokenizer, max_len: int) -> dict[str, torch.Tensor]:
    src = [tokenizer.encode(s)[:max_len] for s, _ in pairs]
    tgt = [tokenizer.encode(t)[: max_len - 1] for _, t in pairs]
    return {
        "src": pad_rows(src),
        "tgt_in": pad_rows([[BOS, *t] for t in tgt]),
        "targets": pad_rows([[*t, EOS] for t in tgt]),
    }


TRIMMED = ("src", "tgt_in", "targets")  # batches cut to their longest sentence


@dataclass
class TranslationDataConfig:
    """Multi30k English -> German by default; any folder of ``SPLIT.LANG[.gz]`` files."""

    path: str | None = None  # null: the multi30k folder under AMKIT_DATA (amkit data where)
    source: str = "en"
    target: str = "de"
    train: str = "train"
    val: str = "val"
    test: str = "test_2016_flickr"
    vocab_size: int = option(8000, ge=16)  # joint sentencepiece vocabulary
    model_type: str = "unigram"  # sentencepiece: unigram or bpe
    max_len: int = option(100, ge=2)  # subwords per sentence (longer ones are cut)
    train_limit: int = option(0, ge=0)  # first N training pairs only (0: all)
    # N > 0: training batches of similar length, sorted within pools of N batches (less
    # padding, faster; see amkit.data.base.iterate_batches); 0: plain random batches
    bucket_pool: int = option(0, ge=0)
    # sequence-level distillation (Kim & Rush 2016): a file of training targets, one per
    # training source line (a teacher's translations), used instead of the target file of
    # the training split; validation and test keep their references. "": the references.
    train_targets: str = ""

    def validate(self) -> list[str]:
        if self.model_type not in ("unigram", "bpe"):
            return [f"model_type: expected unigram or bpe, got {self.model_type!r}"]
        return []


@register_dataset("translation", config=TranslationDataConfig, task="translation")
def build_translation(config: TranslationDataConfig, seed: int) -> DataBundle:
    folder = dataset_path("multi30k", config.path)

    def pairs(split: str):
        return read_parallel(
            find_split(folder, split, config.source),
            find_split(folder, split, config.target),
        )

    if config.train_targets and not Path(config.train_targets).is_file():
        raise FileNotFoundError(f"data.train_targets: {config.train_targets} not found")
    train = read_parallel(  # with train_targets: a teacher's translations as targets
        find_split(folder, config.train, config.source),
        config.train_targets or find_split(folder, config.train, config.target),
    )
    if config.train_limit:
        train = train[: config.train_limit]
    tokenizer = SubwordTokenizer.train(
        [s for pair in train for s in pair], config.vocab_size, config.model_type
    )
    splits = {"train": train, "val": pairs(config.val), "test": pairs(config.test)}
    tensors = {
        k: TensorDictDataset(encode_pairs(v, tokenizer, config.max_len), trim=TRIMMED,
                             bucket_pool=config.bucket_pool if k == "train" else 0)
        for k, v in splits.items()
    }  # fmt: skip
    for name, dataset in tensors.items():  # BLEU is scored against the raw sentences
        dataset.references = [target for _, target in splits[name]]
    return DataBundle(
        tensors,
        info=DataInfo(
            task="translation",
            vocab_size=len(tokenizer),
            n_classes=len(tokenizer),
            tokenizer=tokenizer,
            max_len=config.max_len,
            references={k: [t for _, t in v] for k, v in splits.items()},
            sources={k: [s for s, _ in v] for k, v in splits.items()},
        ),
        files={"spm.model": tokenizer.model_bytes},
    )
