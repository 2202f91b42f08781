"""Classical and pretrained-encoder baselines for text classification, as scikit-learn
estimators: NBSVM (Wang & Manning 2012), paragraph vectors + logistic regression, a frozen
sentence encoder + logistic regression, a fine-tuned encoder; ``amkit baseline`` runs them
(:func:`run_baseline`)."""

from amkit.baselines.encoder_lr import EncoderLR
from amkit.baselines.finetune import FineTunedEncoder
from amkit.baselines.nbsvm import NBSVM
from amkit.baselines.paragraph_vector import ParagraphVectorLR
from amkit.baselines.run import run_baseline

__all__ = ["NBSVM", "EncoderLR", "FineTunedEncoder", "ParagraphVectorLR", "run_baseline"]
