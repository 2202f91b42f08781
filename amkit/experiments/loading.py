"""A run directory is a model you can load: ``amkit.load(RUN_DIR)``, without the training data.

Training writes ``data_info.json`` (:meth:`amkit.data.base.DataInfo.to_json`: the task, the
sizes, the vocabulary, the label names, the item and user names) beside the files its data
already saved (``vocab.json``, ``labels.json``, ``spm.model``, ``phrases.json``). From those
and ``config.yaml`` :func:`load` rebuilds the model and its vocabulary / tokenizer / item
table, then loads ``model.safetensors``; the corpus it was trained on need not be on disk.
Runs trained before amkit wrote ``data_info.json`` are loaded by rebuilding their data.

    run = amkit.load("runs/imdb")
    run.predict_texts(["A superb, moving film."])  # (1, C) class probabilities
    amkit.load("runs/multi30k").model.translate(["a man rides a bike"])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from amkit.data.base import DataBundle, DataInfo, TensorDictDataset
from amkit.data.text import (
    Vocabulary,
    encode_texts,
    load_phrase_linker,
    read_labelled_file,
)
from amkit.errors import UserError
from amkit.experiments.experiment import ExperimentConfig, load_config
from amkit.io import atomic_write_json
from amkit.textfile import read_json
from amkit.train.device import model_device
from amkit.train.metrics import evaluate

log = logging.getLogger("amkit")

INFO_FILE = "data_info.json"
RUN_FORMAT = 1
"""The layout of a run directory this amkit writes and reads; raised when the layout changes
(``data_info.json`` and ``metrics.json`` record it, beside ``amkit_version``)."""
OLDEST_RUN_FORMAT = 1
"""The oldest run format this amkit still loads and resumes; an older run is refused with
the amkit version that wrote it (raise it only with a test that such a run gets that message)."""
_VERSION_KEYS = ("run_format", "amkit_version")

__all__ = [
    "INFO_FILE",
    "OLDEST_RUN_FORMAT",
    "RUN_FORMAT",
    "LoadedRun",
    "check_run_format",
    "evaluate_file",
    "load",
    "save_data_info",
]


def save_data_info(run_dir: str | Path, data: DataBundle) -> None:
    """Write ``run_dir/data_info.json`` (with :data:`RUN_FORMAT` and the amkit version); the
    vocabulary is left out when the data saves it in ``vocab.json`` already."""
    import amkit

    info = data.info.to_json(with_vocab="vocab.json" not in data.files)
    info.update(run_format=RUN_FORMAT, amkit_version=amkit.__version__)
    atomic_write_json(Path(run_dir) / INFO_FILE, info)


def check_run_format(run_dir: str | Path) -> None:
    """Refuse a run directory of a run format this amkit does not read.

    Runs written before the format was recorded count as format 1. A file that cannot be
    read is left to the reader that needs it (its error names it).

    Raises:
        UserError: ``data_info.json`` or ``metrics.json`` records a ``run_format`` that is
            not an integer, or is above :data:`RUN_FORMAT` or below
            :data:`OLDEST_RUN_FORMAT`; the message names the file, both versions and what
            to do.
    """
    import amkit

    for name in (INFO_FILE, "metrics.json"):
        path = Path(run_dir) / name
        try:
            saved = read_json(path) if path.is_file() else None
        except UserError:
            continue
        if not isinstance(saved, dict):
            continue
        found = saved.get("run_format", 1)
        if not isinstance(found, int) or isinstance(found, bool):
            raise UserError(
                f"{path}: key 'run_format' must be an integer, got {found!r}; restore the file"
            )
        if OLDEST_RUN_FORMAT <= found <= RUN_FORMAT:
            continue
        wrote = saved.get("amkit_version")
        head = f"{path}: written with run format {found}" + (f" (amkit {wrote})" if wrote else "")
        this = f"this amkit {amkit.__version__} reads run format"
        if found > RUN_FORMAT:
            raise UserError(
                f"{head}; {this} {RUN_FORMAT} at most: upgrade amkit to load or resume this run"
            )
        older = f"amkit {wrote} (pip install 'amkit=={wrote}')" if wrote else "an older amkit"
        raise UserError(
            f"{head}; {this} {OLDEST_RUN_FORMAT} at least: load or resume it with {older}, "
            "or retrain it with this one"
        )


def read_data_info(run_dir: Path, config: ExperimentConfig) -> DataInfo:
    """The :class:`DataInfo` a run's model was built with, from the run directory alone."""
    path = run_dir / INFO_FILE
    saved = read_json(path, fix="retrain, or restore the file")
    if isinstance(saved, dict):  # the format is checked by check_run_format
        saved = {key: value for key, value in saved.items() if key not in _VERSION_KEYS}
    info = DataInfo.from_json(saved, str(path))
    if info.vocab is None and (run_dir / "vocab.json").is_file():
        info.vocab = Vocabulary.load(run_dir / "vocab.json").words
    if (run_dir / "spm.model").is_file():
        from amkit.data.multi30k import SubwordTokenizer

        info.tokenizer = SubwordTokenizer((run_dir / "spm.model").read_bytes())
    if info.task == "ranking":
        # the per-item counts are the popularity model's buffer: model.safetensors has them
        info.item_counts = torch.zeros(info.n_items + 1)
        folder = getattr(config.data.config, "item_knowledge", None)
        if folder:  # item knowledge comes from the item files, not from the interactions
            from amkit.data.item_knowledge import build_item_knowledge
            from amkit.data.recsys import item_knowledge_folder

            item_ids = {raw: i for i, raw in (info.item_names or {}).items()}
            info.item_knowledge = build_item_knowledge(item_ids, item_knowledge_folder(folder))
    return info


