"""Ask a trained graph run a question: the entities it names, the answers with their
scores, and per hop the facts the key-value memory attended, as a text path, a PNG and an
HTML page.

    amkit ask runs/countries-kvmem "Which region is Palau located in?"
    amkit explain runs/countries-kvmem --text "Which region is Palau located in?"

Entities are found by name: the question's words, lower-cased, joined by ``_`` in runs of up
to four (``saudi arabia`` -> ``saudi_arabia``), longest first. The relation asked is the
one the question names (``locatedIn``, or its words ``located in``), else the graph's first
relation (Countries: ``locatedIn``).

A run that reads questions in words (``data.name: kbqa``) takes the topic in square brackets,
as its training questions mark it: ``amkit ask RUN "what is a part of [dog]?"``. The brackets
hold an entity (``dog.n.01``) or a name; a name several entities share picks the first of
them in sorted order (WordNet: the most frequent sense) and the report lists the others.

Legend: K hops, S kept slots, E entities.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from amkit.data.kbqa import NAMES_FILE, question_tokens
from amkit.data.kbqa_format import bracketed, read_pairs
from amkit.data.text import Vocabulary
from amkit.errors import UserError
from amkit.experiments.loading import LoadedRun, load
from amkit.explain.heatmap import save_heatmap
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.graph import TriplesGraph
from amkit.io import atomic_write_text
from amkit.train.device import model_device

NO_ENTITY = "no entity of the graph found in the question"
_MAX_SPAN = 4


@dataclass
class GraphAnswer:
    """What a graph run answered.

    Attributes:
        question: the question as asked.
        entities: the graph entities found in it.
        relation: the relation asked.
        answers: ``(entity, score)`` best first (the candidates of the run's data, else the
            top entities); the score is the model's probability.
        hops: per hop, ``(fact, weight)`` of the facts attended, heaviest first.
        path: the heaviest chain of facts that ends at the best answer, as text.
    """

    question: str
    entities: list[str]
    relation: str
    answers: list[tuple[str, float]]
    hops: list[list[tuple[str, float]]] = field(default_factory=list)
    path: str = ""
    words: list[list[tuple[str, float]]] = field(default_factory=list)
    others: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report ``amkit ask`` prints."""
        if not self.entities:
            return f"{NO_ENTITY}: {self.question!r}"
        lines = [f"question: {self.question}",
                 f"entities: {', '.join(self.entities)}   relation: {self.relation}",
                 "answers:"]  # fmt: skip
        if self.others:
            lines.insert(2, f"(the name also names: {', '.join(self.others)})")
        lines += [f"  {score:.3f}  {name}" for name, score in self.answers]
        for k, facts in enumerate(self.hops, 1):
            lines.append(f"hop {k}:")
            if k <= len(self.words):
                lines.append("  reads: " + ", ".join(f"{w} {a:.2f}" for w, a in self.words[k - 1]))
            lines += [f"  {weight:.3f}  {fact}" for fact, weight in facts]
        if self.path:
            lines.append(f"path: {self.path}")
        elif not self.hops:
            lines.append("(this model attends over no facts: answers only)")
        return "\n".join(lines)


def find_entities(question: str, graph: TriplesGraph) -> list[str]:
    """Entities of ``graph`` named in ``question`` (see the module docstring), in order."""
    names = {name.lower(): name for name in graph.entities}
    words = re.findall(r"[\w\-']+", question.lower())
    found, i = [], 0
    while i < len(words):
        for span in range(min(_MAX_SPAN, len(words) - i), 0, -1):
            name = names.get("_".join(words[i : i + span]))
            if name is not None:
                found.append(name)
                i += span
                break
        else:
            i += 1
    return list(dict.fromkeys(found))


def _bracketed_topic(question: str, graph: TriplesGraph, run_dir: Path):
    """``([topic entity] or [], other entities of the same name)`` (module docstring)."""
    spans = bracketed(question)
    if not spans:
        return [], []
    text = spans[0].strip()
    if graph.has_entity(text):
        return [text], []
    names = run_dir / NAMES_FILE
    table = read_pairs(names, "name") if names.is_file() else {}
    same = sorted(e for e, n in table.items() if n.lower() == text.lower() and graph.has_entity(e))
    return same[:1], same[1:]


def _relation_in(question: str, graph: TriplesGraph, default: int) -> int:
    text = re.sub(r"[\s_]+", "", question.lower())
    for i, name in enumerate(graph.relations):
        if name.lower().replace("_", "") in text:
            return i
    return default


def _path(graph: TriplesGraph, slots: torch.Tensor, weights: torch.Tensor, answer: int) -> str:
    """The heaviest chain of attended facts ending at ``answer``, walking back hop by hop
    (``weights`` ``(K, S)``, ``slots`` ``(K, S)``); self loops are left out of the text."""
    chain, target = [], answer
    for k in range(len(slots) - 1, -1, -1):
        real = slots[k] >= 0
        ids, w = slots[k][real], weights[k][real]
        ends_here = graph.triples[ids, 2] == target
        if not ends_here.any():
            return ""
        best = int(ids[ends_here][w[ends_here].argmax()])
        chain.append(best)
        target = int(graph.triples[best, 0])
    text = graph.entities[target]
    for triple in reversed(chain):
        s, r, o = graph.triples[triple].tolist()
        if graph.relations[r] != "self":
            text += f" -{graph.relations[r]}-> {graph.entities[o]}"
    return text


