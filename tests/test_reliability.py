"""Failure behaviour: a write that fails half-way, two runs into one folder, leftovers of a
killed write, and the errors of the JSON readers the fuzzing found wanting."""

from __future__ import annotations

import json
import os
import stat

import pytest

import amkit
from amkit.errors import UserError

CONFIG = {"data": {"name": "associative_recall", "n_keys": 8, "n_pairs": 3, "n_train": 96,
                   "n_val": 32, "n_test": 32},
          "model": {"name": "recall_attention", "d_model": 8},
          "train": {"epochs": 2, "batch_size": 32, "progress": False}}  # fmt: skip


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    """ENOSPC injected while epoch 2's checkpoint is written: the error reaches the caller,
    epoch 1's checkpoint is still whole and resuming from it ends the run."""
    import amkit.io
    from amkit.io import read_tensor_metadata
    from amkit.train.checkpoint import STATE_KEY

    monkeypatch.setattr(amkit.io, "_fault_counts", {})
    monkeypatch.setenv("AMKIT_FAULT", "enospc:2:write:last.safetensors:temp")
    with pytest.raises(OSError, match="No space left"):
        amkit.run(CONFIG, run_dir=tmp_path / "run")
    monkeypatch.delenv("AMKIT_FAULT")
    state = json.loads(read_tensor_metadata(tmp_path / "run" / "last.safetensors")[STATE_KEY])
    assert state["epoch"] == 1
    assert not list((tmp_path / "run").glob(".*.tmp"))  # the failed write cleaned up
    result = amkit.run(None, run_dir=tmp_path / "run", resume=True)
    assert [r["epoch"] for r in result.history] == [1, 2]


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    from amkit.io import folder_lock

    with folder_lock(tmp_path / "run"), pytest.raises(UserError, match="in use by process"):
        amkit.run(CONFIG, run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "config.yaml").exists()


HOLD = """import sys
from amkit.io import folder_lock
with folder_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_amkit_train_into_a_folder_another_process_holds_is_refused(tmp_path, capsys):
    """Two processes: one holds the run directory as a training run does; ``amkit train
    --out SAME`` and ``--resume SAME`` in another are refused at once, naming it."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from amkit.cli import main
    from amkit.experiments.experiment import load_config

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["train", "demo/recall", "--out", str(run)]) == 2
        assert f"{run} is in use by process {holder.pid}: another amkit run writes into it" in (
            capsys.readouterr().err
        )
        assert not (run / "config.yaml").exists()
        config = load_config("demo/recall").to_dict()
        (run / "config.yaml").write_text(yaml.safe_dump(config))  # as if it had started
        assert main(["train", "--resume", str(run)]) == 2
        assert f"in use by process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_resume_removes_the_temp_files_of_a_killed_write(tmp_path):
    amkit.run({**CONFIG, "train": {**CONFIG["train"], "epochs": 1}}, run_dir=tmp_path / "run")
    leftover = tmp_path / "run" / ".last.safetensors.abc123.tmp"
    leftover.write_bytes(b"half a checkpoint")
    amkit.run(None, run_dir=tmp_path / "run", resume=True)
    assert not leftover.exists()


