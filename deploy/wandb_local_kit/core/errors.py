"""Errors a person can act on, and the exit codes the CLI documents.

Every expected failure is raised as a KitError naming what was checked, what was
found and the fix; the CLI prints it without a traceback and exits with its code.
"""

from __future__ import annotations

# Exit codes of `wandb-kit` (documented in `wandb-kit --help` and README.md, "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # a check or operation ran and failed (or, for `health`, degraded)
EXIT_USAGE = 2  # bad input or a missing prerequisite
EXIT_UNREACHABLE = 3  # the server could not be reached at all
EXIT_INTERNAL = 70  # an unexpected error: a bug in the kit (EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES_HELP = """\
exit codes:
  0    success (for `health`: healthy)
  1    a check or operation failed (for `health`: degraded, warnings only)
  2    bad input or missing prerequisite (for `health`: failing)
  3    server unreachable
  70   internal error (a bug): one line, the trace in a file, how to report it
  130  interrupted"""


class KitError(Exception):
    """A failure with a message for a person: what happened and how to fix it."""

    def __init__(self, problem: str, fix: str | None = None, exit_code: int = EXIT_USAGE):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.exit_code = exit_code

    def render(self) -> str:
        from wandb_local_kit.core.invocation import runnable

        text = f"error: {self.problem}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return runnable(text)
