"""``predict --input`` at any size: streamed in chunks, resumable, and sharded across processes.

Two passes over the input, each reading one line at a time (``data.text_file.iter_lines``), so memory does
not grow with the file:

1. check: every item is checked with the rules and messages of ``read_inputs`` and counted, before any
   model loads or any file is written — a bad line is a one-line error naming the file and line;
2. predict: items go to ``Run.predict`` ``chunk_size`` at a time; each chunk's JSON lines are appended to a
   hidden partial file beside the output (``.OUT.partial``), flushed and fsynced. When the last chunk is in,
   the partial file is renamed onto the output, with the mode ``atomic.write_text`` would give it. Without
   ``--output`` each chunk goes to stdout as soon as it is predicted.

Resume (``--resume``): the partial file's complete chunks are kept (a torn last chunk is cut off and predicted
again) and prediction continues after them. Chunks start at fixed multiples of ``chunk_size``, so a resumed
output is byte for byte the one an uninterrupted run writes: no line twice, none missing. The input items
behind the kept lines must be the ones predicted (input_digest.py): an input edited in between is refused.

Sharding: under ``accelerate launch`` / ``torchrun`` (``WORLD_SIZE`` > 1) process k of N predicts the k-th
contiguous block of the items into its own partial file (``.OUT.shard-K-of-N.partial``, renamed to
``.OUT.shard-K-of-N`` when complete); after a barrier the main process concatenates the shards in input
order into the output and removes them. Every process reads the input itself, so on several machines the
input and the output's folder must be on a shared file system. Resume works per shard (with the same N).

Tasks whose inputs are read by their own reader (``TaskSpec.input_reader_path``: generation's chat
"messages") keep the whole-file read and check, then predict in chunks as above.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError, DataError, RunError
from tuneforge.prediction.input_digest import InputDigest

CHUNK_SIZE = 1000  # items per Run.predict call and per fsync of the output
BARRIER_TIMEOUT_H = 72  # shards can finish far apart (a resumed shard with most of its work already done)


# reading -------------------------------------------------------------------------------------------------

def check_item(problems, number: int, record: dict[str, Any], required: tuple[str, ...],
               optional: tuple[str, ...]) -> Any:
    """The predict item of one JSONL record (``TaskSpec.input_fields``), or None after telling ``problems``."""
    missing = [f for f in required if not isinstance(record.get(f), str)]
    wrong = [f for f in optional if record.get(f) is not None and not isinstance(record.get(f), str)]
    if missing:
        problems.add(number, f"expected an object with {' and '.join(repr(f) for f in required)} strings "
                             f"({', '.join(missing)} missing or not a string)")
        return None
    if wrong:
        problems.add(number, f"{', '.join(repr(f) for f in wrong)} must be a string")
        return None
    if len(required) > 1:
        return {f: record[f] for f in required}
    text = record[required[0]]
    extra = [record.get(f) for f in optional if record.get(f) is not None]
    return (text, *extra) if extra else text


def file_items(path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Iterator[tuple[int, Any]]:
    """(line number, item) of each item of a JSONL file, read and checked one line at a time; the first bad
    line is a DataError naming the file and line."""
    from tuneforge.data.examples import Problems
    from tuneforge.data.text_file import iter_json_objects

    problems = Problems(path, strict=True)
    for number, record in iter_json_objects(path, problems):
        item = check_item(problems, number, record, required, optional)
        if item is not None:
            yield number, item


@dataclass
class Inputs:
    """What one ``predict`` call predicts, in order: the command line's items, then those of ``--input``."""

    path: str
    prefix: list[Any]  # texts (or --question/--context) given on the command line, predicted first
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    listed: list[Any] | None = None  # a task with its own reader: the file's items, read whole
    total: int = 0

    @classmethod
    def of(cls, spec, path: str, prefix: list[Any]) -> Inputs:
        if spec.input_reader_path:
            return cls(path, list(prefix), listed=spec.read_inputs(path))
        return cls(path, list(prefix), spec.input_fields, spec.optional_input_fields)

    def count(self, bar=None) -> int:
        """The check pass: reads the whole input (one line at a time), checks every item, counts them."""
        if self.listed is not None:
            n = len(self.listed)
        else:
            n = 0
            for _ in file_items(self.path, self.required, self.optional):
                n += 1
                if bar is not None:
                    bar.update()
        self.total = len(self.prefix) + n
        return self.total

    def items(self, start: int, stop: int) -> Iterator[tuple[Any, str]]:
        """(item, where it came from) for items ``start``..``stop`` (0-based, ``stop`` excluded)."""
        n = len(self.prefix)
        for i in range(start, min(stop, n)):
            yield self.prefix[i], f"input {i + 1}"
        if stop <= n:
            return
        begin = max(start - n, 0)
        if self.listed is not None:
            for j in range(begin, stop - n):
                yield self.listed[j], f"input {n + j + 1}"
            return
        for number, item in islice(file_items(self.path, self.required, self.optional), begin, stop - n):
            yield item, f"{self.path}:{number}"


