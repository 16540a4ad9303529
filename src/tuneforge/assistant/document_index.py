"""The document folder's passage index, built by the assistant's retriever once and reused from disk.

The index folder (``documents.cache``) is an ordinary retrieval index (``tuneforge predict RETRIEVER "q" --index
CACHE`` searches it too); its index.json also holds a digest of what it was built from: every document's name
and text, the passage split and the retriever's weights. A start whose digest matches reuses it; any change
rebuilds it (written to a temp folder and renamed, so a crash leaves the old index or the new, never half).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tuneforge.assistant.documents import read_documents
from tuneforge.assistant.passages import split_documents

FORMAT = 1  # of the digest: a change to how documents are read or split makes every cached index stale


def documents_digest(documents, passage_chars: int, overlap_chars: int, fingerprint: str) -> str:
    digest = hashlib.sha256(json.dumps([FORMAT, passage_chars, overlap_chars, fingerprint]).encode())
    for d in documents:
        digest.update(json.dumps([d.name, hashlib.sha256(d.text.encode()).hexdigest()]).encode())
    return digest.hexdigest()[:32]


def cached_digest(folder: Path) -> str | None:
    try:
        return json.loads((folder / "index.json").read_text(encoding="utf-8")).get("documents")
    except (OSError, ValueError, AttributeError):
        return None


def ensure_document_index(config, retriever: Any) -> dict[str, Any]:
    """Build the index of ``config.documents`` with the loaded retriever run unless the cache is current.
    Returns {"folder", "documents", "passages", "built"}."""
    from tuneforge.tasks.retrieval.index import model_fingerprint
    from tuneforge.util.console import say

    options, cache = config.documents, config.documents_cache()
    documents = read_documents(config.documents_folder(), f"{config.path}: documents.folder")
    digest = documents_digest(documents, options.passage_chars, options.overlap_chars,
                              model_fingerprint(retriever.task.model_folder))
    passages = split_documents(documents, options.passage_chars, options.overlap_chars)
    built = cached_digest(cache) != digest
    if built:
        say(f"indexing {len(documents)} documents ({len(passages)} passages) into {cache}")
        index = retriever.task.build_index(retriever.model, passages, "auto", **retriever.config.eval_batching())
        index.save(cache, {"documents": digest})
    return {"folder": str(cache), "documents": len(documents), "passages": len(passages), "built": built}
