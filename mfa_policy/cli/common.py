"""What the command modules share."""


class BadInput(Exception):
    """Input the command cannot use (a file, a flag combination): the message is printed, exit 2."""


def read_json(name: str, what: str) -> object:
    """The JSON content of file ``name``; ``BadInput`` naming ``what`` (a flag) when it cannot be read."""
    import json
    from pathlib import Path

    path = Path(name)
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise BadInput(f"{what}: cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise BadInput(f"{what}: {path} is not JSON: {error}") from None
