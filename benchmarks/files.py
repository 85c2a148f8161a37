"""Files over loopback: a 100 MB attachment uploaded and downloaded, the SDK against raw httpx.

The emulator runs in a child process (this script with ``--serve``), served by uvicorn on a
loopback port with its file limits raised so that it takes the file (Zoho's 20 MB would refuse
it): the server's parsing and its copy of the file are in that process, not in the client's.
The client side, in this process, moves the same bytes to and from the same routes both ways:

- ``upload``: ``POST /Contacts/{id}/Attachments``, multipart field ``file``. SDK:
  ``transport.send(..., upload=Upload(path))`` (the path the attachments client sends through,
  without its 20 MB limit). Raw: ``httpx.AsyncClient.post(url, files={"file": handle})``,
  httpx's own streamed multipart body.
- ``download_stream``: ``GET /Contacts/{id}/Attachments/{aid}``, every chunk taken and dropped.
  SDK: ``transport.open_stream`` (a ``FileStream``). Raw: ``client.stream(...)``, ``aiter_bytes``.
- ``download_file``: the same body saved to a file. SDK: ``transport.send(..., download_to=path)``
  (a part file, fsync, rename). Raw: the same steps written by hand (write, fsync, rename), so
  both pay for the disk alike.

Each round runs both sides, raw first in even rounds and SDK first in odd ones, and the medians
are compared, so a busy machine slows both alike.
Throughput is the file's size over the wall time of the call (MB = 10^6 bytes). Goal: SDK/raw
at least 0.9 in each case. The client's CPU time per call (``time.process_time``) is given too:
on a machine shared with other work it shows what each side costs better than the wall time.

Memory: the client's peak resident memory above what it held just before the call, from Linux's
``/proc/self/status``: the high-water mark ``VmHWM`` is reset before each call (writing 5 to
``/proc/self/clear_refs``) and read after it, less ``VmRSS`` read just before (idle). Measured on
the timed calls themselves (it costs nothing). Python's own allocations (``tracemalloc``'s peak,
which misses memory outside Python's allocator but sees every chunk) are measured too, in one
untimed call of each case, since tracing slows allocation. Goal: under 16 MB above idle.

Prints one JSON document; progress notes go to stderr.

    .venv/bin/python benchmarks/files.py [--mb 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from bigin_async import BiginClient, Upload
from bigin_emulator import BiginEmulator, FileLimits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.*
from tests.helpers.served_emulator import emulator_in_child  # noqa: E402

MB = 1_000_000
CHUNK = 1 << 20  # bytes written at a time when making the file
CONTENT_TYPE = "application/octet-stream"
CREDENTIALS = {
    "client_id": "emulator-client-id",
    "client_secret": "emulator-client-secret",
    "refresh_token": "emulator-refresh-token",
}
CASES = ("upload", "download_stream", "download_file")


def note(text: str) -> None:
    sys.stderr.write(f"[files] {text}\n")
    sys.stderr.flush()


# -- the server side (child process) --------------------------------------------------------------


async def serve_forever(args: argparse.Namespace) -> None:
    size = args.mb * MB
    # Room for the file, one more copy while an upload is replaced, and the multipart framing.
    limits = FileLimits(max_file_bytes=size + MB, max_stored_bytes=3 * size + 4 * MB)
    emulator = BiginEmulator(file_limits=limits, token_ttl=7 * 86_400.0)
    async with emulator.serve(port=0) as url:
        sys.stdout.write(json.dumps({"url": url}) + "\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


def server_argv(args: argparse.Namespace) -> list[str]:
    """This script, as the child process that serves the emulator (``--serve``)."""
    return [sys.executable, __file__, "--serve", "--mb", str(args.mb)]


# -- memory ---------------------------------------------------------------------------------------------


def _status_kib(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/self/status")


def _reset_high_water() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # Linux: reset VmHWM to the current RSS


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float  # this process's CPU time: what the client side cost, whatever else runs
    rss_above_idle_mib: float


async def measured(call: Callable[[], Awaitable[None]]) -> Measured:
    """Time one call and the resident memory it took above what the process held before it."""
    gc.collect()
    _reset_high_water()
    idle = _status_kib("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    await call()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = _status_kib("VmHWM")
    return Measured(seconds, cpu, round(max(0, peak - idle) / 1024, 2))


async def traced_peak(call: Callable[[], Awaitable[None]]) -> float:
    """Python's allocations at their peak during one call, above those before it (MiB)."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(max(0, peak - base) / (1 << 20), 2)