@dataclass
class LoadedRun:
    """A trained run ready for inference: its config, model (eval mode) and data info.

    Attributes:
        run_dir: the run directory it was loaded from.
        config: the run's resolved config.
        model: the best model, weights loaded, in eval mode.
        info: what the model knows of its data (vocabulary, labels, tokenizer, ...).
    """

    run_dir: Path
    config: ExperimentConfig
    model: nn.Module
    info: DataInfo

    @classmethod
    def from_pretrained(
        cls, run_dir: str | Path, overrides: tuple[str, ...] = (), device: str = "cpu"
    ) -> LoadedRun:
        """The same as :func:`load` (the Hugging Face name for it)."""
        return load(run_dir, overrides, device)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Token ids ``(N, T)`` of ``texts``, tokenized as the run's training data was (its
        vocabulary, ``max_len``, n-grams and phrases). Text-classification runs only."""
        if self.info.task != "classification" or not (self.run_dir / "vocab.json").is_file():
            raise UserError(
                f"{self.run_dir} is not a text-classification run (it has no vocab.json); "
                "texts can be encoded only for runs trained on text data"
            )
        data = self.config.data.config
        phrases = load_phrase_linker(self.run_dir, required=data.phrases is not None)
        vocab = Vocabulary(self.info.vocab)
        return encode_texts(texts, vocab, data.max_len, data.ngrams, phrases)[0]

    @torch.no_grad()
    def predict_texts(self, texts: list[str]) -> torch.Tensor:
        """Class probabilities ``(N, C)`` of ``texts`` (text-classification runs); column
        ``c`` is ``info.label_names[c]``."""
        tokens = self.encode_texts(texts).to(model_device(self.model))
        return torch.softmax(self.model(tokens=tokens).logits.float(), dim=-1).cpu()


def load(
    run_dir: str | Path, overrides: tuple[str, ...] | list[str] = (), device: str = "cpu"
) -> LoadedRun:
    """Load a finished run directory for inference, without its training data.

    Args:
        run_dir: a directory written by ``amkit train`` / :func:`amkit.run`.
        overrides: dotted config overrides (e.g. ``model.decode_beam=8``).
        device: where the model goes (``cpu``, ``auto``, ``cuda:N``, ``mps``), whatever
            device it was trained on.

    Raises:
        FileNotFoundError: ``run_dir`` is not a run directory, or has no ``model.safetensors``.
        UserError: a file of the run is malformed (the message names it).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml)")
    if not (run_dir / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"{run_dir / 'model.safetensors'} is missing: the run has not finished an epoch "
            "(resume it with `amkit train --resume RUN_DIR`)"
        )
    check_run_format(run_dir)
    config = load_config(run_dir / "config.yaml", overrides)
    from amkit.experiments.run import build_data, device_for_run, restore_model, seed_everything

    target = device_for_run(config, device)
    if (run_dir / INFO_FILE).is_file():
        info = read_data_info(run_dir, config)
    else:  # trained before amkit saved data_info.json: the data is rebuilt once
        log.info("%s has no %s: rebuilding its data to size the model", run_dir, INFO_FILE)
        seed_everything(config.seed)
        info = build_data(config).info
    return LoadedRun(run_dir, config, restore_model(config, info, run_dir, target), info)


def evaluate_file(
    run_dir: str | Path, path: str | Path, batch_size: int | None = None, device: str = "cpu"
) -> dict[str, Any]:
    """Score a text-classification run on a labelled file it has never seen (CSV, TSV or
    JSONL with the run's text and label columns; the labels must be the run's)."""
    run = load(run_dir, device=device)
    texts, targets = read_labelled_file(path, run.config.data.config, run.info.label_names)
    dataset = TensorDictDataset(
        {"tokens": run.encode_texts(texts), "targets": torch.tensor(targets)}
    )
    return evaluate(run.model, dataset, batch_size or run.config.train.eval_batch_size)
