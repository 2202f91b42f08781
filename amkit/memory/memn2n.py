"""End-to-end memory network hop stack (Sukhbaatar et al. 2015, "End-To-End Memory Networks").

Each hop ``k`` embeds the story twice -- input memories ``m_i = sum_j l_j * A^k x_ij + T_A^k(i)``
and output memories ``c_i = sum_j l_j * C^k x_ij + T_C^k(i)`` -- addresses them with the
controller state ``p = softmax(u^T m)``, reads ``o = sum_i p_i c_i`` and updates
``u <- u + o`` (or ``u <- H u + o`` with layer-wise tying). The first ``u`` embeds the question
with ``B``.

Paper features, all switchable:

- sentence encoding: bag of words, or position encoding (PE)
  ``l_kj = (1 - j/J) - (k/d)(1 - 2j/J)`` with ``J`` the number of words in the sentence;
  ``pe_code`` is the variant in the authors' released code instead,
  ``l_kj = 1 + 4 (k - (d+1)/2)(j - (J+1)/2) / (d J)`` with ``J`` the padded sentence length
  (+1 for the time word) -- the formula behind their published numbers;
- temporal encoding ``T_A``, ``T_C`` indexed by a memory's age (0 = most recent sentence);
- random noise (RN): at training, empty memories are inserted (each sentence is followed by
  a blank with probability ``random_noise``), which shifts the ages;
- linear start (LS): no softmax in the memory layers (``p = u^T m``, masked) while
  ``linear`` is on; the task model switches it off when validation loss stops falling;
- weight tying: *adjacent* (``A^{k+1} = C^k``, ``B = A^1``, answer ``W^T = C^K``), *layerwise*
  (``A^k = A``, ``C^k = C``, plus ``H``), or *none*.

Legend: B batch, M memory slots, L words per sentence, Lq question words, d width,
K hops, V vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.errors import UserError

TYINGS = ("adjacent", "layerwise", "none")
ENCODINGS = ("bow", "pe", "pe_code")


def position_encoding_weights(lengths: Tensor, max_len: int, dim: int) -> Tensor:
    """The paper's PE matrix per sentence: ``l[..., j, k] = (1 - j/J) - (k/d)(1 - 2j/J)``.

    Args:
        lengths: ``(...)`` number of words ``J`` of each sentence.
        max_len: padded sentence length L.
        dim: embedding width d.

    Returns:
        ``(..., L, d)`` weights; 1-based ``j`` and ``k`` as in the paper; zero past ``J``.
    """
    j = torch.arange(1, max_len + 1, dtype=torch.float32, device=lengths.device)  # (L,)
    k = torch.arange(1, dim + 1, dtype=torch.float32, device=lengths.device)  # (d,)
    big_j = lengths.clamp(min=1).unsqueeze(-1).float()  # (..., 1)
    ratio = (j / big_j).unsqueeze(-1)  # (..., L, 1)
    weights = (1 - ratio) - (k / dim) * (1 - 2 * ratio)  # (..., L, d)
    real = (j <= big_j).unsqueeze(-1)  # (..., L, 1)
    return weights * real


def ages_from_newest(steps: Tensor) -> Tensor:
    """``(B, M)`` age of each slot, slots oldest first: the ``steps (B, M)`` (integer counts:
    1 for a real slot, 0 for padding, 2 for a slot followed by a blank) of it and every newer
    slot, summed, minus one. With a 0/1 mask the newest real slot is 0, the one before 1, ...;
    a padding slot gets the number of real slots after it."""
    return steps.flip(-1).cumsum(-1).flip(-1) - 1


class MemN2N(nn.Module):
    """The hop stack with its embeddings; the task model adds the answer layer and loss.

    Args:
        vocab_size: V, index 0 is padding (its embedding stays zero).
        memory_size: M, also the number of temporal-encoding rows.
        dim: d.
        hops: K.
        encoding: ``"pe"`` (paper), ``"pe_code"`` (authors' code) or ``"bow"``.
        temporal: add temporal encoding.
        tying: ``"adjacent"``, ``"layerwise"`` or ``"none"``.
        random_noise: share of blank memories at training (RN).
        rn_mode: how blanks are drawn: ``"paper"`` or ``"code"`` (the authors' code).
        empty_slots: keep the ``M - n`` empty slots of a story in the softmax as zero vectors
            (score 0, output 0), as the authors' code does, instead of masking them out:
            they act as a "nothing relevant" sink.
        init_std: embeddings are initialised from N(0, init_std) (paper: 0.1).
        tie_question, tie_answer: with adjacent tying, ``B = A^1`` and ``W^T = C^K`` (the
            paper); ``False`` gives ``B`` or ``W`` a matrix of its own (an ablation: on bAbI
            10k task 16 the model fails without ``W^T = C^K``, not without ``B = A^1``).
    """

    def __init__(
        self,
        vocab_size: int,
        memory_size: int,
        dim: int = 20,
        hops: int = 3,
        encoding: str = "pe",
        temporal: bool = True,
        tying: str = "adjacent",
        random_noise: float = 0.1,
        init_std: float = 0.1,
        rn_mode: str = "paper",
        empty_slots: bool = False,
        tie_question: bool = True,
        tie_answer: bool = True,
    ):
        super().__init__()
        if tying not in TYINGS:
            raise UserError(f"tying must be one of {TYINGS}, got {tying!r}")
        if tying != "adjacent" and not (tie_question and tie_answer):
            raise UserError(f"tie_question/tie_answer apply to adjacent tying, not {tying!r}")
        if encoding not in ENCODINGS:
            raise UserError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        if hops < 1:
            raise UserError(f"hops must be >= 1, got {hops}")
        self.dim, self.hops, self.memory_size = dim, hops, memory_size
        self.encoding, self.temporal, self.tying = encoding, temporal, tying
        self.random_noise = random_noise
        if rn_mode not in ("paper", "code"):
            raise UserError(f"rn_mode must be 'paper' or 'code', got {rn_mode!r}")
        self.rn_mode = rn_mode
        self.empty_slots = empty_slots

        def words() -> nn.Embedding:
            emb = nn.Embedding(vocab_size, dim, padding_idx=0)
            nn.init.normal_(emb.weight, std=init_std)
            with torch.no_grad():
                emb.weight[0].zero_()
            return emb

        def times() -> nn.Embedding:
            emb = nn.Embedding(memory_size, dim)
            nn.init.normal_(emb.weight, std=init_std)
            return emb

        if tying == "adjacent":
            # E_0 = B = A^1, E_k = C^k = A^{k+1}, E_K = C^K = W^T
            self.word_embeddings = nn.ModuleList(words() for _ in range(hops + 1))
            n_time = hops + 1
        elif tying == "layerwise":
            # word_embeddings: [A, C, B, W]; H maps u between hops
            self.word_embeddings = nn.ModuleList(words() for _ in range(4))
            self.hop_map = nn.Linear(dim, dim, bias=False)
            nn.init.normal_(self.hop_map.weight, std=init_std)
            n_time = 2
        else:
            # word_embeddings: [A^1, C^1, ..., A^K, C^K, B, W]
            self.word_embeddings = nn.ModuleList(words() for _ in range(2 * hops + 2))
            n_time = 2 * hops
        self.time_embeddings = nn.ModuleList(times() for _ in range(n_time)) if temporal else None
        # adjacent tying with B or W untied: their own matrices
        self.untied = nn.ModuleDict(
            {name: words() for name, tied in (("question", tie_question), ("answer", tie_answer))
             if not tied}
        )  # fmt: skip

    # ---------------------------------------------------------------- tied matrices
    def _input_index(self, hop: int) -> tuple[int, int]:
        """Indices of A^hop and C^hop (0-based hop) in the word and time embeddings."""
        if self.tying == "adjacent":
            return hop, hop + 1
        if self.tying == "layerwise":
            return 0, 1
        return 2 * hop, 2 * hop + 1

    @property
    def question_embedding(self) -> nn.Embedding:
        if "question" in self.untied:
            return self.untied["question"]
        if self.tying == "adjacent":
            return self.word_embeddings[0]
        return self.word_embeddings[-2]

    @property
    def answer_weight(self) -> Tensor:
        """W ``(V, d)``: logits are ``u @ W.T``."""
        if "answer" in self.untied:
            return self.untied["answer"].weight
        return self.word_embeddings[-1].weight

    # ---------------------------------------------------------------- encoding
    # Sentence encoding is a weighted sum of word vectors. Every encoding is a mix of two
    # sums over a sentence's words, ``S0 = sum_j v_j`` and ``S1 = sum_j j v_j`` (padding words
    # have zero vectors): PE's ``l_kj = a_j - (k/d) b_j`` has ``sum_j a_j v_j = S0 - S1/J`` and
    # ``sum_j b_j v_j = S0 - 2 S1/J``; the authors' PE and BoW are fixed mixes too. The two sums
    # of all sentences are one matrix product ``(2, L) @ (L, N * d)`` -- the per-sentence
    # batched matmul it replaces was half of a CPU training step. Same numbers as the formula.
    def encode(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        """Encode sentences ``(..., L)`` into ``(..., d)`` with BoW or PE."""
        return self.encode_many([embedding], ids)[..., 0, :]

    def encode_many(self, embeddings: list[nn.Embedding], ids: Tensor) -> Tensor:
        """Encode the same sentences ``(..., L)`` with several embedding matrices at once.

        One gather from the side-by-side tables and one matrix product, instead of one per
        matrix. Returns ``(..., n, d)`` for ``n`` matrices.
        """
        lead, padded, n, d = ids.shape[:-1], ids.shape[-1], len(embeddings), self.dim
        table = torch.cat([e.weight for e in embeddings], dim=1)  # (V, n * d)
        table = table.index_fill(0, torch.zeros(1, dtype=torch.long, device=ids.device), 0.0)
        words = ids.reshape(-1, padded)
        # Trailing columns that are padding in every sentence add nothing: cut them.
        columns = (words != 0).any(0).nonzero()
        length = int(columns.max()) + 1 if len(columns) else 1
        words = words[:, :length].T  # (L, N): the gather below comes out (L, N, n*d)
        # padding_idx=0: the padding row of every table gets no gradient
        vectors = F.embedding(words, table, padding_idx=0).view(length, -1)  # (L, N * n*d)
        j = torch.arange(1, length + 1, device=ids.device, dtype=table.dtype)  # (L,)
        if self.encoding == "bow":
            return vectors.sum(0).view(*lead, n, d)
        basis = torch.stack([torch.ones_like(j), j])  # (2, L)
        s0, s1 = (basis @ vectors).view(2, -1, n, d).unbind(0)  # (N, n, d) each
        k = torch.arange(1, d + 1, device=ids.device, dtype=table.dtype)  # (d,)
        if self.encoding == "pe_code":  # J fixed: padded length (+1 for the time word)
            big_j = padded + int(self.temporal)
            b = (s1 - (big_j + 1) / 2 * s0) * (4 / (d * big_j))  # sum_j b_j v_j
            return (s0 + (k - (d + 1) / 2) * b).view(*lead, n, d)
        big_j = (words != 0).sum(0).clamp(min=1).to(table.dtype)[:, None, None]  # (N, 1, 1)
        a, b = s0 - s1 / big_j, s0 - 2 * s1 / big_j  # sum_j a_j v_j, sum_j b_j v_j
        return (a - (k / d) * b).view(*lead, n, d)

    def memory_ages(self, memory_mask: Tensor) -> Tensor:
        """Age of each slot (0 = most recent), with random blanks at training (RN).

        Slots hold sentences oldest first and are left-aligned; ``memory_mask`` ``(B, M)``.
        ``rn_mode="paper"``: a blank follows each sentence with probability ``random_noise``.
        ``rn_mode="code"``, the authors' code: ``nblank`` is uniform in ``[0, ceil(p n))``
        and the ``n`` sentences take a random ordered subset of ages ``[0, n + nblank)``.
        """
        if not (self.training and self.random_noise > 0):
            ages = ages_from_newest(memory_mask.long())  # (B, M)
        elif self.rn_mode == "paper":
            blanks = torch.rand(memory_mask.shape, device=memory_mask.device) < self.random_noise
            step = memory_mask.long() + (blanks & memory_mask).long()  # (B, M)
            ages = ages_from_newest(step)  # (B, M)
        else:
            ages = self._code_noise_ages(memory_mask)
        return ages.clamp(0, self.memory_size - 1)

    def _code_noise_ages(self, memory_mask: Tensor) -> Tensor:
        b, m = memory_mask.shape
        device = memory_mask.device
        n = memory_mask.sum(-1)  # (B,)
        cap = torch.ceil(self.random_noise * n.float()).clamp(min=1)  # (B,)
        nblank = (torch.rand(b, device=device) * cap).floor().long()  # (B,) in [0, cap)
        width = m + int(torch.ceil(torch.tensor(self.random_noise * m)))
        positions = torch.arange(width, device=device).expand(b, width)  # (B, W)
        keys = torch.rand(b, width, device=device)
        keys = keys.masked_fill(positions >= (n + nblank).unsqueeze(1), 2.0)  # never chosen
        rank = keys.argsort(-1).argsort(-1)  # (B, W)
        chosen = rank < n.unsqueeze(1)  # n positions out of [0, n + nblank)
        order = chosen.long().cumsum(-1) - 1  # rank among the chosen, by position
        sentence = torch.where(chosen, n.unsqueeze(1) - 1 - order, m)  # newest gets smallest
        ages = torch.zeros(b, m + 1, dtype=torch.long, device=device)
        ages.scatter_(1, sentence, positions)  # unchosen land in the dropped column m
        return ages[:, :m]

    def forward(
        self, story: Tensor, query: Tensor, linear: bool = False, need_weights: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Run K hops.

        Args:
            story: ``(B, M, L)`` word ids, oldest sentence first, padding 0.
            query: ``(B, Lq)`` word ids.
            linear: linear start -- no softmax in the memory layers.
            need_weights: also return hop attention ``(B, K, M)``.

        Returns:
            ``(u (B, d), weights (B, K, M) or None)`` -- ``u`` is ``o^K + u^K``.
        """
        story, query = story.long(), query.long()
        memory_mask = (story != 0).any(-1)  # (B, M)
        ages = self.memory_ages(memory_mask) if self.temporal else None  # (B, M)
        u = self.encode(self.question_embedding, query)  # (B, d)

        # Every input/output memory matrix the hops use, embedded in one go (adjacent tying:
        # C^k and A^{k+1} are the same matrix, embedded once).
        used = sorted({i for hop in range(self.hops) for i in self._input_index(hop)})
        # Only the real sentences are encoded (in bAbI most slots are empty); empty slots stay
        # zero vectors, which the mask or ``empty_slots`` below treat as they always did.
        batch, slots = story.shape[0], story.shape[1]
        real_rows = memory_mask.reshape(-1).nonzero().squeeze(1)  # (R,)
        sentences = story.reshape(batch * slots, -1)[real_rows]  # (R, L)
        real = self.encode_many([self.word_embeddings[i] for i in used], sentences)  # (R, n, d)
        if self.time_embeddings is not None:  # T_A / T_C share the word matrix's index
            times = torch.cat([self.time_embeddings[i].weight for i in used], dim=1)  # (M, n*d)
            real = real + F.embedding(ages.reshape(-1)[real_rows], times).view_as(real)
        # one contiguous (B, M, d) tensor per matrix: unbind's backward stacks the gradients
        # once, where indexing each slice would zero-fill a full-size gradient per use
        empty = real.new_zeros(batch * slots, self.dim)
        memories = {  # matrix index -> (B, M, d)
            index: empty.index_copy(0, real_rows, vectors).view(batch, slots, self.dim)
            for index, vectors in zip(used, real.unbind(1), strict=True)
        }

        # the authors' code: empty slots are zero vectors in the softmax (score 0, output 0)
        attend = torch.ones_like(memory_mask) if self.empty_slots else memory_mask

        hop_weights = []
        for hop in range(self.hops):
            a_index, c_index = self._input_index(hop)
            m, c = memories[a_index], memories[c_index]  # (B, M, d) each
            # products and sums, not bmm: at these sizes (M 50, d 20-50) bmm is several
            # times slower on CPU
            scores = (m * u.unsqueeze(1)).sum(-1)  # (B, M)
            # linear start: the raw scores; else the softmax over allowed slots
            p = scores.masked_fill(~attend, 0.0) if linear else masked_softmax(scores, attend)
            o = (p.unsqueeze(-1) * c).sum(1)  # (B, d)
            u = (self.hop_map(u) if self.tying == "layerwise" else u) + o
            hop_weights.append(p)
        weights = torch.stack(hop_weights, dim=1) if need_weights else None  # (B, K, M)
        return u, weights
