"""The practitioner's commands: each loads what it needs, runs the pure decision in
flows/practice/, and returns effects for the shell (bot/practice.py) to apply.

A command module exposes `COMMANDS: dict[str, Run]`; the registry merges them.
"""

from bot.commands import business, calls, clients, pause, payments, privacy, queue, requests, stats
from bot.commands import help as help_command
from bot.commands.base import Env, Run

REGISTRY: dict[str, Run] = {
    **help_command.COMMANDS,
    **queue.COMMANDS,
    **requests.COMMANDS,
    **clients.COMMANDS,
    **pause.COMMANDS,
    **business.COMMANDS,  # /resume: her Telegram Business chats too (after pause: it wraps /resume)
    **stats.COMMANDS,
    **payments.COMMANDS,
    **calls.COMMANDS,
    **privacy.COMMANDS,
}

__all__ = ["REGISTRY", "Env", "Run"]
