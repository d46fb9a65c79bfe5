"""Her settings from the dashboard (hours, call slots, canned texts, services) over catalogue.toml.

| module | holds |
|---|---|
| `document.py` | the stored JSON document as pydantic models, with the rules a save must pass |
| `effective.py` | the document laid over the file: the Catalogue and Texts the flows use |
| `source.py` | the per-worker cache, checked against the row's version at every unit of work |
"""
