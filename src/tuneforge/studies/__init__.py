"""Many runs of one recipe: compare methods, few-shot learning curves, hyperparameter search (tune/)."""
