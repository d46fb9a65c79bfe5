"""FastAPI dependencies: the wired objects live on app.state, built once in main.build()."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from bot.desk import Desk
from bot.practice import Practice


def get_desk(request: Request) -> Desk:
    return request.app.state.desk


def get_practice(request: Request) -> Practice:
    return request.app.state.practice


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


DeskDep = Annotated[Desk, Depends(get_desk)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
PracticeDep = Annotated[Practice, Depends(get_practice)]