def test_written_files_get_the_usual_permissions(tmp_path):
    """Not mkstemp's 0600: a run directory is readable by whom the umask allows."""
    import torch

    from amkit.io import _UMASK, atomic_save_tensors, atomic_write_text

    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        atomic_save_tensors(tmp_path / "w.safetensors", {"w": torch.zeros(2)})  # own temp file
    finally:
        os.umask(umask)
    for name in ("a.txt", "w.safetensors"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~_UMASK, name


def test_read_json_names_the_file_and_line(tmp_path):
    from amkit.textfile import read_json

    path = tmp_path / "metrics.json"
    path.write_text('{"test":\n  {"accuracy": }\n}\n')
    with pytest.raises(UserError, match=r"metrics.json:2: not valid JSON"):
        read_json(path)
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(UserError, match=r"metrics.json:1: not UTF-8"):
        read_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(UserError, match=r"metrics.json: expected a JSON object"):
        read_json(path)
    path.write_text("[" * 100_000)
    with pytest.raises(UserError, match="metrics.json"):
        read_json(path)


def test_sweep_metrics_of_the_wrong_type_name_the_file_and_key(tmp_path):
    from amkit.experiments.sweep_summary import run_metrics

    (tmp_path / "metrics.json").write_text('{"test": {"accuracy": "high"}}')
    with pytest.raises(UserError, match=r"metrics.json: test.accuracy should be a number"):
        run_metrics(tmp_path, "test_accuracy")
    (tmp_path / "metrics.json").write_text('{"test": [0.5]}')
    with pytest.raises(UserError, match=r"metrics.json: 'test' should be a JSON object"):
        run_metrics(tmp_path, "test_accuracy")


def test_results_pages_refuse_a_run_without_test_metrics(tmp_path):
    from results.report import finished_metrics

    (tmp_path / "metrics.json").write_text('{"test": {}}')
    with pytest.raises(UserError, match="metrics.json: no test metrics"):
        finished_metrics(tmp_path)


def test_a_garbled_checkpoint_names_its_file(tmp_path):
    """A checkpoint whose counters are of the wrong type: resume says which file and key."""
    from amkit.io import atomic_save_tensors, read_tensor_metadata, read_tensors
    from amkit.train.checkpoint import STATE_KEY

    run = tmp_path / "run"
    amkit.run({**CONFIG, "train": {**CONFIG["train"], "epochs": 1}}, run_dir=run)
    path = run / "last.safetensors"
    state = json.loads(read_tensor_metadata(path)[STATE_KEY])
    state["epoch"] = "one"
    atomic_save_tensors(path, read_tensors(path), {STATE_KEY: json.dumps(state)})
    with pytest.raises(UserError, match=r"last.safetensors: the checkpoint's epoch"):
        amkit.run(None, run_dir=run, resume=True)
    atomic_save_tensors(path, read_tensors(path))  # an older checkpoint: the state in last.json
    (run / "last.json").write_text('{"optimizer": []}')
    with pytest.raises(UserError, match=r"last.json: key 'optimizer'"):
        amkit.run(None, run_dir=run, resume=True)


# Writes that need no atomic helper: each fills a temp file or folder that a rename puts in place.
BUILT_IN_A_TEMP_FOLDER = {
    "amkit/memory/store/base.py",  # replace_directory swaps the whole store in
    "amkit/knowledge/wordnet.py",  # the cached copy is renamed into place when complete
    # archive members read back from a TemporaryDirectory (nothing of the user's written)
    "amkit/data/kbqa_wordnet.py",
    "amkit/data/link_prediction.py",
    # a copy or a new store built in a temp folder, then swapped in by replace_directory
    "amkit/memory/store/disk.py",
    "amkit/memory/store/sharded.py",
    # runs in its own virtual environment without amkit; writes a temp file and renames it
    "results/ett_peer.py",
}
RAW_WRITES = (".write_text(", ".write_bytes(", "torch.save(", ".savefig(", ".to_csv(",
              "json.dump(", "np.save(", 'open(path, "w', '"w:gz"', "shutil.copyfile(")  # fmt: skip


def test_every_user_file_is_written_through_the_atomic_helpers():
    """No module of amkit/ or results/ but amkit/io.py writes a file directly (see
    BUILT_IN_A_TEMP_FOLDER)."""
    from pathlib import Path

    top = Path(amkit.__file__).parent.parent
    found = []
    for module in sorted([*top.glob("amkit/**/*.py"), *top.glob("results/*.py")]):
        name = module.relative_to(top).as_posix()
        if name == "amkit/io.py" or name in BUILT_IN_A_TEMP_FOLDER:
            continue
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(raw in code for raw in RAW_WRITES) and "atomic_path" not in code:
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "write these through amkit.io:\n" + "\n".join(found)


def test_knowledge_files_that_are_not_utf8_or_not_arrays_name_the_file(tmp_path):
    from amkit.knowledge.embeddings import Embeddings
    from amkit.knowledge.lexicon import Lexicon
    from amkit.knowledge.linking import phrase_names

    latin = tmp_path / "vader_lexicon.txt"
    latin.write_bytes("café\t1.0\t0.5\t[1]\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"vader_lexicon.txt:1: not UTF-8"):
        Lexicon.vader(latin)
    names = tmp_path / "names.txt"
    names.write_bytes(b"new york\n\xff\n")
    with pytest.raises(UserError, match=r"names.txt:2: not UTF-8"):
        phrase_names(str(names))
    (tmp_path / "v.npy").write_bytes(b"not numpy")
    (tmp_path / "words.txt").write_text("a\n")
    with pytest.raises(UserError, match=r"v.npy: not a readable .npy array"):
        Embeddings.load(tmp_path / "v.npy", vocab_path=tmp_path / "words.txt")


def test_saved_stores_and_kg_embeddings_with_bad_labels_name_the_file(tmp_path):
    import torch

    from amkit.knowledge.kg_embeddings import KGEmbeddings
    from amkit.memory.store import MemoryStore, make_store

    store = make_store("exact", dim=4, value_dim=2)
    store.write(torch.ones(3, 4), torch.ones(3, 2))
    store.save(tmp_path / "store")
    meta = next((tmp_path / "store").glob("*.json"))
    saved = json.loads(meta.read_text())
    meta.write_text(json.dumps({**saved, "dim": "four"}))
    with pytest.raises(UserError, match=rf"{meta.name}: dim missing or malformed"):
        MemoryStore.load(tmp_path / "store")
    KGEmbeddings(["a"], torch.ones(1, 2), ["r"], torch.ones(1, 2), "transe").save(tmp_path / "k")
    (tmp_path / "k" / "labels.json").write_text('{"model": "transe"}')
    with pytest.raises(UserError, match="lacks entities, relations"):
        KGEmbeddings.load(tmp_path / "k")
