"""The output contract of every registered model (STYLE.md rule 4): each family returns its
own output dataclass; its weight fields are ``None`` without ``need_weights`` and have the
documented shapes with it; ``attention`` lists exactly the weight fields that are set; and
asking for the weights does not change the logits.

Legend: B batch, M memory slots, L words, Lq question words, T tokens / steps, S source
length, K hops or steps, H heads, N blocks or memory rows, R read heads, C candidates,
A memory slots of the recommender.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields

import pytest
import torch
from torch import nn

from amkit.data.base import DataInfo
from amkit.graph import TriplesGraph
from amkit.models import (
    HOOKS,
    MODELS,
    BPRConfig,
    DLinearConfig,
    DNCConfig,
    DNCOutput,
    EntNetConfig,
    EntNetOutput,
    ForecastOutput,
    GraphKVMemConfig,
    GraphReasonerOutput,
    GraphRGCNConfig,
    GRUAttentionConfig,
    GRUAttentionOutput,
    ImageClassifierOutput,
    ImageCNNConfig,
    IntegratedConfig,
    IntegratedOutput,
    KGEConfig,
    KnowledgeRecConfig,
    KnowledgeRecOutput,
    MemN2NConfig,
    MemN2NOutput,
    MemoryForecasterConfig,
    ModelOutput,
    PatchTSTConfig,
    PopularityConfig,
    RecallModelConfig,
    RecallOutput,
    RLinearConfig,
    SASRecConfig,
    SASRecOutput,
    Seq2SeqConfig,
    SpeechTransformerConfig,
    SpeechTransformerOutput,
    TextClassifierConfig,
    TextClassifierOutput,
    TranslationOutput,
    UniversalTransformerQA,
    UTConfig,
    UTQAOutput,
    VisionTransformerConfig,
    build_model,
)
from amkit.models.graph import EmbedKGQAConfig
from amkit.models.timeseries import LastValueConfig, SeasonalNaiveConfig

B, M, L, LQ, V = 2, 5, 4, 3, 20
STORY_INFO = DataInfo(
    task="story_qa", vocab=[f"w{i}" for i in range(V)], vocab_size=V, n_classes=V,
    memory_size=M, sentence_len=L, query_len=LQ,
)  # fmt: skip
TEXT_INFO = DataInfo(
    task="classification", vocab=[f"w{i}" for i in range(V)], vocab_size=V, n_classes=3,
    max_len=8,
)  # fmt: skip
RANK_INFO = DataInfo(
    task="ranking", n_items=12, n_users=4, max_len=6, n_classes=2,
    item_counts=torch.arange(13).float(),
)  # fmt: skip
TRANSLATION_INFO = DataInfo(task="translation", vocab_size=V, max_len=10, n_classes=V)
# a chain e0 -r-> e1 -r-> e2; the key-value memory adds reciprocals and self loops, so one hop
# from e0 and e2 keeps 4 slots: e0 r e1, e0 self e0, e2 r_inv e1, e2 self e2
GRAPH_INFO = DataInfo(
    task="classification", n_classes=3, answer_ids=[1],
    graph=TriplesGraph.from_labeled([("e0", "r", "e1"), ("e1", "r", "e2")]),
)  # fmt: skip


def _graph_question() -> dict[str, torch.Tensor]:
    return {"head": torch.tensor([0, 2]), "relation": torch.tensor([0, 0])}


KBQA_INFO = DataInfo(
    task="classification", n_classes=3, vocab_size=V,
    graph=TriplesGraph.from_labeled([("e0", "r", "e1"), ("e1", "r", "e2")]),
)  # fmt: skip


def _graph_words() -> dict[str, torch.Tensor]:
    return {"head": torch.tensor([0, 2]), **_tokens()}


FORECAST_INFO = DataInfo(
    task="forecasting", n_classes=2, n_channels=2, lookback=32, horizon=8, train_rows=100,
    train_series=torch.randn(100, 2, generator=torch.Generator().manual_seed(4)),
)  # fmt: skip
SPEECH_INFO = DataInfo(task="classification", n_classes=10, n_features=6)
IMAGE_INFO = DataInfo(task="classification", n_classes=3, image_shape=[1, 8, 8])


def _story() -> dict[str, torch.Tensor]:
    """Every slot of row 0 filled, row 1 with two sentences (the rest padding)."""
    g = torch.Generator().manual_seed(0)
    story = torch.randint(1, V, (B, M, L), generator=g)
    story[1, 2:] = 0
    return {"story": story, "query": torch.randint(1, V, (B, LQ), generator=g)}


def _tokens(t: int = 8) -> dict[str, torch.Tensor]:
    tokens = torch.randint(1, V, (B, t), generator=torch.Generator().manual_seed(1))
    tokens[1, 5:] = 0
    return {"tokens": tokens}


def _ranking() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    seq = torch.randint(1, 13, (B, 6), generator=g)
    seq[1, :2] = 0  # left padding
    candidates = torch.randint(1, 13, (B, 4), generator=g)
    return {"seq": seq, "candidates": candidates, "user": torch.tensor([1, 3])}


def _translation() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    src = torch.randint(4, V, (B, 7), generator=g)
    src[1, 4:] = 0
    tgt_in = torch.randint(4, V, (B, 5), generator=g)
    tgt_in[:, 0] = 2
    return {"src": src, "tgt_in": tgt_in}


def _series() -> dict[str, torch.Tensor]:
    return {"x": torch.randn(B, 32, 2, generator=torch.Generator().manual_seed(5))}


def _frames() -> dict[str, torch.Tensor]:
    """Row 0 has 7 real frames, row 1 four (the rest padding)."""
    features = torch.randn(B, 7, 6, generator=torch.Generator().manual_seed(4))
    features[1, 4:] = 0
    return {"features": features, "lengths": torch.tensor([7, 4])}


def _images() -> dict[str, torch.Tensor]:
    return {"images": torch.randn(B, 1, 8, 8, generator=torch.Generator().manual_seed(4))}


@dataclass
class Case:
    model: str  # the registered name
    config: object
    info: DataInfo
    batch: Callable[[], dict[str, torch.Tensor]]
    output: type[ModelOutput]
    shapes: dict[str, tuple[int, ...]]  # the fields set with need_weights, and their shapes

    def build(self) -> nn.Module:
        torch.manual_seed(0)
        return build_model(self.model, self.config, self.info).eval()


SMALL_SEQ2SEQ = {"d_model": 8, "hidden": 8, "n_heads": 2, "n_layers": 1, "d_ff": 16}
CASES = [
    Case("memn2n", MemN2NConfig(d_model=8, hops=2), STORY_INFO, _story, MemN2NOutput,
         {"hops": (B, 2, M)}),
    Case("entnet", EntNetConfig(d_model=8, slots=3), STORY_INFO, _story, EntNetOutput,
         {"gates": (B, M, 3), "slots": (B, 3)}),
    Case("dnc", DNCConfig(d_model=8, hidden_size=8, memory_slots=6, word_size=4, read_heads=2,
                          step="sentence"),
         STORY_INFO, _story, DNCOutput,  # one step per sentence, then the question: T = M + 1
         {"write": (B, M + 1, 6), "read": (B, M + 1, 2, 6), "allocation_gate": (B, M + 1),
          "write_gate": (B, M + 1)}),
    Case("universal_transformer", UTConfig(d_model=8, n_heads=2, d_ff=16, max_steps=2,
                                           act=False, pointer=True),
         STORY_INFO, _story, UTQAOutput,  # positions: the M sentences, then the question
         {"steps": (B, 2, 2, M + 1, M + 1), "ponder": (B, M + 1), "pointer": (B, M)}),
    Case("text_classifier", TextClassifierConfig(d_embed=8, d_hidden=8), TEXT_INFO, _tokens,
         TextClassifierOutput, {"tokens": (B, 8)}),
    Case("integrated", IntegratedConfig(d_model=8, hops=2), STORY_INFO, _story,
         IntegratedOutput, {"words": (B, M, L), "query_words": (B, LQ), "memory": (B, 2, M)}),
    Case("integrated", IntegratedConfig(d_model=8, hops=2), TEXT_INFO, _tokens,
         IntegratedOutput, {"tokens": (B, 8), "memory": (B, 2, 8)}),
    Case("recall_attention", RecallModelConfig(d_model=8), TEXT_INFO,
         lambda: {**_tokens(), "query": torch.tensor([3, 4])}, RecallOutput, {"query": (B, 8)}),
    Case("seq2seq", Seq2SeqConfig(**SMALL_SEQ2SEQ), TRANSLATION_INFO, _translation,
         TranslationOutput, {"cross": (B, 5, 7)}),
    Case("seq2seq", Seq2SeqConfig(arch="transformer", **SMALL_SEQ2SEQ), TRANSLATION_INFO,
         _translation, TranslationOutput, {"cross": (B, 5, 7)}),
    Case("sasrec", SASRecConfig(d_model=8, n_heads=2), RANK_INFO, _ranking, SASRecOutput,
         {"blocks": (B, 2, 2, 6, 6)}),
    Case("knowledge_rec", KnowledgeRecConfig(d_model=8, n_blocks=1, attributes=False,
                                             kg="none", latent_slots=3),
         RANK_INFO, _ranking, KnowledgeRecOutput, {"memory": (B, 4, 3),
                                                   "blocks": (B, 1, 1, 6, 6)}),
    Case("popularity", PopularityConfig(), RANK_INFO, _ranking, ModelOutput, {}),
    Case("bpr", BPRConfig(d_model=8), RANK_INFO, _ranking, ModelOutput, {}),
    Case("graph_kvmem", GraphKVMemConfig(d_key=4, hops=1), GRAPH_INFO, _graph_question,
         GraphReasonerOutput, {"hop_weights": (B, 1, 4), "hop_slots": (1, 4)}),
    Case("graph_kvmem", GraphKVMemConfig(d_key=4, hops=2, d_word=8), KBQA_INFO, _graph_words,
         GraphReasonerOutput, {"hop_weights": (B, 2, 7), "hop_slots": (2, 7),
                               "question_weights": (B, 2, 8)}),
    Case("embedkgqa", EmbedKGQAConfig(dim=4, d_word=8), KBQA_INFO, _graph_words,
         GraphReasonerOutput, {"question_weights": (B, 1, 8)}),
    Case("graph_rgcn", GraphRGCNConfig(d_model=4, layers=1), GRAPH_INFO, _graph_question,
         GraphReasonerOutput, {}),
    Case("graph_rgcn", GraphRGCNConfig(d_model=4, layers=1, d_word=8), KBQA_INFO, _graph_words,
         GraphReasonerOutput, {"question_weights": (B, 2, 8)}),
    Case("complex", KGEConfig(dim=4), GRAPH_INFO, _graph_question, GraphReasonerOutput, {}),
    Case("distmult", KGEConfig(dim=4), GRAPH_INFO, _graph_question, GraphReasonerOutput, {}),
    Case("patchtst", PatchTSTConfig(d_model=8, n_heads=2, d_ff=16, n_layers=2, patch_len=8,
                                    stride=4),
         FORECAST_INFO, _series, ForecastOutput, {"patches": (B * 2, 2, 2, 8, 8)}),
    Case("dlinear", DLinearConfig(), FORECAST_INFO, _series, ForecastOutput, {}),
    Case("rlinear", RLinearConfig(), FORECAST_INFO, _series, ForecastOutput, {}),
    Case("last_value", LastValueConfig(), FORECAST_INFO, _series, ForecastOutput, {}),
    Case("seasonal_naive", SeasonalNaiveConfig(period=8), FORECAST_INFO, _series,
         ForecastOutput, {}),
    Case("memory_forecaster", MemoryForecasterConfig(k=3, key_length=16), FORECAST_INFO,
         _series, ForecastOutput,  # the base: PatchTST/42's settings, 4 patches of 32 steps
         {"patches": (B * 2, 3, 4, 4, 4), "memory": (B, 3), "retrieved": (B, 3),
          "gate": (B, 8, 2)}),
    Case("gru_attention", GRUAttentionConfig(d_hidden=4, conv_channels=4), SPEECH_INFO,
         _frames, GRUAttentionOutput, {"frames": (B, 7)}),
    Case("speech_transformer", SpeechTransformerConfig(d_model=8, n_heads=2, n_layers=2,
                                                       conv_channels=4),
         SPEECH_INFO, _frames, SpeechTransformerOutput, {"frames": (B, 7),
                                                         "layers": (B, 2, 2, 7, 7)}),
    Case("image_cnn", ImageCNNConfig(channels=[4, 8], attention="sagan"), IMAGE_INFO, _images,
         ImageClassifierOutput, {"positions": (B, 16, 16)}),  # the 4x4 map of stage 2
    Case("vit", VisionTransformerConfig(patch=4, d_model=8, n_heads=2, n_layers=2), IMAGE_INFO,
         _images, ImageClassifierOutput, {"positions": (B, 2, 2, 4, 4)}),
]  # fmt: skip


def _weight_fields(output: ModelOutput) -> list[str]:
    return [f.name for f in fields(output) if f.name not in ("logits", "loss")]


def test_every_registered_model_has_a_case():
    assert {case.model for case in CASES} == set(MODELS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.model}-{c.info.task}")
def test_each_family_returns_its_output_with_weights_only_when_asked(case):
    model, batch = case.build(), case.batch()
    with torch.no_grad():
        plain = model(**batch)
        weighed = model(**batch, need_weights=True)
    assert type(plain) is case.output and type(weighed) is case.output
    assert all(getattr(plain, name) is None for name in _weight_fields(plain))
    assert plain.attention == {}
    got = {n: tuple(getattr(weighed, n).shape) for n in _weight_fields(weighed)
           if getattr(weighed, n) is not None}  # fmt: skip
    assert got == case.shapes
    attention_fields = {f.name for f in fields(weighed) if f.metadata.get("attention", True)}
    assert set(weighed.attention) == set(case.shapes) & attention_fields
    torch.testing.assert_close(weighed.logits, plain.logits, atol=1e-5, rtol=1e-5)


# the hooks of amkit.models.hooks each family defines
HOOKED = {
    "memn2n": {"epoch_end"},
    "universal_transformer": {"epoch_end"},
    "entnet": {"compile_steps"},
    "seq2seq": {"extra_metrics"},
    "sasrec": {"score_items"},
    "knowledge_rec": {"score_items"},
    "popularity": {"score_items"},
    "bpr": {"score_items"},
    "graph_kvmem": {"extra_metrics"},
    "embedkgqa": {"extra_metrics"},
    "graph_rgcn": {"extra_metrics"},
    "complex": {"extra_metrics"},
    "distmult": {"extra_metrics"},
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.model}-{c.info.task}")
def test_every_hook_a_model_defines_satisfies_its_protocol(case):
    """The trainer finds a hook with ``isinstance(model, Protocol)``; the method must also
    take the protocol's arguments, in its order (more only with defaults)."""
    model = case.build()
    defined = {name for name in HOOKS if callable(getattr(model, name, None))}
    assert defined == HOOKED.get(case.model, set())
    for name, protocol in HOOKS.items():
        assert isinstance(model, protocol) == (name in defined)
        if name not in defined:
            continue
        wanted = list(inspect.signature(getattr(protocol, name)).parameters)[1:]  # no self
        params = list(inspect.signature(getattr(model, name)).parameters.values())
        assert [p.name for p in params[: len(wanted)]] == wanted
        assert all(p.default is not inspect.Parameter.empty for p in params[len(wanted) :])


