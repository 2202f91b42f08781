"""Complete task models, one family per file, registered by name in :data:`MODELS`.

Every model is ``ModelClass(config, data_info)`` with a ``@dataclass`` config whose defaults
reproduce its paper; ``forward(**batch)`` returns its family's :class:`ModelOutput` (e.g.
:class:`MemN2NOutput`), whose typed fields hold the attention weights when asked
(``need_weights=True``). The optional methods the trainer calls are the protocols of
:mod:`amkit.models.hooks`.
"""

from amkit.models.base import MODELS, ModelOutput, build_model, not_attention, register_model
from amkit.models.graph import (
    ComplExScorer,
    DistMultScorer,
    GraphKVMemConfig,
    GraphKVMemNet,
    GraphReasonerOutput,
    GraphRGCN,
    GraphRGCNConfig,
    KGEConfig,
)
from amkit.models.hooks import (
    HOOKS,
    CompileStepsHook,
    EpochEndHook,
    ExtraMetricsHook,
    ScoreItemsHook,
)
from amkit.models.integrated import IntegratedConfig, IntegratedModel, IntegratedOutput
from amkit.models.knowledge_rec import KnowledgeRec, KnowledgeRecConfig, KnowledgeRecOutput
from amkit.models.qa import (
    DNCQA,
    DNCConfig,
    DNCOutput,
    EntNetConfig,
    EntNetOutput,
    EntNetQA,
    MemN2NConfig,
    MemN2NOutput,
    MemN2NQA,
    UniversalTransformerQA,
    UTConfig,
    UTQAOutput,
)
from amkit.models.rec_baselines import BPRMF, BPRConfig, Popularity, PopularityConfig
from amkit.models.recall import RecallAttention, RecallModelConfig, RecallOutput
from amkit.models.seq2seq import RNNSeq2Seq, Seq2SeqConfig, TransformerSeq2Seq, TranslationOutput
from amkit.models.seqrec import SASRec, SASRecConfig, SASRecOutput
from amkit.models.speech import (
    GRUAttention,
    GRUAttentionConfig,
    GRUAttentionOutput,
    SpeechTransformer,
    SpeechTransformerConfig,
    SpeechTransformerOutput,
)
from amkit.models.text_classifier import TextClassifier, TextClassifierConfig, TextClassifierOutput
from amkit.models.timeseries import (
    DLinear,
    DLinearConfig,
    ForecastOutput,
    MemoryForecaster,
    MemoryForecasterConfig,
    PatchTST,
    PatchTSTConfig,
    RLinear,
    RLinearConfig,
)
from amkit.models.vision import (
    ImageClassifierOutput,
    ImageCNN,
    ImageCNNConfig,
    VisionTransformer,
    VisionTransformerConfig,
)

__all__ = [
    "ComplExScorer",
    "DistMultScorer",
    "GraphRGCN",
    "GraphRGCNConfig",
    "KGEConfig",
    "GraphKVMemConfig",
    "GraphKVMemNet",
    "GraphReasonerOutput",
    "BPRMF",
    "DNCQA",
    "HOOKS",
    "MODELS",
    "BPRConfig",
    "CompileStepsHook",
    "DNCConfig",
    "DNCOutput",
    "DLinear",
    "DLinearConfig",
    "EntNetConfig",
    "EntNetOutput",
    "EntNetQA",
    "EpochEndHook",
    "GRUAttention",
    "GRUAttentionConfig",
    "GRUAttentionOutput",
    "ExtraMetricsHook",
    "ForecastOutput",
    "ImageCNN",
    "ImageCNNConfig",
    "ImageClassifierOutput",
    "IntegratedConfig",
    "IntegratedModel",
    "IntegratedOutput",
    "ScoreItemsHook",
    "KnowledgeRec",
    "KnowledgeRecConfig",
    "KnowledgeRecOutput",
    "MemN2NConfig",
    "MemN2NOutput",
    "MemN2NQA",
    "MemoryForecaster",
    "MemoryForecasterConfig",
    "ModelOutput",
    "PatchTST",
    "PatchTSTConfig",
    "Popularity",
    "PopularityConfig",
    "RLinear",
    "RLinearConfig",
    "RNNSeq2Seq",
    "RecallAttention",
    "RecallModelConfig",
    "RecallOutput",
    "SASRec",
    "SASRecConfig",
    "SASRecOutput",
    "Seq2SeqConfig",
    "SpeechTransformer",
    "SpeechTransformerConfig",
    "SpeechTransformerOutput",
    "TextClassifier",
    "TextClassifierConfig",
    "TextClassifierOutput",
    "TransformerSeq2Seq",
    "TranslationOutput",
    "UTConfig",
    "UTQAOutput",
    "UniversalTransformerQA",
    "VisionTransformer",
    "VisionTransformerConfig",
    "build_model",
    "not_attention",
    "register_model",
]
