"""More readers under fuzzed files (see ``test_fuzz_readers.py`` for the property and the
generators): recommendation data (SASRec lines, MovieLens' ``::`` files, the assembled
MovieLens-1M folder, MKR's item KG), the JSON files of run directories and results
(``metrics.json`` as the sweep, ensembles and results pages read it, the checkpoint's state
and ``last.safetensors`` as resume reads them, ``vocab.json``, ``phrases.json``, results
twins), and knowledge files (VADER's lexicon, phrase lists, ``.npy`` vectors and their
vocabulary, saved KG embeddings, saved memory stores) and IMDB's review folders.

A valid result, or a user error naming the file; never another exception, never a hang.
"""

from __future__ import annotations

import gzip
import shutil
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz_readers import FUZZ, _count, _write, fuzzed
from test_fuzz_readers import _check as _check_unbounded

from amkit.data.imdb import read_imdb
from amkit.data.item_knowledge import read_mkr_kg, read_movies
from amkit.data.recsys import read_movielens_1m, read_sasrec_file
from amkit.data.text import Vocabulary, load_phrase_linker
from amkit.ensemble.runs import load_run_predictions
from amkit.errors import UserError
from amkit.experiments.sweep_summary import run_metrics
from amkit.io import atomic_save_tensors, read_tensors
from amkit.knowledge.embeddings import Embeddings
from amkit.knowledge.kg_embeddings import KGEmbeddings
from amkit.knowledge.lexicon import Lexicon
from amkit.knowledge.linking import phrase_names
from amkit.memory.store import MemoryStore, make_store
from amkit.train.checkpoint import STATE_KEY
from amkit.train.options import TrainConfig
from amkit.train.trainer import Trainer
from results.report import finished_metrics, load_results

JSON_JUNK = [b"", b"{}", b"[]", b"null", b"nan", b"1", b'"x"', b"{" * 5000, b"[" * 100_000,
             b'{"test": 1}', b'{"test": {"accuracy": "high"}}', b'{"timings": []}',
             b'{"val": {"accuracy": NaN}, "test": {"accuracy": Infinity}}',
             '{"test": "é"}'.encode("latin-1")]  # fmt: skip


def json_files(sample: str):
    """A fuzzed ``sample`` (bytes, cuts, splices, junk lines, encodings) or a JSON oddity:
    another top-level type, a section of the wrong type, NaN, nesting too deep."""
    return fuzzed(sample) | st.sampled_from(JSON_JUNK)


HANG_SECONDS = 30  # Hypothesis' deadline fails slow cases only once they return: this stops one


def _check(reader: str, path: Path, read) -> None:
    """``test_fuzz_readers._check`` with a hard time bound: a reader that hangs fails."""

    def hung(signum, frame):
        raise TimeoutError(f"{reader}: no answer within {HANG_SECONDS} s on {path.name}")

    def bounded():
        previous = signal.signal(signal.SIGALRM, hung)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        try:
            return read()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    _check_unbounded(reader, path, bounded)


METRICS = (
    '{"best": {"val_accuracy": 0.5, "epoch": 1},\n "val": {"accuracy": 0.5, "n": 8},\n'
    ' "test": {"accuracy": 0.25, "n": 8},\n "timings": {"train_seconds": 1.5}, "seed": 0}\n'
)


# ---------------------------------------------------------------- recommendation data
@settings(FUZZ)
@given(data=fuzzed("1 10\n1 11\n1 12\n2 10\n2 13\n"))
def test_sasrec_lines(tmp_path_factory, data):

    path = _write(tmp_path_factory.mktemp("sas"), "Video.txt", data)
    _check("SASRec user-item lines", path, lambda: read_sasrec_file(path))


@settings(FUZZ)
@given(
    data=fuzzed("1::Toy Story (1995)::Animation|Children's\n2::Jumanji (1995)::Adventure\n"),
    gz=st.booleans(),
)
def test_movielens_movies(tmp_path_factory, data, gz):

    name = "movies.dat.gz" if gz else "movies.dat"
    path = _write(tmp_path_factory.mktemp("ml"), name, gzip.compress(data) if gz else data)
    _check("MovieLens movies.dat", path, lambda: read_movies(path))


@settings(FUZZ)
@given(train=fuzzed("1-F-1-10,1193-3\n1-F-1-10,661-3\n2-M-56-16,1193-5\n"), which=st.booleans())
def test_movielens_1m_folder(tmp_path_factory, train, which):
    """One of the two AFCFM files fuzzed (gzip'd, as they ship), the other valid."""

    folder = tmp_path_factory.mktemp("ml1m")
    good = gzip.compress(b"1-F-1-10,914-3\n2-M-56-16,661-4\n")
    names = ["afcfm_ml-1m_train.csv.gz", "afcfm_ml-1m_test.csv.gz"]
    fuzzed_name, other = names if which else names[::-1]
    path = _write(folder, fuzzed_name, gzip.compress(train))
    _write(folder, other, good)
    _check("MovieLens-1M folder", path, lambda: read_movielens_1m(folder))


