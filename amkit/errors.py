"""The one exception type for mistakes in what a user gave amkit.

:class:`UserError` marks an error that the user can fix: a bad config value, a malformed
data line, a missing file, an unknown name, a wrong shape passed to a block. Its message
says what is wrong, where (file:line, config key or argument) and how to fix it. It
subclasses :class:`ValueError`, so code that catches ``ValueError`` keeps working.

The ``amkit`` command prints a ``UserError`` as one line and exits with status 2; any other
exception is a bug in amkit and is shown with its traceback and a request to report it.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """A mistake in the input (config, data, arguments) that the message tells how to fix."""
