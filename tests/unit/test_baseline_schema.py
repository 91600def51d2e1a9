"""The baseline file's JSON Schema: generated from the codec's field tables, committed as docs/baseline.schema.json,
met by every file the codec writes and by every committed baseline, and never stricter than the reader."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_baseline import DELETE, ENTRY_FIELDS, baselines, entry_document, json_values

from perf.core.baselines import Baseline, BaselineError
from perf.storage.baseline_codec import ENTRY_FIELDS as CODEC_ENTRY_FIELDS
from perf.storage.baseline_codec import Kind, from_json, render_json, to_json
from perf.storage.baseline_schema import baseline_json_schema, render_baseline_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_SCHEMA = ROOT / "docs" / "baseline.schema.json"
BASELINES = sorted((ROOT / "baselines").glob("*.json"))
VALIDATOR = jsonschema.Draft202012Validator(baseline_json_schema())
PATH = Path("b.json")
# Older files lack them.
OPTIONAL_FIELDS = ["samples_s", "attention_kernel", "relative_error", "compile_s", "process_medians_s"]


def schema_accepts(document: Any) -> bool:
    return VALIDATOR.is_valid(document)


def reader_accepts(document: Any) -> bool:
    try:
        from_json(document, PATH)
    except BaselineError:
        return False
    return True


def test_the_committed_schema_is_the_one_the_code_generates() -> None:
    assert COMMITTED_SCHEMA.read_text(encoding="utf-8") == render_baseline_schema(), (
        f"{COMMITTED_SCHEMA.relative_to(ROOT)} is not what perf.storage.baseline_schema generates; regenerate it with "
        "`python -m perf baseline schema > docs/baseline.schema.json` and commit it"
    )


def test_the_schema_is_a_draft_2020_12_schema() -> None:
    schema = baseline_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_names_the_fields_the_codec_writes_in_the_order_it_writes_them() -> None:
    baseline = from_json(entry_document(memory=1), PATH)
    (entry,) = baseline.entries.values()
    timing = replace(entry.timing, samples_s=(0.25,) * entry.timing.rounds)  # written only where there are some
    entry = replace(entry, timing=timing, process_medians_s=(0.25, 0.26))  # both written only where there are some
    document = to_json(replace(baseline, entries={entry.key.case_id: entry}))
    (raw,) = document["entries"].values()
    schema = baseline_json_schema()
    assert schema["required"] == list(schema["properties"]) == list(document)
    assert list(schema["$defs"]["entry"]["properties"]) == list(raw) == [f.name for f in CODEC_ENTRY_FIELDS]
    (run,) = document["runs"].values()
    assert schema["$defs"]["run"]["required"] == list(schema["$defs"]["run"]["properties"]) == list(run)
    entry_schema = schema["$defs"]["entry"]
    assert [name for name in entry_schema["properties"] if name not in entry_schema["required"]] == OPTIONAL_FIELDS


@pytest.mark.parametrize("path", BASELINES, ids=[path.name for path in BASELINES])
def test_every_committed_baseline_meets_the_schema(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert errors == []


def test_there_is_a_committed_baseline_to_check() -> None:
    assert BASELINES


@given(baselines())
@settings(max_examples=100, deadline=None)
def test_every_file_the_codec_writes_meets_the_schema(baseline: Baseline) -> None:
    document = json.loads(render_json(to_json(baseline)) + "\n")  # as write_atomically writes it
    VALIDATOR.validate(document)


def _without(document: dict[str, Any], *where: str) -> dict[str, Any]:
    *parents, last = where
    holder = document
    for name in parents:
        holder = holder[name]
    del holder[last]
    return document


def _with(document: dict[str, Any], value: Any, *where: str) -> dict[str, Any]:
    *parents, last = where
    holder = document
    for name in parents:
        holder = holder[name]
    holder[last] = value
    return document


ENTRY = ("entries", "attention-sdpa-math-2f-28x28")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_without(entry_document(), *ENTRY, "median_s"), "median_s: missing"),
        (_with(entry_document(), 0, *ENTRY, "frames"), "frames: expected an integer >= 1, got 0"),
        (_with(entry_document(), "2", *ENTRY, "frames"), "frames: expected an integer, got str"),
        (_with(entry_document(), 0.0, *ENTRY, "median_s"), "median_s: expected a finite number >= 1e-12"),
        (_with(entry_document(), True, *ENTRY, "rounds"), "rounds: expected an integer, got bool"),
        (_with(entry_document(), -1, *ENTRY, "iqr_s"), "iqr_s: expected a finite number >= 0.0"),
        (_with(entry_document(), 10**400, *ENTRY, "max_s"), "max_s: expected a finite number >= 0.0, got inf"),
        (_with(entry_document(), [0.1, "x"], *ENTRY, "samples_s"), "samples_s[1]: expected an integer or a number"),
        (_with(entry_document(), 5, *ENTRY, "attention_kernel"), "attention_kernel: expected a string, got int"),
        (_with(entry_document(memory=3), None, *ENTRY, "peak_reserved_bytes"), "must be null exactly where"),
        (_with(entry_document(), 3, *ENTRY, "peak_reserved_bytes"), "must be null exactly where"),
        (_with(entry_document(), -3, *ENTRY, "peak_memory_bytes"), "peak_memory_bytes: expected an integer >= 0"),
        (_without(entry_document(), "runs", "r", "command"), "runs.r.command: missing"),
        (_with(entry_document(), {"torch": 2}, "runs", "r", "environment"), "runs.r.environment"),
        (_with(entry_document(), {"slug": None}, "device"), "device: expected an object of strings"),
        (_with(entry_document(), 2, "schema_version"), "schema_version: is 2"),
        (_without(entry_document(), "entries"), "file.entries: missing"),
    ],
    ids=[
        "no-median", "frames-0", "frames-text", "median-0", "rounds-bool", "iqr-negative", "max-infinite",
        "sample-text", "kernel-number", "reserved-null-alone", "reserved-alone", "memory-negative", "run-no-command",
        "environment-number", "device-null", "version-2", "no-entries",
    ],
)  # fmt: skip
def test_what_the_schema_refuses_the_reader_refuses_and_names(document: dict[str, Any], field: str) -> None:
    assert not schema_accepts(document)
    with pytest.raises(BaselineError, match=r"^b\.json: ") as raised:
        from_json(document, PATH)
    assert field in str(raised.value)


INTEGER_FIELDS = {f.name for f in CODEC_ENTRY_FIELDS if f.kind is Kind.COUNT}
# Rules that are the reader's alone: the key fields spell the entry's case id and run names a run under 'runs'.
CROSS_FIELD = {"workload", "backend", "frames", "height", "width", "run"}
VALUE_FIELDS = sorted(set(ENTRY_FIELDS) - CROSS_FIELD | set(OPTIONAL_FIELDS))


def beyond_the_schema(field: str, value: Any) -> bool:
    """What the reader refuses and JSON Schema cannot say: NaN (not JSON, though Python reads it), 2.0 where an
    integer belongs (JSON Schema's integers include it), integers from 1e300 (the reader's finite bound for them)
    and as many samples as rounds."""
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return True
    if any(type(v) is int and abs(v) >= 1e300 for v in values):
        return True
    if field in INTEGER_FIELDS and isinstance(value, float) and value.is_integer():
        return True
    return field == "samples_s" and isinstance(value, list) and len(value) not in (0, 5)


@given(
    st.sampled_from([*sorted(ENTRY_FIELDS), *OPTIONAL_FIELDS]),
    st.just(DELETE) | json_values | st.sampled_from(list(ENTRY_FIELDS.values())).flatmap(lambda values: values),
    st.none() | st.integers(0, 2**40),
)
@settings(max_examples=400, deadline=None)
@example("frames", 2.0, None)
@example("median_s", 10**301, None)
@example("peak_memory_bytes", 7, None)
def test_any_field_changed_to_anything_the_schema_refuses_the_reader_refuses(
    field: str, value: Any, memory: int | None
) -> None:
    document = entry_document(memory=memory)
    (raw,) = document["entries"].values()
    if value is DELETE:
        raw.pop(field, None)
    else:
        raw[field] = value
    schema, reader = schema_accepts(document), reader_accepts(document)
    assert schema or not reader, "the schema refuses a file the reader takes"
    if field in VALUE_FIELDS and not beyond_the_schema(field, value):
        assert schema == reader, "the schema takes a value the reader refuses, and could have said so"


def test_the_schema_module_needs_no_jsonschema() -> None:
    code = "import sys, perf.storage.baseline_schema; print('jsonschema' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
