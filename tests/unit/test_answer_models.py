"""A response model filters what a route answers: a column added to a table that a route
answers row by row would silently disappear from the answer if its model did not name it
(issue 19). Each such model names exactly its table's columns (and what the route adds)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel
from sqlalchemy import Table

from services.followup import schemas as followup_answers
from services.followup import store as followup_store
from services.handling import api as handling_api
from services.handling import store as handling_store
from services.kpi import schemas as kpi_answers
from services.kpi import store as kpi_store
from services.kpi.domain.facts import Fact
from services.routing import api as routing_api
from services.routing import store as routing_store

pytestmark = pytest.mark.unit

ROWS: list[tuple[Table, type[BaseModel], set[str], set[str]]] = [
    # table, the model of its rows, columns left out of the answer, keys the route adds
    (routing_store.rules, routing_api.RuleView, set(), set()),
    (routing_store.sla_policies, routing_api.SlaPolicyView, set(), set()),
    (routing_store.matters, routing_api.MatterView, set(), set()),
    (routing_store.matter_versions, routing_api.MatterVersion, set(), set()),
    (routing_store.dispatch_queue, routing_api.QueueItem, set(), set()),
    (routing_store.dispatch_models, routing_api.DispatchModel, {"blob"}, set()),
    (handling_store.extensions, handling_api.ExtensionView, set(), set()),
    (handling_store.supervision_orders, handling_api.SupervisionOrderView, set(), set()),
    (handling_store.clocks, handling_api.ClockView, set(), set()),
    (followup_store.revisits, followup_answers.RevisitView, set(), set()),
    (followup_store.rectifications, followup_answers.RectificationView, set(), {"overdue"}),
    (kpi_store.flags, kpi_answers.Flag, set(), set()),
]


@pytest.mark.parametrize(("table", "model", "left_out", "added"), ROWS, ids=[t.name for t, *_ in ROWS])
def test_a_row_model_names_every_column_of_its_table(
    table: Table, model: type[BaseModel], left_out: set[str], added: set[str]
) -> None:
    assert set(model.model_fields) == {c.name for c in table.c} - left_out | added


def test_a_request_fact_answer_names_every_field_of_the_fact() -> None:
    assert list(kpi_answers.RequestFacts.model_fields) == [f.name for f in fields(Fact)]
