"""AMKIT_DATA: where datasets are expected, config defaults, errors, ``amkit data where``."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from amkit.cli import main
from amkit.configs import ROOT as CONFIGS
from amkit.data.babi import BabiDataConfig, build_babi
from amkit.data.locations import KNOWN_DATASETS, data_home, dataset_path
from amkit.data.recsys import SequencesConfig, build_sequences
from amkit.data.stories import write_babi_tree
from amkit.experiments.run import load_config


@pytest.fixture
def home(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("AMKIT_DATA", str(root))
    return root


def test_root_is_amkit_data_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AMKIT_DATA", str(tmp_path / "mine"))
    assert data_home() == tmp_path / "mine"
    monkeypatch.delenv("AMKIT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_home() == tmp_path / "cache" / "amkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_home() == Path.home() / ".cache" / "amkit"


def test_a_config_without_path_reads_the_dataset_folder(home):
    write_babi_tree(home / "babi", tasks=(1,), n_train=30, n_test=10)
    data = build_babi(BabiDataConfig(tasks=[1], memory_size=10), seed=0)
    assert len(data.split("test")) == 10


def test_an_explicit_path_wins(home, tmp_path):
    write_babi_tree(home / "babi", tasks=(1,), n_train=30, n_test=10)
    write_babi_tree(tmp_path / "mine", tasks=(1,), n_train=30, n_test=20)
    data = build_babi(BabiDataConfig(path=str(tmp_path / "mine"), tasks=[1]), seed=0)
    assert len(data.split("test")) == 20
    with pytest.raises(FileNotFoundError, match=r"babi: data\.path .*nowhere does not exist"):
        build_babi(BabiDataConfig(path=str(tmp_path / "nowhere"), tasks=[1]), seed=0)


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(home):
    with pytest.raises(FileNotFoundError) as info:
        dataset_path("multi30k")
    text = str(info.value)
    assert f"looked in {home / 'multi30k'}" in text
    assert "AMKIT_DATA=" in text and "sets the root" in text
    assert "amkit data download multi30k" in text
    with pytest.raises(FileNotFoundError) as info:  # manual: the instructions, no command
        build_babi(BabiDataConfig(tasks=[1]), seed=0)
    text = str(info.value)
    assert f"looked in {home / 'babi'}" in text and "tasks_1-20_v1-2.tar.gz" in text
    assert "cannot be downloaded automatically (CC BY 3.0" in text


def test_one_file_datasets_and_item_knowledge_by_name(home):
    (home / "sasrec").mkdir(parents=True)
    lines = "".join(f"{u} {i}\n" for u in range(1, 7) for i in range(u, u + 4))
    (home / "sasrec" / "Video.txt.gz").write_bytes(gzip.compress(lines.encode()))
    assert dataset_path("sasrec") == home / "sasrec" / "Video.txt.gz"
    data = build_sequences(SequencesConfig(source="sasrec", min_count=0, n_negatives=1), 0)
    assert data.info.n_users == 6
    (home / "sasrec" / "Video.txt").write_text(lines)  # as downloaded: the first name wins
    assert dataset_path("sasrec") == home / "sasrec" / "Video.txt"
    with pytest.raises(FileNotFoundError, match=r"ml-1m not found: looked in"):
        build_sequences(
            SequencesConfig(source="sasrec", min_count=0, n_negatives=1, item_knowledge="ml-1m"),
            0,
        )


def test_interactions_need_a_path():
    with pytest.raises(ValueError, match="source interactions reads your CSV/TSV file"):
        load_config(
            {"seed": 0, "data": {"name": "sequences", "source": "interactions"},
             "model": {"name": "sasrec"}}
        )  # fmt: skip


def test_shipped_configs_name_the_dataset_not_a_path():
    for path in CONFIGS.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "shared/data" not in text, path
        if text.startswith("# Run: amkit train "):
            data = load_config(path).data.config
            assert getattr(data, "path", None) is None, path


def test_where_lists_every_dataset_and_whether_it_is_there(home, capsys):
    write_babi_tree(home / "babi", tasks=(1,), n_train=5, n_test=5)
    assert main(["data", "where"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"AMKIT_DATA root: {home} (from AMKIT_DATA)"
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert set(rows) == set(KNOWN_DATASETS)
    assert rows["babi"][1:3] == ["there", str(home / "babi")]
    assert rows["multi30k"][1] == "missing" and "download multi30k)" in " ".join(rows["multi30k"])
    assert rows["sasrec"][2] == str(home / "sasrec" / "Video.txt")


def test_a_system_folder_is_read_when_the_data_root_has_no_copy(home, tmp_path, monkeypatch):
    import dataclasses

    from amkit.data import locations

    system = tmp_path / "system"
    system.mkdir()
    debian = dataclasses.replace(locations.KNOWN_DATASETS["fashion_mnist"], system=str(system))
    monkeypatch.setitem(locations.KNOWN_DATASETS, "fashion_mnist", debian)
    with pytest.raises(FileNotFoundError, match="make setup-fashion-mnist"):
        dataset_path("fashion_mnist")  # neither folder holds it
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (system / name).write_bytes(b"")
    assert dataset_path("fashion_mnist") == system
    own = home / "fashion_mnist"
    own.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (own / name).write_bytes(b"")
    assert dataset_path("fashion_mnist") == own  # the data root's copy wins
