"""``amkit serve``: a local web explorer for runs (FastAPI + uvicorn, Plotly in the page).

    amkit serve runs/                      # every run under runs/, on http://127.0.0.1:8000
    amkit serve runs/imdb runs/babi --port 8080

Views: the runs (task, model, key metrics, date, learning curves, runs compared on one plot,
a sweep's summary with its intervals), the examples of a run (paged and searched on the
server), one example with the view its model calls for, and "Try it" (a typed input's
prediction and explanation from the loaded model). Bound to 127.0.0.1 unless told otherwise:
the explorer has no authentication.
"""

from __future__ import annotations

from typing import Any

from amkit.serve.server import LOOPBACK, is_loopback, serve

__all__ = ["LOOPBACK", "create_app", "is_loopback", "plotly_js", "serve"]


def __getattr__(name: str) -> Any:
    # the app needs FastAPI (the serve extra): imported when asked for, so that `amkit serve`
    # without it says what to install
    if name in ("create_app", "plotly_js"):
        from amkit.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'amkit.serve' has no attribute {name!r}")
