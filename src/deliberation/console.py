"""The command line's shell: option bounds, one-line errors, printing user text safely.

Every command of :mod:`.cli` prints through :func:`say` (controls escaped, so typed
text can never move the cursor or forge a line) and reports a user mistake, its own
or click's, as one line with exit code 2.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import DeliberationError
from .text import for_terminal, json_for_terminal

F = TypeVar("F", bound=Callable[..., Any])

ARTIFACT_OPTION = click.option(
    "--artifact", type=click.Path(path_type=Path), default=None,
    help="The model file or folder under review: its sha256 becomes the record's subject.")
# Bounds of the numeric options: a seed numpy accepts and a record stores as a JSON
# integer; samples a machine can draw in bounded memory and time.
MAX_SEED = 2**63 - 1
MAX_SAMPLES = 10_000_000
SEED = click.IntRange(min=0, max=MAX_SEED)
SAMPLES = click.IntRange(min=100, max=MAX_SAMPLES)


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a line whose user strings may hold anything: controls reach the terminal
    escaped (``\\x1b``), so typed text can never move the cursor or forge a line."""
    click.echo(for_terminal(text), err=err, nl=nl)


def one_line(message: str) -> str:
    """A message's lines joined by spaces; only line feeds: a carriage return or form feed
    in a name the user typed stays in it, and :func:`say` shows it escaped (``\\x0d``)."""
    return " ".join(message.split("\n"))


def say_json(data: Any) -> None:
    click.echo(json_for_terminal(json.dumps(data, indent=2, ensure_ascii=False)))

TEMPLATES_OPTION = click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of your own templates (repeatable); also $DELIBERATION_TEMPLATES.",
)


def user_errors(function: F) -> F:
    """Print a DeliberationError as one line on stderr and exit 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DeliberationError as error:
            say(f"error: {one_line(str(error))}", err=True)
            sys.exit(2)
        except RecursionError:  # a last guard: inputs are bounded in depth where they enter
            say("error: the input is nested too deeply", err=True)
            sys.exit(2)
        except OSError as error:  # a last guard: a path the OS refuses (too long, a loop)
            if error.errno == errno.EPIPE:  # `| head`: the reader left, as before
                raise
            where = f"{error.filename}: " if error.filename is not None else ""
            say(f"error: {where}{error.strerror or error}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


class Commands(click.Group):
    """Click's group, with a usage mistake reported as one line (no usage block)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help() if error.ctx else str(error))
            sys.exit(0)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx else "deliberation"
            message = " ".join(error.format_message().split())
            say(f"error: {message} (see `{command} --help`)", err=True)
            sys.exit(2)
        except click.ClickException as error:
            say(f"error: {' '.join(error.format_message().split())}", err=True)
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            say("error: aborted", err=True)
            sys.exit(1)
