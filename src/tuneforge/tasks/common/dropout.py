"""Set one dropout probability on a model config, whatever the architecture calls it."""

from __future__ import annotations

# Config fields that hold a dropout probability across common architectures (BERT, RoBERTa, DistilBERT, Llama…).
DROPOUT_ATTRS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "dropout",
                 "attention_dropout", "hidden_dropout", "activation_dropout", "seq_classif_dropout")


def set_dropout(config, dropout: float | None):
    if dropout is not None:
        for attr in DROPOUT_ATTRS:
            if hasattr(config, attr):
                setattr(config, attr, dropout)
    return config