# -- the two clients ------------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> None:
    """``size`` random bytes (incompressible), written a MiB at a time."""
    with path.open("wb") as handle:
        left = size
        while left:
            piece = os.urandom(min(CHUNK, left))
            handle.write(piece)
            left -= len(piece)


def attachment_id(answer: Any) -> str:
    """The id in Zoho's ``{"data": [{"code": "SUCCESS", "details": {"id": ...}}]}``."""
    return str(answer["data"][0]["details"]["id"])


def save_by_hand(target: Path) -> tuple[Callable[[bytes], None], Callable[[], None]]:
    """What a careful program does without the SDK: a part file, fsync, rename."""
    part = target.with_name(target.name + ".part")
    handle = part.open("wb")

    def write(chunk: bytes) -> None:
        handle.write(chunk)

    def finish() -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        part.replace(target)

    return write, finish


class Bench:
    """The SDK client and the raw httpx client, both pointed at one served emulator."""

    def __init__(self, url: str, bigin: BiginClient, raw: httpx.AsyncClient, token: str, work: Path) -> None:
        self.url = url
        self.bigin = bigin
        self.raw = raw
        self.auth = {"Authorization": f"Zoho-oauthtoken {token}"}
        self.work = work
        self.file = work / "payload.bin"
        self.record_id = ""
        self.stored_id = ""  # the attachment both sides download
        self._uploaded = ""  # the last upload's attachment id

    @property
    def attachments_path(self) -> str:
        return f"/Contacts/{self.record_id}/Attachments"

    def url_of(self, path: str) -> str:
        return f"{self.url}/bigin/v2{path}"

    async def delete(self, attachment: str) -> None:
        await self.bigin._transport.send("DELETE", f"{self.attachments_path}/{attachment}")

    # uploads: each uploaded attachment is deleted afterwards, untimed, so the server keeps one copy
    async def upload_sdk(self) -> None:
        upload = Upload(self.file, content_type=CONTENT_TYPE)
        response = await self.bigin._transport.send("POST", self.attachments_path, upload=upload, timeout=600)
        self._uploaded = attachment_id(response.json())

    async def upload_raw(self) -> None:
        with self.file.open("rb") as handle:
            response = await self.raw.post(
                self.url_of(self.attachments_path),
                files={"file": (self.file.name, handle, CONTENT_TYPE)},
                headers=self.auth,
            )
        response.raise_for_status()
        self._uploaded = attachment_id(response.json())

    # downloads of the one stored attachment
    async def stream_sdk(self) -> None:
        size = 0
        async with self.bigin._transport.open_stream(
            "GET", f"{self.attachments_path}/{self.stored_id}", timeout=600
        ) as stream:
            async for chunk in stream:
                size += len(chunk)
        self._check(size)

    async def stream_raw(self) -> None:
        size = 0
        async with self.raw.stream(
            "GET", self.url_of(f"{self.attachments_path}/{self.stored_id}"), headers=self.auth
        ) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        self._check(size)

    async def file_sdk(self) -> None:
        target = self.work / "sdk.bin"
        await self.bigin._transport.send(
            "GET", f"{self.attachments_path}/{self.stored_id}", download_to=target, timeout=600
        )
        self._check(target.stat().st_size)
        target.unlink()

    async def file_raw(self) -> None:
        target = self.work / "raw.bin"
        write, finish = save_by_hand(target)
        async with self.raw.stream(
            "GET", self.url_of(f"{self.attachments_path}/{self.stored_id}"), headers=self.auth
        ) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                write(chunk)
        await anyio.to_thread.run_sync(finish)
        self._check(target.stat().st_size)
        target.unlink()

    def _check(self, size: int) -> None:
        expected = self.file.stat().st_size
        if size != expected:
            raise RuntimeError(f"got {size} bytes, expected {expected}")

    def pairs(self) -> dict[str, tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]]:
        return {
            "upload": (self.upload_sdk, self.upload_raw),
            "download_stream": (self.stream_sdk, self.stream_raw),
            "download_file": (self.file_sdk, self.file_raw),
        }

    async def after(self, case: str) -> None:
        if case == "upload":
            await self.delete(self._uploaded)


