"""Errors a person can act on.

Anything raised as ``UserError`` reaches the command line as one line on stderr and exit
status 2, never as a traceback. Say what is wrong and what to change: the file and line for
bad RDF or a bad transcript line, the flag for a bad option.
"""


class UserError(Exception):
    """Bad input: the message is shown as is, exit status 2."""

    exit_status = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line
