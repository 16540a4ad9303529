"""Tasks: one registry entry per ``task:`` name, carrying the task's facts.

The entry is all that the rest of tuneforge reads about a task — the config its options model, peft
its task type, ``export`` whether the saved model is one plain transformers model — so no other
module compares a task's name. The task class itself (``tasks/base.py`` is its protocol) is
imported only when it is needed, since it may bring torch with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from tuneforge.tasks.common.options import TaskOptions
from tuneforge.tasks.dialogue_state.options import DialogueStateOptions
from tuneforge.tasks.embedding_classification.options import EmbeddingClassificationOptions
from tuneforge.tasks.generation.options import GenerationOptions
from tuneforge.tasks.pretrain.options import PretrainOptions
from tuneforge.tasks.question_answering.options import QuestionAnsweringOptions
from tuneforge.tasks.relation_extraction.options import RelationExtractionOptions
from tuneforge.tasks.retrieval.options import RetrievalOptions
from tuneforge.tasks.sequence_classification.options import SequenceClassificationOptions
from tuneforge.tasks.token_classification.options import TokenClassificationOptions


@dataclass(frozen=True)
class TaskSpec:
    name: str
    task_class_path: str  # "module:Class", imported on demand
    options: type[TaskOptions]
    has_labels: bool  # a label set learnt from train, saved as model/labels.json
    peft_task_type: str | None  # peft's TaskType of the task model; None: a tuneforge head (modules_to_save)
    inference: str  # the engine's scoring path (engine/inference.py): what is read from the model's output;
    # "generate": replies decoded by engine/generate.py
    plain_transformers: bool  # model/ loads with one transformers Auto class, so it can be exported merged
    check_data_path: str  # "module:function" of check-data: (cfg, tokenizer) -> report
    input_fields: tuple[str, ...]  # predict --input: the string fields one JSONL item must have
    optional_input_fields: tuple[str, ...] = ()  # … and may have
    default_model: str = "minilm"  # model.name when the config gives none
    default_method: str | None = None  # method when the config gives none (None: methods.DEFAULT_METHOD)
    zero_shot_baseline: bool = False  # the untrained model already answers: reports show it beside the trained one
    streams: bool = False  # predict of one input prints its answer as it is produced
    completes: bool = False  # answers completion requests with their own decoding (``Task.complete``,
    # ``Task.stream_completion``): the server's OpenAI-compatible API
    input_reader_path: str | None = None  # "module:function(path) -> items" for predict --input, when items are
    # not flat string fields (input_fields)
    input_check_path: str | None = None  # "module:function(item, where, exact)" checking one such item
    methods: tuple[str, ...] = ()  # the methods that can train it; empty: all of them
    pipeline_tag: str | None = None  # the Hugging Face pipeline tag of the model card (model/README.md)
    auto_class: str | None = None  # the transformers Auto class that loads model/ (None: a tuneforge head)
    incremental_outputs: str | None = None  # how ``tuneforge continual`` grows its head as labels arrive: "labels" (one
    # output per label) or "tags" (O, then B-/I- per entity type); None: not class-incremental
    numpy_inference: bool = False  # predicts from numpy inputs (``model_inputs``), its module free of torch: a
    # checked ONNX graph then answers with no torch imported at all (``runs.load_run``, a fast cold start)
    explains: str | None = None  # what ``tuneforge explain`` attributes (explain/targets.py): "label" (the class
    # of a text) or "entity" (one predicted entity of a sentence); None: the task cannot be explained
    perturbs: str | None = None  # how ``tuneforge robustness`` perturbs the test split (robustness/checked.py):
    # "text" (one label per text) or "tagged-words" (tags travel with their words); None: not checked
    finds_entities: bool = False  # predictions are typed character spans ({"entities": [{type, start, end}]}): a run
    # can serve as the NER recogniser of personal data (privacy.ner_run)
    distills: bool = False  # ``tuneforge distill`` trains a smaller student on its runs' soft outputs (the kind of
    # output — per text, per token, start/end per token, next token on the reply — is read from ``inference``)

    def read_inputs(self, path: str) -> list:
        return _load(self.input_reader_path)(path)

    def check_input(self, item: Any, where: str) -> None:
        """A served item of a task with its own reader, checked as strictly as flat items (unknown fields
        refused); a TuneforgeError names the problem."""
        if self.input_check_path:
            _load(self.input_check_path)(item, where, exact=True)

    def task_class(self):
        return _load(self.task_class_path)

    def check_data(self, cfg, tokenizer=None) -> dict:
        return _load(self.check_data_path)(cfg, tokenizer)


def _load(path: str):
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)



TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("token-classification", "tuneforge.tasks.token_classification.task:TokenClassification",
             TokenClassificationOptions, has_labels=True, peft_task_type="TOKEN_CLS",
             inference="token-probabilities", plain_transformers=True,
             check_data_path="tuneforge.tasks.token_classification.check:check_tagged", input_fields=("text",),
             pipeline_tag="token-classification", auto_class="AutoModelForTokenClassification",
             incremental_outputs="tags", numpy_inference=True, explains="entity", perturbs="tagged-words",
             finds_entities=True, distills=True),
    TaskSpec("sequence-classification", "tuneforge.tasks.sequence_classification.task:SequenceClassification",
             SequenceClassificationOptions, has_labels=True, peft_task_type="SEQ_CLS",
             inference="class-probabilities", plain_transformers=True,
             check_data_path="tuneforge.tasks.classification.check_texts:check_texts", input_fields=("text",),
             optional_input_fields=("text_pair",), pipeline_tag="text-classification",
             auto_class="AutoModelForSequenceClassification",
             incremental_outputs="labels", numpy_inference=True, explains="label", perturbs="text", distills=True),
    TaskSpec("relation-extraction", "tuneforge.tasks.relation_extraction.task:RelationExtraction",
             RelationExtractionOptions, has_labels=True, peft_task_type=None,
             inference="class-probabilities", plain_transformers=False,
             check_data_path="tuneforge.tasks.classification.check_texts:check_texts", input_fields=("text",),
             pipeline_tag="text-classification"),
    TaskSpec("question-answering", "tuneforge.tasks.question_answering.task:QuestionAnswering",
             QuestionAnsweringOptions, has_labels=False, peft_task_type="QUESTION_ANS",
             inference="span-logits", plain_transformers=True,
             check_data_path="tuneforge.tasks.question_answering.check:check_qa", input_fields=("question", "context"),
             pipeline_tag="question-answering", auto_class="AutoModelForQuestionAnswering", distills=True),
    TaskSpec("generation", "tuneforge.tasks.generation.task:Generation",
             GenerationOptions, has_labels=False, peft_task_type="CAUSAL_LM",
             inference="generate", plain_transformers=True,
             check_data_path="tuneforge.tasks.generation.check:check_generation", input_fields=("prompt",),
             default_model="smollm2-135m", default_method="lora", zero_shot_baseline=True, streams=True,
             completes=True, input_reader_path="tuneforge.tasks.generation.task:read_prompts",
             input_check_path="tuneforge.tasks.generation.task:input_example", pipeline_tag="text-generation",
             auto_class="AutoModelForCausalLM", distills=True),
    TaskSpec("embedding-classification", "tuneforge.tasks.embedding_classification.task:EmbeddingClassification",
             EmbeddingClassificationOptions, has_labels=True, peft_task_type=None,
             inference="class-probabilities", plain_transformers=False,
             check_data_path="tuneforge.tasks.classification.check_texts:check_texts", input_fields=("text",),
             methods=("full", "freeze"), pipeline_tag="text-classification"),
    # The objective (masked or causal LM) comes from the model, so peft wraps the LM as it is (feature extraction:
    # no head of its own) and the folder loads with AutoModel as a backbone for any other task.
    # Dialogue state tracking reads whole dialogues against service schemas: its own head, one pass per
    # (user turn, service), and its own predict reader (dialogue records, not flat string fields).
    TaskSpec("dialogue-state", "tuneforge.tasks.dialogue_state.task:DialogueState",
             DialogueStateOptions, has_labels=False, peft_task_type=None,
             inference="schema-state", plain_transformers=False,
             check_data_path="tuneforge.tasks.dialogue_state.check:check_dialogues", input_fields=("turns",),
             input_reader_path="tuneforge.tasks.dialogue_state.task:read_dialogue_inputs",
             methods=("full", "freeze"), pipeline_tag="text-classification"),
    TaskSpec("retrieval", "tuneforge.tasks.retrieval.task:Retrieval",
             RetrievalOptions, has_labels=False, peft_task_type=None,
             inference="embeddings", plain_transformers=False,
             check_data_path="tuneforge.tasks.retrieval.check:check_retrieval", input_fields=("query",),
             zero_shot_baseline=True, methods=("full", "bitfit", "lora", "ia3"),
             pipeline_tag="sentence-similarity", auto_class="AutoModel"),
    TaskSpec("pretrain", "tuneforge.tasks.pretrain.task:Pretrain",
             PretrainOptions, has_labels=False, peft_task_type="FEATURE_EXTRACTION",
             inference="token-probabilities", plain_transformers=True,
             check_data_path="tuneforge.tasks.pretrain.task:check_pretrain", input_fields=("text",),
             zero_shot_baseline=True, pipeline_tag="fill-mask", auto_class="AutoModel"),
)}

DEFAULT_TASK = "token-classification"  # what a config without ``task:`` trains


def task_spec(name: str) -> TaskSpec:
    return TASKS[name]


def task_class(name: str):
    return TASKS[name].task_class()
