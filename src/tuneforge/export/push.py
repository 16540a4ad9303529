"""Upload a finished run to the Hugging Face hub: its model folder (weights, tokenizer, model card) at the top of
the repository, with report.json and config.yaml beside it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tuneforge.errors import RunError

RUN_FILES = ("report.json", "config.yaml")  # uploaded beside the model folder's files


def push_run(run_dir: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Create ``repo_id`` (if missing) and upload the run to it in one commit; returns the commit's URL."""
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HTTPError

    from tuneforge.runs.directory import run_info

    run_dir = Path(run_dir)
    info = run_info(run_dir)
    if info.get("status") != "complete" or not (run_dir / "model").is_dir():
        raise RunError(f"{run_dir}: the run did not complete (status: {info.get('status')}); only a finished run "
                       "can be pushed")
    token = token or get_token()
    if not token:
        raise RunError("push needs a Hugging Face token: pass --token, set HF_TOKEN, or run `hf auth login`")
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    with tempfile.TemporaryDirectory(prefix="tuneforge-push-") as staging:
        folder = _stage(run_dir, Path(staging))
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(repo_id=repo_id, folder_path=folder,
                                       commit_message=f"Upload tuneforge run {run_dir.name}")
        except (HTTPError, OSError, ValueError) as exc:  # HTTP status, no network, offline mode, a bad repo id
            raise RunError(f"push to {repo_id} failed: {_first_line(exc)}") from None
    return str(getattr(commit, "commit_url", None) or commit)


def _stage(run_dir: Path, staging: Path) -> Path:
    """What the repository holds, as one folder: links to the run's files (copies where links cannot be made)."""
    folder = staging / "repo"
    folder.mkdir()
    sources = [p for p in sorted((run_dir / "model").rglob("*")) if p.is_file()]
    for path in sources:
        _place(path, folder / path.relative_to(run_dir / "model"))
    for name in RUN_FILES:
        if (run_dir / name).is_file():
            _place(run_dir / name, folder / name)
    return folder


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
