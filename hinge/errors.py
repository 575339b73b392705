"""Errors that are the user's to fix: the CLI prints them in one line, without a traceback."""


class HingeUserError(Exception):
    """A problem with the user's input (a file, an argument, the machine's Bluetooth).

    ``str(err)`` is the whole one-line message shown after ``hinge: ``. When the problem
    belongs to a file, build it as ``HingeUserError(f"{path}: {problem}")`` (or
    ``f"{path}:{line}: {problem}"``) so the user sees which file to fix.
    """


class NotBuiltYet(HingeUserError):
    """A subcommand that exists in the CLI but whose implementation has not landed."""
