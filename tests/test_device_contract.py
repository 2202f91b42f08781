"""No model creates a tensor without a device inside ``forward`` or its loss.

A tensor factory called without ``device=`` makes a CPU tensor, which breaks (or silently
slows) a model that runs on a GPU. One training step of every registered model runs here on
the CPU under a torch-function mode that records every factory call made from amkit's code
without an explicit device; the test fails on any. (The ``meta`` device cannot stand in for
a GPU here: several models branch on data values.)
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

import pytest
import torch
from synthetic import write_hourly_csv
from torch.overrides import TorchFunctionMode

import amkit
from amkit.data.base import iterate_batches, model_inputs
from amkit.data.house import write_house_kb
from amkit.experiments.run import build_data, build_model_for, load_config
from amkit.models import MODELS

AMKIT = str(Path(amkit.__file__).parent)
STORES = str(Path(amkit.__file__).parent / "memory" / "store")
FACTORIES = {
    torch.zeros, torch.ones, torch.full, torch.empty, torch.arange, torch.tensor, torch.eye,
    torch.linspace, torch.rand, torch.randn, torch.randint, torch.randperm, torch.as_tensor,
}  # fmt: skip
LIKE = {torch.zeros_like, torch.ones_like, torch.full_like, torch.empty_like, torch.rand_like}


class StrayTensorGuard(TorchFunctionMode):
    """Records ``file:line`` of each factory call from amkit's code without ``device=``
    (``*_like`` factories take their input's device: allowed; ``torch.tensor`` /
    ``as_tensor`` of an existing tensor keep its device: allowed)."""

    def __init__(self):
        super().__init__()
        self.strays: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and "device" not in kwargs and func not in LIKE:
            copies_a_tensor = (
                func in (torch.tensor, torch.as_tensor)
                and args
                and (isinstance(args[0], torch.Tensor))
            )
            if not copies_a_tensor:
                frame = sys._getframe(1)
                while frame is not None and not frame.f_code.co_filename.startswith(AMKIT):
                    frame = frame.f_back
                # memory stores are host-side indexes by design (CPU tensors, like FAISS);
                # their callers move what a read returns to the model's device
                if frame is not None and not frame.f_code.co_filename.startswith(STORES):
                    where = f"{Path(frame.f_code.co_filename).relative_to(AMKIT)}:{frame.f_lineno}"
                    self.strays.append(f"torch.{func.__name__} at {where}")
        return func(*args, **kwargs)


def _sentiment_csv(path: Path) -> Path:
    rng = random.Random(0)
    words = ["good", "bad", "film", "plot", "great", "awful", "the", "a"]
    lines = ["text,label"] + [
        f"{' '.join(rng.choice(words) for _ in range(8))},{'pos' if i % 2 else 'neg'}"
        for i in range(80)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _catalogue(folder: Path) -> Path:
    """Interactions plus MovieLens-style item files (knowledge_rec reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "movies.dat.gz", "wt", encoding="latin-1") as f:
        f.write("".join(f"{i}::Film {i} (199{i % 10})::{'Comedy' if i % 2 else 'Drama'}\n"
                        for i in range(1, 21)))  # fmt: skip
    with gzip.open(folder / "mkr_movie_item_index2entity_id.txt.gz", "wt") as f:
        f.write("".join(f"{i}\t{i - 1}\n" for i in range(1, 21)))
    with gzip.open(folder / "mkr_movie_kg.txt.gz", "wt") as f:
        f.write("".join(f"{i - 1}\tfilm.film.director\t{100 + i % 3}\n" for i in range(1, 21)))
    rng = random.Random(0)
    lines = ["user,item"] + [
        f"u{u},{rng.randrange(1, 21)}" for u in range(40) for _ in range(rng.randint(5, 9))
    ]
    (folder / "interactions.csv").write_text("\n".join(lines) + "\n")
    return folder


def _reverse_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    words = ["apple", "bird", "cat", "dog", "egg", "fish"]
    for split, n in (("train", 200), ("val", 20), ("test", 20)):
        src = [[rng.choice(words) for _ in range(rng.randint(3, 5))] for _ in range(n)]
        (folder / f"{split}.src").write_text("\n".join(" ".join(s) for s in src) + "\n")
        (folder / f"{split}.tgt").write_text("\n".join(" ".join(s[::-1]) for s in src) + "\n")
    return folder


