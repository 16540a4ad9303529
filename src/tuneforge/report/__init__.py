"""The run's report.html and its figures."""
