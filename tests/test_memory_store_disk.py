"""The on-disk store's own contracts: a chunked build from a stream equals one write, resumes
by chunk after an interruption to the same index and answers, compressed codes keep a sane
recall, and damaged files are user errors naming the file. (The MemoryStore contract tests
in test_memory_store.py run over it too.)"""

from __future__ import annotations

import pytest
import torch

faiss = pytest.importorskip("faiss")

from amkit.memory.store import DiskMemoryStore, MemoryStore, build_disk_store, make_store  # noqa: E402

D, DV, N, CHUNK = 16, 3, 600, 100
EXACT = {"nlist": 8, "nprobe": 8, "codes": "Flat"}


@pytest.fixture(autouse=True, scope="module")
def _one_faiss_thread():
    """FAISS's OpenMP threads wait on each other on a busy machine (PQ training took 2.5 s on
    2 threads, 0.06 s on 1)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def _chunk(i: int, seed: int = 0):
    """Chunk ``i`` of a clustered stream, made again from ``(seed, i)`` alone."""
    g = torch.Generator().manual_seed(1000 * seed + i)
    centres = 3 * torch.randn(12, D, generator=torch.Generator().manual_seed(seed))
    keys = centres[torch.randint(12, (CHUNK,), generator=g)] + torch.randn(CHUNK, D, generator=g)
    return keys, torch.randn(CHUNK, DV, generator=g)


def stream(start: int = 0, stop: int = N // CHUNK, fail_at: int | None = None):
    for i in range(start, stop):
        if i == fail_at:
            raise RuntimeError(f"stream broke at chunk {i}")
        yield _chunk(i)


def _all():
    keys, values = zip(*(_chunk(i) for i in range(N // CHUNK)), strict=True)
    return torch.cat(keys), torch.cat(values)


def _same(a, b) -> None:
    assert torch.equal(a.ids, b.ids)
    assert torch.equal(a.scores, b.scores)
    assert torch.equal(a.values, b.values)


def _sample() -> torch.Tensor:
    return _all()[0][::3]  # a fixed sample to train on


def test_a_chunked_build_equals_one_write_and_reads_exactly(tmp_path):
    keys, values = _all()
    queries = keys[::37] + 0.1
    built = build_disk_store(tmp_path / "built", stream(), D, DV, "cosine", _sample(), **EXACT)
    one = make_store("disk", D, DV, "cosine", **EXACT).train(_sample())
    one.write(keys, values)
    exact = make_store("exact", D, DV, "cosine")
    exact.write(keys, values)
    assert len(built) == N and built.ids().tolist() == list(range(N))
    _same(built.read(queries, 10), one.read(queries, 10))
    assert torch.equal(built.read(queries, 10).ids, exact.read(queries, 10).ids)
    assert sorted(p.name for p in built.path.iterdir()) == [
        "ids.bin", "index.faiss", "lists.ivfdata", "store.json", "values.bin"
    ]  # fmt: skip


@pytest.mark.parametrize("resume_with", ["iterable", "function"])
def test_a_build_interrupted_after_chunk_k_resumes_to_the_same_index(tmp_path, resume_with):
    params = {"nlist": 8, "nprobe": 2, "codes": "SQ8", "rerank": 20}
    whole = build_disk_store(tmp_path / "whole", stream(), D, DV, "ip", _sample(), **params)
    with pytest.raises(RuntimeError, match="stream broke at chunk 3"):
        build_disk_store(tmp_path / "cut", stream(fail_at=3), D, DV, "ip", _sample(), **params)
    assert (tmp_path / "cut" / "build.json").is_file()
    with pytest.raises(ValueError, match=r"build\.json: the build of this store did not finish"):
        MemoryStore.load(tmp_path / "cut")
    with pytest.raises(ValueError, match=r"build\.json: this build was started with other opt"):
        build_disk_store(tmp_path / "cut", stream(), D, DV, "ip", **{**params, "nlist": 4})
    made = []

    def from_chunk(start):  # records which chunks the resumed build asked for
        made.append(start)
        return stream(start)

    chunks = from_chunk if resume_with == "function" else stream()
    resumed = build_disk_store(tmp_path / "cut", chunks, D, DV, "ip", _sample(), **params)
    assert made == ([3] if resume_with == "function" else [])
    for name in ("index.faiss", "lists.ivfdata", "ids.bin", "values.bin", "keys.f16.bin"):
        assert (whole.path / name).read_bytes() == (resumed.path / name).read_bytes(), name
    queries = _all()[0][::29]
    _same(resumed.read(queries, 10), whole.read(queries, 10))
    again = build_disk_store(tmp_path / "cut", stream(), D, DV, "ip", _sample(), **params)
    _same(again.read(queries, 10), whole.read(queries, 10))  # a finished build: opened


def test_a_build_killed_between_a_chunk_and_its_record_redoes_that_chunk(tmp_path, monkeypatch):
    whole = build_disk_store(tmp_path / "whole", stream(), D, DV, "ip", _sample(), **EXACT)
    # the 4th write of build.json fails as a full disk would: chunk 2's part and rows are
    # written, build.json still says 2 chunks
    monkeypatch.setenv("AMKIT_FAULT", "enospc:4:write:build.json:temp")
    with pytest.raises(OSError, match="No space left"):
        build_disk_store(tmp_path / "cut", stream(), D, DV, "ip", _sample(), **EXACT)
    monkeypatch.delenv("AMKIT_FAULT")
    resumed = build_disk_store(tmp_path / "cut", stream(), D, DV, "ip", _sample(), **EXACT)
    queries = _all()[0][::29]
    _same(resumed.read(queries, 10), whole.read(queries, 10))


def test_compressed_codes_keep_recall_and_rerank_restores_it(tmp_path):
    keys, values = _all()
    queries = keys[::7] + 0.3 * torch.randn(len(keys[::7]), D)
    exact = make_store("exact", D, DV)
    exact.write(keys, values)
    truth = exact.read(queries, 10).ids

    def recall(store) -> float:
        got = store.read(queries, 10).ids
        return (
            sum(len(set(a.tolist()) & set(t.tolist())) for a, t in zip(got, truth, strict=True))
            / truth.numel()
        )

    pq = make_store("disk", D, DV, nlist=8, nprobe=8, codes="PQ4")
    pq.write(keys, values)
    reranked = make_store("disk", D, DV, nlist=8, nprobe=8, codes="PQ4", rerank=50)
    reranked.write(keys, values)
    assert 0.2 < recall(pq) < 0.95 and recall(reranked) >= 0.99, (recall(pq), recall(reranked))


def test_writes_after_a_build_persist_and_reopen(tmp_path):
    store = build_disk_store(tmp_path / "s", stream(), D, DV, "ip", _sample(), **EXACT)
    keys, values = _chunk(99)
    store.write(keys[:5], values[:5], ids=[10_000, 10_001, 10_002, 3, 4])  # 3, 4 replaced
    store.delete([7, 8])
    store.update([5], values=torch.ones(1, DV))
    store.flush()
    reopened = MemoryStore.load(tmp_path / "s")
    assert len(reopened) == N + 3 - 2 and 7 not in reopened and 10_002 in reopened
    _same(reopened.read(keys, 5), store.read(keys, 5))
    assert reopened.write(keys[:1], values[:1]).tolist() == [10_003]
    # many more writes move every list to a new slot: all entries keep their keys and rows
    more = [_chunk(i) for i in (96, 97, 98)]
    for chunk in more:
        reopened.write(*chunk)
    exact = make_store("exact", D, DV)
    everything = _all()
    exact.write(*everything)
    exact.write(keys[:5], values[:5], ids=[10_000, 10_001, 10_002, 3, 4])
    exact.delete([7, 8])
    exact.update([5], values=torch.ones(1, DV))
    exact.write(keys[:1], values[:1])
    for chunk in more:
        exact.write(*chunk)
    queries = torch.cat([everything[0][::13], more[2][0][::9]])
    got, want = reopened.read(queries, 10), exact.read(queries, 10)
    assert torch.equal(got.ids, want.ids) and torch.equal(got.values, want.values)
    torch.testing.assert_close(got.scores, want.scores)  # FAISS's sums vs torch's


def test_damaged_files_are_user_errors_naming_them(tmp_path):
    src = build_disk_store(tmp_path / "s", stream(), D, DV, "ip", _sample(), **EXACT)
    for name, damage, message in [
        ("index.faiss", b"not an index", r"index\.faiss: not a readable FAISS index"),
        ("lists.ivfdata", b"", r"lists\.ivfdata: 0 bytes, the index needs \d+; it is trunc"),
        ("values.bin", b"\0" * 10, r"values\.bin: 10 bytes, expected at least 7200"),
        ("ids.bin", None, r"ids\.bin: missing"),
    ]:
        copy = src.save(tmp_path / f"copy-{name}")
        if damage is None:
            (copy / name).unlink()
        else:
            (copy / name).write_bytes(damage)
        with pytest.raises(ValueError, match=message):
            MemoryStore.load(copy)
    with pytest.raises(ValueError, match=r"path .*s: exists and is not empty"):
        DiskMemoryStore(D, DV, path=tmp_path / "s")
    with pytest.raises(ValueError, match=r"codes PQ5: m \(5\) must divide dim \(16\)"):
        make_store("disk", D, DV, codes="PQ5")
    with pytest.raises(ValueError, match="codes must be Flat, SQ8"):
        make_store("disk", D, DV, codes="HNSW")
    with pytest.raises(ValueError, match=r"train_keys: 3 keys for nlist=8"):
        build_disk_store(tmp_path / "t", stream(), D, DV, "ip", _sample()[:3], **EXACT)


def test_an_hnsw_coarse_quantizer_reads_and_reopens(tmp_path):
    keys, values = _all()
    store = make_store("disk", D, DV, path=tmp_path / "h", coarse="hnsw", **EXACT)
    store.write(keys, values)
    exact = make_store("exact", D, DV)
    exact.write(keys, values)
    queries = keys[::31] + 0.1
    assert torch.equal(store.read(queries, 10).ids, exact.read(queries, 10).ids)
    store.flush()
    _same(MemoryStore.load(tmp_path / "h").read(queries, 10), store.read(queries, 10))
