"""amkit.io: every write is atomic -- a failed write leaves the old file and no temp file."""

import json

import pytest
import torch
from safetensors.torch import load_file

from amkit.io import (
    atomic_copy,
    atomic_save_figure,
    atomic_save_tensors,
    atomic_write_json,
    atomic_write_text,
    directory_backup,
    replace_directory,
)


def test_writes_round_trip(tmp_path):
    atomic_write_text(tmp_path / "a" / "t.txt", "héllo\n")
    atomic_write_json(tmp_path / "m.json", {"b": 1, "a": [1.5]})
    atomic_save_tensors(tmp_path / "w.safetensors", {"x": torch.arange(3.0)})
    atomic_copy(tmp_path / "m.json", tmp_path / "copy.json")
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert list(json.loads((tmp_path / "copy.json").read_text())) == ["b", "a"]  # order kept
    torch.testing.assert_close(load_file(tmp_path / "w.safetensors")["x"], torch.arange(3.0))


def test_tied_tensors_are_saved_as_copies(tmp_path):
    shared = torch.ones(2, 2)
    atomic_save_tensors(tmp_path / "t.safetensors", {"a": shared, "b": shared})
    assert set(load_file(tmp_path / "t.safetensors")) == {"a", "b"}


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    atomic_save_tensors(path, {"w": torch.zeros(2)})
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("amkit.io.save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        atomic_save_tensors(path, {"w": torch.ones(2)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp left


def test_failed_figure_keeps_the_old_file(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "plot.png"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    atomic_save_figure(fig, path)
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")
    assert not plt.get_fignums()  # the figure is closed

    broken, _ = plt.subplots()

    def die(*args, **kwargs):
        raise RuntimeError("renderer died")

    broken.savefig = die
    with pytest.raises(RuntimeError, match="renderer died"):
        atomic_save_figure(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_replace_directory_recovers_from_a_stop_between_its_renames(tmp_path):
    target, new = tmp_path / "store", tmp_path / ".store.new"
    target.mkdir()
    (target / "v").write_text("1")
    new.mkdir()
    (new / "v").write_text("2")
    replace_directory(new, target)
    assert (target / "v").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    # stopped after the first rename: only the backup holds the data; the next call restores it
    target.rename(directory_backup(target))
    newer = tmp_path / ".store.newer"
    newer.mkdir()
    (newer / "v").write_text("3")
    replace_directory(newer, target)
    assert (target / "v").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
