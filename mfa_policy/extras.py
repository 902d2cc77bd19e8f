"""Optional dependencies (extras): one message, wherever a missing one is found (pure).

Code that imports a package of an extra does it inside ``requires_extra``; a missing package then
raises ``MissingExtraError``, which the command line prints as one line (exit 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class MissingExtraError(RuntimeError):
    """A package of an extra is not installed; the message says how to install it."""

    def __init__(self, extra: str, needed_for: str, module: str | None) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{needed_for} needs the {extra!r} extra ({module or 'a package'} is not installed): "
            f"pip install 'mfa-policy[{extra}]'"
        )


@contextmanager
def requires_extra(extra: str, needed_for: str) -> Iterator[None]:
    """Turn an ImportError raised inside the block into ``MissingExtraError`` for ``extra``."""
    try:
        yield
    except ImportError as error:
        raise MissingExtraError(extra, needed_for, error.name and error.name.split(".")[0]) from error
