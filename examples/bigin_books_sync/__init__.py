"""The Bigin-to-Books contact sync as a FastAPI service (see README.md).

python -m examples.bigin_books_sync --demo      # emulator + service on loopback, one round trip
"""
