"""What the emulated Bigin org holds: records, metadata, tags, pipelines, watches, Books, OAuth grants.

Plain data and the rules that keep it consistent; nothing here knows about HTTP.
"""

__all__: list[str] = []
