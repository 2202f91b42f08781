"""On-disk memory-store benchmark: 10^7 to 10^8 entries streamed from a seed, never stored.

``amkit bench memory-disk --size 1e7 --data clustered --work DIR`` (or
``python benchmarks/memory_disk.py ...``) builds a :class:`~amkit.memory.store.DiskMemoryStore`
in ``DIR`` with :func:`~amkit.memory.store.build_disk_store` from a stream of chunks that are
made again from ``(seed, chunk number)`` whenever needed, computes the exact top-k of
``n_queries`` queries by a streamed scan over the same chunks, and times reads. Every phase
resumes by chunk: run the same command again after an interruption (``nohup ... &`` for the
long runs). It reports:

- build time (training, chunks and the merge; summed over the runs of a resumed build, each
  interrupted one up to its last chunk) and the store's size on disk;
- peak anonymous resident memory (``RssAnon`` of ``/proc/self/status``, sampled every 20 ms:
  the memory-mapped lists and rows are page cache and do not count) of the build and of the
  reads, and the process's ``VmHWM`` (anonymous plus mapped pages) for reference;
- per ``nprobe``: the median time of a batch read of all queries, of single-query reads (warm
  page cache: after one pass over the queries), and recall@k against the exact scan.

The result goes into ``<out>/memory.json`` under ``disk`` (one entry per size, data and
configuration; others kept) and ``<out>/memory.md`` is rendered again.

Data (``D = 128`` float32 keys, ``Dv = 16`` values, metric cosine): ``clustered`` is the
in-RAM benchmark's mixture (``round(sqrt(N))`` centres ~ N(0, I), plus N(0, I) noise);
``overlap`` has many small clusters: ``min(N // 100, 2**18)`` centres (about 100 to 400 keys
each) with the same spread, so the clusters' balls overlap and a key's nearest neighbours
come from several clusters; its centres (up to 128 MiB) are in RAM and counted.

Legend: N entries, C entries per chunk, D key width, Dv value width, Q queries, k results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from amkit.bench import machine, memory_report, report
from amkit.errors import UserError

logger = logging.getLogger(__name__)

DATASETS = ("clustered", "overlap")
SEED, VALUE_DIM, NOISE = 0, 16, 1.0
MAX_NLIST = 16_384  # k-means on 40 x nlist keys stays under ~20 min on 2 cores at 10^8
TRAIN_PER_LIST = 40  # FAISS advises 39 to 256
NPROBES = (16, 64)
BLOCK = 10_000  # rows made from one seed; chunks are whole blocks
SINGLES = 200


def nlist_for(n: int) -> int:
    """``4 * sqrt(N)`` lists (the low end of FAISS's advice), at most :data:`MAX_NLIST`."""
    return max(1, min(MAX_NLIST, round(4 * math.sqrt(n))))


class Data:
    """The benchmark's keys, made again chunk by chunk from the seed.

    Args:
        n: N entries; chunk ``i`` holds rows ``[i * C, (i + 1) * C)``.
        dim: D.
        data: ``"clustered"`` or ``"overlap"``.
        chunk: C, rounded to whole blocks of :data:`BLOCK` rows.
    """

    def __init__(self, n: int, dim: int, data: str, chunk: int):
        import torch

        if data not in DATASETS:
            raise UserError(f"--data must be one of {DATASETS}, got {data!r}")
        # the data are made in blocks of BLOCK rows, each from its own seed, and a chunk is
        # whole blocks: the same N gives the same keys whatever the chunk size
        self.n, self.dim, self.data = n, dim, data
        self.chunk = max(1, round(chunk / BLOCK)) * BLOCK
        count = round(math.sqrt(n)) if data == "clustered" else min(max(1, n // 100), 2**18)
        g = torch.Generator().manual_seed(SEED)
        self.centres = torch.randn(max(1, count), dim, generator=g)  # (centres, D)
        self.chunks = math.ceil(n / chunk)

    def _draw(self, rows: int, seed: int):
        import torch

        g = torch.Generator().manual_seed(seed)
        keys = NOISE * torch.randn(rows, self.dim, generator=g)  # (rows, D)
        keys += self.centres[torch.randint(len(self.centres), (rows,), generator=g)]
        return keys, g

    def chunk_at(self, i: int):
        """Chunk ``i``: keys ``(C, D)`` and values ``(C, Dv)`` (rows ``i * C`` on)."""
        import torch

        keys, values = [], []
        first, end = i * self.chunk, min(self.n, (i + 1) * self.chunk)
        for block in range(first // BLOCK, math.ceil(end / BLOCK)):
            rows = min(BLOCK, self.n - block * BLOCK)
            k, g = self._draw(rows, 1_000_003 * (1 + DATASETS.index(self.data)) + block)
            keys.append(k)
            values.append(torch.randn(rows, VALUE_DIM, generator=g))
        return torch.cat(keys), torch.cat(values)

    def stream(self, start: int = 0):
        for i in range(start, self.chunks):
            yield self.chunk_at(i)

    def queries(self, q: int):
        return self._draw(q, 7_777_777)[0]  # (Q, D)

    def sample(self, rows: int):
        """A training sample from the same mixture (a fresh draw: rows of a random subset)."""
        return self._draw(rows, 5_555_555)[0]


class AnonPeak:
    """Peak ``RssAnon`` (MiB) of this process while the ``with`` block runs, sampled every 20
    ms in a thread."""

    def __enter__(self) -> AnonPeak:
        self.peak, self._stop = rss_anon_mb(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_anon_mb())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_mb())


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_anon_mb() -> float:
    """Anonymous resident memory of this process (MiB): not page cache, not mapped files."""
    return _status_mb("RssAnon")


def exact_truth(data: Data, queries, k: int, state_path: Path):
    """Row ids ``(Q, k)`` of the exact top-k (cosine) by a streamed scan; resumes by chunk
    from ``state_path`` (safetensors: the best so far and the chunks scanned)."""
    import torch
    import torch.nn.functional as F

    from amkit.io import atomic_save_tensors, read_tensor_metadata, read_tensors

    q = F.normalize(queries, dim=1)
    best = torch.full((len(q), k), float("-inf"))
    rows = torch.full((len(q), k), -1, dtype=torch.int64)
    start = 0
    if state_path.exists():
        saved = read_tensors(state_path)
        best, rows = saved["scores"], saved["rows"]
        start = int(read_tensor_metadata(state_path)["chunks_done"])
    for i in range(start, data.chunks):
        keys = F.normalize(data.chunk_at(i)[0], dim=1)
        for start in range(0, len(keys), 65_536):  # a (Q, 65536) block at most: 256 MiB
            scores = q @ keys[start : start + 65_536].T  # (Q, c)
            top, at = scores.topk(min(k, scores.shape[1]), dim=1)
            best, order = torch.cat([best, top], 1).topk(k, dim=1)
            rows = torch.cat([rows, at + i * data.chunk + start], 1).gather(1, order)
        if i % 10 == 9 or i == data.chunks - 1:
            meta = {"chunks_done": str(i + 1)}
            atomic_save_tensors(state_path, {"scores": best, "rows": rows}, meta)
    return rows


def _time_reads(store, queries, k: int, singles: int) -> dict:
    store.read(queries, k)  # warm-up: the lists these queries touch are now page cache
    batch = []
    for _ in range(3):
        t0 = time.perf_counter()
        got = store.read(queries, k)
        batch.append(time.perf_counter() - t0)
    single = []
    for i in range(min(singles, len(queries))):
        t0 = time.perf_counter()
        store.read(queries[i : i + 1], k)
        single.append(time.perf_counter() - t0)
    return {
        "batch_ms": 1e3 * statistics.median(batch),
        "single_ms": 1e3 * statistics.median(single),
        "ids": got.ids,
    }


def run_disk_benchmark(
    size: int,
    work: str | os.PathLike,
    data: str = "clustered",
    dim: int = 128,
    chunk: int = 1_000_000,
    k: int = 10,
    n_queries: int = 1000,
    nlist: int | None = None,
    nprobes: tuple[int, ...] = NPROBES,
    codes: str = "SQ8",
    coarse: str | None = None,
    rerank: int = 0,
    threads: int = 2,
    out_dir: str | os.PathLike = "docs/benchmarks",
) -> dict:
    """Build (or resume) the on-disk store in ``work``, find the exact answers, time reads.

    Returns:
        The entry added to ``<out_dir>/memory.json``'s ``disk`` list.
    """
    import faiss
    import torch

    from amkit.memory.store import MemoryStore, build_disk_store

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    nlist = nlist or nlist_for(size)
    coarse = coarse or ("hnsw" if nlist >= 4096 else "flat")
    params = {
        "nlist": nlist,
        "nprobe": min(nprobes[0], nlist),
        "codes": codes,
        "coarse": coarse,
        "rerank": rerank,
    }
    folder = Path(work) / f"{data}-{size}-{codes}-{nlist}-{coarse}-{rerank}"
    folder.mkdir(parents=True, exist_ok=True)
    progress_file = folder / "progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.exists() else {}
    stream = Data(size, dim, data, chunk)
    store_dir = folder / "store"
    base_s, base_peak = progress.get("build_s", 0.0), progress.get("build_anon_peak_mb", 0.0)

    def note() -> None:  # build time and peak so far, kept if this run is killed
        progress["build_s"] = base_s + time.perf_counter() - started
        progress["build_anon_peak_mb"] = max(base_peak, build_peak.peak)
        report.write_atomic(progress_file, json.dumps(progress, indent=2) + "\n")

    def chunks(start: int):
        for chunk in stream.stream(start):
            note()
            yield chunk

    with AnonPeak() as build_peak:
        started = time.perf_counter()
        fresh = not (store_dir / "build.json").exists() and not (store_dir / "store.json").exists()
        sample = stream.sample(min(size, TRAIN_PER_LIST * nlist)) if fresh else None
        store = build_disk_store(store_dir, chunks, dim, VALUE_DIM, "cosine", sample, **params)
        del sample
    note()
    queries = stream.queries(n_queries)
    t0 = time.perf_counter()
    truth = exact_truth(stream, queries, k, folder / "truth.safetensors")
    progress["truth_s"] = progress.get("truth_s", time.perf_counter() - t0)
    report.write_atomic(progress_file, json.dumps(progress, indent=2) + "\n")
    del store
    store = MemoryStore.load(store_dir)
    reads = []
    with AnonPeak() as read_peak:
        for nprobe in [p for p in nprobes if p <= nlist]:
            store.nprobe = nprobe
            timed = _time_reads(store, queries, k, SINGLES)
            found = timed.pop("ids")
            hits = sum(
                len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True)
            )
            reads.append({"nprobe": nprobe, **timed, "recall": hits / truth.numel()})
            logger.info(
                "nprobe %d: batch %.1f ms, single %.3f ms, recall@%d %.3f",
                nprobe,
                timed["batch_ms"],
                timed["single_ms"],
                k,
                reads[-1]["recall"],
            )
    entry = {
        "size": size,
        "data": data,
        "dim": dim,
        "value_dim": VALUE_DIM,
        "k": k,
        "n_queries": n_queries,
        "chunk": stream.chunk,
        "params": params,
        "threads": threads,
        "build_s": progress["build_s"],
        "truth_s": progress["truth_s"],
        "disk_bytes": store.nbytes,
        "build_anon_peak_mb": progress["build_anon_peak_mb"],
        "read_anon_peak_mb": read_peak.peak,
        "vm_hwm_mb": _status_mb("VmHWM"),
        "reads": reads,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": machine.invocation("amkit.bench.memory_disk"),
        "machine": {
            "cpu_model": machine.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "ram_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "faiss": faiss.__version__,
            "git": machine.git_revision(),
        },
    }
    _record(Path(out_dir), entry)
    return entry


def _record(out: Path, entry: dict) -> None:
    """Put ``entry`` into ``out/memory.json``'s ``disk`` list (replacing the same case) and
    render ``out/memory.md`` again."""
    path = out / "memory.json"
    doc = json.loads(path.read_text()) if path.exists() else {"benchmark": "memory"}
    same = ("size", "data", "dim", "params")
    doc["disk"] = [e for e in doc.get("disk", []) if any(e[f] != entry[f] for f in same)]
    doc["disk"].append(entry)
    doc["disk"].sort(key=lambda e: (e["size"], e["data"]))
    out.mkdir(parents=True, exist_ok=True)
    report.write_atomic(path, json.dumps(doc, indent=2) + "\n")
    report.write_atomic(out / "memory.md", memory_report.render_markdown(doc))
    logger.info("wrote %s and %s", path, out / "memory.md")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``amkit bench memory-disk`` options to ``parser``."""
    ints = machine.positive_ints
    parser.add_argument(
        "--size",
        type=lambda t: ints(t, "--size", "1e7", parse=float)[0],
        required=True,
        help="N entries, e.g. 1e7 or 1e8",
    )
    parser.add_argument(
        "--work",
        required=True,
        help="directory for the store and progress (N x 208 bytes with SQ8 codes and D = 128)",
    )
    parser.add_argument("--data", choices=DATASETS, default="clustered")
    parser.add_argument("--dim", type=int, default=128, help="D (default 128)")
    parser.add_argument(
        "--chunk",
        type=lambda t: ints(t, "--chunk", "1e6", parse=float)[0],
        default=1_000_000,
        help="entries per chunk (default 1e6)",
    )
    parser.add_argument("--n-queries", type=int, default=1000, help="Q (default 1000)")
    parser.add_argument(
        "--nlist",
        type=int,
        default=None,
        help=f"IVF lists (default 4 sqrt(N), at most {MAX_NLIST})",
    )
    parser.add_argument(
        "--nprobes",
        type=lambda t: ints(t, "--nprobes", "16,64"),
        default=NPROBES,
        help="nprobe values to read with (default 16,64)",
    )
    parser.add_argument("--codes", default="SQ8", help="Flat, SQ8, SQ4, SQfp16 or PQm")
    parser.add_argument(
        "--coarse",
        choices=("flat", "hnsw"),
        default=None,
        help="coarse quantizer (default hnsw from 4096 lists)",
    )
    parser.add_argument("--rerank", type=int, default=0, help="re-scored candidates (0: off)")
    parser.add_argument("--threads", type=int, default=2, help="torch/FAISS threads")
    parser.add_argument("--out", default="docs/benchmarks", help="where memory.json is")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed CLI arguments."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    entry = run_disk_benchmark(
        args.size,
        args.work,
        args.data,
        args.dim,
        args.chunk,
        10,
        args.n_queries,
        args.nlist,
        tuple(args.nprobes),
        args.codes,
        args.coarse,
        args.rerank,
        args.threads,
        args.out,
    )
    print(
        f"N={entry['size']:,} {entry['data']}: build {entry['build_s']:.0f} s, "
        f"{entry['disk_bytes'] / 1e9:.2f} GB on disk; wrote {Path(args.out) / 'memory.md'}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="amkit on-disk memory-store benchmark")
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
