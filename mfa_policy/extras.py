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
            f"{install_command(extra)}"
        )


# The package is not on a package index: it installs from its Git repository, at a release tag.
# The repository's URL is not written into the code (it depends on where it is hosted): the
# message says where to put it.
REPOSITORY_PLACEHOLDER = "<repository URL>"


def install_command(extra: str) -> str:
    """How to install the package with ``extra``: from Git at this version's tag, or in a checkout."""
    from mfa_policy import __version__

    return (
        f"pip install 'mfa-policy[{extra}] @ git+{REPOSITORY_PLACEHOLDER}@v{__version__}' "
        f"(in a checkout: pip install -e '.[{extra}]'; make test installs every extra)"
    )


@contextmanager
def requires_extra(extra: str, needed_for: str) -> Iterator[None]:
    """Turn an ImportError raised inside the block into ``MissingExtraError`` for ``extra``."""
    try:
        yield
    except ImportError as error:
        raise MissingExtraError(extra, needed_for, error.name and error.name.split(".")[0]) from error
