"""The chat page in a real browser: Debian's chromium, headless, driven by Selenium through the system's
chromedriver (``make setup`` installs both; nothing is downloaded at run time). A real uvicorn server on a
free loopback port serves three tiny runs; a typed message shows its intent, a highlighted slot and a reply.
Two-step tiny models may find no slot and draft an empty reply, so the slot and reply models' answers are
fixed here (the page is under test; tests/test_assistant.py tests the models' part); the intent is the real
run's.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest
from test_assistant import assistant_file, train_assistant_runs

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (make setup installs them)")
webdriver = pytest.importorskip("selenium.webdriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model, tiny_llama):
    import uvicorn

    from tuneforge.serve.app import create_app
    from tuneforge.serve.settings import ServeSettings

    tmp = tmp_path_factory.mktemp("browser")
    runs = train_assistant_runs(tmp, tiny_model, tiny_llama)
    app = create_app(ServeSettings(assistant=assistant_file(tmp, runs)))
    models = app.state.registry.models
    models["assistant-slots"].batcher.predict = lambda texts: [
        {"text": t, "entities": [{"type": "location", "start": t.index("Paris"), "end": t.index("Paris") + 5,
                                  "text": "Paris", "score": 0.9}] if "Paris" in t else []} for t in texts]
    models["assistant-reply"].batcher.predict = lambda items: [{"prompt": i["prompt"], "reply": "Paris is lovely."}
                                                                for i in items]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(3000):  # a bound on the wait for the socket to open, not a timing assertion
        if server.started:
            break
        started.wait(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def browser(monkeypatch):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch drivers or browsers
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_a_typed_message_shows_intent_slots_and_reply(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    box = browser.find_element(By.ID, "message")
    message = "Alice lives in Paris <b>bold</b>"
    box.send_keys(message)
    browser.find_element(By.ID, "send").click()
    wait = WebDriverWait(browser, 60)  # an upper bound for the tiny models on a busy CPU, not a timing check
    label = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".exchange .intent-label")))
    assert label.text.strip()
    reply = browser.find_element(By.CSS_SELECTOR, ".exchange .reply")
    user_text = browser.find_element(By.CSS_SELECTOR, ".exchange .user-text")
    assert user_text.text.replace("\n", " ").startswith("Alice")  # shown as text: no <b> element was made
    assert not browser.find_elements(By.CSS_SELECTOR, ".exchange b")
    assert "<b>bold</b>" in user_text.get_attribute("textContent")
    assert reply.text == "Paris is lovely."
    marks = browser.find_elements(By.CSS_SELECTOR, ".exchange mark.slot")
    assert [m.get_attribute("textContent") for m in marks] == ["Paris"]
    answer = browser.execute_script(
        "return fetch('v1/assist', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({message: arguments[0]})}).then(r => r.json())", message)
    assert answer["intent"]["label"] == label.text.strip()  # the page shows what the API answers
    assert len(marks) == len(answer["slots"])
    for mark, slot in zip(marks, answer["slots"], strict=True):
        assert mark.get_attribute("textContent") == slot["text"] and mark.get_attribute("data-type") == slot["type"]
    assert os.environ.get("SE_OFFLINE") == "true"
