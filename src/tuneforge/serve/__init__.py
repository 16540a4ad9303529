"""The model server: ``tuneforge serve RUN ...`` answers predictions over HTTP (FastAPI, run by uvicorn).

settings.py    what the command line sets (limits, queue, key, CORS)
registry.py    the loaded models: whole runs, or LoRA/IA3 adapters sharing one backbone per base model
batching.py    dynamic micro-batching: one worker thread and one bounded queue per model
limits.py      checks of request bodies and items before anything is queued
metrics.py     Prometheus counters and histograms, written as text by hand
errors.py      the one error shape every failure answers with: ``{"error": "..."}``
streaming.py   streamed replies as Server-Sent Events, stopped on timeout or when the client leaves
app.py         ``create_app(settings)``: the endpoints
openai_routes.py    the OpenAI-compatible API: /v1/chat/completions, /v1/completions (docs/serving-openai.md)
openai_schemas.py   its request bodies, and the parameters a run cannot honour (a 400)
openai_decoding.py  a request's messages or prompts and the decoding it asks for, on top of the run's
openai_chunks.py    its responses and streamed chunks
openai_errors.py    OpenAI's error shape, on those paths (middlewares included)
"""
