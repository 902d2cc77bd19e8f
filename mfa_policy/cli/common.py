"""What the command modules share."""


class BadInput(Exception):
    """Input the command cannot use (a file, a flag combination): the message is printed, exit 2."""
