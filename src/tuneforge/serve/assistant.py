"""``POST /v1/assist`` and its chat page (``GET /``): the customer-service assistant over one conversation.

Request ``{"conversation_id": optional str, "message": str}``; answer ``{"conversation_id", "intent": {"label",
"probability", "out_of_scope"}, "slots": [{"type", "start", "end", "text"}], "state": {service: {"intent",
"requested_slots", "slot_values"}}, "reply", "turns"}``. With a state run (``runs.state``) the state is its
tracked dialogue state, one per conversation and service, updated with each message (the kept turns are the
context, the message is tracked); without one it is the messages' slot spans accumulated (under ``""``). Without an id
a new conversation starts; an id the server does not know (never given, or forgotten: too old, or evicted
for newer ones) answers 404, so a client never continues a conversation whose context is gone without
knowing it: it drops the id and sends the message again. Each message runs the intent and slot models at
once (and the state run), then the reply model on ``formats.reply_prompt`` of the kept turns, the message, the
intent and the state. They are ordinary served models (``assistant-intent`` …): micro-batched, limited and
timed like predict.

With ``documents:`` a message the intent run finds out of scope (or of an intent in ``documents.intents``) is
answered from the document folder instead (``assistant/answers.py``): the retriever's top passages, the reader's
most probable span over them, cited by document and character offsets (``document_answer``), or "I don't know"
under ``documents.min_score``; the reply model is not asked. The folder's index is built (or found current in
``documents.cache``) before the server answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from tuneforge.assistant.answers import answer_reply, answers_from_documents, best_answer, reader_inputs
from tuneforge.assistant.backends import BackendError, fetch_rows, load_backend, service_call, unavailable_reply
from tuneforge.assistant.config import STATE_ROLE, AssistantConfig
from tuneforge.assistant.formats import accumulated_slots, intent_text, reply_prompt
from tuneforge.assistant.grounding import rows_text
from tuneforge.assistant.memory import ConversationStore, Turn
from tuneforge.errors import ConfigError
from tuneforge.serve.errors import ServeError
from tuneforge.serve.jobs import predict_items
from tuneforge.serve.limits import check_text
from tuneforge.serve.registry import ModelRegistry
from tuneforge.serve.settings import ServeSettings

ASSIST_LABEL = "_assist"  # the /metrics label of /v1/assist requests (a name no model can have: it starts with _)


class AssistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: StrictStr | None = Field(None, max_length=64, description="omit to start a conversation")
    message: StrictStr = Field(description="the user's message")


class Intent(BaseModel):
    label: str
    probability: float
    out_of_scope: bool


class Slot(BaseModel):
    type: str
    start: int
    end: int
    text: str


class ServiceState(BaseModel):
    intent: str
    requested_slots: list[str]
    slot_values: dict[str, list[str]]


class Results(BaseModel):
    service: str
    call: dict[str, Any] = Field(description="the service call: service, method (the intent), parameters")
    rows: list[dict[str, str]]
    error: str | None = Field(None, description="why the service gave no rows (the reply says it could not reach it)")


class DocumentAnswer(BaseModel):
    answer: str | None = Field(description="the span, or null: \"I don't know\" (no span scored min_score)")
    score: float | None = Field(description="the reader's probability of the span")
    document: str | None = Field(description="the cited document: its path under documents.folder")
    start: int | None = Field(description="the answer's first character in the document's text")
    end: int | None = Field(description="one past its last character (the answer is text[start:end])")
    passage: str | None = Field(description="the passage it was read from (document#start)")


class AssistResponse(BaseModel):
    conversation_id: str
    intent: Intent
    slots: list[Slot]
    state: dict[str, ServiceState] = Field(description="per service: the dialogue state after this message")
    reply: str
    results: Results | None = Field(None, description="with a backend: the service call made after this message")
    document_answer: DocumentAnswer | None = Field(None, description="set when the message was answered from the "
                                                   "documents (out of scope for the intents)")
    turns: int = Field(description="exchanges kept for this conversation, this one included")


def check_roles(config: AssistantConfig, models: dict[str, Any]) -> None:
    """Each run must do its part, judged by its task's registry facts (never by its name)."""
    wants = {"intent": "classify texts into one label (sequence or embedding classification)",
             "slots": "tag spans in a text (token classification)", "reply": "generate replies",
             STATE_ROLE: "track dialogue states (dialogue-state)",
             "retriever": "embed queries and passages (retrieval)", "reader": "answer from a passage "
             "(question-answering)"}
    for role in config.roles():
        spec, run = models[role].spec, models[role].run
        single_label = not getattr(run.config.task_options, "multi_label", False)
        fits = {"intent": spec.inference == "class-probabilities" and spec.input_fields == ("text",)
                and not spec.streams and single_label,
                "slots": spec.inference == "token-probabilities",
                "reply": spec.streams, STATE_ROLE: spec.inference == "schema-state",
                "retriever": spec.inference == "embeddings", "reader": spec.inference == "span-logits"}[role]
        if not fits:
            raise ConfigError(f"{config.path}: runs.{role}: {run.path} is a {run.config.task} run; the {role} run "
                              f"must {wants[role]}")