@settings(FUZZ)
@given(kg=fuzzed("e1\tfilm.genre\te2\ne1\tfilm.director\te3\n"), which=st.booleans())
def test_mkr_item_kg(tmp_path_factory, kg, which):

    folder = tmp_path_factory.mktemp("mkr")
    mapping = gzip.compress(b"1193\te1\n661\te4\n")
    triples = gzip.compress(kg)
    if not which:  # the map is fuzzed instead
        mapping, triples = gzip.compress(kg), gzip.compress(b"e1\tr\te2\n")
    _write(folder, "mkr_movie_item_index2entity_id.txt.gz", mapping)
    _write(folder, "mkr_movie_kg.txt.gz", triples)
    name = "mkr_movie_kg.txt.gz" if which else "mkr_movie_item_index2entity_id.txt.gz"
    _check("MKR item KG", folder / name, lambda: read_mkr_kg(folder))


# ---------------------------------------------------------------- results JSON
@settings(FUZZ)
@given(data=json_files(METRICS))
def test_metrics_json_for_sweeps(tmp_path_factory, data):

    run = tmp_path_factory.mktemp("sweep")
    path = _write(run, "metrics.json", data)
    _check("metrics.json (sweeps)", path, lambda: run_metrics(run, "test_accuracy"))


@settings(FUZZ)
@given(data=json_files(METRICS))
def test_metrics_json_for_results_pages(tmp_path_factory, data):

    folder = tmp_path_factory.mktemp("results")
    path = _write(folder, "metrics.json", data)
    _check("metrics.json (results pages)", path, lambda: finished_metrics(folder))
    twin = _write(folder, "page.json", data)
    _check("results JSON twins", twin, lambda: load_results(twin, {}))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A finished one-epoch run that kept its probabilities (for ensembles) and its resume
    checkpoint."""
    import amkit

    out = tmp_path_factory.mktemp("run") / "run"
    config = {"data": {"name": "associative_recall", "n_train": 32, "n_val": 8, "n_test": 8},
              "model": {"name": "recall_attention", "d_model": 8},
              "train": {"epochs": 1, "progress": False}}  # fmt: skip
    amkit.run(config, run_dir=out)
    return out


def _copy(trained_run: Path, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("copy") / "run"
    shutil.copytree(trained_run, run)
    return run


@settings(FUZZ)
@given(data=json_files(METRICS))
def test_metrics_json_for_ensembles(trained_run, tmp_path_factory, data):

    if not (trained_run / "probabilities.safetensors").is_file():
        pytest.skip("the run saved no probabilities")
    run = _copy(trained_run, tmp_path_factory)
    path = _write(run, "metrics.json", data)
    _check("metrics.json (ensembles)", path, lambda: load_run_predictions(run))


@pytest.fixture(scope="module")
def run_model(trained_run):
    """The trained run's model, built once (resume overwrites its weights)."""
    import amkit

    return amkit.load(trained_run).model


def _resume(model, run: Path) -> None:
    """What ``amkit train --resume`` reads: the trainer restores ``last.*``."""

    Trainer(model, None, TrainConfig(epochs=1, progress=False), run).resume()


@settings(FUZZ)
@given(
    data=json_files('{"epoch": 1, "partial": null, "history": [], "best": 0.5}'),
    in_metadata=st.booleans(),
)
def test_checkpoint_state(trained_run, run_model, tmp_path_factory, data, in_metadata):
    """The JSON half of a checkpoint: in ``last.safetensors``' metadata, or (checkpoints of
    older versions) in ``last.json``."""

    run = _copy(trained_run, tmp_path_factory)
    original = (trained_run / "last.json").read_bytes()
    # mostly the real checkpoint, cut and followed by junk; sometimes the generated sample
    if data and data[:1] == b"{" and len(data) % 2:
        data = original[: len(data) % len(original)] + data
    tensors = run / "last.safetensors"
    if in_metadata:
        text = data.decode("utf-8", "replace")
        atomic_save_tensors(tensors, read_tensors(tensors), {STATE_KEY: text})
        _check("checkpoint state (resume)", tensors, lambda: _resume(run_model, run))
    else:
        atomic_save_tensors(tensors, read_tensors(tensors))  # no metadata: an older checkpoint
        path = _write(run, "last.json", data)
        _check("checkpoint state (resume)", path, lambda: _resume(run_model, run))


