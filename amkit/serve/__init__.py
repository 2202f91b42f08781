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

from amkit.serve.server import LOOPBACK, is_loopback, serve

# the app itself, amkit.serve.app.create_app(folders), needs FastAPI (the serve extra): it is
# not imported here, so that `amkit serve` without it says what to install
__all__ = ["LOOPBACK", "is_loopback", "serve"]
