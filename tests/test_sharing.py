"""Sharing a run: the model card, no machine paths in what is shared, relative config paths, file modes, push."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SENTENCES, make_config, write_conll

import tuneforge
from tuneforge.cli import main


def front_matter(card: str) -> tuple[dict, str]:
    assert card.startswith("---\n")
    head, _, text = card[4:].partition("\n---\n")
    return yaml.safe_load(head), text


def one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("tuneforge:")]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model) -> Path:
    """A project folder: config.yaml, its data beside it, runs/ below it; a LoRA run and a full run in it."""
    root = tmp_path_factory.mktemp("project")
    data = {"train": write_conll(root / "train.conll", SENTENCES * 4),
            "dev": write_conll(root / "dev.conll", SENTENCES[:2]),
            "test": write_conll(root / "test.conll", SENTENCES[2:])}
    config = make_config(root, tiny_model, data, epochs=1)
    tuneforge.train(config, ["method=lora", "name=lora"])
    tuneforge.train(config, ["method=full", "name=full"])
    return root


def test_card_has_hub_metadata_and_the_reports_numbers(project):
    run = project / "runs" / "lora"
    meta, text = front_matter((run / "model" / "README.md").read_text(encoding="utf-8"))
    assert meta["library_name"] == "peft"
    assert meta["pipeline_tag"] == "token-classification"
    assert {"lora", "peft", "tuneforge"} <= set(meta["tags"])
    assert "base_model" not in meta and "a local model" in text  # the tiny model is a folder with no public name
    assert str(project) not in text and "/tmp" not in text
    report = json.loads((run / "report.json").read_text())
    assert "train `train.conll`, dev `dev.conll` (2 sentences), test `test.conll` (2 sentences)" in text
    assert f"{report['training']['trainable_parameters']:,} of {report['training']['total_parameters']:,}" in text
    assert "tuneforge train config.yaml" in text and "PeftModel.from_pretrained" in text
    assert f"tuneforge {tuneforge.__version__}" in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "metric" not in line]
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table)}
    assert set(rows) == {k for k, v in report["dev"].items() if isinstance(v, float)}
    for metric, (dev, test) in rows.items():
        assert float(dev) == pytest.approx(report["dev"][metric], abs=5e-5)
        assert float(test) == pytest.approx(report["test"][metric], abs=5e-5)

    meta, text = front_matter((project / "runs" / "full" / "model" / "README.md").read_text(encoding="utf-8"))
    assert meta["library_name"] == "transformers" and "peft" not in meta["tags"]
    assert "AutoModelForTokenClassification.from_pretrained" in text


def test_every_task_names_its_pipeline_tag():
    from tuneforge.tasks import TASKS

    assert all(spec.pipeline_tag for spec in TASKS.values())


def test_base_model_is_a_public_name_never_a_path(tmp_path, tiny_model):
    from tuneforge.config.loading import validate
    from tuneforge.models import public_name, resolve
    from tuneforge.runs.model_card import metadata

    assert public_name("minilm") == "sentence-transformers/all-MiniLM-L6-v2"
    assert public_name(resolve("minilm")) == "sentence-transformers/all-MiniLM-L6-v2"  # the bundled folder itself
    assert public_name("prajjwal1/bert-tiny") == "prajjwal1/bert-tiny"
    assert public_name(str(tmp_path / "gone")) is None
    assert public_name(tiny_model) is None
    recorded = tmp_path / "copy"
    shutil.copytree(tiny_model, recorded)
    config = json.loads((recorded / "config.json").read_text())
    (recorded / "config.json").write_text(json.dumps({**config, "_name_or_path": "prajjwal1/bert-tiny"}))
    assert public_name(str(recorded)) == "prajjwal1/bert-tiny"
    (recorded / "config.json").write_text(json.dumps({**config, "_name_or_path": str(tmp_path / "elsewhere")}))
    assert public_name(str(recorded)) is None

    cfg = validate({"task": "sequence-classification", "method": "bitfit", "data": {"train": "x"},
                    "model": {"name": "minilm"}})
    meta = metadata(cfg)
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["pipeline_tag"] == "text-classification"
    assert "library_name" not in meta  # bitfit's tensors load with tuneforge only


def test_adapter_config_names_no_local_path_and_the_run_still_loads(project, tmp_path, tiny_model):
    from tuneforge.methods.saving import _publish_base_name

    run = project / "runs" / "lora"
    adapter = json.loads((run / "model" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] is None  # the tiny model has no public name
    for path in (run / "model").iterdir():
        if path.suffix in (".json", ".md"):
            assert tiny_model not in path.read_text(encoding="utf-8"), path.name
    loaded = tuneforge.load_run(run)
    assert len(loaded.predict(["Alice lives in Paris ."])) == 1
    assert tuneforge.load_run(run, merge=False) is not None

    copy = tmp_path / "adapter_config.json"
    copy.write_text(json.dumps({**adapter, "base_model_name_or_path": "/site-packages/x/model"}))
    _publish_base_name(copy, "minilm")
    assert json.loads(copy.read_text())["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_weight_files_get_the_mode_of_the_other_files(project):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("lora", "full"):
        modes = {p.name: p.stat().st_mode & 0o777 for p in (project / "runs" / name / "model").iterdir()}
        assert any(n.endswith(".safetensors") for n in modes)
        assert set(modes.values()) == {0o666 & ~umask}, modes


def test_run_config_keeps_paths_relative_and_the_moved_project_still_works(project, tmp_path, monkeypatch, capsys):
    saved = yaml.safe_load((project / "runs" / "lora" / "config.yaml").read_text())
    assert saved["data"]["train"] == "../../train.conll" and saved["data"]["test"] == "../../test.conll"
    assert saved["output_dir"] == ".."

    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = moved / "runs" / "lora"
    cfg = tuneforge.load_run(run).config
    assert cfg.data.dev == str(moved / "dev.conll")  # found from the run, not from where it was trained
    code = main(["evaluate", str(run), "--data", "../moved/dev.conll", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out) == json.loads((run / "report.json").read_text())["dev"]
    assert main(["predict", str(run), "Alice lives in Paris ."]) == 0


def test_resume_finds_the_data_of_a_moved_project(tmp_path, tiny_model, monkeypatch):
    import tuneforge.api

    root = tmp_path / "proj"
    root.mkdir()
    data = {"train": write_conll(root / "train.conll", SENTENCES * 4),
            "dev": write_conll(root / "dev.conll", SENTENCES[:2])}
    config = make_config(root, tiny_model, data, epochs=1)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(tuneforge.api, "finish_run", killed)
        with pytest.raises(KeyboardInterrupt):
            tuneforge.train(config)
    shutil.move(root, tmp_path / "moved")
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "moved" / "runs" / "t"
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    assert tuneforge.train(resume=run) == run
    assert json.loads((run / "run.json").read_text())["status"] == "complete"


def test_paths_the_user_wrote_relative_stay_relative_outside_the_project(tmp_path, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.runs.directory import start_run

    shared = tmp_path / "shared"
    shared.mkdir()
    write_conll(shared / "train.conll", SENTENCES)
    absolute = write_conll(tmp_path / "abs.conll", SENTENCES)
    project = tmp_path / "project"
    project.mkdir()
    config = project / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": tiny_model}, "output_dir": "out",
                                      "data": {"train": "../shared/train.conll", "dev": str(absolute)}}))
    run = start_run(load_config(config), config)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["train"] == "../../../shared/train.conll"  # written relative: kept relative
    assert saved["data"]["dev"] == str(absolute)  # written absolute, outside the project: kept
    assert load_config(run / "config.yaml").data.train == str(shared / "train.conll")


class Recorder:
    def __init__(self, monkeypatch):
        from huggingface_hub import HfApi

        self.calls: list[tuple[str, dict]] = []
        recorder = self

        def create_repo(api, repo_id, **kwargs):
            recorder.calls.append(("create_repo", {"repo_id": repo_id, "token": api.token, **kwargs}))

        def upload_folder(api, **kwargs):
            folder = Path(kwargs["folder_path"])
            files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
            recorder.calls.append(("upload_folder", {**kwargs, "files": files}))
            return "https://hub.example/commit/1"

        monkeypatch.setattr(HfApi, "create_repo", create_repo)
        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)


def test_push_uploads_the_model_folder_report_and_config(project, monkeypatch, capsys):
    recorder = Recorder(monkeypatch)
    run = project / "runs" / "lora"
    assert main(["push", str(run), "--repo", "me/tiny-ner", "--private", "--token", "hf_test"]) == 0
    (create, created), (upload, uploaded) = recorder.calls
    assert create == "create_repo" and upload == "upload_folder"
    assert created == {"repo_id": "me/tiny-ner", "token": "hf_test", "private": True, "exist_ok": True}
    assert uploaded["repo_id"] == "me/tiny-ner" and uploaded["commit_message"] == "Upload tuneforge run lora"
    expected = {p.name for p in (run / "model").iterdir()} | {"report.json", "config.yaml"}
    assert set(uploaded["files"]) == expected and "README.md" in expected
    assert uploaded["files"]["adapter_model.safetensors"] == (run / "model" / "adapter_model.safetensors").read_bytes()
    assert uploaded["files"]["report.json"] == (run / "report.json").read_bytes()
    assert "https://hub.example/commit/1" in capsys.readouterr().err


def test_push_failures_are_one_line(project, tmp_path, monkeypatch, capsys):
    import httpx2
    import huggingface_hub
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    run = project / "runs" / "lora"
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished)
    (unfinished / "run.json").write_text(json.dumps({"status": "running"}))
    code = main(["push", str(unfinished), "--repo", "me/x", "--token", "hf_test"])
    one_line_error(code, capsys.readouterr().err, "did not complete")

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    code = main(["push", str(run), "--repo", "me/x"])
    one_line_error(code, capsys.readouterr().err, "token")

    def refused(api, repo_id, **kwargs):
        url = "https://hub.example/api/repos/create"
        response = httpx2.Response(401, request=httpx2.Request("POST", url))
        raise HfHubHTTPError(f"401 Client Error: Unauthorized for url: {url}\n"
                             "Invalid credentials in Authorization header", response=response)

    monkeypatch.setattr(HfApi, "create_repo", refused)
    code = main(["push", str(run), "--repo", "me/x", "--token", "hf_bad"])
    one_line_error(code, capsys.readouterr().err, "push to me/x failed", "401")
    monkeypatch.undo()

    # no network: a closed local port (or, under HF_HUB_OFFLINE, the hub client's offline refusal)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    code = main(["push", str(run), "--repo", "me/x", "--token", "hf_test"])
    one_line_error(code, capsys.readouterr().err, "push to me/x failed")
