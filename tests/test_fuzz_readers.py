"""Readers under fuzzed files: a valid result, or a user error that names the file -- never a
bare exception from deep inside, never a hang.

Each reader gets Hypothesis-generated files: random bytes, a valid sample cut short, bytes
spliced into it, a line replaced by junk (wrong column counts, NaN / inf, huge tokens), the
sample in another encoding, an empty file. The number of cases per reader is printed in the
test summary (``conftest.py``). The default budget is 200 cases per reader (``make
test-all``: 1000); ``AMKIT_FUZZ_EXAMPLES=500 pytest tests/test_fuzz_readers.py`` sets another.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amkit.errors import UserError

CASES: Counter = Counter()  # reader -> cases run in this process (conftest prints the sums)
EXAMPLES = int(os.environ.get("AMKIT_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=3000,  # ms per case: a reader that hangs fails
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same cases on every run: CI cannot turn red by chance
)

SAMPLES = {
    "text.csv": "text,label\na superb film,pos\nan awful plot,neg\n",
    "text.jsonl": '{"text": "a superb film", "label": "pos"}\n{"text": "awful", "label": "neg"}\n',
    "kb.csv": "head,relation,tail\nparis,capital_of,france\nberlin,capital_of,germany\n",
    "lexicon.csv": "word,score\ngood,2.5\nbad,-2.0\n",
    "vectors.txt": "good 0.1 0.2 0.3\nbad -0.1 0.0 0.5\n",
    "interactions.csv": "user,item,timestamp\nu1,i1,1\nu1,i2,2\nu1,i3,3\nu2,i1,1\n",
    "parallel.src": "a man rides\na dog runs\n",
    "graph.nl": "locatedIn(palau,micronesia).\nneighborOf(france,spain).\n",
    "graph.tsv": "00260881\t_hypernym\t00260622\n01332730\t_also_see\t03122748\n",
    "config.yaml": "data: {name: associative_recall}\nmodel: {name: recall_attention}\n",
    "series.csv": "date,a,OT\n2020-01-01 00:00:00,1.5,2\n2020-01-01 01:00:00,1.0,2.5\n"
    "2020-01-01 02:00:00,0.5,3\n",
}
JUNK_LINES = ["", ",,,,,", "nan,inf", "a\tb\tc\td", '{"text": 1}', "x" * 5000, "\x00\x01", "é,ü"]


@st.composite
def fuzzed(draw, sample: str) -> bytes:
    """Bytes of a file derived from ``sample`` (or not at all)."""
    data = sample.encode("utf-8")
    kind = draw(
        st.sampled_from(["bytes", "cut", "splice", "junk_line", "latin1", "utf16", "empty"])
    )
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    if kind == "junk_line":
        lines = sample.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = draw(st.sampled_from(JUNK_LINES) | st.text(max_size=40))
        return "\n".join(lines).encode("utf-8", "surrogatepass")
    if kind == "latin1":
        return (sample + "café,neg\n").encode("latin-1")
    if kind == "utf16":
        return sample.encode("utf-16")
    return b""


def _count(reader: str) -> None:
    """One more case for ``reader``; the counts go where conftest's summary reads them."""
    CASES[reader] += 1
    folder = os.environ.get("AMKIT_FUZZ_COUNTS")
    if folder and Path(folder).is_dir():
        Path(folder, f"{os.getpid()}.json").write_text(json.dumps(CASES))


def _check(reader: str, path: Path, read) -> None:
    """``read()`` returns, or raises a user error whose message names the file."""
    _count(reader)
    try:
        read()
    except (UserError, FileNotFoundError) as error:
        assert path.name in str(error), f"{reader}: the error does not name the file: {error}"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["text.csv"]), suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_labelled_texts(tmp_path_factory, data, suffix):
    from amkit.data.text import read_labelled_texts

    path = _write(tmp_path_factory.mktemp("t"), f"texts{suffix}", data)
    _check("labelled texts", path, lambda: read_labelled_texts(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["kb.csv"]), suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_knowledge_base_triples(tmp_path_factory, data, suffix):
    from amkit.knowledge.base import KnowledgeBase

    path = _write(tmp_path_factory.mktemp("kb"), f"kb{suffix}", data)
    _check("knowledge-base triples", path, lambda: KnowledgeBase.from_file(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["graph.nl"]))
def test_graph_nl_facts(tmp_path_factory, data):
    from amkit.graph import read_nl_facts

    path = _write(tmp_path_factory.mktemp("nl"), "graph.nl", data)
    _check("graph .nl facts", path, lambda: read_nl_facts(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["graph.tsv"]))
def test_graph_tsv_triples(tmp_path_factory, data):
    from amkit.graph import read_tsv_triples

    path = _write(tmp_path_factory.mktemp("tsv"), "graph.tsv", data)
    _check("graph TSV triples", path, lambda: read_tsv_triples(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["lexicon.csv"]))
def test_lexicon(tmp_path_factory, data):
    from amkit.knowledge.lexicon import Lexicon

    path = _write(tmp_path_factory.mktemp("lex"), "lexicon.csv", data)
    _check("lexicon", path, lambda: Lexicon.from_file(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["vectors.txt"]))
def test_word_vectors(tmp_path_factory, data):
    from amkit.knowledge.embeddings import Embeddings

    path = _write(tmp_path_factory.mktemp("vec"), "vectors.txt", data)
    _check("word vectors", path, lambda: Embeddings.load(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["interactions.csv"]))
def test_interactions(tmp_path_factory, data):
    from amkit.data.recsys import read_interactions

    path = _write(tmp_path_factory.mktemp("rec"), "interactions.csv", data)
    _check("interactions", path, lambda: read_interactions(path))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["series.csv"]), gz=st.booleans(), freq=st.sampled_from([None, "h"]))
