"""How the ``nattvandring`` commands report our errors: one line on stderr, exit status 1.

Kept apart from `api.errors` (the HTTP mapping), so that the CLI starts without loading FastAPI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from geo.errors import NattvandringError

F = TypeVar("F", bound=Callable[..., Any])


def exits_on_error(fn: F) -> F:
    """Turn our errors into one line on stderr and exit status 1 (no traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NattvandringError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
