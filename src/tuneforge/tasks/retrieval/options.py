"""The options of retrieval: the record fields, the passage collection, training negatives and the search."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions


class RetrievalOptions(TaskOptions):
    """A bi-encoder: queries and passages embedded apart, a passage's score the cosine of the two."""

    task: Literal["retrieval"] = Field("retrieval", exclude=True)
    # a finished run searches whatever index it is given; how many answers and how is a use-time choice
    predict_keys: ClassVar[tuple[str, ...]] = ("index", "top_k", "search", "hybrid_weight")
    fine_tune: bool = Field(True, description="false: use model.name as it is (no training, no data.train): a "
                            "config that `tuneforge index`, predict and the assistant's document answers take "
                            "like a run directory.")
    query_field: str = Field("query", description="The field of a record that holds the query.")
    positive_field: str = Field("positive", description="The field that holds the relevant passage's text "
                                "(or give positive_id_field and a passages file).")
    positive_id_field: str = Field("positive_id", description="The field that holds the relevant passage's id "
                                   "in task_options.passages (used when a record has it).")
    negatives_field: str = Field("negatives", description="Optional: a list of hard-negative passage texts.")
    passages: str | None = Field(None, description="A JSONL file of the collection ({\"id\", \"text\"} per line), "
                                 "relative to the config file: what dev/test queries are searched against. Without "
                                 "it, a split's own positives (and negatives) are its collection.")
    hard_negatives: int = Field(0, ge=0, le=16, description="Hard negatives per training query, mined before "
                                "training by the model as it starts (the top-ranked passages that are not the "
                                "positive); 0: in-batch negatives only.")
    mine_depth: int = Field(30, ge=2, le=1000, description="Mined negatives are drawn from this many top-ranked "
                            "passages (the very top is skipped: often an unlabelled positive).")
    scale: float = Field(20.0, gt=0, le=100, description="Cosine similarities are multiplied by this before the "
                         "softmax over the batch's passages (an inverse temperature).")
    symmetric: bool = Field(True, description="Also score each passage against the batch's queries (a second "
                            "in-batch loss, as in CLIP and GTR).")
    max_query_length: int | None = Field(None, ge=8, description="Sub-words of a query (default model.max_length).")
    top_k: int = Field(10, ge=1, le=1000, description="Passages returned by predict.")
    index: str | None = Field(None, description="predict: the index folder to search (tuneforge index builds "
                              "one); predict --index sets it.")
    search: Literal["dense", "bm25", "hybrid"] = Field(
        "dense", description="dense: the bi-encoder's cosine; bm25: the lexical baseline (bm25s); hybrid: both "
        "fused by reciprocal rank.")
    hybrid_weight: float = Field(0.5, ge=0, le=1, description="hybrid: the dense ranking's weight in the fusion "
                                 "(1 - weight goes to BM25).")

    def trains_model(self) -> bool:
        return self.fine_tune

    def needs_train_data(self) -> bool:
        return self.fine_tune