@settings(FUZZ)
@given(data=st.binary(max_size=200), cut=st.integers(0, 10_000), junk=st.booleans())
def test_last_safetensors(trained_run, run_model, tmp_path_factory, data, cut, junk):
    run = _copy(trained_run, tmp_path_factory)
    original = (trained_run / "last.safetensors").read_bytes()
    path = _write(run, "last.safetensors", data if junk else original[: cut % len(original)])
    _check("last.safetensors (resume)", path, lambda: _resume(run_model, run))


@settings(FUZZ)
@given(data=json_files('{"words": ["<pad>", "<unk>", "film", "plot"]}'))
def test_vocab_json(tmp_path_factory, data):

    path = _write(tmp_path_factory.mktemp("vocab"), "vocab.json", data)
    _check("vocab.json", path, lambda: Vocabulary.load(path))


@settings(FUZZ)
@given(data=json_files('{"source": "kb.csv", "names": ["new york", "paris"]}'))
def test_phrases_json(tmp_path_factory, data):

    folder = tmp_path_factory.mktemp("phrases")
    path = _write(folder, "phrases.json", data)
    _check("phrases.json", path, lambda: load_phrase_linker(folder))


# ---------------------------------------------------------------- knowledge files
@settings(FUZZ)
@given(data=fuzzed("good\t1.9\t0.9\t[2, 2]\nbad\t-2.5\t0.5\t[-3, -2]\n"))
def test_vader_lexicon_file(tmp_path_factory, data):

    path = _write(tmp_path_factory.mktemp("vader"), "vader_lexicon.txt", data)
    _check("VADER lexicon file", path, lambda: Lexicon.vader(path))


@settings(FUZZ)
@given(data=fuzzed("# names\nnew york\nice cream\n"))
def test_phrase_list(tmp_path_factory, data):

    path = _write(tmp_path_factory.mktemp("names"), "names.txt", data)
    _check("phrase lists", path, lambda: phrase_names(str(path)))


@settings(FUZZ)
@given(vocab=fuzzed("good\nbad\n"), array=st.binary(max_size=300), good_array=st.booleans())
def test_npy_vectors_and_vocabulary(tmp_path_factory, vocab, array, good_array):
    import io

    import numpy as np

    folder = tmp_path_factory.mktemp("npy")
    if good_array:
        buffer = io.BytesIO()
        np.save(buffer, np.ones((2, 3), dtype=np.float32))
        array = buffer.getvalue()
    vectors = _write(folder, "vectors.npy", array)
    words = _write(folder, "words.txt", vocab)
    _count("npy vectors + vocabulary")
    try:
        Embeddings.load(vectors, vocab_path=words)
    except (UserError, FileNotFoundError) as error:
        assert vectors.name in str(error) or words.name in str(error), str(error)


@pytest.fixture(scope="module")
def saved_kg_embeddings(tmp_path_factory):
    import torch

    folder = tmp_path_factory.mktemp("kge") / "kge"
    KGEmbeddings(["paris", "france"], torch.ones(2, 4), ["capital_of"], torch.ones(1, 4),
                 "transe").save(folder)  # fmt: skip
    return folder


@settings(FUZZ)
@given(data=json_files('{"model": "transe", "entities": ["paris", "france"], '
                       '"relations": ["capital_of"]}'))  # fmt: skip
def test_saved_kg_embeddings(saved_kg_embeddings, tmp_path_factory, data):

    folder = tmp_path_factory.mktemp("kgecopy") / "kge"
    shutil.copytree(saved_kg_embeddings, folder)
    path = _write(folder, "labels.json", data)
    _check("saved KG embeddings", path, lambda: KGEmbeddings.load(folder))


@pytest.fixture(scope="module")
def saved_store(tmp_path_factory):
    import torch

    folder = tmp_path_factory.mktemp("store") / "store"
    store = make_store("exact", dim=4, value_dim=2)
    store.write(torch.ones(3, 4), torch.ones(3, 2))
    store.save(folder)
    return folder


@settings(FUZZ)
@given(data=json_files("{}"))
def test_saved_memory_store(saved_store, tmp_path_factory, data):
    """The store's meta file: fuzzed from the real one, or a generated one."""

    folder = tmp_path_factory.mktemp("storecopy") / "store"
    shutil.copytree(saved_store, folder)
    meta = next(p for p in folder.iterdir() if p.suffix == ".json")
    if data[:2] == b"{}" or not data:
        data = meta.read_bytes()[: len(data) * 7] + data
    path = _write(folder, meta.name, data)
    _check("saved memory stores", path, lambda: MemoryStore.load(folder))


