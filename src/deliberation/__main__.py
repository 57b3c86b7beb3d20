"""``python -m deliberation`` runs the command line."""

from .cli import main

main(prog_name="deliberation")