# the files -------------------------------------------------------------------------------------------

_SHARD = re.compile(r"\.shard-(\d+)-of-(\d+)(\.partial)?$")


@dataclass
class Outputs:
    """The files one process writes: ``partial`` while predicting; ``done`` (a shard) once complete."""

    output: Path
    rank: int
    world: int

    @property
    def partial(self) -> Path:
        return self._file(self.rank, ".partial")

    @property
    def done(self) -> Path:
        return self._file(self.rank, "")

    def _file(self, rank: int, suffix: str) -> Path:
        if self.world == 1:
            return self.output.with_name(f".{self.output.name}.partial")
        return self.output.with_name(f".{self.output.name}.shard-{rank + 1}-of-{self.world}{suffix}")

    def leftovers(self) -> list[Path]:
        """Partial files of this output from an earlier predict (a different number of processes too)."""
        folder = self.output.parent
        if not folder.is_dir():
            return []
        head = f".{self.output.name}."
        found = []
        for p in sorted(folder.iterdir()):
            if p.name == f"{head}partial" or (p.name.startswith(head) and _SHARD.fullmatch(p.name[len(head) - 1:])):
                found.append(p)
        return found

    def check_leftovers(self, resume: bool) -> None:
        """Refuse to start over an interrupted predict's files without --resume, or to resume with another
        number of processes than the one that wrote them."""
        mine = {self._file(k, s).name for k in range(self.world) for s in ((".partial", "") if self.world > 1
                                                                          else (".partial",))}
        left = self.leftovers()
        foreign = [p for p in left if p.name not in mine]
        if foreign:
            m = _SHARD.search(foreign[0].name)
            n = int(m[2]) if m else 1
            raise ConfigError(f"{foreign[0]}: left by an interrupted predict with {n} process(es); resume it with "
                              f"{n} (--resume), or delete it to start over")
        if left and not resume:
            raise ConfigError(f"{left[0]}: an interrupted predict left this partial output; add --resume to "
                              "continue it, or delete it to start over")

    def resume_point(self, size: int, chunk_size: int, recorded: set[int] | None = None) -> int:
        """How many of this process's ``size`` items are already predicted: those of the partial file's complete
        chunks (the file is cut after them: a torn chunk is predicted again, the same way). ``recorded``: the
        line counts whose input digest is known; the cut falls on one of them (another --chunk-size may have
        written the file), so every kept line is checked against the input."""
        if self.world > 1 and self.done.is_file():
            return _count_lines(self.done, size)
        if not self.partial.is_file():
            return 0
        lines = keep = cut = offset = 0
        with self.partial.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # the line being written when the process was killed
                lines += 1
                offset += len(raw)
                if (lines % chunk_size == 0 or lines == size) if recorded is None else lines in recorded:
                    keep, cut = lines, offset
        if lines > size:
            raise ConfigError(f"{self.partial}: holds {lines} predictions but this input has {size} items "
                              "(for this process); it comes from another input: delete it")
        os.truncate(self.partial, cut)
        return keep


