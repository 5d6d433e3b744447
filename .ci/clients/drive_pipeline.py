#!/usr/bin/env python3
"""Drive a company through a pipeline with the generated Python client only.

    PYTHONPATH=DIR python drive_pipeline.py --base-url http://127.0.0.1:PORT --token clt_pat_...

DIR holds `clientline_client`, which openapi-python-client generated from
openapi/openapi.json (CI's `clients` step; the generated code is never committed). Through
it, and nothing else but the standard library, this creates a company with custom fields,
finds the default pipeline's phases, moves the company into its first phase, wins it, and
reads its history and the board, asserting on each answer's status and parsed model. The
token's account is a new one: its default pipeline as every account starts with it.
"""

from __future__ import annotations

import argparse
import sys
from http import HTTPStatus

from clientline_client import AuthenticatedClient
from clientline_client.api.companies import create_company, list_company_transitions, move_company
from clientline_client.api.pipelines import get_board, list_pipelines
from clientline_client.models import (
    BoardOut,
    CompanyCreate,
    CompanyCreateCustomFieldsType0,
    CompanyOut,
    MoveOut,
    MoveRequest,
    MoveRequestOutcome,
    PipelineList,
    Problem,
    TransitionList,
)
from clientline_client.types import Response, Unset


def expect(response: Response, status: HTTPStatus, model: type, what: str):
    """The parsed answer, after checking its status and its model."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, model):
        body = response.content.decode(errors="replace")[:2000]
        raise AssertionError(
            f"{what}: expected {status.value} with a {model.__name__}, got "
            f"{response.status_code.value} ({type(parsed).__name__}): {body}"
        )
    print(f"ok  {what}: {response.status_code.value} {model.__name__}")
    return parsed


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()

    client = AuthenticatedClient(base_url=args.base_url, token=args.token, timeout=30)
    with client:
        # A company, with custom fields of the account's own choosing
        custom = CompanyCreateCustomFieldsType0.from_dict({"tier": "gold", "score": 3})
        body = CompanyCreate(
            name="Generated Client Ltd",
            domain="generated-client.example",
            tags=["vip"],
            custom_fields=custom,
            show_in_pipeline=True,
        )
        company: CompanyOut = expect(
            create_company.sync_detailed(client=client, body=body),
            HTTPStatus.CREATED,
            CompanyOut,
            "POST /v1/companies",
        )
        check(company.name == "Generated Client Ltd", f"the company's name: {company.name!r}")
        check(company.tags == ["vip"], f"the company's tags: {company.tags!r}")
        check(
            company.custom_fields.to_dict() == {"tier": "gold", "score": 3},
            f"the company's custom_fields: {company.custom_fields.to_dict()!r}",
        )
        check(company.relationship_status == "not_set", f"a new company's status: {company.relationship_status!r}")

        # The default pipeline and its phases
        pipelines: PipelineList = expect(
            list_pipelines.sync_detailed(client=client), HTTPStatus.OK, PipelineList, "GET /v1/pipelines"
        )
        # One default pipeline per record type: companies and projects each have theirs
        defaults = [p for p in pipelines.data if p.is_default]
        kinds = sorted(str(p.record_type) for p in defaults)
        check(kinds == ["company", "project"], f"one default pipeline per record type, got {kinds}")
        defaults = [p for p in defaults if str(p.record_type) == "company"]
        pipeline = defaults[0]
        phases = sorted(pipeline.phases, key=lambda p: p.position)
        check(len(phases) >= 2, f"the default pipeline's phases: {[p.name for p in phases]}")
        first = phases[0]
        won_id = pipeline.won_phase_id
        if isinstance(won_id, Unset) or won_id is None:
            won_id = next(p.id for p in phases if p.status == "active")
        print(f"    pipeline {pipeline.id} {pipeline.name!r}: {[(p.id, p.name, p.status) for p in phases]}")

        # Into the pipeline's first phase
        moved: MoveOut = expect(
            move_company.sync_detailed(company.id, client=client, body=MoveRequest(to_phase_id=first.id)),
            HTTPStatus.CREATED,
            MoveOut,
            f"POST /v1/companies/{company.id}/transitions to_phase_id={first.id}",
        )
        check(moved.changed is True, "the first move changed something")
        check(moved.company.phase_id == first.id, f"the company's phase after the move: {moved.company.phase_id!r}")
        check(moved.company.pipeline_id == pipeline.id, f"the company's pipeline: {moved.company.pipeline_id!r}")
        check(moved.company.relationship_status == first.status, "the company's status is its phase's")

        # The same move again: nothing to do
        again: MoveOut = expect(
            move_company.sync_detailed(company.id, client=client, body=MoveRequest(to_phase_id=first.id)),
            HTTPStatus.OK,
            MoveOut,
            "the same move again",
        )
        check(again.changed is False, "a move to where the company is changes nothing")

        # A phase that does not exist: a problem, parsed as one
        missing = move_company.sync_detailed(company.id, client=client, body=MoveRequest(to_phase_id=999_999_999))
        check(
            400 <= missing.status_code < 500 and isinstance(missing.parsed, Problem),
            f"a move to a missing phase: {missing.status_code.value} {missing.content[:300]!r}",
        )
        print(f"ok  a move to a missing phase: {missing.status_code.value} Problem {missing.parsed.code!r}")

        # Win it
        won: MoveOut = expect(
            move_company.sync_detailed(company.id, client=client, body=MoveRequest(outcome=MoveRequestOutcome.WON)),
            HTTPStatus.CREATED,
            MoveOut,
            'POST /v1/companies/{id}/transitions {"outcome": "won"}',
        )
        check(won.changed is True, "winning changed something")
        check(won.company.outcome == "won", f"the company's outcome: {won.company.outcome!r}")
        check(won.company.phase_id == won_id, f"won leads to phase {won_id}, got {won.company.phase_id!r}")
        check(won.company.relationship_status == "active", f"a won company's status: {won.company.relationship_status!r}")
        check(won.company.version > company.version, "the company's version went up")

        # Its history, newest first
        history: TransitionList = expect(
            list_company_transitions.sync_detailed(company.id, client=client),
            HTTPStatus.OK,
            TransitionList,
            f"GET /v1/companies/{company.id}/transitions",
        )
        check(len(history.data) == 2, f"two history rows, got {len(history.data)}")
        latest, entry = history.data
        check(latest.outcome == "won" and latest.to_phase_id == won_id, f"the latest row: {latest.to_dict()!r}")
        check(latest.from_phase_id == first.id, f"the win left phase {first.id}: {latest.from_phase_id!r}")
        check(entry.to_phase_id == first.id and entry.from_status == "not_set", f"the entry row: {entry.to_dict()!r}")
        check(all(t.company_id == company.id for t in history.data), "the rows are the company's")
        check(latest.created_at >= entry.created_at, "newest first")

        # The board: the company's card is in the won phase's column only
        board: BoardOut = expect(
            get_board.sync_detailed(pipeline.id, client=client, cards_per_phase=20),
            HTTPStatus.OK,
            BoardOut,
            f"GET /v1/pipelines/{pipeline.id}/board",
        )
        check(board.pipeline_id == pipeline.id, "the board's pipeline")
        check([c.phase.id for c in board.columns] == [p.id for p in phases], "one column per phase, in order")
        columns = {c.phase.id: c for c in board.columns if any(card.id == company.id for card in c.cards)}
        check(list(columns) == [won_id], f"the company's card is in phase {won_id} only: {list(columns)}")
        check(columns[won_id].count >= 1, "the won phase's count")
        card = next(card for card in columns[won_id].cards if card.id == company.id)
        check(card.name == company.name and card.days_in_phase == 0, f"the card: {card.to_dict()!r}")

    print("drive_pipeline: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