def state_input(history: list[dict[str, str]], message: str, services: list[str],
                state: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The state run's input: the kept turns as context, the new message tracked for every service from the
    conversation's state so far (the task's ``track_from`` and ``state``)."""
    turns = [{"speaker": "user" if m["role"] == "user" else "system", "text": m["content"], "frames": []}
             for m in history if m["content"].strip()]  # an empty reply says nothing to track
    turns.append({"speaker": "user", "text": message, "frames": [{"service": s} for s in services]})
    return {"id": "conversation", "turns": turns, "track_from": len(turns) - 1, "state": state}


def ready_call(state: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """The service call the state asks for: the first service whose active intent has every required slot."""
    for service, frame in state.items():
        schema = schemas.get(service)
        intent = next((i for i in schema.intents if i.name == frame["intent"]), None) if schema else None
        if intent is None:
            continue
        values = {slot: v[0] for slot, v in frame["slot_values"].items() if v and v[0] != "dontcare"}
        if all(slot in values for slot in intent.required_slots):
            return service_call(service, intent.name, values)
    return None


def current_models(config: AssistantConfig, registry: ModelRegistry) -> dict[str, Any]:
    """The loaded models of the assistant's roles, looked up now: a model unloaded and loaded again by name is the
    new one (a reference kept from the start would keep the old, unloaded model alive and answer 503 forever)."""
    models = {}
    for role in config.roles():
        model = registry.models.get(config.model_name(role))
        if model is None:
            raise ServeError(503, f"the assistant's {role} model {config.model_name(role)!r} is not loaded; load it "
                                  "again (POST /v1/models)", {"Retry-After": str(registry.settings.retry_after_s)},
                             kind="unloading")
        models[role] = model
    return models


def add_assistant(app: FastAPI, config: AssistantConfig, registry: ModelRegistry, settings: ServeSettings) -> None:
    check_roles(config, {role: registry.get(config.model_name(role)) for role in config.roles()})
    registry.required.update(config.model_name(role) for role in config.roles())  # /readyz: not ready without them
    services = config.tracked_services() if config.runs.state else []
    if config.documents:
        from tuneforge.assistant.document_index import ensure_document_index

        app.state.document_index = ensure_document_index(config, registry.get(config.model_name("retriever")).run)
    limits = config.memory
    store = ConversationStore(limits.max_turns, limits.max_age_s, limits.max_conversations)
    app.state.conversations = store
    backend = load_backend(config.backend, config.path.parent) if config.backend else None

    @app.post("/v1/assist", response_model=AssistResponse)
    async def assist(body: AssistRequest, request: Request) -> dict[str, Any]:
        """Intent, slots and a drafted reply for the next message of a conversation."""
        async with app.state.metrics.counted(ASSIST_LABEL):
            return await _assist(body, request)

    async def _assist(body: AssistRequest, request: Request) -> dict[str, Any]:
        message = check_text(body.message, "message", settings)
        if app.state.text_log is not None:
            await run_in_threadpool(app.state.text_log, "assist", [message])
        models = current_models(config, registry)
        try:
            check_roles(config, models)  # a run loaded again under a role's name must still do that role's part
        except ConfigError as exc:
            raise ServeError(503, str(exc), kind="unloading") from None
        gone = request.is_disconnected
        if body.conversation_id is None:
            conversation = store.new()
        else:
            conversation = store.get(body.conversation_id)
            if conversation is None:
                raise ServeError(404, "conversation_id: unknown or forgotten conversation (too old, or evicted); "
                                      "send the message without it to start a new one")
        history = conversation.messages()
        jobs = [predict_items(models["intent"], [intent_text([*conversation.user_messages(), message])], settings,
                              gone),
                predict_items(models["slots"], [message], settings, gone)]
        if STATE_ROLE in models:
            jobs.append(predict_items(models[STATE_ROLE], [state_input(history, message, services,
                                                                       conversation.state)], settings, gone))
        intent_of, slots_of, *tracked = await asyncio.gather(*jobs)
        found = intent_of[0]
        intent = {"label": found["label"], "probability": found["probability"],
                  "out_of_scope": bool(found.get("out_of_scope", False))}
        slots = [{k: e[k] for k in ("type", "start", "end", "text")} for e in slots_of[0]["entities"]]
        if tracked:
            state = {f["service"]: {k: f[k] for k in ("intent", "requested_slots", "slot_values")}
                     for f in tracked[0][0]["turns"][-1]["frames"]}
            values = {name: {slot: v[0] for slot, v in s["slot_values"].items()} for name, s in state.items()}
        else:
            earlier = {slot: v[0] for slot, v in conversation.state.get("", {}).get("slot_values", {}).items()}
            values = {"": accumulated_slots(earlier, slots)}
            state = {"": {"intent": intent["label"], "requested_slots": [],
                          "slot_values": {slot: [v] for slot, v in values[""].items()}}}
        results, document_answer = None, None
        if config.documents and answers_from_documents(intent, config.documents):
            document_answer = await _from_documents(message, models, gone)
            reply = answer_reply(document_answer)
        else:
            if backend is not None and tracked:
                call = ready_call(state, models[STATE_ROLE].run.task.schemas)
                if call is not None:
                    results = {"service": call["service"], "call": call, "rows": [], "error": None}
                    try:
                        results["rows"] = await fetch_rows(backend, call, config.backend)
                    except BackendError as exc:
                        results["error"] = str(exc)
            if results is not None and results["error"]:
                reply = unavailable_reply(results["service"])  # never a reply made up without the rows it needs
            else:
                prompt = reply_prompt(history, message, intent["label"], values,
                                      rows_text(results["rows"]) if results is not None else None)
                reply = (await predict_items(models["reply"], [{"prompt": prompt}], settings, gone))[0]["reply"]
        turns = store.add(conversation, Turn(message, reply, intent, slots), state)
        return {"conversation_id": conversation.id, "intent": intent, "slots": slots, "state": state,
                "reply": reply, "results": results, "document_answer": document_answer, "turns": turns}

    async def _from_documents(message: str, models: dict[str, Any], gone) -> dict[str, Any]:
        passages = (await predict_items(models["retriever"], [message], settings, gone))[0]["passages"]
        readings = await predict_items(models["reader"], reader_inputs(message, passages), settings, gone)
        return best_answer(passages, readings, config.documents.min_score)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        from tuneforge.serve.chat_page import PAGE

        return HTMLResponse(PAGE, headers={"Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
                                           "style-src 'unsafe-inline'; connect-src 'self'"})
