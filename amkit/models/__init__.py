"""Complete task models, one family per file, registered by name in :data:`MODELS`.

Every model is ``ModelClass(config, data_info)`` with a ``@dataclass`` config whose defaults
reproduce its paper; ``forward(**batch)`` returns a :class:`ModelOutput`.
"""

from amkit.models.base import MODELS, ModelOutput, build_model, register_model
from amkit.models.integrated import IntegratedConfig, IntegratedModel
from amkit.models.knowledge_rec import KnowledgeRec, KnowledgeRecConfig
from amkit.models.qa import (
    DNCQA,
    DNCConfig,
    EntNetConfig,
    EntNetQA,
    MemN2NConfig,
    MemN2NQA,
    UniversalTransformerQA,
    UTConfig,
)
from amkit.models.rec_baselines import BPRMF, BPRConfig, Popularity, PopularityConfig
from amkit.models.recall import RecallAttention, RecallModelConfig
from amkit.models.seq2seq import RNNSeq2Seq, Seq2SeqConfig, TransformerSeq2Seq
from amkit.models.seqrec import SASRec, SASRecConfig
from amkit.models.text_classifier import TextClassifier, TextClassifierConfig

__all__ = [
    "BPRMF",
    "DNCQA",
    "MODELS",
    "BPRConfig",
    "DNCConfig",
    "EntNetConfig",
    "EntNetQA",
    "IntegratedConfig",
    "IntegratedModel",
    "KnowledgeRec",
    "KnowledgeRecConfig",
    "MemN2NConfig",
    "MemN2NQA",
    "ModelOutput",
    "Popularity",
    "PopularityConfig",
    "RNNSeq2Seq",
    "RecallAttention",
    "RecallModelConfig",
    "SASRec",
    "SASRecConfig",
    "Seq2SeqConfig",
    "TextClassifier",
    "TextClassifierConfig",
    "TransformerSeq2Seq",
    "UTConfig",
    "UniversalTransformerQA",
    "build_model",
    "register_model",
]
