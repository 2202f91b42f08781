"""What the graph reasoners need to answer questions in words (MetaQA style): a question
encoder that gives one query vector per hop, the answer-set loss and hits@1 per hop count.

The encoder (as TransferNet, Shi et al. 2021, reads its question): a bidirectional GRU over
the words; hop ``t`` attends over the word states with a query made from the whole question
(``tanh(W_t q)``), and its query vector is a projection of what it read. A hop can so read
the words of its own relation ("the parts of" vs "the kind of thing that").

Legend: B batch, T words, W word width, K hops, D query width, A answers per row, E entities.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from amkit.data.base import iterate_batches


class HopQuestionEncoder(nn.Module):
    """``(B, T)`` word ids (0 = padding, 1 = unknown) -> ``(B, K, D)`` hop queries and
    ``(B, K, T)`` the attention of each hop over the words (rows sum to 1 over real words).
    In training, each word is read as unknown with probability ``word_dropout``."""

    def __init__(
        self, vocab_size: int, d_word: int, hops: int, d_query: int, word_dropout: float = 0.0
    ):
        super().__init__()
        self.word_dropout = word_dropout
        self.embed = nn.Embedding(vocab_size, d_word, padding_idx=0)
        self.gru = nn.GRU(d_word, d_word // 2, batch_first=True, bidirectional=True)
        self.hop_proj = nn.ModuleList(nn.Linear(2 * (d_word // 2), 2 * (d_word // 2))
                                      for _ in range(hops))  # fmt: skip
        self.out = nn.Linear(2 * (d_word // 2), d_query)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        real = tokens != 0  # (B, T)
        if self.training and self.word_dropout > 0:  # words read as unknown (id 1): robust
            dropped = torch.rand(tokens.shape, device=tokens.device) < self.word_dropout
            tokens = tokens.masked_fill(dropped & real, 1)  # to phrasings never seen
        lengths = real.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                                   enforce_sorted=False)  # fmt: skip
        states, _ = self.gru(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(
            states, batch_first=True, total_length=tokens.shape[1]
        )  # (B, T, W)
        summary = (states * real.unsqueeze(-1)).sum(1) / lengths.to(states.device).unsqueeze(1)
        queries, weights = [], []
        for proj in self.hop_proj:
            scores = (states @ torch.tanh(proj(summary)).unsqueeze(-1)).squeeze(-1)  # (B, T)
            attn = scores.float().masked_fill(~real, float("-inf")).softmax(-1)
            attn = torch.nan_to_num(attn)  # an empty question: zero weights, not NaN
            weights.append(attn)
            queries.append(self.out((attn.unsqueeze(-1) * states).sum(1)))  # (B, D)
        return torch.stack(queries, 1), torch.stack(weights, 1)  # (B, K, D), (B, K, T)


def answer_set_loss(logits: Tensor, answers: Tensor) -> Tensor:
    """``-log P(answer set)``, the mean over rows: the softmax of ``logits`` ``(B, E)`` summed
    over each row's answers ``(B, A)`` (-1 = padding; every row has one at least)."""
    real = answers >= 0
    picked = logits.float().gather(1, answers.clamp_min(0)).masked_fill(~real, float("-inf"))
    return (logits.float().logsumexp(1) - picked.logsumexp(1)).mean()


@torch.no_grad()
def hits_at_1(model: nn.Module, dataset, batch_size: int) -> dict[str, float]:
    """``hits@1`` (the top-scored entity is an answer) over a split with ``answers``, and
    ``hits@1_{k}hop`` per hop count when it has ``meta_hops``."""
    device = next(model.parameters()).device
    hits, hops = [], []
    for batch in iterate_batches(dataset, batch_size):
        inputs = {k: v.to(device) for k, v in batch.items()
                  if not k.startswith("meta_") and k not in ("targets", "answers")}  # fmt: skip
        best = model(**inputs).logits.argmax(1).cpu()  # (B,)
        hits.append((batch["answers"] == best.unsqueeze(1)).any(1))
        if "meta_hops" in batch:
            hops.append(batch["meta_hops"])
    hit = torch.cat(hits).float()
    out = {"hits@1": float(hit.mean())}
    if hops:
        hop = torch.cat(hops)
        for k in sorted(set(hop.tolist())):
            out[f"hits@1_{k}hop"] = float(hit[hop == k].mean())
    return out
