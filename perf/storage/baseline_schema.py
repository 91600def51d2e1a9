"""The baseline file's JSON Schema (draft 2020-12), generated from the codec's field tables.

docs/baseline.schema.json is render_baseline_schema()'s output, committed; a test keeps the two equal. The schema
accepts every file to_json writes and refuses only what from_json refuses too. What it cannot say (a case id that
its fields spell, a run id that names a run, as many samples as rounds) from_json still checks.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from perf.storage.baseline_codec import (
    ENTRY_FIELDS,
    MEMORY_FIELDS,
    RUN_FIELDS,
    SCHEMA_VERSION,
    Field,
    Kind,
    render_json,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# from_json reads numbers as finite floats: the largest double bounds them (JSON text such as 1e400 is infinite).
LARGEST_FLOAT = sys.float_info.max
DESCRIPTION = (
    "A vggt-perf baseline file (baselines/<gpu-slug>.json), generated from perf.storage.baseline_codec: "
    "`python -m perf baseline schema`. Beyond this schema the reader checks that each entry's key is the case id "
    "its fields spell (<workload>-<backend>-<frames>f-<height>x<width>), that its run is a key of 'runs', that "
    "samples_s holds as many values as rounds, and that integers are written without a point. Fields the schema "
    "does not name are allowed: the reader ignores them and a rewrite drops them."
)


def baseline_json_schema() -> dict[str, Any]:
    """The schema of a whole file: the document, then a run and an entry under $defs."""
    return {
        "$schema": DRAFT,
        "title": "vggt-perf baseline file",
        "description": DESCRIPTION,
        "type": "object",
        "required": ["schema_version", "device", "runs", "entries"],
        "properties": {
            "schema_version": {"description": "The file format's version.", "type": "integer", "const": SCHEMA_VERSION},
            "device": {"description": "The GPU the entries were measured on: name, slug, memory.", **_strings()},
            "runs": {
                "description": "The runs that measured the entries, by run id.",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/run"},
            },
            "entries": {
                "description": "The baseline of each case, by case id.",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/entry"},
            },
        },
        "$defs": {"run": _object(RUN_FIELDS), "entry": {**_object(ENTRY_FIELDS), **_null_together(MEMORY_FIELDS)}},
    }


def render_baseline_schema() -> str:
    """The schema as docs/baseline.schema.json holds it: the codec's layout (render_json) and a final newline."""
    return render_json(baseline_json_schema()) + "\n"


def _object(fields: Sequence[Field[Any]]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [field.name for field in fields if not field.optional],
        "properties": {field.name: _field(field) for field in fields},
    }


def _field(field: Field[Any]) -> dict[str, Any]:
    """One field: its description, its type (or null where nullable or optional) and its bounds."""
    schema = {"description": field.description, **_value(field.kind, field.minimum)}
    if field.nullable or field.optional:
        schema["type"] = [schema["type"], "null"]
    return schema


def _value(kind: Kind, minimum: float) -> dict[str, Any]:
    """A value of kind (its JSON type is the kind's value), with the bounds FieldReader checks."""
    if kind is Kind.COUNT:
        return {"type": kind.value, "minimum": int(minimum)}
    if kind is Kind.NUMBER:
        return {"type": kind.value, "minimum": float(minimum), "maximum": LARGEST_FLOAT}
    if kind is Kind.SAMPLES:
        return {"type": kind.value, "items": _value(Kind.NUMBER, minimum)}
    if kind is Kind.STRINGS:
        return _strings()
    return {"type": kind.value}


def _null_together(names: Sequence[str]) -> dict[str, Any]:
    """The fields are null together or none is: where the first is null, so is every other."""
    first, *others = names
    return {
        "if": {"properties": {first: {"type": "null"}}},
        "then": {"properties": {other: {"type": "null"} for other in others}},
        "else": {"properties": {other: {"not": {"type": "null"}} for other in others}},
    }


def _strings() -> dict[str, Any]:
    """An object of strings, as FieldReader.strings reads one; a new dict each time, so no two schemas share it."""
    return {"type": "object", "additionalProperties": {"type": "string"}}
