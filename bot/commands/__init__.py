"""The practitioner's commands: each loads what it needs, runs the pure decision in
flows/practice/, and returns effects for the shell (bot/practice.py) to apply.

A command module exposes `COMMANDS: dict[str, Run]`; the registry merges them.
"""

from bot.commands import calls, clients, pause, payments, queue, requests, stats
from bot.commands import help as help_command
from bot.commands.base import Env, Run

REGISTRY: dict[str, Run] = {
    **help_command.COMMANDS,
    **queue.COMMANDS,
    **requests.COMMANDS,
    **clients.COMMANDS,
    **pause.COMMANDS,
    **stats.COMMANDS,
    **payments.COMMANDS,
    **calls.COMMANDS,
}

__all__ = ["REGISTRY", "Env", "Run"]
