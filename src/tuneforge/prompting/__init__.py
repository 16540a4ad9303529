"""Classification when labels are scarce: label descriptions, sentence embeddings, contrastive few-shot
training, and prompting a causal LM with a verbalizer.

- ``label_specs``: labels as names, one-line descriptions and example phrases (config or file).
- ``sentence_encoder``: the encoder with mean pooling and a head of label embeddings or a logistic layer.
- ``pair_sampling``: bounded positive pairs for contrastive few-shot training (SetFit-style).
- ``logistic_head``: the light head fitted on embeddings after training.
- ``verbalizer``: a causal LM's log-likelihood of each label's words after an instruction prompt.
- ``fewshot``: the learning curve of every approach over shots and seeds (``tuneforge fewshot``).
"""
