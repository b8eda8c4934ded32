"""The one exception type that means "the user gave us something we cannot use"."""


class UserError(Exception):
    """Bad input: the CLI prints it as one line and exits with status 2."""