def _count_lines(path: Path, size: int) -> int:
    with path.open("rb") as f:
        n = sum(1 for _ in f)
    if n != size:
        raise ConfigError(f"{path}: holds {n} predictions but this input has {size} items for it; it comes from "
                          "another input: delete it")
    return n


def _open_append(path: Path, mode: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, mode)
    return os.fdopen(fd, "ab")


def _merge(outputs: Outputs) -> None:
    """Concatenate the complete shards in input order into the output (a temp file, then one rename)."""
    import shutil
    import tempfile

    from tuneforge.util.atomic import _mode_for

    shards = [outputs._file(k, "") for k in range(outputs.world)]
    missing = [s for s in shards if not s.is_file()]
    if missing:
        raise RunError(f"{missing[0]}: a shard is missing after every process finished; the processes must share "
                       "the output's folder")
    out = outputs.output
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _mode_for(out))
        with os.fdopen(fd, "wb") as f:
            for shard in shards:
                with shard.open("rb") as src:
                    shutil.copyfileobj(src, f, 1 << 20)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for shard in shards:
        shard.unlink(missing_ok=True)


def _stamp(path: str) -> tuple[int, int] | None:
    """Size and modification time of the input, to notice a file changed between the two passes."""
    try:
        st = os.stat(path)
    except OSError:  # pkg: data, or gone (then reading it has already said so)
        return None
    return st.st_size, st.st_mtime_ns


# predicting ------------------------------------------------------------------------------------------

_INPUT_ERROR = re.compile(r"input (\d+): (.*)", re.S)


