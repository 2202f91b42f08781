"""Shared test helpers. Fixtures for the attention suite are prefixed ``attn_``."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import torch
from torch import nn

# `make test` runs the suite in one process per core (pytest-xdist): one torch thread each,
# so the workers do not fight over the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

# A key-projection bias adds the same q . b_k to every score of a query row, and softmax is
# shift-invariant, so its gradient is exactly 0 in exact arithmetic (float noise in practice).
# It is still checked to be present and finite, and to be ~0.
_SHIFT_INVARIANT_PARAMS = ("k_proj.bias",)


def _assert_grads_reach_every_parameter(module: nn.Module) -> None:
    """Every parameter has a finite gradient that is not all zero (see the exemption above)."""
    for name, param in module.named_parameters():
        assert param.grad is not None, f"no gradient reached {name}"
        assert torch.isfinite(param.grad).all(), f"non-finite gradient in {name}"
        if name.endswith(_SHIFT_INVARIANT_PARAMS):
            torch.testing.assert_close(
                param.grad, torch.zeros_like(param.grad), atol=1e-5, rtol=0, msg=name
            )
        else:
            assert param.grad.abs().sum() > 0, f"gradient of {name} is all zero"


@pytest.fixture
def attn_assert_grads_reach_every_parameter() -> Callable[[nn.Module], None]:
    """``check(module)`` after ``loss.backward()``: every parameter got a real gradient."""
    return _assert_grads_reach_every_parameter


def _write_sentiment_csv(path, n=200, seed=0):
    """A generated two-class corpus: the label is decided by one cue word among fillers."""
    g = torch.Generator().manual_seed(seed)
    fillers = ["the", "film", "plot", "actor", "scene", "was", "a", "and", "it", "story"]
    cues = {"pos": ["great", "superb", "wonderful"], "neg": ["awful", "boring", "terrible"]}
    lines = ["text,label"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [fillers[j] for j in torch.randint(0, len(fillers), (12,), generator=g).tolist()]
        cue = cues[label][int(torch.randint(0, 3, (1,), generator=g))]
        words.insert(int(torch.randint(0, 12, (1,), generator=g)), cue)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sentiment_csv() -> Callable[..., object]:
    """``sentiment_csv(path, n=200, seed=0)`` writes a generated two-class CSV and returns path."""
    return _write_sentiment_csv


WORDS = ["apple", "bird", "cat", "dog", "egg", "fish", "goat", "hat", "ink", "jam", "kite", "lamp"]


def _write_reverse_corpus(folder, n_train=1500, seed=0):
    """``train/val/test.{src,tgt}``: the target is the source's words in reverse order."""
    import random

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for split, n in (("train", n_train), ("val", 100), ("test", 100)):
        src = [[rng.choice(WORDS) for _ in range(rng.randint(3, 6))] for _ in range(n)]
        (folder / f"{split}.src").write_text("\n".join(" ".join(s) for s in src) + "\n")
        (folder / f"{split}.tgt").write_text("\n".join(" ".join(s[::-1]) for s in src) + "\n")
    return folder


def _translation_config(folder, arch="rnn", epochs=4, **model):
    return {
        "data": {"name": "translation", "path": str(folder), "source": "src", "target": "tgt",
                 "test": "test", "vocab_size": 32},
        "model": {"name": "seq2seq", "arch": arch, "d_model": 32, "hidden": 64, "n_heads": 2,
                  "n_layers": 2, "d_ff": 64, "dropout": 0.0, "label_smoothing": 0.0,
                  "max_decode_len": 20, **model},
        "train": {"epochs": epochs, "batch_size": 32, "lr": 0.005, "monitor": "val_bleu",
                  "progress": False},
    }  # fmt: skip


@pytest.fixture(scope="session")
def reverse_corpus() -> Callable[..., object]:
    """``reverse_corpus(folder, n_train=1500)``: a generated parallel corpus (reversal)."""
    return _write_reverse_corpus


@pytest.fixture(scope="session")
def translation_config() -> Callable[..., dict]:
    """``translation_config(folder, arch="rnn", epochs=4, **model)``: a tiny seq2seq config."""
    return _translation_config


