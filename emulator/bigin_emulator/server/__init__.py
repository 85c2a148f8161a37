"""The ASGI app and what wraps it: middleware (limits, credits, faults), counters, the in-process
transport, the notifier that delivers watch events, and serving on a loopback port.
"""

__all__: list[str] = []
