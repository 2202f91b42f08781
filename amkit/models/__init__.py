"""Complete task models, one family per file, registered by name in :data:`MODELS`."""

from amkit.models import integrated as integrated  # registers integrated
from amkit.models import knowledge_rec as knowledge_rec  # registers knowledge_rec
from amkit.models import qa as qa  # registers memn2n, entnet, dnc, universal_transformer
from amkit.models import rec_baselines as rec_baselines  # registers popularity, bpr
from amkit.models import recall as recall  # registers recall_attention
from amkit.models import seq2seq as seq2seq  # registers seq2seq
from amkit.models import seqrec as seqrec  # registers sasrec
from amkit.models import text_classifier as text_classifier  # registers text_classifier
from amkit.models.base import MODELS, ModelOutput, build_model, register_model

__all__ = ["MODELS", "ModelOutput", "build_model", "register_model"]
