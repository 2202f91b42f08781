"""Why did a memory network answer that? Hop attention over the story, as text and PNG.

Legend: K hops, M memory slots (sentences).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from amkit.data.base import DataBundle, model_inputs
from amkit.errors import UserError
from amkit.experiments.run import load_run
from amkit.explain.heatmap import save_heatmap
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.models.base import ModelOutput
from amkit.models.integrated import IntegratedOutput
from amkit.models.qa import DNCQA, DNCOutput, EntNetOutput, MemN2NOutput, UTQAOutput
from amkit.train.device import model_device, to_device


@dataclass
class StoryExplanation:
    """What :func:`explain_story` wrote: the story with each hop's attention as text, the
    heat map PNG, and whether the model's answer was right."""

    text: str
    png: Path
    correct: bool


def explain_story(
    model: nn.Module,
    data: DataBundle,
    task: int,
    example: int,
    out_png: str | Path,
    split: str = "test",
) -> StoryExplanation:
    """Hop attention of ``model`` for question ``example`` (0-based) of ``task`` in ``split``.

    The text lists the story (the sentences in memory), one column per hop (per slot's gate
    for EntNet, per step for the Universal Transformer, per read head of the answer's step
    for the DNC), supporting facts marked ``*``; the PNG is the same table as a heat map.
    For the integrated model the text goes on with the other stages: the words each
    sentence's attention picked and the knowledge-base facts the words read.
    """
    dataset = data.split(split)
    rows = (dataset.tensors["meta_task"] == task).nonzero().flatten()
    if len(rows) == 0:
        tasks = sorted(set(dataset.tensors["meta_task"].tolist()))
        raise UserError(f"task {task} is not in this run's {split} split; tasks: {tasks}")
    if not 0 <= example < len(rows):
        raise UserError(f"example must be in 0..{len(rows) - 1} for task {task}, got {example}")
    index = int(rows[example])
    view = story_view(model, data, split, index)
    record, weights, columns = view.record, view.weights, view.columns
    sentences, ids, predicted = view.sentences, view.story_ids, view.predicted
    header = " " * 8 + "".join(f"{name:>7}" for name in columns)
    lines = [f"task {task}, {split} question {example} ({record.source})", header]
    for line_id, sentence, row in zip(ids, sentences, weights.tolist(), strict=True):
        mark = "*" if line_id in record.supporting else " "
        cells = "".join(f"  {w:5.2f}" for w in row)
        lines.append(f"{mark} {line_id:4d}  {cells}   {' '.join(sentence)}")
    correct = predicted == record.answer
    lines.append(
        f"question: {' '.join(record.question)}?   answer: {record.answer}   "
        f"predicted: {predicted} ({'right' if correct else 'wrong'})"
    )
    lines.append("(* = supporting fact)")
    lines += view.stages
    labels = [
        f"{'*' if i in record.supporting else ' '}{i}: {' '.join(s)}"
        for i, s in zip(ids, sentences, strict=True)
    ]
    png = save_heatmap(
        weights.numpy(),
        out_png,
        x_labels=columns,
        y_labels=labels,
        title=f"{' '.join(record.question)}? -> {predicted} (answer {record.answer})",
    )
    return StoryExplanation("\n".join(lines), png, correct)


@dataclass
class StoryView:
    """One story question as a model read it: its sentences in memory (``story_ids`` their
    line ids), the ``(M_real, C)`` weights per column (hop, slot, step or read head), the
    predicted answer, and the text lines of any further stages (words, facts)."""

    record: Any
    sentences: list[list[str]]
    story_ids: list[int]
    weights: torch.Tensor
    columns: list[str]
    predicted: str
    stages: list[str]