def test_attention_is_read_only_and_leaves_out_what_is_not_a_weight():
    out = UTQAOutput(logits=torch.zeros(1, 3), steps=torch.ones(1, 1, 1, 2, 2),
                     ponder=torch.ones(1, 2))  # fmt: skip
    assert list(out.attention) == ["steps"]  # ponder counts steps: not attention
    with pytest.raises(AttributeError):
        out.attention = {}
    ids = IntegratedOutput(logits=torch.zeros(1, 3), store=torch.ones(1, 1, 2),
                           store_ids=torch.zeros(1, 1, 2, dtype=torch.long))  # fmt: skip
    assert list(ids.attention) == ["store"]


def test_ut_halting_weights_with_act_sum_to_one_over_the_steps():
    torch.manual_seed(0)
    model = UniversalTransformerQA(UTConfig(d_model=8, n_heads=2, d_ff=16, max_steps=3),
                                   STORY_INFO).eval()  # fmt: skip
    out = model(**_story(), need_weights=True)
    k = out.steps.shape[1]
    assert out.halting.shape == (B, k, M + 1) and out.ponder.shape == (B, M + 1)
    real = torch.cat([(_story()["story"] != 0).any(-1), torch.ones(B, 1, dtype=torch.bool)], 1)
    torch.testing.assert_close(out.halting.sum(1)[real], torch.ones(int(real.sum())))
