"""Tasks: a registry from ``task:`` names to small classes: encode → head → loss → decode → metrics.

Every task class offers the same few members, used by ``api`` and ``runs``:
  read / load_splits / label_set / check_labels / validate   data in, checked before training
  main_metric / metric_names                                  what dev selection can use
  from_config(tokenizer, labels, cfg, state, train_examples)  the task object; ``state()`` is saved with the model
  build_model(name, dropout) / load_model(folder)            the backbone with its head
  encode / collate / compute_loss                             training
  calibrate / evaluate / markdown / predict_texts             tuning on dev, scores, use
"""

from __future__ import annotations

from importlib import import_module

TASKS = {
    "token-classification": "tuneforge.tasks.token_classification:TokenClassification",
    "sequence-classification": "tuneforge.tasks.sequence_classification:SequenceClassification",
    "relation-extraction": "tuneforge.tasks.relation_extraction:RelationExtraction",
}


def task_class(name: str):
    module, _, attr = TASKS[name].partition(":")
    return getattr(import_module(module), attr)
