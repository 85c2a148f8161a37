"""Move a deal through the stages of its pipeline, with bigin-async.

Bigin's call is ``PUT /bigin/v2/Pipelines/{deal_id}`` with ``{"data": [{"Stage": new_stage}]}``,
here for Proposal, Negotiation and Closed Won. ``bigin.deals.move_to_stage(deal_id, stage)`` does that
PUT after checking the stage exists in the deal's own pipeline: a misspelt or foreign stage is
refused before anything is written, with the valid names in the message. (A plain
``bigin.deals.update(deal_id, {"Stage": ...})`` works too, unchecked.)

    python examples/update_deal_stage.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

from _common import JOHN_DOE, default_pipeline, ensure_contact, record_id, run_example, stage_or_first

from bigin_async import BiginClient, ValidationError

STAGES = ["Proposal", "Negotiation", "Closed Won"]


@dataclass
class StageMoves:
    deal_id: str
    stages_seen: list[str] = field(default_factory=list)  # the deal's stage, read back after each move
    refused: str = ""  # why a stage that is not in the pipeline was refused


async def main(bigin: BiginClient) -> StageMoves:
    """Create a deal in the first stage, move it to Proposal, Negotiation, Closed Won; try a bad one."""
    pipeline = await default_pipeline(bigin)
    contact_id = await ensure_contact(bigin, JOHN_DOE)
    first_stage = pipeline.stages[0].display_value
    created = await bigin.deals.create(
        {
            "Deal_Name": "Website Redesign Project",
            "Stage": first_stage,
            "Pipeline": {"id": pipeline.id},  # alias of Layout
            "Contact_Name": {"id": contact_id},
        }
    )
    moves = StageMoves(record_id(created))
    moves.stages_seen.append(str((await bigin.deals.get(moves.deal_id)).Stage))
    for stage in STAGES:
        await bigin.deals.move_to_stage(moves.deal_id, stage_or_first(pipeline, stage))
        moves.stages_seen.append(str((await bigin.deals.get(moves.deal_id)).Stage))
    try:
        await bigin.deals.move_to_stage(moves.deal_id, "Won")  # not a stage of this pipeline
    except ValidationError as refused:
        moves.refused = str(refused)
    return moves


def describe(moves: StageMoves) -> str:
    return f"Deal {moves.deal_id}: {' -> '.join(moves.stages_seen)}\nRefused: {moves.refused}"


if __name__ == "__main__":
    run_example(main, describe)
