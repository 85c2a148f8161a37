"""The examples as a package, so ``uvicorn examples.fastapi_app:app`` and ``python -m
examples.bigin_books_sync`` work from the repository root (each script still runs on its own:
``python examples/NAME.py``)."""