def story_view(model: nn.Module, data: DataBundle, split: str, index: int) -> StoryView:
    """:class:`StoryView` of example ``index`` (0-based, over the whole split) of ``split``,
    run on the model's device."""
    dataset = data.split(split)
    if not 0 <= index < len(dataset):
        raise UserError(f"example must be in 0..{len(dataset) - 1} of {split}, got {index}")
    batch = to_device(dataset[index : index + 1], model_device(model))
    record = data.info.examples[split][index]
    vocab = data.info.vocab
    model.eval()
    with torch.no_grad():
        out = model(**model_inputs(batch), need_weights=True)
    sentences = record.story[-data.info.memory_size :]
    ids = record.story_ids[-data.info.memory_size :]
    steps = _steps_per_sentence(model, batch)
    weights, columns = story_weights(out, len(sentences), steps)  # (M_real, C)
    predicted = vocab[int(out.logits.argmax())]
    stages = _stage_lines(model, out, batch["story"][0].cpu(), vocab, len(sentences))
    return StoryView(record, sentences, ids, weights, columns, predicted, stages)


@register_explainer("story_qa", takes="example")
def explain_story_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR [--task T] [--example N]``: :func:`explain_story` of a story-QA
    run (the run's data is rebuilt); the task defaults to the split's first."""
    _, model, data = load_run(request.run_dir, overrides=request.overrides, device=request.device)
    task = request.task
    if task is None:
        task = int(data.split(request.split).tensors["meta_task"][0])
    png = request.out / f"explain_task{task}_{request.split}{request.example}.png"
    result = explain_story(model, data, task, request.example, png, split=request.split)
    return f"{result.text}\nheat map: {result.png}"


def story_weights(
    out: ModelOutput, n_sentences: int, steps_per_sentence: list[int] | None = None
) -> tuple[torch.Tensor, list[str]]:
    """``(n_sentences, C)`` weights of one example over its story, and the column names,
    from a story model's output (called with ``need_weights=True``).

    MemN2N / integrated: attention of each hop; EntNet: the gate each slot opened for each
    sentence; Universal Transformer: the question's attention (mean over heads) per step;
    DNC: each read head of the last step traced back to the sentences that wrote what it
    read (:func:`dnc_read_trace`), plus each sentence's write mass. ``steps_per_sentence``:
    the DNC's input steps per sentence (one per sentence, or its words + an end marker).
    The weights come back on the CPU, whatever device the model ran on.
    """
    weights, columns = _story_weights(out, n_sentences, steps_per_sentence)
    return weights.float().cpu(), columns


def _story_weights(
    out: ModelOutput, n_sentences: int, steps_per_sentence: list[int] | None
) -> tuple[torch.Tensor, list[str]]:
    if isinstance(out, DNCOutput) and out.write is not None and out.read is not None:
        return _dnc_story_weights(out, n_sentences, steps_per_sentence)
    hops = out.hops if isinstance(out, MemN2NOutput) else None
    hops = out.memory if isinstance(out, IntegratedOutput) else hops
    if hops is not None:  # (B, K, M)
        return hops[0, :, :n_sentences].T, [f"hop{k + 1}" for k in range(hops.shape[1])]
    if isinstance(out, EntNetOutput) and out.gates is not None:
        gates = out.gates[0, :n_sentences]  # (M_real, S)
        return gates, [f"slot{j + 1}" for j in range(gates.shape[1])]
    if isinstance(out, UTQAOutput) and out.steps is not None:
        question = out.steps[0, :, :, -1, :n_sentences].mean(1)  # (K, M_real)
        names = [f"step{k + 1}" for k in range(question.shape[0])]
        if out.pointer is not None:
            question = torch.cat([question, out.pointer[:1, :n_sentences]])
            names.append("copy")
        return question.T, names
    raise UserError(
        "this model reads no memory over the story's sentences (a memory: none model; its "
        "weights, if any, are in model(..., need_weights=True).attention)"
    )


def dnc_read_trace(write: torch.Tensor, read: torch.Tensor) -> torch.Tensor:
    """``write (T, N)``, ``read (T, R, N)`` of one example -> ``(T, R)``: how much of what
    each read head of the last step read was written at each step.

    Slot ``j``'s content is credited to step ``t`` in proportion to ``w_t[j]`` times what
    the later writes left of it, ``prod_{s > t} (1 - w_s[j])`` (an approximation: it takes
    the DNC's erase vector as 1 wherever a step writes); a head's trace is its read weights
    times those shares, summed over slots. Rows need not sum to 1: a slot nothing wrote
    (or its initial content) is credited to no step.
    """
    kept = 1 - write  # (T, N)
    kept_from = torch.flip(torch.cumprod(torch.flip(kept, [0]), 0), [0])  # prod_{s >= t}
    kept_after = torch.cat([kept_from[1:], torch.ones_like(kept[:1])])  # prod_{s > t}
    return (write * kept_after) @ read[-1].T


def _dnc_story_weights(
    out: DNCOutput, n_sentences: int, steps_per_sentence: list[int] | None
) -> tuple[torch.Tensor, list[str]]:
    write, read = out.write[0].float().cpu(), out.read[0].float().cpu()  # (T, N), (T, R, N)
    per_step = torch.cat([dnc_read_trace(write, read), write.sum(-1, keepdim=True)], 1)
    counts = steps_per_sentence or [1] * n_sentences
    owner = torch.repeat_interleave(torch.arange(n_sentences), torch.tensor(counts))
    table = torch.zeros(n_sentences, per_step.shape[1]).index_add_(0, owner, per_step[: len(owner)])
    return table, [f"read{r + 1}" for r in range(read.shape[1])] + ["write"]


def _steps_per_sentence(model, batch: dict[str, torch.Tensor]) -> list[int] | None:
    """A word-step DNC's input steps per sentence (its words and its end marker), read off
    the model's own step layout (:meth:`DNCQA.word_steps`) for the batch's one example."""
    if not isinstance(model, DNCQA) or model.config.step != "word":
        return None
    tokens, _ = model.word_steps(batch["story"], batch["query"])
    ends = (tokens[0] == model.end_of_sentence).nonzero().flatten() + 1
    return torch.diff(ends, prepend=ends.new_zeros(1)).tolist()


def _stage_lines(model, out: ModelOutput, story, vocab: list[str], n_real: int) -> list[str]:
    """Word attention (top words per sentence) and facts read, when the model returns them."""
    lines = []
    if isinstance(out, UTQAOutput) and out.ponder is not None:
        steps = out.ponder[0, :n_real].int().tolist()
        lines.append(f"steps each sentence pondered (ACT): {steps}")
    if not isinstance(out, IntegratedOutput):
        return lines
    slots = (story != 0).any(-1).nonzero().flatten().tolist()[-n_real:]  # the real sentences
    if out.words is not None:
        lines.append("word attention (top words of each sentence):")
        for slot in slots:
            weights = out.words[0, slot]  # (L,)
            top = weights.argsort(descending=True)[:2].tolist()
            words = ", ".join(f"{vocab[int(story[slot, j])]} {float(weights[j]):.2f}" for j in top)
            lines.append(f"  {words}")
    knowledge = model.encoder.knowledge
    if out.knowledge is not None and hasattr(knowledge, "fact_names"):
        lines.append("knowledge read (weight on facts; the rest went to 'no knowledge'):")
        for slot in slots:
            for j, token in enumerate(story[slot].tolist()):
                names = knowledge.fact_names(token) if token else []
                if names:
                    read = out.knowledge[0, slot, j]  # (E + 1,)
                    facts = ", ".join(f"{n} {float(read[i]):.2f}" for i, n in enumerate(names))
                    lines.append(f"  {vocab[token]}: {facts}")
    if out.graph is not None and out.graph_nodes is not None:
        names, nodes = model.graph_memory.graph.entities, out.graph_nodes[0]  # (N,)
        lines.append("graph memory (each hop's weight on the graph's nodes, the top 3):")
        for k, weights in enumerate(out.graph[0]):  # (N,) per hop
            top = [j for j in weights.argsort(descending=True)[:3].tolist() if nodes[j] >= 0]
            read = ", ".join(f"{names[int(nodes[j])]} {float(weights[j]):.2f}" for j in top)
            lines.append(f"  hop{k + 1}: {read or '(no entity named)'}")
    if out.memory_gate is not None:
        gates = ", ".join(f"{float(g):.2f}" for g in out.memory_gate[0])
        lines.append(f"memory gate per hop (1 = kept the question, 0 = took the read): {gates}")
    return lines
