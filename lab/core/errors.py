"""Errors a user can cause, as opposed to bugs."""


class UserError(Exception):
    """A problem the user can fix: bad declaration, missing data, bad option.

    ``str(error)`` is the whole message: one line naming the file, key or value
    and what to do. The CLI prints it and exits with status 2.
    """
