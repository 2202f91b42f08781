"""Plain-dict registries filled by decorators (``amkit ls`` prints them)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from amkit.errors import UserError

REGISTRIES: dict[str, Registry] = {}


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""`` when none is close."""
    match = difflib.get_close_matches(str(value), list(candidates), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


class UnknownNameError(UserError, KeyError):
    """Raised for a component name that is not registered; lists the known names."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])


class Registry(dict):
    """A named ``dict`` of components with a decorator and helpful lookup errors."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        REGISTRIES[kind] = self

    def register(self, name: str) -> Callable[[Any], Any]:
        def decorator(obj: Any) -> Any:
            if name in self:
                raise UserError(f"{self.kind} {name!r} is already registered")
            self[name] = obj
            return obj

        return decorator

    def get_or_raise(self, name: str) -> Any:
        if name not in self:
            known = ", ".join(sorted(self))
            hint = did_you_mean(name, self)
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}; known: {known}")
        return self[name]
