"""Top-k recommendations for one user, with the reasons the model gives.

For a user (by the id in the data file), the whole known history (training, validation and
test items) goes into the model; every item not in the history is scored
(``model.score_items``) and the best ``k`` are listed. For each one:

- *because you watched*: the history items with the largest
  ``attention x max(0, cos(v_candidate, v_history))`` -- the last block's attention of the
  last position (what the sequence encoder read) times how close each read item is to the
  candidate (SASRec and ``knowledge_rec``);
- *shares*: the attribute slots of the user memory the candidate read most, with their
  weights (``knowledge_rec`` with ``memory: true``).

Legend: L history positions, A attributes, K recommendations.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

import amkit
from amkit.errors import UserError
from amkit.explain.heatmap import save_heatmap
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.io import atomic_write_text
from amkit.models.hooks import ScoreItemsHook
from amkit.models.knowledge_rec import KnowledgeRec, KnowledgeRecOutput
from amkit.models.seqrec import SASRecOutput
from amkit.train.device import model_device


@dataclass
class Recommendation:
    item: str
    score: float
    because: list[tuple[str, float]] = field(default_factory=list)
    shares: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class UserRecommendations:
    """What :func:`recommend` found for one user: their history, the top items with their
    reasons, and the HTML page and PNG written (``None`` without ``out_dir``)."""

    user: str
    history: list[str]
    items: list[Recommendation]
    png: Path | None = None
    html: Path | None = None

    def to_html(self) -> str:
        """A standalone page: the latest history, then each item with its reasons."""
        rows = []
        for rank, r in enumerate(self.items, 1):
            because = ", ".join(f"{html.escape(n)} ({w:.2f})" for n, w in r.because)
            shares = ", ".join(f"{html.escape(n)} {w:.2f}" for n, w in r.shares)
            rows.append(f"<tr><td>{rank}</td><td>{html.escape(r.item)}</td><td>{r.score:.2f}"
                        f"</td><td>{because}</td><td>{shares}</td></tr>")  # fmt: skip
        latest = "; ".join(html.escape(h) for h in self.history[-10:])
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>amkit recommend</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
            "td,th{padding:3px 8px;text-align:left;vertical-align:top}</style></head><body>"
            f"<h1>User {html.escape(self.user)}: top {len(self.items)}</h1>"
            f"<p>{len(self.history)} items seen; latest: {latest}</p><table><tr><th>#</th>"
            "<th>item</th><th>score</th><th>because you watched (weight)</th>"
            f"<th>memory slots read</th></tr>{''.join(rows)}</table></body></html>\n"
        )

    def text(self) -> str:
        lines = [
            f"user {self.user}: top {len(self.items)} after {len(self.history)} items "
            f"(latest: {'; '.join(self.history[-3:])})"
        ]
        for rank, r in enumerate(self.items, 1):
            lines.append(f"{rank:2d}. {r.item}   (score {r.score:.2f})")
            if r.because:
                lines.append("    because you watched: "
                             + ", ".join(f"{n} ({w:.2f})" for n, w in r.because))  # fmt: skip
            if r.shares:
                lines.append("    shares: " + ", ".join(f"{n} {w:.2f}" for n, w in r.shares))
        return "\n".join(lines)


def _history(data, user_row: int) -> list[int]:
    """Every known item of the test split's ``user_row``: its input plus the test item."""
    test = data.split("test").tensors
    seq = [int(i) for i in test["meta_exclude"][user_row] if int(i)]
    return [*seq, int(test["candidates"][user_row, 0])]