def ask(
    run_dir: str | Path,
    question: str,
    k: int = 5,
    facts_per_hop: int = 5,
    loaded: LoadedRun | None = None,
    device: str = "cpu",
) -> GraphAnswer:
    """Answer ``question`` with the best model of a graph run, from the run directory alone
    (its ``data_info.json`` holds the graph; ``loaded``: the run already loaded, on any
    device; else it is loaded onto ``device``). A question that names no entity of the graph
    answers :data:`NO_ENTITY`; one that names no relation asks the graph's first (Countries:
    ``locatedIn``)."""
    loaded = loaded or load(run_dir, device=device)
    model, graph = loaded.model, loaded.info.graph
    if not isinstance(graph, TriplesGraph) or not hasattr(model, "answer_ids"):
        raise UserError(f"{run_dir} is not a run on a knowledge graph (data.name: countries)")
    words: list[str] = []
    device = model_device(model)
    if getattr(model, "question", None) is not None:  # questions in words (kbqa)
        entities, others = _bracketed_topic(question, graph, Path(run_dir))
        if not entities:
            return GraphAnswer(question, [], "", [(NO_ENTITY, 0.0)])
        words = question_tokens(question)
        heads = torch.tensor([graph.entity_id(entities[0])], device=device)
        tokens = torch.tensor([Vocabulary(loaded.info.vocab).encode(words)], device=device)
        with torch.no_grad():
            out = model(head=heads, tokens=tokens, need_weights=True)
        relation_name = "(read from the question)"
    else:
        entities, others = find_entities(question, graph), []
        if not entities:
            return GraphAnswer(question, [], "", [(NO_ENTITY, 0.0)])
        relation = _relation_in(question, graph, 0)
        relation_name = graph.relations[relation]
        heads = torch.tensor([graph.entity_id(e) for e in entities], device=device)
        with torch.no_grad():  # one row per entity found; their answers are averaged
            out = model(head=heads, relation=torch.full_like(heads, relation), need_weights=True)
    probabilities = out.logits.float().softmax(-1).mean(0).cpu()  # (E,)
    candidates = torch.tensor(model.answer_ids or range(len(graph.entities)))
    scores = probabilities[candidates]
    order = scores.argsort(descending=True)[:k]
    answers = [(graph.entities[int(candidates[i])], float(scores[i])) for i in order]
    result = GraphAnswer(question, entities, relation_name, answers, others=others)
    if getattr(out, "question_weights", None) is not None:  # (1, K, T): top words per hop
        for row in out.question_weights[0]:
            top = row.argsort(descending=True)[:3]
            result.words.append([(words[int(t)], float(row[t])) for t in top if row[t] > 0])
    if out.hop_weights is None:
        return result
    memory: TriplesGraph = model.graph
    weights = out.hop_weights.float().mean(0).cpu()  # (K, S)
    hop_slots = out.hop_slots.cpu()  # (K, S)
    for k_hop in range(len(weights)):
        top = weights[k_hop].argsort(descending=True)[:facts_per_hop]
        slots, w = hop_slots[k_hop], weights[k_hop]
        result.hops.append([(memory.describe(int(slots[j])), float(w[j])) for j in top if w[j] > 0])
    best = graph.entity_id(answers[0][0])
    result.path = _path(memory, hop_slots, weights, best)
    return result


def save_hop_attention(answer: GraphAnswer, out: Path) -> tuple[Path, Path]:
    """``graph_hops.png`` (hops x facts heat map of each hop's attended facts) and
    ``graph_hops.html`` under ``out``."""
    facts = list(dict.fromkeys(fact for hop in answer.hops for fact, _ in hop))
    grid = [[dict(hop).get(fact, 0.0) for fact in facts] for hop in answer.hops]  # (K, F)
    png = save_heatmap(grid, out / "graph_hops.png", x_labels=facts,
                       y_labels=[f"hop {k + 1}" for k in range(len(grid))],
                       title=answer.question[:80])  # fmt: skip
    rows = "".join(
        f"<tr><th>hop {k + 1}</th><td>"
        + "<br>".join(f"{w:.3f} {html.escape(f)}" for f, w in hop)
        + "</td></tr>"
        for k, hop in enumerate(answer.hops)
    )
    answers = "".join(f"<li>{html.escape(n)}: {s:.3f}</li>" for n, s in answer.answers)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>amkit graph hops</title>"
        f"</head><body><h1>{html.escape(answer.question)}</h1><ol>{answers}</ol>"
        f"<p>path: {html.escape(answer.path)}</p><table>{rows}</table></body></html>\n"
    )
    page_path = out / "graph_hops.html"
    atomic_write_text(page_path, page)
    return png, page_path


@register_explainer("embedkgqa", takes="text")
@register_explainer("graph_kvmem", takes="text")
@register_explainer("graph_rgcn", takes="text")
@register_explainer("complex", takes="text")
@register_explainer("distmult", takes="text")
def explain_graph_run(request: ExplainRequest) -> str:
    """``amkit explain RUN --text QUESTION`` for a graph run: the answer report and, for a
    key-value memory run, the hop attention drawn as PNG and HTML."""
    answer = ask(request.run_dir, request.text or "", k=request.k, device=request.device)
    if not answer.entities or not answer.hops:
        return answer.text()
    png, page = save_hop_attention(answer, request.out)
    return f"{answer.text()}\nwrote {png}\nwrote {page}"