def _predict_chunk(run, chunk: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """``run.predict`` of one chunk; a task's "input K: ..." error is told with the item's file and line."""
    try:
        return run.predict([item for item, _ in chunk])
    except DataError as exc:
        m = _INPUT_ERROR.fullmatch(str(exc))
        if m and 1 <= int(m[1]) <= len(chunk):
            raise DataError(f"{chunk[int(m[1]) - 1][1]}: {m[2]}") from None
        raise


def launched_processes() -> int:
    """How many processes a launcher (accelerate launch, torchrun, mpirun) started; 1 without one."""
    keys = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
    return max(int(os.environ.get(k) or 1) for k in keys)


def _world() -> Any:
    """accelerate's PartialState under a launcher that started several processes; None for one process."""
    if launched_processes() <= 1:
        return None
    from datetime import timedelta

    from accelerate import PartialState

    # gloo: prediction runs where load_run puts the model (the CPU), in every process
    return PartialState(cpu=True, timeout=timedelta(hours=BARRIER_TIMEOUT_H))


def predict_input(load: Callable[[], Any], spec, path: str, prefix: list[Any] | None = None,
                  output: str | None = None, chunk_size: int = CHUNK_SIZE, resume: bool = False,
                  progress: bool | None = None) -> int:
    """Predict the items of ``prefix`` then of the JSONL file ``path`` with the run ``load()`` returns; write the
    JSON lines to ``output`` (or stdout). Returns how many items this process predicted."""
    from tqdm import tqdm

    from tuneforge.util.atomic import _mode_for

    if chunk_size < 1:
        raise ConfigError(f"--chunk-size {chunk_size}: must be at least 1")
    if resume and output is None:
        raise ConfigError("--resume continues an interrupted --output file; give --output")
    if launched_processes() > 1 and output is None:
        raise ConfigError(f"predicting with {launched_processes()} processes needs --output FILE (their lines would "
                          "interleave on stdout)")
    state = _world()
    rank, world = (state.process_index, state.num_processes) if state is not None else (0, 1)
    show = (progress if progress is not None else sys.stderr.isatty()) and rank == 0
    outputs = Outputs(Path(output), rank, world) if output is not None else None
    if outputs is not None:
        outputs.check_leftovers(resume)
        if state is not None:
            state.wait_for_everyone()  # every process has looked before any writes its files

    inputs = Inputs.of(spec, path, prefix or [])
    with tqdm(desc="checking", unit=" items", file=sys.stderr, disable=not show, leave=False) as bar:
        total = inputs.count(bar)
    checked = _stamp(path)
    if not total:
        raise ConfigError("nothing to predict: give texts, --question with --context, or --input FILE.jsonl")
    lo, hi = total * rank // world, total * (rank + 1) // world
    digest = InputDigest(outputs.partial) if outputs is not None else None
    done = 0
    if outputs is not None and resume:
        records = digest.recorded() if not (world > 1 and outputs.done.is_file()) else None
        done = outputs.resume_point(hi - lo, chunk_size, None if records is None else set(records))
    if digest is not None:
        digest.check((item for item, _ in inputs.items(lo, lo + done)), done, path, outputs.partial)

    started = time.perf_counter()
    if done < hi - lo:
        run = load()
        started = time.perf_counter()  # the rate is of predicting, not of loading the model
        sink = _open_append(outputs.partial, _mode_for(outputs.output)) if outputs is not None else None
        desc = "predict" if world == 1 else f"predict (shard {rank + 1}/{world})"
        bar = tqdm(total=hi - lo, initial=done, desc=desc, unit=" items", file=sys.stderr, disable=not show,
                   dynamic_ncols=True)
        written = done
        try:
            stream = inputs.items(lo + done, hi)
            while chunk := list(islice(stream, chunk_size)):
                results = _predict_chunk(run, chunk)
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
                if sink is not None:
                    digest.record([item for item, _ in chunk], written + len(chunk))
                    sink.write(text.encode("utf-8"))
                    sink.flush()
                    os.fsync(sink.fileno())
                else:
                    sys.stdout.write(text)
                    sys.stdout.flush()
                written += len(chunk)
                bar.update(len(chunk))
        except (KeyboardInterrupt, DataError) as exc:
            if sink is not None and written > 0:
                kept = f"{written} prediction(s) are kept in {outputs.partial}"
                if isinstance(exc, DataError):
                    raise DataError(f"{exc} ({kept}: fix the input and add --resume to continue)") from None
                print(f"tuneforge: interrupted; {kept}: add --resume to continue", file=sys.stderr, flush=True)
            raise
        finally:
            bar.close()
            if sink is not None:
                sink.close()
                if written == 0:  # failed before its first chunk: nothing to resume
                    outputs.partial.unlink(missing_ok=True)
                    digest.remove()
        if written != hi - lo or _stamp(path) != checked:
            if outputs is not None:
                outputs.partial.unlink(missing_ok=True)
                digest.remove()
            raise DataError(f"{path}: the file changed while it was being predicted; predict it again")
    if outputs is not None:
        digest.remove()  # complete: a finished shard is counted, not resumed
        if world == 1:
            os.chmod(outputs.partial, _mode_for(outputs.output))
            os.replace(outputs.partial, outputs.output)
        else:
            if outputs.partial.is_file():
                os.replace(outputs.partial, outputs.done)
            elif not outputs.done.is_file():  # an empty shard (fewer items than processes)
                _open_append(outputs.done, 0o600).close()
            state.wait_for_everyone()
            if state.is_main_process:
                _merge(outputs)
    if show:
        from tuneforge.util.console import peak_rss_mb

        seconds = time.perf_counter() - started
        print(f"tuneforge: predicted {hi - lo - done} item(s) in {seconds:.1f}s "
              f"({(hi - lo - done) / max(seconds, 1e-9):.1f}/s), peak RSS {peak_rss_mb():.0f} MB",
              file=sys.stderr, flush=True)
    if state is not None:
        state.destroy_process_group()
    return hi - lo - done