def test_time_series_csv(tmp_path_factory, data, gz, freq):
    import gzip

    from amkit.data.timeseries import read_series

    name = "series.csv.gz" if gz else "series.csv"
    path = _write(tmp_path_factory.mktemp("ts"), name, gzip.compress(data) if gz else data)
    _check("time-series CSV", path, lambda: read_series(path, freq=freq))


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["parallel.src"]), target=fuzzed(SAMPLES["parallel.src"]))
def test_parallel_text(tmp_path_factory, data, target):
    from amkit.data.multi30k import read_parallel

    folder = tmp_path_factory.mktemp("mt")
    source, tgt = _write(folder, "train.en", data), _write(folder, "train.de", target)
    _count("parallel text")
    try:
        read_parallel(source, tgt)
    except (UserError, FileNotFoundError) as error:
        assert source.name in str(error) or tgt.name in str(error), str(error)


@settings(FUZZ)
@given(data=fuzzed(SAMPLES["config.yaml"]))
def test_config_files(tmp_path_factory, data):
    from amkit.experiments.experiment import load_config

    path = _write(tmp_path_factory.mktemp("cfg"), "config.yaml", data)
    _check("configs", path, lambda: load_config(path))


@settings(FUZZ)
@given(story=fuzzed("1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n"))
def test_babi_story_files(tmp_path_factory, story):
    from amkit.data.babi import load_babi

    folder = tmp_path_factory.mktemp("babi")
    tree = folder / "tasks_1-20_v1-2" / "en"
    tree.mkdir(parents=True)
    (tree / "qa1_single-supporting-fact_test.txt").write_text(
        "1 John is here.\n2 Where is John?\there\t1\n", encoding="utf-8"
    )
    path = _write(tree, "qa1_single-supporting-fact_train.txt", story)
    _check("bAbI stories", path, lambda: load_babi(folder, "en", [1], "train"))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    import amkit

    out = tmp_path_factory.mktemp("run") / "run"
    config = {"data": {"name": "associative_recall", "n_train": 32, "n_val": 8, "n_test": 8},
              "model": {"name": "recall_attention", "d_model": 8},
              "train": {"epochs": 1, "progress": False}}  # fmt: skip
    amkit.run(config, run_dir=out)
    return out


@settings(FUZZ)
@given(
    name=st.sampled_from(["config.yaml", "data_info.json", "model.safetensors", "metrics.json"]),
    data=st.binary(max_size=200) | st.sampled_from([b"", b"{}", b"[]", b"null", b"nan"]),
)
def test_run_directories(trained_run, tmp_path_factory, name, data):
    import shutil

    import amkit

    run = tmp_path_factory.mktemp("copy") / "run"
    shutil.copytree(trained_run, run)
    path = _write(run, name, data)
    _check("run directories", path, lambda: amkit.load(run))


@settings(FUZZ)
@given(
    data=fuzzed('{"text": "a superb film", "label": 1, "id": 1, "rating": 9}\n'
                '{"text": "awful", "label": 0, "id": 2, "rating": 2}\n'),
    gz=st.booleans(),
)  # fmt: skip
def test_imdb_jsonl(tmp_path_factory, data, gz):
    import gzip

    from amkit.data.imdb import read_imdb

    folder = tmp_path_factory.mktemp("imdb")
    path = _write(
        folder, "train.jsonl.gz" if gz else "train.jsonl", gzip.compress(data) if gz else data
    )
    _check("IMDB reviews", path, lambda: read_imdb(folder, "train"))


@settings(FUZZ)
@given(data=fuzzed('{"summary": {}, "rows": {}}\n'))
def test_gzip_that_is_not_gzip(tmp_path_factory, data):
    """A ``.gz`` file that holds plain or random bytes: the reader says so, naming it."""
    from amkit.data.text import read_labelled_texts

    path = _write(tmp_path_factory.mktemp("gz"), "texts.jsonl.gz", data)
    _check("gzip files", path, lambda: read_labelled_texts(path))


def _wav_sample() -> bytes:
    """A valid 50 ms mono 16-bit WAV at 8 kHz."""
    import io

    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    wave = (0.5 * np.sin(np.arange(400) / 3)).astype("float32")
    soundfile.write(buffer, wave, 8000, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


@st.composite
def fuzzed_wav(draw) -> bytes:
    """Bytes of a WAV file: the valid sample cut short, spliced, a header byte changed,
    text, random bytes or nothing."""
    import scipy.signal  # noqa: F401  (imported once here, not inside a timed case)

    data = _wav_sample()
    kind = draw(st.sampled_from(["bytes", "cut", "splice", "header", "text", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    if kind == "header":  # a field of the 44-byte header (sizes, format, channels, rate)
        at = draw(st.integers(0, 43))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if kind == "text":
        return SAMPLES["text.csv"].encode("utf-8")
    return b""


@settings(FUZZ)
@given(data=fuzzed_wav())
def test_wav_files(tmp_path_factory, data):
    pytest.importorskip("soundfile")
    from amkit.data.audio import read_wav

    path = _write(tmp_path_factory.mktemp("wav"), "1_fuzz_0.wav", data)
    _check("WAV files", path, lambda: read_wav(path))
