"""Exceptions shared by every layer of DeepMIRLib."""


class DeepMIRError(Exception):
    """Base class of the errors DeepMIRLib raises on purpose."""


class InputError(DeepMIRError):
    """Bad input: names the offending file (or item) and what is wrong with it.

    The command line turns this into a one-line message and exit status 2.
    """

    def __init__(self, source, problem: str):
        self.source = str(source) if source is not None else None
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


class Cancelled(DeepMIRError):
    """Long work stopped because the caller asked for it."""
