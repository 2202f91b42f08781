"""Memory-store benchmark: build time, read latency, memory and IVF recall on CPU.

Run ``amkit bench memory`` (or ``python -m amkit.bench.memory``). For every size N it measures
three stores from :mod:`amkit.memory.store`, each in its own subprocess
(``python -m amkit.bench.memory --case NAME --size N``) so its RSS numbers are its own:

- ``exact``: :class:`~amkit.memory.store.ExactMemoryStore` (torch matmul + ``topk``);
- ``faiss_flat``: :class:`~amkit.memory.store.FaissMemoryStore` with ``index="flat"``;
- ``faiss_ivf``: the same with ``index="ivf"``, ``nlist = round(4 * sqrt(N))``, trained on
  ``min(N, 64 * nlist)`` keys, read with each ``nprobe`` in :data:`NPROBES`.

Per case: build time (train + write), bytes of the stored arrays (``store.nbytes``), process
RSS growth over the build, read latency of one batch of ``n_queries`` queries and of single
queries (medians), and recall@k against exact search (FAISS cases). Results go to
``<out>/memory.json`` and ``<out>/memory.md`` (rendered from the JSON; regenerate it with
``python -m amkit.bench.memory --render <out>/memory.json``).

Legend: N stored entries, D key width, Dv value width, Q queries per batch, k results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amkit.bench import machine, memory_report, report
from amkit.errors import UserError

logger = logging.getLogger(__name__)

# One thread by default: on this shared 2-core machine other jobs keep a core busy, and
# OpenMP / torch threads that wait on a descheduled sibling made 2-thread reads 3-10x slower
# than 1-thread reads in a trial run (FAISS IVF 8 ms vs 1.3 ms for 100 queries).
THREADS = 1
CASES = ("exact", "faiss_flat", "faiss_ivf")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
QUICK_QUERIES = 100
NPROBES = (8, 32)
VALUE_DIM = 16  # values are gathered and returned with every read; 16 floats is a small payload
TRAIN_PER_LIST = 64  # IVF training keys per list; FAISS advises 39..256
NOISE = 1.0  # clustered data: key = centre + NOISE * N(0, I), centres ~ N(0, I)
DATASETS = ("clustered", "gaussian")
# Brute-force stores cost the same on any data; IVF's recall and speed do not, so IVF also
# runs on every further data set: separable clusters (its best case) and no structure at
# all (its worst) bracket real embeddings.
SEED = 0
CHILD_TIMEOUT_S = 3600
QUIET_WAIT_S = 30.0  # other people's training jobs rarely pause: wait briefly, record the load
COPIES = 4  # peak float32 (N, D) copies in a child: data, store, normalised copy, slack


def quiet_busy_max(threads: int) -> float:
    """Machine busy fraction below which a case may start: ``threads`` cores free."""
    return max(0.2, 1.0 - threads / (os.cpu_count() or 1))


def nlist_for(n: int) -> int:
    """IVF lists for ``n`` entries: ``4 * sqrt(n)``, the low end of FAISS's advice."""
    return max(1, round(4 * math.sqrt(n)))


def repeats_for(n: int, quick: bool) -> tuple[int, int]:
    """``(timed batch reads, timed single-query reads)``; fewer where a read takes seconds."""
    if quick:
        return 3, 10
    return (7, 50) if n <= 100_000 else (3, 20)


def estimate_gb(n: int, dim: int) -> float:
    return COPIES * n * (dim + VALUE_DIM) * 4 / 1e9