def recommend(
    run_dir: str | Path,
    user: str,
    k: int = 10,
    out_dir: str | Path | None = None,
    loaded: tuple | None = None,
    device: str = "cpu",
) -> UserRecommendations:
    """The top ``k`` items for ``user`` from the run in ``run_dir`` (``loaded``: its
    :func:`amkit.load_run` result, already loaded on any device). With ``out_dir``, an HTML
    page of the list and reasons, and a PNG of the memory reads when the model has a memory."""
    _, model, data = loaded or amkit.load_run(run_dir, device=device)
    model.eval()
    device = model_device(model)
    info = data.info
    if info.task != "ranking" or not isinstance(model, ScoreItemsHook):
        raise UserError(f"{run_dir} is not a recommendation run (sequences data, a ranker)")
    numbered = {raw: i for i, raw in info.user_names.items()}
    if user not in numbered:
        raise UserError(f"user {user!r} is not in this run's data ({len(numbered)} users)")
    test_users = data.split("test").tensors["user"].tolist()
    if numbered[user] not in test_users:
        raise UserError(f"user {user!r} has fewer than 3 items: no held-out history to use")
    history = _history(data, test_users.index(numbered[user]))
    max_len = info.max_len
    seq = torch.tensor([[0] * max(0, max_len - len(history)) + history[-max_len:]], device=device)
    knowledge = info.item_knowledge

    def name(item: int) -> str:
        if knowledge is not None and knowledge.titles[item]:
            return knowledge.titles[item]
        return str(info.item_names[item])

    with torch.no_grad():
        uid = torch.tensor([numbered[user]], device=device)
        scores = model.score_items(seq, uid)[0].float()  # (I + 1,)
        scores[0] = float("-inf")
        scores[torch.tensor(history, device=device)] = float("-inf")
        top = scores.topk(k)
        # the model's own weights for the top items: its blocks' attention over the history
        # (SASRec, knowledge_rec) and the memory slots each item read (knowledge_rec)
        out = model(seq=seq, candidates=top.indices.unsqueeze(0), user=uid, need_weights=True)
        attention = memory = vectors = None
        if isinstance(out, SASRecOutput | KnowledgeRecOutput) and out.blocks is not None:
            attention = out.blocks[0, -1].mean(0)[-1]  # (L,) last block and position, mean of heads
            vectors = model.item_vectors if isinstance(model, KnowledgeRec) else model.items
        slot_names = []
        if isinstance(out, KnowledgeRecOutput) and out.memory is not None:
            memory = out.memory.float().cpu()  # (1, K, A)
            latent = model.config.latent_slots
            slot_names = (
                [f"slot{a + 1}" for a in range(latent)] if latent else knowledge.attribute_names
            )
        items = []
        for j, (item, score) in enumerate(
            zip(top.indices.tolist(), top.values.tolist(), strict=True)
        ):
            rec = Recommendation(name(item), float(score))
            if attention is not None:
                item_vector = vectors(torch.tensor([item], device=device))
                cos = F.cosine_similarity(item_vector, vectors(seq[0]), dim=-1)
                reason = attention * cos.clamp(min=0)  # (L,)
                best = reason.topk(min(2, int((seq[0] != 0).sum())))
                rec.because = [(name(int(seq[0, p])), float(w))
                               for p, w in zip(best.indices.tolist(), best.values.tolist(),
                                               strict=True) if w > 0]  # fmt: skip
            if memory is not None:
                read = memory[0, j]
                best = read.topk(min(2, len(read)))
                rec.shares = [(slot_names[a], float(w))
                              for a, w in zip(best.indices.tolist(), best.values.tolist(),
                                              strict=True) if w > 0]  # fmt: skip
            items.append(rec)
    result = UserRecommendations(user, [name(i) for i in history], items)
    if out_dir is not None:
        result.html = Path(out_dir) / f"recommend_user{user}.html"
        atomic_write_text(result.html, result.to_html())
    if memory is not None and out_dir is not None:
        used = (memory[0] > 0).any(0).nonzero().flatten().tolist()
        result.png = save_heatmap(
            memory[0][:, used].numpy(),
            Path(out_dir) / f"recommend_user{user}.png",
            x_labels=[slot_names[a] for a in used],
            y_labels=[r.item for r in items],
            title=f"user {user}: memory slots each recommendation read",
        )
    return result


@register_explainer("ranking", takes="user")
def explain_user_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR --user ID [--k K]`` (and ``amkit recommend``): the top ``k``
    items with their reasons, and the files written."""
    result = recommend(request.run_dir, request.user, request.k, request.out, device=request.device)
    lines = [result.text()]
    if result.html is not None:
        lines.append(f"HTML: {result.html}")
    if result.png is not None:
        lines.append(f"heat map: {result.png}")
    return "\n".join(lines)
