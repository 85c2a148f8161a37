"""A proxy in front of a server that loses answers: the server acts on the call, the client never hears.

``LoseAnswers(inner, "DELETE")`` hands every request to ``inner`` (the emulator's transport) and,
for the first ``count`` calls of that method (and path, when given), drops the answer after the
server has produced it, as a connection cut between the server's write and the client's read.
That is the case a retry must not turn into a false failure (an unlink, a delete) or a duplicate.
"""

from __future__ import annotations

import httpx

__all__ = ["LoseAnswers"]


class LoseAnswers(httpx.AsyncBaseTransport):
    """Loses the answers of the first ``count`` calls of ``method`` (on ``path`` if given)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, method: str, path: str | None = None, count: int = 1
    ) -> None:
        self.inner, self.method, self.path, self.count = inner, method, path, count
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)  # the server acts on it
        chosen = request.method == self.method and (self.path is None or request.url.path == self.path)
        if chosen and self.lost < self.count:
            await response.aread()  # its answer was produced, then lost on the way
            self.lost += 1
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
