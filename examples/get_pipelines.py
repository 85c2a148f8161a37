"""Get all team pipelines and their stages, with bigin-async.

Done by hand, this is a ``GET /bigin/v2/settings/pipelines`` with a ``Zoho-oauthtoken`` header and
the raw JSON printed. Here ``bigin.pipelines.list()`` returns typed ``Pipeline`` objects whose
``stages`` are in sequence order. Zoho's documented API has no ``/settings/pipelines``: team
pipelines are layouts of the Pipelines module, and the SDK falls back to
``/settings/layouts?module=Pipelines`` by itself.

    python examples/get_pipelines.py
"""

from __future__ import annotations

from _common import run_example

from bigin_async import BiginClient, Pipeline


async def main(bigin: BiginClient) -> list[Pipeline]:
    """Every team pipeline with its stages (name, order, probability)."""
    return await bigin.pipelines.list()


def describe(pipelines: list[Pipeline]) -> str:
    lines = []
    for pipeline in pipelines:
        marker = " (default)" if pipeline.default else ""
        stages = ", ".join(
            f"{s.display_value} {s.probability:g}%" for s in pipeline.stages if s.probability is not None
        )
        lines.append(f"{pipeline.name}{marker} [{pipeline.id}]: {stages}")
    return "Pipelines:\n  " + "\n  ".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
