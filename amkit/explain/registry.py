"""Which explanation a run gets: explainers registered per task or per model.

``amkit explain RUN_DIR`` reads the run's model name and task from its ``config.yaml`` (the
task is what its dataset is registered with, or ``data_info.json`` when the run saved one;
no data is read) and looks them up in :data:`EXPLAINERS`: the model's own explainer if it
has one, else its task's. An explainer says what the user gives it (an example of the
run's data, a text, or a user) and returns the report to print::

    @register_explainer("story_qa", takes="example")
    def explain_story_run(request: ExplainRequest) -> str: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from amkit.data.base import DATASETS, TASKS
from amkit.errors import UserError
from amkit.experiments.experiment import load_config
from amkit.registry import Registry
from amkit.textfile import read_json

__all__ = [
    "EXPLAINERS",
    "ExplainRequest",
    "Explainer",
    "check_request",
    "explainer_for",
    "register_explainer",
    "run_kind",
]

# a model name or a task -> its Explainer
EXPLAINERS = Registry("explainer")
"""Explainers by task (``story_qa``, ``classification``, ...) or model name; a model's own
entry wins over its task's. ``amkit explain RUN_DIR`` looks the run up here."""

# what each kind of explainer needs from the user, as the CLI asks for it
_GIVE = {
    "example": "an example of its data (--example N, --split, --task for bAbI)",
    "text": "a text (--text '...')",
    "user": "a user (--user ID)",
}


@dataclass
class ExplainRequest:
    """What ``amkit explain`` was asked for one run.

    Attributes:
        run_dir: the run directory.
        out: the folder for the PNG / HTML files.
        text: the text to explain (text classifiers, translation).
        user: the user to recommend for (recommenders).
        k: how many items to recommend.
        task: the bAbI task of the example (default: the split's first).
        example: the example's index in the split (0-based).
        split: the split the example comes from.
        overrides: dotted config overrides for rebuilding the run's data.
        image: an image file to explain instead of an example (image classifiers).
        query_pixel: ``"R,C"``, the image position whose attention is drawn (image
            classifiers; default: the centre).
        device: where the model runs (``cpu``, ``cuda:N``, ``mps``; resolved, not ``auto``).
    """

    run_dir: Path
    out: Path
    text: str | None = None
    user: str | None = None
    k: int = 10
    task: int | None = None
    example: int = 0
    split: str = "test"
    overrides: Sequence[str] = ()
    image: Path | None = None
    query_pixel: str | None = None
    device: str = "cpu"


@dataclass(frozen=True)
class Explainer:
    """An explanation of a trained run.

    Attributes:
        name: the registry key (a task or a model name).
        takes: what the user gives: ``example`` (one of the run's data), ``text`` or
            ``user``.
        explain: ``explain(request) -> report``: writes its files under ``request.out`` and
            returns the text the CLI prints.
    """

    name: str
    takes: Literal["example", "text", "user"]
    explain: Callable[[ExplainRequest], str]


def register_explainer(name: str, takes: Literal["example", "text", "user"]):
    """Function decorator: ``explain(request) -> str`` explains the runs of task ``name``
    (one of :data:`~amkit.data.base.TASKS`) or of the model registered as ``name`` (which
    wins over its task's)."""
    if takes not in _GIVE:
        raise UserError(f"explainer {name!r}: takes must be one of {', '.join(_GIVE)}")

    def decorator(fn: Callable[[ExplainRequest], str]) -> Callable[[ExplainRequest], str]:
        EXPLAINERS.register(name)(Explainer(name, takes, fn))
        return fn

    return decorator


def run_kind(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[str, str]:
    """``(model name, task)`` of a run directory, from its files alone (no data is read)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml)")
    config = load_config(run_dir / "config.yaml", overrides)
    saved = run_dir / "data_info.json"
    if saved.is_file():
        task = read_json(saved, fix="retrain, or restore the file").get("task")
        if not isinstance(task, str):
            raise UserError(f"{saved}: 'task' is missing or not a name; retrain, or restore it")
    else:
        task = DATASETS.get_or_raise(config.data.name).task
    return config.model.name, task


def explainer_for(model: str, task: str) -> Explainer:
    """The explainer of ``model``, else of ``task``; a :class:`UserError` listing what can be
    explained when there is none."""
    explainer = EXPLAINERS.get(model) or EXPLAINERS.get(task)
    if explainer is None:
        tasks = sorted(name for name in EXPLAINERS if name in TASKS)
        models = sorted(name for name in EXPLAINERS if name not in TASKS)
        raise UserError(
            f"no explanation for a {model} model on {task} data; amkit explain knows the "
            f"tasks {', '.join(tasks)} and the models {', '.join(models)}"
        )
    return explainer


def check_request(explainer: Explainer, request: ExplainRequest, model: str) -> None:
    """A :class:`UserError` when the request lacks what the explainer takes (a text or a
    user), or gives one it does not take."""
    given = {"text": request.text is not None, "user": request.user is not None}
    wanted = explainer.takes
    if (wanted in given and not given[wanted]) or any(
        flag for kind, flag in given.items() if kind != wanted
    ):
        raise UserError(
            f"{request.run_dir} is a {model} run on {explainer.name} data: amkit explain shows "
            f"it for {_GIVE[wanted]}"
        )
