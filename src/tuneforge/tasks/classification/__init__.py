"""What the label-set tasks share: labels.json and task.json, metrics, thresholds, out-of-scope, worst errors,
the data check of labelled texts."""
