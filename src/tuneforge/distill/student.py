"""The student: the teacher's own model with layers dropped (initialised from the teacher's weights), or another
named model with a new head; and the checks that it can learn from this teacher."""

from __future__ import annotations

import copy
from typing import Any

from tuneforge.errors import ConfigError
from tuneforge.methods.feed_forward import narrow_feed_forward
from tuneforge.methods.layers import evenly_spaced, keep_layers, layer_stack


def depth(model: Any) -> int:
    return len(layer_stack(model))


def chosen_layers(teacher: Any, layers: int | None, keep: list[int] | None, where: str,
                  ffn_share: float = 1.0) -> list[int]:
    """The teacher layers the student keeps: ``keep`` as given, or ``layers`` of them evenly spaced. ``keep`` may
    name every layer only when the layers are narrowed (``ffn_share`` below 1): the student is still smaller."""
    total = depth(teacher)
    if keep is not None:
        if not keep or sorted(set(keep)) != keep or keep[0] < 0 or keep[-1] >= total:
            raise ConfigError(f"{where}: --keep {','.join(map(str, keep))}: give increasing layer indices from 0 to "
                              f"{total - 1} (the teacher has {total} layers)")
        if len(keep) == total and ffn_share == 1:
            raise ConfigError(f"{where}: --keep names all {total} of the teacher's layers; keep fewer, or narrow "
                              "them with --ffn-share")
        return keep
    assert layers is not None
    if not 1 <= layers < total:
        raise ConfigError(f"{where}: --layers {layers}: the teacher has {total} layers, so the student keeps 1 to "
                          f"{total - 1} of them")
    return evenly_spaced(total, layers)


def layer_dropped(teacher: Any, keep: list[int], ffn_share: float = 1.0) -> Any:
    """A copy of the teacher (its head included) holding only the layers at ``keep``, each with ``ffn_share`` of
    its feed-forward neurons."""
    if not hasattr(teacher, "save_pretrained") or hasattr(teacher, "peft_config"):
        raise ConfigError(f"the teacher's model ({type(teacher).__name__}) is not one plain transformers model (an "
                          "adapter or virtual tokens stay apart from its weights); give --student MODEL instead")
    student = copy.deepcopy(teacher)
    keep_layers(student, keep)
    if ffn_share != 1:
        narrow_feed_forward(student, ffn_share)
    return student


def same_tokenizer(teacher: Any, student: Any) -> bool:
    """Whether both split every text into the same pieces with the same ids (same vocabulary, same kind)."""
    return teacher is student or (type(teacher).__name__ == type(student).__name__
                                  and teacher.get_vocab() == student.get_vocab())


def hidden_mapping(teacher: Any, student: Any, where: str) -> list[int]:
    """For each layer of a named student, the teacher layer whose output it matches (spread evenly); the widths
    must agree. (A layer-dropped student matches the layers it was copied from.)"""
    width_t = getattr(teacher.config, "hidden_size", None)
    width_s = getattr(student.config, "hidden_size", None)
    if width_t != width_s:
        raise ConfigError(f"{where}: --hidden-weight matches hidden states, but the student's are {width_s} wide "
                          f"and the teacher's {width_t}; drop --hidden-weight or choose a student of the same width")
    total, kept = depth(teacher), depth(student)
    return [round((j + 1) * total / kept) - 1 for j in range(kept)]
