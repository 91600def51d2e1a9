"""Baseline files on disk: load, and read-change-write under a file lock with an atomic replace."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from filelock import FileLock

from perf.core.baselines import Baseline, BaselineEntry, BaselineError, RunInfo, merge
from perf.storage.atomic import write_text_atomically
from perf.storage.baseline_codec import from_json, render_json, to_json


def load_baseline(path: Path) -> Baseline | None:
    """The validated baseline at path, or None where no file exists yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"{path}: cannot be read ({error}); check the file and its permissions") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"{path}: not valid JSON at line {error.lineno} column {error.colno} ({error.msg}); "
            "restore the file with git; it was not modified"
        ) from None
    except (ValueError, RecursionError) as error:  # an integer beyond the digit limit, nesting beyond the stack
        raise BaselineError(
            f"{path}: not valid JSON ({str(error).splitlines()[0]}); restore the file with git; it was not modified"
        ) from None
    return from_json(document, path)


def write_atomically(path: Path, baseline: Baseline) -> None:
    """The baseline as JSON, through write_text_atomically."""
    write_text_atomically(path, render_json(to_json(baseline)) + "\n")


def update_baseline(
    path: Path, device: Mapping[str, str], entries: Iterable[BaselineEntry], run_id: str, run: RunInfo
) -> Baseline:
    """Read, merge and write under a file lock, so concurrent updates lose nothing.

    A file that fails validation raises BaselineError before anything is written: it is never overwritten.
    A write that fails (read-only checkout, full disk) raises BaselineError too and leaves the file as it was.
    """
    try:
        with FileLock(f"{path}.lock"):
            existing = load_baseline(path) or Baseline(device)
            if existing.device.get("slug") != device.get("slug"):
                raise BaselineError(
                    f"{path}: holds device {existing.device.get('slug')!r}, this run measured "
                    f"{device.get('slug')!r}; pass --baseline-file for this device's own file"
                )
            merged = merge(existing, entries, run_id, run)
            write_atomically(path, merged)
            return merged
    except OSError as error:
        raise BaselineError(f"{path}: cannot be written ({error}); the file was not modified") from None


def remove_entries(path: Path, case_ids: Iterable[str]) -> Baseline:
    """Drop the named entries and the runs no remaining entry refers to, under the same lock as update_baseline.

    Ids not in the file are ignored; where none is, nothing is written. A missing or invalid file raises
    BaselineError before anything is written, and so does a write that fails.
    """
    doomed = set(case_ids)

    def without(existing: Baseline) -> Baseline:
        entries = {case_id: e for case_id, e in existing.entries.items() if case_id not in doomed}
        used = {entry.run for entry in entries.values()}
        return Baseline(existing.device, {k: v for k, v in existing.runs.items() if k in used}, entries)

    return rewrite(path, without)


def rewrite(path: Path, change: Callable[[Baseline], Baseline]) -> Baseline:
    """Read, change and write an existing file under the same lock as update_baseline; written only where the
    change changed something. A missing or invalid file raises BaselineError before anything is written, and so
    does a write that fails."""
    try:
        with FileLock(f"{path}.lock"):
            existing = load_baseline(path)
            if existing is None:
                raise BaselineError(f"{path}: no such baseline file; check the path")
            changed = change(existing)
            if changed != existing:
                write_atomically(path, changed)
            return changed
    except OSError as error:
        raise BaselineError(f"{path}: cannot be written ({error}); the file was not modified") from None
