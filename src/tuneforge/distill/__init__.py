"""Knowledge distillation: a smaller student run trained on a finished teacher run's soft outputs.

student.py builds the student (the teacher's backbone with layers dropped, or another named model),
soft_targets.py runs the teacher once over the transfer set, loss.py mixes the temperature-scaled KL with
the task's own loss (and optionally matches hidden states), recipe.py writes the student as an ordinary run.
"""