# ------------------------------------------------------------------------ data
def make_data(n: int, dim: int, n_queries: int, data: str, seed: int = SEED):
    """Keys ``(N, D)``, values ``(N, Dv)`` and queries ``(Q, D)``, float32, from ``seed``.

    ``"clustered"``: a mixture of ``round(sqrt(N))`` Gaussian clusters (queries from the same
    mixture), the structure IVF relies on. ``"gaussian"``: i.i.d. N(0, I), IVF's worst case.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    keys = torch.randn(n, dim, generator=g)  # (N, D)
    values = torch.randn(n, VALUE_DIM, generator=g)  # (N, Dv)
    queries = torch.randn(n_queries, dim, generator=g)  # (Q, D)
    if data == "clustered":
        centres = torch.randn(max(1, round(math.sqrt(n))), dim, generator=g)  # (C, D)
        keys.mul_(NOISE)
        queries.mul_(NOISE)
        for block in torch.arange(n).split(65_536):  # no (N, D) temporary
            keys[block] += centres[torch.randint(len(centres), (len(block),), generator=g)]
        queries += centres[torch.randint(len(centres), (n_queries,), generator=g)]
    elif data != "gaussian":
        raise UserError(f"data must be 'clustered' or 'gaussian', got {data!r}")
    return keys, values, queries


def exact_top_k(keys, queries, k: int, metric: str):
    """Ground-truth row indices ``(Q, k)`` by brute force, in query chunks."""
    import torch
    import torch.nn.functional as F

    if metric == "cosine":
        keys, queries = F.normalize(keys, dim=1), F.normalize(queries, dim=1)
    rows = []
    for chunk in queries.split(64):
        scores = chunk @ keys.T  # (q, N)
        rows.append(scores.topk(k, dim=1).indices)  # (q, k)
    return torch.cat(rows)


def recall_at_k(found, truth) -> float:
    """Mean fraction of the true top-k ids found, over queries."""
    hits = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True))
    return hits / truth.numel()


# ------------------------------------------------------------------------ the child process
def _time_reads(store, queries, k: int, repeats: int, singles: int) -> dict:
    """Median wall time of batch reads and of single-query reads (one warm-up each)."""
    store.read(queries, k)
    batch, cpu, wall_total = [], 0.0, 0.0
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        store.read(queries, k)
        batch.append(time.perf_counter() - w0)
        cpu += time.process_time() - c0
        wall_total += batch[-1]
    single = []
    store.read(queries[:1], k)
    for i in range(singles):
        w0 = time.perf_counter()
        store.read(queries[i % len(queries) : i % len(queries) + 1], k)
        single.append(time.perf_counter() - w0)
    median = statistics.median(batch)
    return {
        "batch_ms": 1e3 * median,
        "batch_ms_runs": [1e3 * t for t in batch],
        "per_query_us": 1e6 * median / len(queries),
        "single_ms": 1e3 * statistics.median(single),
        "cpu_util": cpu / wall_total,  # at most THREADS; lower means other load starved us
    }


def run_case(
    case: str,
    n: int,
    dim: int,
    k: int,
    n_queries: int,
    metric: str,
    data: str,
    repeats: int,
    singles: int,
    threads: int = THREADS,
) -> dict:
    """Build one store of ``n`` entries in this process and time its reads.

    Returns:
        Build timings, ``nbytes``, RSS growth and peak, one entry per ``nprobe`` under
        ``reads`` (one entry for exact cases), versions and load averages.
    """
    import torch

    from amkit.memory.store import make_store

    if case not in CASES:
        raise UserError(f"unknown case {case!r}; known: {', '.join(CASES)}")
    torch.set_num_threads(threads)
    versions = {"torch": torch.__version__}
    params: dict[str, Any] = {}
    if case != "exact":
        import faiss

        faiss.omp_set_num_threads(threads)
        versions["faiss"] = faiss.__version__
        params["index"] = "flat" if case == "faiss_flat" else "ivf"
        if case == "faiss_ivf":
            params["nlist"] = nlist_for(n)
            params["nprobe"] = min(NPROBES[0], params["nlist"])
    keys, values, queries = make_data(n, dim, n_queries, data)
    store = make_store("exact" if case == "exact" else "faiss", dim, VALUE_DIM, metric, **params)
    gc.collect()
    load_before = os.getloadavg()
    rss_before = machine.rss_mb()
    train_s = 0.0
    started = time.perf_counter()
    if case == "faiss_ivf":
        store.train(keys[: min(n, TRAIN_PER_LIST * params["nlist"])])
        train_s = time.perf_counter() - started
    store.write(keys, values)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_after = machine.rss_mb()

    reads = []
    nprobes = [p for p in NPROBES if p <= params["nlist"]] if case == "faiss_ivf" else [None]
    truth = exact_top_k(keys, queries, k, metric) if case != "exact" else None
    for nprobe in nprobes:
        if nprobe is not None:
            store.nprobe = nprobe
        res = _time_reads(store, queries, k, repeats, singles)
        res["nprobe"] = nprobe
        if truth is not None:
            res["recall"] = recall_at_k(store.read(queries, k).ids, truth)
        reads.append(res)
    return {
        "case": case,
        "size": n,
        "params": params,
        "train_s": train_s,
        "write_s": build_s - train_s,
        "build_s": build_s,
        "nbytes": store.nbytes,
        "rss_before_mb": rss_before,
        "rss_delta_mb": rss_after - rss_before,
        "rss_peak_mb": machine.max_rss_mb(),
        "repeats": repeats,
        "singles": singles,
        "reads": reads,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "threads": torch.get_num_threads(),
        **versions,
    }


# ------------------------------------------------------------------------ the parent process
def _launch(case: str, n: int, opts: dict) -> dict:
    """Run one case in a fresh interpreter and return its JSON line (or an ``error``)."""
    cmd = [sys.executable, "-m", "amkit.bench.memory", "--case", case, "--size", str(n)]
    for key in ("dim", "k", "n_queries", "metric", "data", "repeats", "singles", "threads"):
        cmd += [f"--{key.replace('_', '-')}", str(opts[key])]
    ids = {"case": case, "size": n}
    return machine.run_child(cmd, opts["threads"], CHILD_TIMEOUT_S, ids)


def run_memory_benchmark(
    sizes: Sequence[int] = DEFAULT_SIZES,
    dim: int = 128,
    k: int = 10,
    n_queries: int = 1000,
    out_dir: str | os.PathLike = "docs/benchmarks",
    quick: bool = False,
    metric: str = "cosine",
    data: str | Sequence[str] = DATASETS,
    threads: int = THREADS,
) -> dict:
    """Benchmark every store at every size; write ``memory.json`` and ``memory.md``.

    Args:
        sizes: numbers of stored entries N.
        dim: key width D.
        k: results per query.
        n_queries: queries per batch read (Q); single-query reads use the first ones.
        out_dir: where the two files go (created if missing). A quick run writes
            ``memory-quick.json``/``.md`` instead so it never replaces a full run.
        quick: few timed reads per case; a smoke test.
        metric: ``"cosine"`` or ``"ip"``.
        data: data sets, ``"clustered"`` (Gaussian mixture) and/or ``"gaussian"`` (no
            structure): every store runs on the first, the IVF store on each one.
        threads: torch and FAISS (OpenMP) threads of each case.

    Returns:
        The dict saved as JSON: ``machine``, ``config`` and ``results`` (one entry per case
        and size; ``skipped`` or ``error`` where it did not run).
    """
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < k:
        raise UserError(f"sizes must be integers >= k ({k}), got {sizes}")
    datasets = [data] if isinstance(data, str) else list(dict.fromkeys(data))
    if metric not in ("ip", "cosine") or not datasets or set(datasets) - set(DATASETS):
        raise UserError(
            f"metric must be 'ip' or 'cosine' and data some of {DATASETS}; got {metric!r}, {data!r}"
        )
    out = Path(out_dir)
    stem = "memory-quick" if quick else "memory"
    has_faiss = importlib.util.find_spec("faiss") is not None
    load_before = os.getloadavg()
    started = time.perf_counter()
    results = []
    for n in sizes:
        repeats, singles = repeats_for(n, quick)
        plan = [(case, datasets[0]) for case in CASES]
        plan += [("faiss_ivf", extra) for extra in datasets[1:]]
        for case, dataset in plan:
            opts = dict(dim=dim, k=k, n_queries=n_queries, metric=metric, data=dataset)
            opts.update(repeats=repeats, singles=singles, threads=threads)
            need, avail = estimate_gb(n, dim), 0.8 * machine.available_gb()
            if case != "exact" and not has_faiss:
                skipped = "faiss is not installed: pip install 'amkit[faiss]'"
                results.append({"case": case, "size": n, "data": dataset, "skipped": skipped})
                continue
            if need > avail:
                skipped = f"needs ~{need:.1f} GB > {avail:.1f} GB"
                results.append({"case": case, "size": n, "data": dataset, "skipped": skipped})
                continue
            busy, waited = machine.wait_for_quiet(quiet_busy_max(threads), QUIET_WAIT_S)
            t0 = time.perf_counter()
            res = _launch(case, n, opts)
            res.update(busy_before=busy, waited_s=waited, process_s=time.perf_counter() - t0)
            res["data"] = dataset
            results.append(res)
            if "error" in res:
                logger.warning("%-10s %-9s N=%-8d failed: %s", case, dataset, n, res["error"])
                continue
            for r in res["reads"]:
                logger.info(
                    "%-10s %-9s N=%-8d nprobe=%-4s build %7.2f s  batch %9.1f ms  single %8.3f ms"
                    "  recall %s  load %.2f",
                    case,
                    dataset,
                    n,
                    r["nprobe"] or "-",
                    res["build_s"],
                    r["batch_ms"],
                    r["single_ms"],
                    f"{r['recall']:.3f}" if "recall" in r else "-",
                    res["loadavg_after"][0],
                )
    versions = next((r for r in results if "torch" in r), {})
    faiss_version = next((r["faiss"] for r in results if "faiss" in r), None)
    data_out: dict[str, Any] = {
        "benchmark": "memory",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": machine.invocation("amkit.bench.memory"),
        "call": (
            f"run_memory_benchmark(sizes={tuple(sizes)}, dim={dim}, k={k}, "
            f"n_queries={n_queries}, out_dir={str(out_dir)!r}, quick={quick}, "
            f"metric={metric!r}, data={tuple(datasets)!r}, threads={threads})"
        ),
        "wall_time_s": time.perf_counter() - started,
        "machine": {
            "cpu_model": machine.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": versions.get("torch"),
            "faiss": faiss_version,
            "threads": threads,
            "loadavg_before": list(load_before),
            "loadavg_after": list(os.getloadavg()),
            "git": machine.git_revision(),
        },
        "config": {
            "sizes": sizes,
            "dim": dim,
            "value_dim": VALUE_DIM,
            "k": k,
            "n_queries": n_queries,
            "metric": metric,
            "data": datasets,
            "noise": NOISE,
            "seed": SEED,
            "nprobes": list(NPROBES),
            "nlist": "round(4 * sqrt(N))",
            "train_per_list": TRAIN_PER_LIST,
            "quick": quick,
            "quiet_busy_max": quiet_busy_max(threads),
        },
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    if (out / f"{stem}.json").exists():  # keep the on-disk store's runs (memory_disk.py)
        data_out["disk"] = json.loads((out / f"{stem}.json").read_text()).get("disk", [])
    report.write_atomic(out / f"{stem}.json", json.dumps(data_out, indent=2) + "\n")
    report.write_atomic(out / f"{stem}.md", memory_report.render_markdown(data_out))
    logger.info("wrote %s and %s", out / f"{stem}.json", out / f"{stem}.md")
    return data_out


# ------------------------------------------------------------------------ report
def _parse_sizes(text: str) -> tuple[int, ...]:
    return machine.positive_ints(text, "--sizes", "10000,100000", parse=float)


def _parse_datasets(text: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = sorted(set(names) - set(DATASETS))
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"--data takes some of {','.join(DATASETS)} (comma-separated); got {text!r}"
        )
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``amkit bench memory`` options to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: few repeats, N={','.join(map(str, QUICK_SIZES))} and "
        f"{QUICK_QUERIES} queries unless given; writes memory-quick.*",
    )
    parser.add_argument(
        "--sizes",
        type=_parse_sizes,
        default=None,
        help=f"comma-separated N values (default {','.join(map(str, DEFAULT_SIZES))})",
    )
    parser.add_argument("--dim", type=int, default=128, help="key width D (default 128)")
    parser.add_argument("--k", type=int, default=10, help="results per query (default 10)")
    parser.add_argument(
        "--n-queries", type=int, default=None, help="queries per batch read (default 1000)"
    )
    parser.add_argument("--metric", choices=("cosine", "ip"), default="cosine")
    parser.add_argument(
        "--data",
        type=_parse_datasets,
        default=DATASETS,
        help="comma-separated data sets; all stores run on the first, IVF on each "
        f"(default {','.join(DATASETS)})",
    )
    parser.add_argument(
        "--threads", type=int, default=THREADS, help=f"torch/FAISS threads (default {THREADS})"
    )
    parser.add_argument("--out", default="docs/benchmarks", help="output directory")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed CLI arguments; print where the report went."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    n_queries = args.n_queries or (QUICK_QUERIES if args.quick else 1000)
    data = run_memory_benchmark(
        sizes=sizes,
        dim=args.dim,
        k=args.k,
        n_queries=n_queries,
        out_dir=args.out,
        quick=args.quick,
        metric=args.metric,
        data=args.data,
        threads=args.threads,
    )
    stem = "memory-quick" if args.quick else "memory"
    print(f"wrote {Path(args.out) / (stem + '.md')} and {stem}.json")
    return 1 if any("error" in r for r in data["results"]) else 0


def _main_from_argv(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``; run the benchmark, one internal case, or re-render a report."""
    parser = argparse.ArgumentParser(description="amkit memory-store benchmark (CPU)")
    add_arguments(parser)
    parser.add_argument("--render", metavar="JSON", help="rewrite the .md next to this JSON")
    # internal: run one case in this process (what the parent launches) and print its JSON
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--singles", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render:
        src = Path(args.render)
        report.write_atomic(
            src.with_suffix(".md"), memory_report.render_markdown(json.loads(src.read_text()))
        )
        print(f"wrote {src.with_suffix('.md')}")
        return 0
    if args.case:
        res = run_case(
            args.case,
            args.size,
            args.dim,
            args.k,
            args.n_queries or 1000,
            args.metric,
            args.data[0],
            args.repeats,
            args.singles,
            args.threads,
        )
        print(json.dumps(res), flush=True)
        return 0
    return main(args)


if __name__ == "__main__":
    sys.exit(_main_from_argv())
