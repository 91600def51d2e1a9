"""Strict typed field access for the JSON files the suite reads: any shape problem is one error naming the field."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from perf.core.baselines import BaselineError

T = TypeVar("T")
U = TypeVar("U")
D = TypeVar("D")


class FieldReader:
    """Typed field access that turns any shape problem into one BaselineError naming the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> BaselineError:
        return BaselineError(
            f"{self.path}: {where}: {problem} (fix the field, or restore the file with git; it was not modified)"
        )

    @overload
    def get(self, obj: Any, key: str, kind: type[T], where: str) -> T: ...
    @overload
    def get(self, obj: Any, key: str, kind: tuple[type[T], type[U]], where: str) -> T | U: ...
    def get(self, obj: Any, key: str, kind: type[Any] | tuple[type[Any], ...], where: str) -> Any:
        """obj[key], which must be of kind (a type, or a pair of types: either); bool is never a number."""
        if not isinstance(obj, dict):
            raise self.fail(where, "expected an object")
        if key not in obj:
            raise self.fail(f"{where}.{key}", "missing")
        value = obj[key]
        if (kind in (int, float, (int, float)) and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(f"{where}.{key}", f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def optional(self, obj: Any, key: str, read: Callable[[Any, str, str], T], where: str, default: D) -> T | D:
        """A field later schema additions made optional: absent or null is the default, else read it strictly."""
        if isinstance(obj, dict) and obj.get(key) is None:
            return default
        return read(obj, key, where)

    def text(self, obj: Any, key: str, where: str) -> str:
        return self.get(obj, key, str, where)

    def number(self, obj: Any, key: str, where: str, minimum: float = 0.0) -> float:
        raw = self.get(obj, key, (int, float), where)
        value = math.inf if isinstance(raw, int) and abs(raw) >= 1e300 else float(raw)  # float() of 10**400 raises
        if not math.isfinite(value) or value < minimum:
            raise self.fail(f"{where}.{key}", f"expected a finite number >= {minimum}, got {value}")
        return value

    def count(self, obj: Any, key: str, where: str, minimum: int = 0) -> int:
        value = self.get(obj, key, int, where)
        if value < minimum:
            raise self.fail(f"{where}.{key}", f"expected an integer >= {minimum}, got {value}")
        return value

    def samples(self, obj: Any, key: str, where: str) -> tuple[float, ...]:
        """Round seconds: a list of finite numbers >= 0, each checked by number() under its name, e.g. samples_s[3]."""
        values = self.get(obj, key, list, where)
        return tuple(self.number({f"{key}[{i}]": value}, f"{key}[{i}]", where) for i, value in enumerate(values))

    def strings(self, obj: Any, where: str) -> dict[str, str]:
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise self.fail(where, "expected an object of strings")
        return dict(obj)


def _kind_name(kind: type[Any] | tuple[type[Any], ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"dict": "an object", "list": "a list", "str": "a string", "int": "an integer", "float": "a number"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)