def _write_digit_wavs(folder, speakers=("ann", "bob", "cy"), takes=8, rate=8000, seed=0):
    """Sine-tone "spoken digits" named like FSDD (``{digit}_{speaker}_{take}.wav``): digit
    ``d`` is a tone at ``300 + 150 d`` Hz then one at ``1800 - 120 d`` Hz (a speaker shifts
    both a little), with short ramps, 0.15-0.35 s long, plus faint noise. Takes 0-4 are the
    official test set."""
    import numpy as np
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for s, speaker in enumerate(speakers):
        for digit in range(10):
            for take in range(takes):
                n = int(rate * rng.uniform(0.15, 0.35))
                t = np.arange(n) / rate
                hertz = np.where(t < t[-1] / 2, 300 + 150 * digit, 1800 - 120 * digit) + 10 * s
                tone = np.sin(2 * np.pi * np.cumsum(hertz) / rate)
                ramp = np.minimum(1, np.minimum(t, t[::-1]) / 0.02)
                wave = 0.5 * tone * ramp + 0.01 * rng.standard_normal(n)
                path = folder / f"{digit}_{speaker}_{take}.wav"
                soundfile.write(path, wave.astype("float32"), rate, subtype="PCM_16")
    return folder


@pytest.fixture(scope="session")
def digit_wavs() -> Callable[..., object]:
    """``digit_wavs(folder, speakers=..., takes=8)`` writes tone "digits" in FSDD naming."""
    return _write_digit_wavs


def pytest_configure(config):
    """A folder where the fuzz tests of every xdist worker leave their case counts."""
    import tempfile

    if "AMKIT_FUZZ_COUNTS" not in os.environ:
        os.environ["AMKIT_FUZZ_COUNTS"] = tempfile.mkdtemp(prefix="amkit-fuzz-")


# The modules whose tests take longest (seconds summed per module, `pytest --durations=0`),
# longest first. They run first so that `make test`'s two workers end together: a long test
# collected last would leave one worker waiting for the other.
LONGEST_FIRST = (
    "test_sweep.py",
    "test_demo.py",
    "test_kg_embeddings.py",
    "test_memory_store.py",
    "test_distributed.py",
    "test_wordnet.py",
    "test_serve_browser.py",
    "test_kill_resume.py",
    "test_seq2seq.py",
    "test_dnc.py",
    "test_docs.py",
    "test_fuzz_more_readers.py",
    "test_engine.py",
    "test_universal_transformer.py",
    "test_entnet.py",
)


def pytest_collection_modifyitems(config, items):
    """Run the modules in :data:`LONGEST_FIRST` first, in that order; the rest keep theirs."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_terminal_summary(terminalreporter):
    """How many fuzzed files each reader was given (tests/test_fuzz_readers.py) and how many
    kills the crash tests made (tests/test_kill_resume.py), summed over the xdist workers."""
    import json
    from collections import Counter
    from pathlib import Path

    folder = Path(os.environ.get("AMKIT_FUZZ_COUNTS", ""))
    totals: Counter = Counter()
    for part in folder.glob("*.json") if folder.is_dir() else []:
        totals.update(json.loads(part.read_text()))
    if totals:
        terminalreporter.write_sep("-", "fuzzed cases per reader")
        for reader, n in sorted(totals.items()):
            terminalreporter.write_line(f"{reader}: {n}")
    kills: Counter = Counter()  # tests/test_kill_resume.py
    for part in folder.glob("*.kills") if folder.is_dir() else []:
        kills.update(json.loads(part.read_text()))
    if kills:
        terminalreporter.write_sep("-", "SIGKILL trials")
        for what, n in sorted(kills.items()):
            terminalreporter.write_line(f"{what}: {n}")


@pytest.fixture(scope="session")
def serve_runs(tmp_path_factory):
    """Tiny trained runs for the ``amkit serve`` tests (see ``tests/serve_runs.py``)."""
    from serve_runs import make_runs

    return make_runs(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def serve_family_runs(tmp_path_factory):
    """One tiny run per newer family for the ``amkit serve`` tests (forecasters, graph,
    image, speech, translation, recommendation; see ``tests/serve_runs.py``)."""
    from serve_runs import make_family_runs

    return make_family_runs(tmp_path_factory.mktemp("families"), _write_digit_wavs,
                            _write_reverse_corpus, _translation_config)  # fmt: skip
