"""Telegram adapters: aiogram routers (routers.py) that turn updates into `Inbound`s for
`desk.handle`, and the webhook route (webhook.py) that stores raw updates before anything else
happens. Importing the package imports no aiogram: a deployment without Telegram never loads it
(about 130 MB, bench/README.md, idle RSS).
"""