def _recordings(folder: Path) -> Path:
    """Tone "digits" in FSDD naming (2 speakers x 10 digits x 7 takes), 16-bit PCM written
    with the standard library's ``wave``."""
    import math
    import struct
    import wave

    folder.mkdir(parents=True, exist_ok=True)
    for speaker in ("ann", "bob"):
        for digit in range(10):
            for take in range(7):
                n = 800 + 40 * take
                samples = [int(9000 * math.sin(2 * math.pi * (300 + 150 * digit) * i / 8000))
                           for i in range(n)]  # fmt: skip
                with wave.open(str(folder / f"{digit}_{speaker}_{take}.wav"), "wb") as out:
                    out.setnchannels(1)
                    out.setsampwidth(2)
                    out.setframerate(8000)
                    out.writeframes(struct.pack(f"<{n}h", *samples))
    return folder


def _kbqa_folder(path: Path) -> Path:
    """A question set over a chain of 8 entities (``data.name: kbqa``)."""
    from amkit.data.kbqa_wordnet import write_kbqa_folder

    triples = [(f"e{i}", "hypernym", f"e{i + 1}") for i in range(7)]
    triples += [(f"e{i}", "has_part", f"e{(i + 3) % 8}") for i in range(8)]
    names = {f"e{i}": f"w{i}" for i in range(8)}
    write_kbqa_folder(path, triples, names, {}, per_hops={1: 20, 2: 20}, cap=5)
    return path


