"""/help: every command with its arguments, on one screen."""

from bot.commands.base import Env, Run
from flows.practice.effects import Answer, PracticeEffect
from flows.practice.parse import Command


async def help_command(env: Env, command: Command) -> list[PracticeEffect]:
    return [Answer("cmd-help")]


COMMANDS: dict[str, Run] = {"help": help_command}