async def token_of(raw: httpx.AsyncClient, url: str) -> str:
    answer = await raw.post(f"{url}/oauth/v2/token", data={"grant_type": "refresh_token", **CREDENTIALS})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def summary(size: int, sdk: list[Measured], raw: list[Measured]) -> dict[str, Any]:
    sdk_seconds = statistics.median(m.seconds for m in sdk)
    raw_seconds = statistics.median(m.seconds for m in raw)
    sdk_cpu = statistics.median(m.cpu_seconds for m in sdk)
    raw_cpu = statistics.median(m.cpu_seconds for m in raw)
    return {
        "sdk_mb_per_second": round(size / MB / sdk_seconds, 1),
        "raw_mb_per_second": round(size / MB / raw_seconds, 1),
        "ratio_sdk_over_raw": round(raw_seconds / sdk_seconds, 3),
        "sdk_seconds": [round(m.seconds, 3) for m in sdk],
        "raw_seconds": [round(m.seconds, 3) for m in raw],
        "sdk_client_cpu_seconds": round(sdk_cpu, 3),
        "raw_client_cpu_seconds": round(raw_cpu, 3),
        "client_cpu_ratio_sdk_over_raw": round(sdk_cpu / raw_cpu, 3),
        "sdk_peak_rss_above_idle_mib": max(m.rss_above_idle_mib for m in sdk),
        "raw_peak_rss_above_idle_mib": max(m.rss_above_idle_mib for m in raw),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    size = args.mb * MB
    cases = [case for case in args.cases.split(",") if case]
    unknown = set(cases) - set(CASES)
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; known: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix="bigin-files-bench-") as scratch:
        work = Path(scratch)
        note(f"writing a {args.mb} MB file")
        make_file(work / "payload.bin", size)
        async with emulator_in_child(server_argv(args)) as url:
            note(f"emulator at {url}")
            async with (
                httpx.AsyncClient(timeout=600) as raw,
                BiginClient(
                    **CREDENTIALS, api_domain=url, accounts_url=url, timeout=600, deadline=None
                ) as bigin,
            ):
                bench = Bench(url, bigin, raw, await token_of(raw, url), work)
                bench.record_id = (await bigin.contacts.create({"Last_Name": "Files bench"})).id
                await bench.upload_sdk()
                bench.stored_id = bench._uploaded
                results: dict[str, Any] = {}
                for case in cases:
                    sdk_call, raw_call = bench.pairs()[case]
                    note(f"{case}: warm-up")
                    for call in (raw_call, sdk_call):
                        await call()
                        await bench.after(case)
                    sdk_runs: list[Measured] = []
                    raw_runs: list[Measured] = []
                    for round_ in range(args.rounds):
                        note(f"{case}: round {round_ + 1} of {args.rounds}")
                        order = [(raw_call, raw_runs), (sdk_call, sdk_runs)]
                        for call, runs in order if round_ % 2 == 0 else order[::-1]:
                            runs.append(await measured(call))
                            await bench.after(case)
                    results[case] = summary(size, sdk_runs, raw_runs)
                    sdk_traced = await traced_peak(sdk_call)
                    await bench.after(case)
                    raw_traced = await traced_peak(raw_call)
                    await bench.after(case)
                    results[case]["sdk_tracemalloc_peak_mib"] = sdk_traced
                    results[case]["raw_tracemalloc_peak_mib"] = raw_traced
    sdk_memory = max(
        max(figures["sdk_peak_rss_above_idle_mib"], figures["sdk_tracemalloc_peak_mib"])
        for figures in results.values()
    )
    return {
        "file_mb": args.mb,
        "rounds": args.rounds,
        "python": sys.version.split()[0],
        "memory_measure": "VmHWM - VmRSS before the call (high-water reset by /proc/self/clear_refs); "
        "tracemalloc peak in one untimed call",
        "cases": results,
        "worst_ratio_sdk_over_raw": min(figures["ratio_sdk_over_raw"] for figures in results.values()),
        "worst_sdk_memory_above_idle_mib": sdk_memory,
        "goal": "ratio >= 0.9 in every case; SDK memory above idle < 16 MiB",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=100, help="the file's size in MB (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per case and side (default 3)")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated (default {','.join(CASES)})"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.serve:
        anyio.run(serve_forever, args)
        return
    result = anyio.run(run, args)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
