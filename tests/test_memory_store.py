"""Contracts of the external memory stores: exact (torch), FAISS flat and IVF, on disk
(FAISS IVF with on-disk lists; ``Flat`` codes and nprobe == nlist make it exact) and sharded
over 2 Ray actors (one local Ray, started once for this module when a sharded case runs)."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest
import torch

import amkit.memory.store.base as store_module
from amkit.memory.store import (
    ExactMemoryStore,
    FaissMemoryStore,
    MemoryStore,
    make_store,
)
from amkit.memory.store.sharded import start_actors

D, DV = 16, 3
KINDS = ("exact", "faiss-flat", "faiss-ivf", "disk", "sharded")
FILES = {
    "exact": ["store.json", "store.safetensors"],
    "faiss-flat": ["index.faiss", "store.json", "store.safetensors"],
    "faiss-ivf": ["index.faiss", "store.json", "store.safetensors"],
    "disk": ["ids.bin", "index.faiss", "lists.ivfdata", "store.json", "values.bin"],
    "sharded": ["shard-000", "shard-001", "store.json"],
}
_RAY: list = []  # the local Ray of this module, once started


@pytest.fixture(autouse=True, scope="module")
def _stop_ray_at_the_end():
    yield
    if _RAY:
        _RAY[0].shutdown()


def local_ray():
    """A local Ray with 2 CPUs, started once for this module (skips without Ray)."""
    ray = pytest.importorskip("ray")
    if not _RAY:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)  # fmt: skip
        _RAY.append(ray)
        start_actors(4)  # two stores at once (save -> load) need 4; started in parallel
    return ray


def _make(kind: str, metric: str = "ip", dim: int = D, **params) -> MemoryStore:
    """A store of ``kind``; FAISS and Ray kinds skip the test without faiss or Ray."""
    if kind == "exact":
        return make_store("exact", dim, DV, metric)
    if kind == "sharded":
        local_ray()
        return make_store("sharded", dim, DV, metric, shards=2, shard_backend="exact")
    pytest.importorskip("faiss")
    if kind == "disk":
        params = {"nlist": 4, "nprobe": 4, "codes": "Flat", **params}  # exact
        return make_store("disk", dim, DV, metric, **params)
    if kind == "faiss-flat":
        return make_store("faiss", dim, DV, metric, index="flat")
    params = {"nlist": 4, "nprobe": 4, **params}  # nprobe == nlist: exact
    return make_store("faiss", dim, DV, metric, index="ivf", **params)


def _data(n: int, seed: int = 0, dim: int = D) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g), torch.randn(n, DV, generator=g)


def _clustered(n: int, n_clusters: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(n_clusters, D, generator=g)
    return centers[torch.randint(n_clusters, (n,), generator=g)] + torch.randn(n, D, generator=g)


def _assert_same_reads(a, b) -> None:
    assert torch.equal(a.ids, b.ids)
    assert torch.equal(a.scores, b.scores)
    assert torch.equal(a.values, b.values)


@pytest.mark.parametrize("metric", ["ip", "cosine"])
def test_exact_and_faiss_flat_return_the_same_top_k(metric):
    keys, values = _data(300)
    queries, _ = _data(25, seed=1)
    ids = torch.arange(300) * 7 + 100  # not row numbers
    exact, flat = _make("exact", metric), _make("faiss-flat", metric)
    for s in (exact, flat):
        s.write(keys, values, ids)
    a, b = exact.read(queries, 10), flat.read(queries, 10)
    assert torch.equal(a.ids, b.ids)
    torch.testing.assert_close(a.scores, b.scores, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.values, b.values)
    # and the exact store's scores are the metric itself
    k = torch.nn.functional.normalize(keys, dim=1) if metric == "cosine" else keys
    q = torch.nn.functional.normalize(queries, dim=1) if metric == "cosine" else queries
    top = (q @ k.T).topk(10, dim=1)
    torch.testing.assert_close(a.scores, top.values)
    assert torch.equal(a.ids, ids[top.indices])


def test_ivf_is_exact_with_nprobe_nlist_and_a_sane_approximation_below():
    keys = _clustered(1200, n_clusters=16)
    queries = _clustered(50, n_clusters=16, seed=1)
    values = torch.zeros(1200, DV)
    exact = _make("exact")
    exact.write(keys, values)
    ivf = _make("faiss-ivf", nlist=16, nprobe=16)
    ivf.write(keys, values)
    truth = exact.read(queries, 10)
    full = ivf.read(queries, 10)
    assert torch.equal(full.ids, truth.ids)
    torch.testing.assert_close(full.scores, truth.scores, atol=1e-4, rtol=1e-5)
    ivf.nprobe = 2
    approx = ivf.read(queries, 10)
    hits = sum(
        len(set(a.tolist()) & set(t.tolist())) for a, t in zip(approx.ids, truth.ids, strict=True)
    )
    recall = hits / truth.ids.numel()
    assert recall >= 0.5, f"IVF recall@10 with nprobe=2 of 16 lists is {recall:.2f}"


@pytest.mark.parametrize("kind", KINDS)
def test_deleted_ids_are_unreachable(kind):
    store = _make(kind)
    keys, values = _data(40)
    store.write(keys, values)
    assert store.delete([3, 17, 3]) == 2
    assert len(store) == 38 and 3 not in store and 17 not in store and 4 in store
    got = store.read(keys, 40)
    assert not torch.isin(got.ids, torch.tensor([3, 17])).any()
    assert (got.ids[:, 38:] == -1).all() and (got.ids[:, :38] >= 0).all()
    with pytest.raises(KeyError, match=r"not in the store, e\.g\. \[3\]"):
        store.delete([3])
    assert store.delete([3, 5], missing_ok=True) == 1
    # the other entries still carry their own keys and values after rows moved
    got = store.read(keys[[39, 20]], 1)
    assert got.ids.flatten().tolist() == [39, 20]
    torch.testing.assert_close(got.values[:, 0], values[[39, 20]])
    # auto ids continue past every id ever written
    assert store.write(keys[:1], values[:1]).tolist() == [40]


@pytest.mark.parametrize("kind", KINDS)
def test_write_with_an_existing_id_replaces_it(kind):
    store = _make(kind)
    keys, values = _data(30)
    store.write(keys[:20], values[:20], ids=np.arange(20))
    new_key, new_value = 5 * keys[25:26], torch.full((1, DV), 9.0)
    both_keys, both_values = (
        torch.cat([new_key, keys[20:21]]),
        torch.cat([new_value, values[20:21]]),
    )
    written = store.write(both_keys, both_values, ids=[7, 20])  # 7 exists, 20 is new
    assert written.tolist() == [7, 20] and len(store) == 21
    got = store.read(new_key, 21)
    assert got.ids[0, 0] == 7 and (got.ids[0] == 7).sum() == 1
    torch.testing.assert_close(got.values[0, 0], new_value[0])
    got = store.read(keys[7:8], 21)  # id 7 now scores with its new key
    torch.testing.assert_close(got.scores[got.ids == 7], keys[7:8] @ new_key[0])


@pytest.mark.parametrize("kind", KINDS)
def test_update_changes_keys_or_values_only(kind):
    store = _make(kind, metric="cosine")
    keys, values = _data(20)
    store.write(keys, values)
    store.update([4], values=torch.ones(1, DV))
    got = store.read(keys[4:5], 1)
    assert got.ids[0, 0] == 4
    torch.testing.assert_close(got.values[0, 0], torch.ones(DV))
    store.update([4], keys=keys[11:12] + 1e-3)
    assert store.read(keys[4:5], 1).ids[0, 0] != 4
    assert set(store.read(keys[11:12], 2).ids[0].tolist()) == {4, 11}
    with pytest.raises(KeyError, match="use write"):
        store.update([99], values=torch.ones(1, DV))


@pytest.mark.parametrize("kind", KINDS)
def test_reading_more_than_stored_pads(kind):
    store = _make(kind)
    empty = store.read(torch.randn(2, D), 3)
    assert (empty.ids == -1).all() and torch.isinf(empty.scores).all()
    keys, values = _data(5)
    store.write(keys, values, ids=[10, 11, 12, 13, 14])
    got = store.read(keys[:2], 8)
    assert got.values.shape == (2, 8, DV) and got.scores.shape == (2, 8)
    assert (got.ids[:, 5:] == -1).all()
    assert (got.scores[:, 5:] == float("-inf")).all()
    assert (got.values[:, 5:] == 0).all()
    assert sorted(got.ids[0, :5].tolist()) == [10, 11, 12, 13, 14]
    assert torch.isfinite(got.scores[:, :5]).all()


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_gives_identical_reads(kind, tmp_path):
    store = _make(kind, metric="cosine")
    keys, values = _data(60)
    store.write(keys, values, ids=torch.arange(60) + 1000)
    store.delete([1003, 1010])  # rows move; ids must survive the round trip
    queries, _ = _data(7, seed=3)
    store.save(tmp_path / "mem")
    loaded = MemoryStore.load(tmp_path / "mem")
    assert type(loaded) is type(store) and len(loaded) == 58
    assert repr(loaded) == repr(store)
    _assert_same_reads(loaded.read(queries, 12), store.read(queries, 12))
    assert loaded.write(keys[:1], values[:1]).tolist() == [1060]
    assert sorted(p.name for p in (tmp_path / "mem").iterdir()) == FILES[kind]
    with pytest.raises(ValueError, match="holds a '(exact|faiss|disk|sharded)' store"):
        (FaissMemoryStore if kind == "exact" else ExactMemoryStore).load(tmp_path / "mem")


@pytest.mark.parametrize("kind", ["exact", "faiss-flat"])
def test_a_save_that_fails_midway_keeps_the_old_copy(kind, tmp_path, monkeypatch):
    store = _make(kind)
    keys, values = _data(20)
    store.write(keys, values)
    before = store.read(keys, 5)
    store.save(tmp_path / "mem")
    store.write(-keys, values)  # replace every entry

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(store_module, "save_file", broken)
    with pytest.raises(OSError, match="simulated"):
        store.save(tmp_path / "mem")
    assert os.listdir(tmp_path) == ["mem"]  # no temp dir, no backup left
    _assert_same_reads(MemoryStore.load(tmp_path / "mem").read(keys, 5), before)
    with pytest.raises(OSError, match="simulated"):
        store.save(tmp_path / "fresh")
    assert os.listdir(tmp_path) == ["mem"]


def test_load_recovers_from_a_save_stopped_between_its_renames(tmp_path):
    store = _make("exact")
    keys, values = _data(10)
    store.write(keys, values)
    store.save(tmp_path / "mem")
    os.rename(tmp_path / "mem", tmp_path / ".mem.old")  # as if stopped mid-swap
    _assert_same_reads(MemoryStore.load(tmp_path / "mem").read(keys, 3), store.read(keys, 3))
    store.save(tmp_path / "mem")  # restores, then replaces
    assert os.listdir(tmp_path) == ["mem"]


def test_save_refuses_to_replace_a_directory_that_is_not_a_store(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not a memory store"):
        _make("exact").save(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(FileNotFoundError, match="no memory store"):
        MemoryStore.load(tmp_path / "mine")


@pytest.mark.parametrize("kind", KINDS)
def test_errors_name_the_argument_and_shapes(kind):
    store = _make(kind)
    keys, values = _data(8)
    with pytest.raises(ValueError, match=r"keys must be \(N, D\) = \(N, 16\), got shape \(8, 7\)"):
        store.write(keys[:, :7], values)
    with pytest.raises(ValueError, match=r"values must be \(N, Dv\) = \(N, 3\), got shape \(8,\)"):
        store.write(keys, values[:, 0])
    with pytest.raises(ValueError, match="keys has 8 rows but values has 5"):
        store.write(keys, values[:5])
    with pytest.raises(TypeError, match="keys must be floating point, got dtype torch.int64"):
        store.write(keys.long(), values)
    with pytest.raises(TypeError, match="ids must be integers"):
        store.write(keys, values, ids=torch.arange(8.0))
    with pytest.raises(ValueError, match="ids has 3 entries but keys/values have 8 rows"):
        store.write(keys, values, ids=[1, 2, 3])
    with pytest.raises(ValueError, match=r"ids contains duplicates, e\.g\. \[1\]"):
        store.write(keys[:2], values[:2], ids=[1, 1])
    with pytest.raises(ValueError, match="ids must be >= 0"):
        store.write(keys[:1], values[:1], ids=[-1])
    with pytest.raises(
        ValueError, match=r"queries must be \(Q, D\) = \(Q, 16\), got shape \(16,\)"
    ):
        store.read(keys[0], 2)
    with pytest.raises(ValueError, match="k must be a positive int"):
        store.read(keys, 0)
    with pytest.raises(ValueError, match="contains NaN"):
        store.write(keys * float("nan"), values)
    assert len(store) == 0  # nothing was half-written


def test_factory_errors_list_the_choices():
    with pytest.raises(KeyError, match="unknown memory store 'exakt' .*did you mean 'exact'"):
        make_store("exakt", D, DV)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['nlist'\] for the 'exact' store"):
        make_store("exact", D, DV, nlist=4)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_store("exact", D, DV, metric="l2")


def test_faiss_specific_errors():
    pytest.importorskip("faiss")
    with pytest.raises(ValueError, match="index must be one of"):
        make_store("faiss", D, DV, index="hnsw")
    ivf = _make("faiss-ivf", nlist=8, nprobe=2)
    with pytest.raises(ValueError, match="nlist=8 needs at least 8 keys, got 5"):
        ivf.write(*_data(5))
    assert len(ivf) == 0
    with pytest.raises(ValueError, match=r"nprobe \(9\) must be <= nlist \(8\)"):
        ivf.nprobe = 9
    ivf.train(_data(40)[0]).write(*_data(5))  # trained on a sample: small writes are fine
    assert len(ivf) == 5


def test_missing_faiss_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` fail
    with pytest.raises(ImportError, match=r"pip install 'amkit\[faiss\]'"):
        make_store("faiss", D, DV)


def _recall(found, truth) -> float:
    hits = sum(len(set(a.tolist()) & set(t.tolist())) for a, t in zip(found, truth, strict=True))
    return hits / truth.numel()


def test_exact_shards_give_exactly_the_answers_of_one_exact_store(tmp_path):
    keys, values = _data(500)
    queries, _ = _data(40, seed=1)
    one, sharded = _make("exact", "cosine"), _make("sharded", "cosine")
    for store in (one, sharded):
        store.write(keys, values, ids=torch.arange(500) * 3)
        store.delete([0, 3, 9])
        store.update([12], values=torch.ones(1, DV))
    _assert_same_reads(sharded.read(queries, 10), one.read(queries, 10))
    assert sorted(sharded.ids().tolist()) == sorted(one.ids().tolist()) and len(sharded) == 497


def test_approximate_shards_keep_the_recall_of_one_approximate_store():
    """Each shard is an IVF store of the same configuration as the single one; the recall of
    the merged top-10 is that of the single store within 0.01 (here 0.6949 vs 0.6985)."""
    pytest.importorskip("faiss")
    keys = _clustered(8000, n_clusters=64)
    queries = _clustered(1000, n_clusters=64, seed=1)
    values = torch.zeros(8000, DV)
    exact = _make("exact")
    exact.write(keys, values)
    truth = exact.read(queries, 10).ids
    ivf = {"index": "ivf", "nlist": 32, "nprobe": 2}
    one = make_store("faiss", D, DV, **ivf)
    local_ray()
    sharded = make_store("sharded", D, DV, shards=2, shard_backend="faiss", shard_params=ivf)
    for store in (one, sharded):
        store.write(keys, values)
    r_one = _recall(one.read(queries, 10).ids, truth)
    r_sharded = _recall(sharded.read(queries, 10).ids, truth)
    assert 0.5 < r_one < 0.9, r_one  # approximate, not trivially exact
    assert abs(r_sharded - r_one) <= 0.01, (r_sharded, r_one)


def test_a_missing_shard_or_an_unreachable_ray_address_is_a_user_error(tmp_path):
    store = _make("sharded")
    store.write(*_data(10))
    store.save(tmp_path / "mem")
    shutil.rmtree(tmp_path / "mem" / "shard-001")
    with pytest.raises(ValueError, match=r"shard-001/store\.json: missing; .* lacks shard"):
        MemoryStore.load(tmp_path / "mem")
    with pytest.raises(ValueError, match="ray_address 127.0.0.1:1: cannot join Ray"):
        make_store("sharded", D, DV, ray_address="127.0.0.1:1")
    with pytest.raises(ValueError, match="shard_backend must be one of"):
        make_store("sharded", D, DV, shard_backend="sharded")
    store.close()
    with pytest.raises(ValueError, match="this sharded store is closed"):
        store.read(torch.randn(1, D), 3)