def _cases(root: Path) -> dict[str, list[dict]]:
    """Tiny configs per registered model name (several variants where the forward differs)."""
    story = {"name": "babi_generated", "tasks": [1, 2], "n_train": 40, "n_test": 10,
             "memory_size": 10}  # fmt: skip
    text = {"name": "text", "train": str(_sentiment_csv(root / "t.csv")), "max_len": 12,
            "min_freq": 1}  # fmt: skip
    folder = _catalogue(root / "kb")
    seq = {"name": "sequences", "source": "interactions", "min_count": 0, "max_len": 8,
           "n_negatives": 5, "path": str(folder / "interactions.csv")}  # fmt: skip
    corpus = _reverse_corpus(root / "mt")
    mt = {"name": "translation", "path": str(corpus), "source": "src", "target": "tgt",
          "test": "test", "vocab_size": 24}  # fmt: skip
    countries = {"name": "countries", "subset": "S3",
                 "path": str(Path(__file__).parent / "fixtures" / "countries")}  # fmt: skip
    small = {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 16, "hidden": 16}
    kbqa = {"name": "kbqa", "path": str(_kbqa_folder(root / "kbqa"))}
    series = {"name": "timeseries", "path": str(write_hourly_csv(root / "series.csv")),
              "lookback": 16, "horizon": 4, "split": "ratio"}  # fmt: skip
    tiny_patches = {"patch_len": 4, "stride": 4, "n_layers": 1, "d_ff": 8}
    digits = {"name": "digits"}
    house_kb = str(write_house_kb(root / "house_kb.tsv"))  # the integrated model's graph memory
    speech = {"name": "fsdd", "path": str(_recordings(root / "wav")), "val_fraction": 0.25,
              "n_mels": 8}  # fmt: skip
    return {
        "gru_attention": [
            {"data": speech, "model": {"d_hidden": 8, "conv_channels": 8, "time_mask": 2}},
            {
                "data": {**speech, "augment_noise": "both"},
                "model": {"rnn": "lstm", "conv_layers": 0},
            },
        ],
        "speech_transformer": [
            {"data": speech, "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "freq_mask": 2}},
        ],
        "recall_attention": [
            {
                "data": {"name": "associative_recall", "n_train": 32, "n_val": 8, "n_test": 8},
                "model": {"d_model": 16, "encoder": e},
            }
            for e in ("gru", "transformer")
        ],
        "memn2n": [{"data": story, "model": {"d_model": 8}}],
        "entnet": [{"data": story, "model": {"d_model": 8, "slots": 4}}],
        "dnc": [
            {
                "data": story,
                "model": {
                    "d_model": 8,
                    "hidden_size": 16,
                    "memory_slots": 8,
                    "word_size": 8,
                    "read_heads": 2,
                    "step": s,
                },
            }
            for s in ("word", "sentence")
        ],
        "universal_transformer": [
            {
                "data": story,
                "model": {
                    "d_model": 16,
                    "n_heads": 2,
                    "d_ff": 16,
                    "max_steps": 2,
                    "pointer": True,
                    "linear_start": ls,
                },
            }
            for ls in (False, True)
        ],
        "integrated": [
            {
                "data": {"name": "house_stories", "n_train": 40, "n_test": 10},
                "model": {"d_model": 16, "hops": 2},
            },
            {
                "data": {"name": "house_stories", "n_train": 40, "n_test": 10},
                "model": {
                    "d_model": 16,
                    "hops": 2,
                    "memory_fusion": "gate",
                    "linear_start": True,
                    "random_noise": 0.1,
                },
            },
            {
                "data": text,
                "model": {"d_model": 16, "encoder": "bigru", "memory_fusion": "parallel"},
            },
            {
                "data": {"name": "house_stories", "n_train": 40, "n_test": 10},
                "model": {"d_model": 16, "hops": 2, "memory": "graph", "graph_path": house_kb},
            },
        ],
        "text_classifier": [
            {
                "data": text,
                "model": {
                    "encoder": e,
                    "d_embed": 8,
                    "d_hidden": 8,
                    "pooling": p,
                    "n_heads": 2,
                    "chunk_size": 4,
                },
            }
            for e, p in (
                ("bilstm", "attention"),
                ("cnn", "max"),
                ("transformer", "mean"),
                ("chunked", "attention"),
                ("bag", "attention"),
                ("region", "max"),
            )
        ],
        "seq2seq": [
            {"data": mt, "model": {"arch": a, **small, "max_decode_len": 8}}
            for a in ("rnn", "transformer")
        ],
        "sasrec": [{"data": seq, "model": {"d_model": 16, "n_blocks": 1}}],
        "knowledge_rec": [
            {
                "data": {**seq, "item_knowledge": str(folder)},
                "model": {"d_model": 16, "n_blocks": 1},
            }
        ],
        "bpr": [{"data": seq, "model": {"d_model": 8}}],
        "graph_kvmem": [
            {"data": countries, "model": {"d_key": 8}},
            {"data": kbqa, "model": {"d_key": 8, "d_word": 8}},
        ],
        "embedkgqa": [{"data": kbqa, "model": {"dim": 4, "d_word": 8, "kg_batch": 16}}],
        "graph_rgcn": [
            {"data": countries, "model": {"d_model": 8, "layers": 2}},
            {"data": kbqa, "model": {"d_model": 8, "layers": 2, "d_word": 8}},
        ],
        "complex": [{"data": {**countries, "train_queries": "all"}, "model": {"dim": 8}}],
        "distmult": [{"data": {**countries, "train_queries": "all"}, "model": {"dim": 8}}],
        "popularity": [{"data": seq, "model": {}}],
        "patchtst": [{"data": series, "model": {**tiny_patches, "d_model": 8, "n_heads": 2}}],
        "dlinear": [{"data": series, "model": {}}, {"data": series, "model": {"individual": True}}],
        "rlinear": [{"data": series, "model": {}}, {"data": series, "model": {"individual": True}}],
        "memory_forecaster": [{"data": series, "model": {"k": 3, "key_length": 8}}],
        "last_value": [{"data": series, "model": {}}],
        "seasonal_naive": [{"data": series, "model": {"period": 4}}],
        "image_cnn": [
            {
                "data": {**digits, "augment": True},
                "model": {"channels": [4, 8], "attention": a, "attention_stage": 1},
            }
            for a in ("none", "sagan", "nonlocal")
        ],
        "vit": [{"data": digits, "model": {"patch": 4, "d_model": 8, "n_heads": 2, "n_layers": 1}}],
    }


def test_every_registered_model_has_a_case(tmp_path):
    assert set(_cases(tmp_path)) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_training_step_makes_no_tensor_without_a_device(name, tmp_path):
    if name == "seq2seq":
        pytest.importorskip("sentencepiece")
    if name in ("gru_attention", "speech_transformer"):
        pytest.importorskip("soundfile")
        pytest.importorskip("librosa")
    strays = []
    for case in _cases(tmp_path)[name]:
        raw = {"seed": 0, "data": case["data"], "model": {"name": name, **case["model"]},
               "train": {"progress": False}}  # fmt: skip
        config = load_config(raw)
        data = build_data(config)
        model = build_model_for(config, data)
        model.train()
        batch = next(iterate_batches(data.split("train"), 8, shuffle=False))
        guard = StrayTensorGuard()
        if any(p.requires_grad for p in model.parameters()):  # most-popular trains nothing
            with guard:
                out = model(**model_inputs(batch))
                out.loss.backward()
        model.eval()  # evaluation batches: ranking data's have candidate lists
        split = "test" if "test" in data.splits else "val"
        batch = next(iterate_batches(data.split(split), 8, shuffle=False))
        with guard, torch.no_grad():
            model(**model_inputs(batch))
        strays += guard.strays
    assert not strays, f"{name}: tensors made without a device:\n" + "\n".join(sorted(set(strays)))