@settings(FUZZ)
@given(review=fuzzed("A superb <br />film.\n"))
def test_imdb_review_folders(tmp_path_factory, review):

    folder = tmp_path_factory.mktemp("aclImdb")
    for sub in ("pos", "neg"):
        (folder / "train" / sub).mkdir(parents=True)
    _write(folder / "train" / "pos", "1_9.txt", b"A good film.")
    path = _write(folder / "train" / "neg", "2_2.txt", review)
    _check("IMDB review folders", path, lambda: read_imdb(folder, "train"))


def _mutated(draw, data: bytes, header: int) -> bytes:
    """``data`` cut short, spliced, a header byte changed, gzipped, random bytes or empty."""
    kind = draw(st.sampled_from(["bytes", "cut", "splice", "header", "gzip", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    if kind == "header":
        at = draw(st.integers(0, header - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if kind == "gzip":
        return gzip.compress(data)[: draw(st.integers(0, len(gzip.compress(data))))]
    return b""


IDX_DIMS = [1, 2, 3, 0, 255, 2**16, 2**31, 2**32 - 1]


@st.composite
def idx_files(draw) -> bytes:
    """An IDX file (3 x 4 x 4 unsigned bytes) mutated, or a header claiming odd dimensions
    (huge ones whose product overflows 64 bits, zeros) over a few data bytes."""
    import numpy as np

    if draw(st.booleans()):
        dims = draw(st.lists(st.sampled_from(IDX_DIMS), min_size=1, max_size=4))
        head = bytes([0, 0, 0x08, len(dims)]) + np.array(dims, ">u4").tobytes()
        return head + bytes(draw(st.integers(0, 8)))
    head = bytes([0, 0, 0x08, 3]) + np.array([3, 4, 4], ">u4").tobytes()
    return _mutated(draw, head + bytes(range(48)), len(head))


@settings(FUZZ)
@given(data=idx_files())
def test_idx_files(tmp_path_factory, data):
    from amkit.data.images import read_idx

    path = _write(tmp_path_factory.mktemp("idx"), "train-images-idx3-ubyte", data)
    _check("IDX images", path, lambda: read_idx(path))


def _png(width: int = 3, height: int = 2) -> bytes:
    """A small RGB PNG; other sizes are written into its header (the pixels stay 3 x 2)."""
    import io
    import struct
    import zlib

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 10, 10)).save(buffer, format="PNG")
    data = buffer.getvalue()
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


@st.composite
def image_files(draw) -> bytes:
    """A PNG mutated, or one whose header claims a huge picture (a decompression bomb)."""
    if draw(st.integers(0, 5)) == 0:
        side = draw(st.sampled_from([0, 1, 50_000, 2**31 - 1]))
        return _png(side, draw(st.sampled_from([1, side])))
    return _mutated(draw, _png(), 33)


@settings(FUZZ)
@given(data=image_files())
def test_image_files(tmp_path_factory, data):
    pytest.importorskip("PIL")
    from amkit.data.images import read_image_file

    path = _write(tmp_path_factory.mktemp("png"), "digit.png", data)
    _check("image files (PNG, ...)", path, lambda: read_image_file(path, (28, 28)))


@settings(FUZZ)
@given(data=fuzzed("france\nspain\n"))
def test_graph_names(tmp_path_factory, data):
    from amkit.graph.readers import read_names

    path = _write(tmp_path_factory.mktemp("names"), "regions.txt", data)
    _check("graph name lists", path, lambda: read_names(path))


KBQA_SAMPLE = (
    "question\ttopic\tanswers\thops\ttemplate\n"
    "what is [dog] a kind of?\tdog.n.01\tcanine.n.02|domestic_animal.n.01\t1\thypernym#0>q#0\n"
    "the parts of [car]?\tcar.n.01\twheel.n.01\t1\n"
)


@settings(FUZZ)
@given(data=fuzzed(KBQA_SAMPLE), which=st.sampled_from(["questions", "names"]))
def test_kbqa_question_files(tmp_path_factory, data, which):
    from amkit.data.kbqa_format import read_pairs, read_questions

    path = _write(tmp_path_factory.mktemp("kbqa"), f"{which}.tsv", data)
    read = read_questions if which == "questions" else lambda p: read_pairs(p, "name")
    _check(f"kbqa {which} files", path, lambda: read(path))


@settings(FUZZ)
@given(cut=st.integers(0, 4000), junk=st.binary(max_size=40))
def test_wav_archives(tmp_path_factory, cut, junk):
    pytest.importorskip("soundfile")
    import io
    import tarfile

    from test_fuzz_readers import _wav_sample

    from amkit.data.audio import read_wav_collection

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("1_a_0.wav", _wav_sample()), ("2_a_0.wav", junk)):
            info = tarfile.TarInfo(f"recordings/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = _write(tmp_path_factory.mktemp("tgz"), "digits.tar.gz", buffer.getvalue()[:cut])
    _check("WAV archives", path, lambda: read_wav_collection(path))
