"""Latency of ``amkit serve`` on 127.0.0.1: ``python benchmarks/serve_latency.py [--seconds 30]``.

Builds, in a temp folder, a text-classification run trained on generated reviews (a CNN +
attention classifier, ``max_len`` 400) whose ``predictions.jsonl`` is then replaced by
25,000 synthetic test rows of review length (about 1,200 characters each, IMDB's size and
shape; the predictions are synthetic, the model and the live predictions are real). Starts
the server in a subprocess, then measures:

1. each page and API call, 30 times one after another: median and p99 (ms);
2. a load check: 20 concurrent clients for ``--seconds`` s, each alternating an examples
   page (a random offset, half of them with a search) and a live prediction with its
   explanation: requests, errors, p50 and p99.

Writes ``docs/benchmarks/serve.json`` (and prints it); ``docs/benchmarks/serve.md`` quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import torch

from amkit.experiments.run import run

WORDS = [
    *("the", "film", "plot", "actor", "scene", "was", "a", "and", "it", "story", "director"),
    *("music", "camera", "script", "performance", "ending", "character", "moment"),
]
CUES = {"pos": ["great", "superb", "wonderful"], "neg": ["awful", "boring", "terrible"]}


def review(rng: random.Random, label: str, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    words.insert(rng.randrange(n_words), rng.choice(CUES[label]))
    return " ".join(words)


def make_run(folder: Path) -> Path:
    rng = random.Random(0)
    for name, n in (("train", 400), ("test", 100)):
        lines = ["text,label"] + [
            f"{review(rng, lab, 60)},{lab}"
            for lab in (rng.choice(["pos", "neg"]) for _ in range(n))
        ]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    run_dir = run(
        {
            "seed": 0,
            "data": {
                "name": "text",
                "train": str(folder / "train.csv"),
                "test": str(folder / "test.csv"),
                "max_len": 400,
                "min_freq": 1,
            },  # fmt: skip
            "model": {"name": "text_classifier", "encoder": "cnn", "d_embed": 64, "d_hidden": 64},
            "train": {"epochs": 2, "batch_size": 32, "progress": False},
        },
        run_dir=folder / "runs" / "imdb-like",
    ).run_dir
    rows = []
    for i in range(25_000):
        label = "pos" if i % 2 else "neg"
        guess = label if rng.random() < 0.88 else ("neg" if label == "pos" else "pos")
        rows.append(json.dumps({"id": i, "split": "test", "input": review(rng, label, 230),
                                "label": label, "prediction": guess, "correct": guess == label,
                                "confidence": round(rng.uniform(0.5, 1), 4)}))  # fmt: skip
    (run_dir / "predictions.jsonl").write_text("\n".join(rows) + "\n")
    return run_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--out", default="docs/benchmarks/serve.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    run_dir = make_run(folder)
    port = free_port()
    code = ("import sys, torch, uvicorn; torch.set_num_threads(1); from amkit.serve.app import "
            f"create_app; uvicorn.run(create_app([sys.argv[1]]), host='127.0.0.1', port={port}, "
            "log_level='warning')")  # fmt: skip
    server = subprocess.Popen([sys.executable, "-c", code, str(run_dir.parent)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/api/runs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        run_id = httpx.get(base + "/api/runs").json()["runs"][0]["id"]
        text = "A superb film: the camera work and the script are great, the ending moving. " * 3
        calls = {
            "page /": ("GET", "/", None),
            "runs list": ("GET", "/api/runs", None),
            "run header": ("GET", f"/api/runs/{run_id}", None),
            "curves": ("GET", f"/api/curves?run={run_id}", None),
            "examples page 1": ("GET", f"/api/runs/{run_id}/examples?split=test", None),
            "examples last page": ("GET", f"/api/runs/{run_id}/examples?offset=24950", None),
            "examples search": (
                "GET",
                f"/api/runs/{run_id}/examples?q=superb+film&correct=false",
                None,
            ),  # fmt: skip
            "one example (view)": ("GET", f"/api/runs/{run_id}/examples/test/12345", None),
            "live prediction + explanation": ("POST", f"/api/runs/{run_id}/try", {"text": text}),
        }
        latency = {}
        with httpx.Client(base_url=base, timeout=30) as client:
            for name, (method, path, body) in calls.items():
                client.request(method, path, json=body).raise_for_status()  # warm: load, cache
                times = []
                for _ in range(30):
                    start = time.perf_counter()
                    client.request(method, path, json=body).raise_for_status()
                    times.append((time.perf_counter() - start) * 1000)
                latency[name] = {"median_ms": round(statistics.median(times), 1),
                                 "p99_ms": round(percentile(times, 99), 1)}  # fmt: skip
                print(
                    f"{name:32s} median {latency[name]['median_ms']:7.1f} ms   "
                    f"p99 {latency[name]['p99_ms']:7.1f} ms"
                )
        load = {"examples": [], "prediction": []}
        errors = {"examples": 0, "prediction": 0}
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def client_loop(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=base, timeout=30) as client:
                while time.monotonic() < stop:
                    for kind in ("examples", "prediction"):
                        start = time.perf_counter()
                        try:
                            if kind == "examples":
                                query = "&q=superb" if rng.random() < 0.5 else ""
                                path = f"/api/runs/{run_id}/examples?offset={rng.randrange(25000)}"
                                ok = client.get(path + query).status_code == 200
                            else:
                                body = {"text": review(rng, "pos", 40)}
                                ok = (
                                    client.post(f"/api/runs/{run_id}/try", json=body).status_code
                                    == 200
                                )
                        except httpx.HTTPError:
                            ok = False
                        with lock:
                            load[kind].append((time.perf_counter() - start) * 1000)
                            errors[kind] += not ok

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        load_result = {
            kind: {
                "requests": len(times),
                "errors": errors[kind],
                "p50_ms": round(percentile(times, 50), 1),
                "p99_ms": round(percentile(times, 99), 1),
            }
            for kind, times in load.items()
        }
        print(json.dumps(load_result, indent=2))
    finally:
        server.terminate()
        server.wait(10)
    result = {
        "latency": latency,
        "load": {"clients": args.clients, "seconds": args.seconds, **load_result},
        "examples": 25_000,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other work)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
