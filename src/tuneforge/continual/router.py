"""The router of adapter-per-stage: which stage's adapter answers a text.

Each stage's labels get a centroid: the mean of their training texts' embeddings by the frozen backbone
(mean-pooled last hidden states, unit length). A text goes to the stage owning the centroid nearest to it
(cosine). It needs no training, sees no label it should not, and grows by one block of rows per stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


class NearestClassRouter:
    def __init__(self, backbone: Any, tokenizer: Any, max_length: int, batch_size: int = 64) -> None:
        self.backbone, self.tokenizer = backbone.eval(), tokenizer
        self.max_length, self.batch_size = max_length, batch_size
        self.centroids = torch.zeros(0, backbone.config.hidden_size)
        self.owners: list[int] = []
        self.labels: list[str] = []

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> torch.Tensor:
        out = []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            hidden = self.backbone(**enc).last_hidden_state
            mask = enc["attention_mask"][..., None].to(hidden.dtype)
            out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
        return torch.cat(out) if out else torch.zeros(0, self.centroids.shape[1])

    def add_stage(self, stage: int, texts: list[str], labels: list[str]) -> None:
        vectors = self.embed(texts)
        for label in sorted(set(labels)):
            rows = vectors[[i for i, x in enumerate(labels) if x == label]]
            centroid = torch.nn.functional.normalize(rows.mean(0), dim=0)
            self.centroids = torch.cat([self.centroids, centroid[None]])
            self.owners.append(stage)
            self.labels.append(label)

    def route(self, texts: list[str]) -> list[int]:
        """The member (stage number among those added) each text goes to."""
        if not texts:
            return []
        nearest = (self.embed(texts) @ self.centroids.T).argmax(dim=1)
        return [self.owners[int(i)] for i in nearest]

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        from tuneforge.util.atomic import write_json

        save_file({"centroids": self.centroids.contiguous()}, str(Path(folder) / "router.safetensors"))
        write_json(Path(folder) / "router.json", {"owners": self.owners, "labels": self.labels})
