"""The model server: ``tuneforge serve RUN ...`` answers predictions over HTTP (FastAPI, run by uvicorn).

settings.py    what the command line sets (limits, queue, key, CORS)
registry.py    the loaded models: whole runs, or LoRA/IA3 adapters sharing one backbone per base model
batching.py    dynamic micro-batching: one worker thread and one bounded queue per model
limits.py      checks of request bodies and items before anything is queued
metrics.py     Prometheus counters and histograms, written as text by hand
errors.py      the one error shape every failure answers with: ``{"error": "..."}``
app.py         ``create_app(settings)``: the endpoints
"""
