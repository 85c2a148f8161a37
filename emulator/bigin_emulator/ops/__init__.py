"""What the emulator does to its state for one request: record input, writes, paging, criteria, COQL,
projection. Pure functions and small classes over ``bigin_emulator.state``, shared by the routes;
plain Python with no HTTP framework (errors are ``wire.ApiError``, answered by the routes).
"""

__all__: list[str] = []
