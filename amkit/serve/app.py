"""The explorer's web app (FastAPI): a JSON API over the runs found, and the static page.

    GET  /                                   the single page (static/index.html)
    GET  /api/runs                           runs and sweeps with their key metrics
    GET  /api/curves?run=ID&run=ID           per-epoch metrics of one or more runs
    GET  /api/sweeps/ID                      a sweep's summary with its 95% intervals
    GET  /api/runs/ID/examples?split=&q=&task=&label=&correct=&offset=&limit=
    GET  /api/runs/ID/examples/SPLIT/N       one example with its model's view
    POST /api/runs/ID/try                    {"text": ...} | {"story", "question"} | {"user"}
                                             | {"question"} (graph runs)
    GET  /api/runs/ID/files/PATH             a file inside the run (its plots)

Every error is a JSON ``{"error": message}`` with a 4xx/5xx status; the server keeps running.
Only files inside the runs found are served; pages build the DOM with ``textContent``.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from amkit.errors import UserError
from amkit.serve.examples import PredictionStore, page_examples
from amkit.serve.runs import RunIndex, curves, run_summary, safe_file, sweep_summary
from amkit.serve.views import BY_INDEX, ModelCache, explain_example, try_input, view_kind

log = logging.getLogger("amkit")

__all__ = ["create_app", "plotly_js"]

STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
# the browser runs no inline script and loads nothing from elsewhere
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'"
)


def plotly_js() -> Path | None:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` Python package."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _by_index(run_dir: Path) -> bool:
    try:
        return view_kind(run_dir)[0] in BY_INDEX
    except (UserError, FileNotFoundError, ValueError):
        return False


def _static(name: str) -> bytes:
    return resources.files("amkit.serve").joinpath("static", name).read_bytes()


def create_app(roots: list[str | Path], cache_size: int = 4, device: str | None = None) -> FastAPI:
    """The app over the runs under ``roots`` (run directories or folders of them); models
    answer on ``device`` (``None``: each run's own ``train.device``, see
    :func:`~amkit.serve.views.run_device`)."""
    index = RunIndex(roots)
    store = PredictionStore()
    cache = ModelCache(cache_size, device)
    app = FastAPI(title="amkit serve", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:
        log.exception("amkit serve: %s failed", request.url.path)
        return _error(500, f"internal error ({type(error).__name__}: {error}); see the log")

    @app.get("/")
    def page() -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return _error(404, f"no static file {name!r}")
        return Response(_static(name), media_type=STATIC[name])

    @app.get("/vendor/plotly.min.js")
    def plotly() -> Response:
        path = plotly_js()
        if path is None:
            return Response("window.PLOTLY_MISSING = true;", media_type="text/javascript")
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})  # fmt: skip

    def run_or_404(run_id: str, kind: str = "run"):
        try:
            return index.get(run_id, kind)
        except KeyError:
            return None

    @app.get("/api/runs")
    def runs() -> dict[str, Any]:
        refs = index.scan()
        return {
            "roots": [str(r) for r in index.roots],
            "runs": [run_summary(r) for r in refs if r.kind == "run"],
            "sweeps": [{"id": r.id, "name": r.name} for r in refs if r.kind == "sweep"],
        }

    @app.get("/api/curves")
    def curves_of(run: list[str] = Query(default=[])) -> Any:  # noqa: B008
        refs = [run_or_404(r) for r in run[:20]]
        if not refs or any(r is None for r in refs):
            return _error(404, "give known run ids: /api/curves?run=ID&run=ID")
        return {"runs": [curves(r) for r in refs]}

    @app.get("/api/sweeps/{sweep_id}")
    def sweep(sweep_id: str) -> Any:
        ref = run_or_404(sweep_id, "sweep")
        return sweep_summary(ref) if ref else _error(404, f"no sweep {sweep_id!r}")

    @app.get("/api/runs/{run_id}")
    def one_run(run_id: str) -> Any:
        ref = run_or_404(run_id)
        if ref is None:
            return _error(404, f"no run {run_id!r}")
        summary = run_summary(ref)
        try:
            summary["view"] = view_kind(ref.path)[0]
        except (UserError, FileNotFoundError, ValueError) as error:
            summary["view"] = "none"
            summary["problem"] = f"{summary.get('problem', '')} {error}".strip()
        return summary

    @app.get("/api/runs/{run_id}/examples")
    def examples(run_id: str, split: str | None = None, q: str = "", task: int | None = None,
                 label: str | None = None, correct: bool | None = None, offset: int = 0,
                 limit: int = 50) -> Any:  # fmt: skip
        ref = run_or_404(run_id)
        if ref is None:
            return _error(404, f"no run {run_id!r}")
        loaded = store.rows(ref.path)
        if loaded is None and _by_index(ref.path):
            return _error(404, "this run has no predictions.jsonl: open one example by its "
                          "index (GET /api/runs/ID/examples/test/N)")  # fmt: skip
        if loaded is None:
            return _error(404, "this run has no predictions.jsonl: runs trained with this "
                          "amkit save it; for an older run, `amkit evaluate RUN_DIR "
                          "--save-probabilities` writes it")  # fmt: skip
        page = page_examples(loaded, split, q, task, label, correct, offset, limit)
        return page.__dict__

    @app.get("/api/runs/{run_id}/examples/{split}/{number}")
    def example(run_id: str, split: str, number: int) -> Any:
        ref = run_or_404(run_id)
        loaded = store.rows(ref.path) if ref else None
        if ref is not None and loaded is None and _by_index(ref.path):
            try:  # forecast windows, images, clips: by split and index alone
                return explain_example(cache, ref.path, {"split": split, "id": number})
            except (UserError, FileNotFoundError, ValueError) as error:
                return {"example": {"split": split, "id": number}, "view": "none",
                        "message": str(error)}  # fmt: skip
        if loaded is None:
            return _error(404, f"no run {run_id!r} with predictions")
        row = loaded.find(split, number)
        if row is None:
            return _error(404, f"no {split} example {number} in this run")
        try:
            return explain_example(cache, ref.path, row)
        except (UserError, FileNotFoundError, ValueError) as error:
            return {"example": row, "view": "none", "message": str(error)}

    @app.post("/api/runs/{run_id}/try")
    async def try_it(run_id: str, request: Request) -> Any:
        ref = run_or_404(run_id)
        if ref is None:
            return _error(404, f"no run {run_id!r}")
        try:
            given = await request.json()
        except ValueError:
            return _error(400, 'send a JSON object: {"text": ...}')
        if not isinstance(given, dict):
            return _error(400, 'send a JSON object: {"text": ...}')
        from starlette.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(try_input, cache, ref.path, given)
        except (UserError, FileNotFoundError, ValueError) as error:
            return _error(400, str(error))

    @app.get("/api/runs/{run_id}/files/{path:path}")
    def run_file(run_id: str, path: str) -> Any:
        ref = run_or_404(run_id)
        if ref is None:
            return _error(404, f"no run {run_id!r}")
        try:
            target = safe_file(ref, path)
        except PermissionError:
            return _error(403, "only files inside the run directory are served")
        if target.suffix.lower() == ".png":
            return FileResponse(target, media_type="image/png")
        # anything else as plain text: a run's HTML or SVG never runs in the explorer's origin
        return FileResponse(target, media_type="text/plain; charset=utf-8")

    return app
