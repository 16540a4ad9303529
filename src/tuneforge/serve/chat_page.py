'''The assistant's chat page, served at ``GET /`` with ``--assistant``: plain HTML and JavaScript, no build step
and nothing fetched from elsewhere. Every text from the user or a model goes in with ``textContent`` (never
``innerHTML``), so a message is shown, never run.

Per message it shows the message with its slot spans highlighted (``mark.slot``, the type in ``data-type``
and the title), the intent with its confidence (flagged when out of scope) and the drafted reply; beside the
log, the dialogue state (``table#state``: service, intent, slot, value), redrawn after every message, with the
values that message changed marked (``tr.changed``).
'''

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tuneforge assistant</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; }
  #log { display: flex; flex-direction: column; gap: .8rem; margin-bottom: 1rem; }
  .exchange { border: 1px solid #ddd; border-radius: .4rem; padding: .6rem .8rem; }
  .user-text { font-weight: 600; }
  .intent { color: #555; font-size: .9rem; margin: .3rem 0; }
  .intent.oos { color: #a33; }
  .reply { background: #f4f6fa; border-radius: .3rem; padding: .4rem .6rem; white-space: pre-wrap; }
  mark.slot { background: #ffe58a; border-radius: .2rem; padding: 0 .1rem; }
  mark.slot::after { content: attr(data-type); font-size: .65rem; color: #775; margin-left: .2rem; }
  .error { color: #a33; }
  form { display: flex; gap: .5rem; }
  #message { flex: 1; padding: .5rem; font-size: 1rem; }
  #state { border-collapse: collapse; font-size: .85rem; margin-bottom: 1rem; }
  #state caption { text-align: left; font-weight: 600; margin-bottom: .2rem; }
  #state th, #state td { border: 1px solid #ddd; padding: .15rem .4rem; text-align: left; }
  #state tr.changed td { background: #eaf6ea; }
</style>
</head>
<body>
<h1>Customer-service assistant</h1>
<div id="log" aria-live="polite"></div>
<table id="state"><caption>Dialogue state</caption>
  <thead><tr><th>service</th><th>intent</th><th>slot</th><th>value</th></tr></thead><tbody></tbody></table>
<form id="form">
  <input id="message" name="message" autocomplete="off" placeholder="Type a message" maxlength="20000" required>
  <button id="send" type="submit">Send</button>
  <button id="new" type="button" title="forget this conversation">New</button>
</form>
<script>
"use strict";
let conversationId = null;
const log = document.getElementById("log");
const input = document.getElementById("message");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function highlighted(message, slots) {
  // The server's offsets count code points (Python); a JS string counts UTF-16 units, two for an emoji.
  const text = Array.from(message);
  const cut = (start, end) => text.slice(start, end).join("");
  const out = el("div", "user-text");
  let at = 0;
  const spans = slots.slice().sort((a, b) => a.start - b.start);
  for (const slot of spans) {
    if (slot.start < at || slot.end > text.length) continue;
    out.appendChild(document.createTextNode(cut(at, slot.start)));
    const mark = el("mark", "slot", cut(slot.start, slot.end));
    mark.dataset.type = slot.type;
    mark.title = slot.type;
    out.appendChild(mark);
    at = slot.end;
  }
  out.appendChild(document.createTextNode(cut(at)));
  return out;
}

let shownState = {};

function showState(state) {
  const body = document.querySelector("#state tbody");
  body.replaceChildren();
  for (const [service, frame] of Object.entries(state || {})) {
    const slots = Object.entries(frame.slot_values || {});
    const rows = slots.length ? slots : [["", [""]]];
    for (const [slot, values] of rows) {
      const before = ((shownState[service] || {}).slot_values || {})[slot];
      const row = el("tr", slot && JSON.stringify(before) !== JSON.stringify(values) ? "changed" : "");
      for (const cell of [service || "(slots)", frame.intent, slot, values.join(" / ")]) {
        row.appendChild(el("td", "", cell));
      }
      body.appendChild(row);
    }
  }
  shownState = state || {};
}

async function ask(message) {
  const body = {message: message};
  if (conversationId) body.conversation_id = conversationId;
  const response = await fetch("v1/assist", {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify(body)});
  const data = await response.json().catch(() => ({error: "the server answered " + response.status}));
  return {status: response.status, data: data};
}

async function send(message) {
  const box = el("div", "exchange");
  box.appendChild(el("div", "user-text", message));
  log.appendChild(box);
  let answer = await ask(message);
  if (answer.status === 404 && conversationId) {  // the server forgot the conversation: start a new one
    conversationId = null;
    answer = await ask(message);
  }
  if (answer.status !== 200) {
    box.appendChild(el("div", "error", answer.data.error || ("error " + answer.status)));
    return;
  }
  const data = answer.data;
  conversationId = data.conversation_id;
  box.replaceChildren(highlighted(message, data.slots));
  const confidence = Math.round(data.intent.probability * 100);
  const intent = el("div", "intent" + (data.intent.out_of_scope ? " oos" : ""));
  intent.appendChild(document.createTextNode("intent: "));
  intent.appendChild(el("span", "intent-label", data.intent.label));
  intent.appendChild(document.createTextNode(" (" + confidence + "%" +
                                              (data.intent.out_of_scope ? ", out of scope" : "") + ")"));
  box.appendChild(intent);
  box.appendChild(el("div", "reply", data.reply));
  showState(data.state);
}

document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = input.value;
  if (!message.trim()) return;
  input.value = "";
  input.disabled = true;
  try { await send(message); }
  catch (error) { log.appendChild(el("div", "error", String(error))); }
  finally { input.disabled = false; input.focus(); }
});
document.getElementById("new").addEventListener("click", () => {
  conversationId = null;
  log.replaceChildren();
  showState({});
});
</script>
</body>
</html>
"""
