"""The stand-in's GraphQL executor on its own (no server, no SDK): the response carries exactly
the requested fields, with aliases, fragments, type conditions, directives and variables."""

from __future__ import annotations

import pytest

from tests.standin.graphql_exec import GqlError, execute

pytestmark = pytest.mark.standin_only(
    "stand-in behaviour: the stand-in's own GraphQL executor (tests.standin.graphql_exec)"
)


class Thing:
    typename = "ArtifactSequence"
    interfaces = ("ArtifactCollection",)

    def __init__(self, n: int) -> None:
        self.f_id = f"t{n}"
        self.f_name = f"thing-{n}"
        self.f_extra = "not requested"

    def f_double(self, x: int) -> int:
        return 2 * x


class Root:
    typename = "Query"

    def f_thing(self, n: int = 1):
        return Thing(n)

    def f_things(self, first: int = 2):
        return [Thing(i) for i in range(first)]

    def f_broken(self):
        raise GqlError("no such thing")


def run(query: str, variables: dict | None = None, op: str | None = None):
    return execute(query, variables, op, Root(), Root())


def test_exact_fields_aliases_and_typename():
    body, status = run("query Q { a: thing(n: 3) { id __typename } thing { name } }")
    assert status == 200
    assert body == {
        "data": {"a": {"id": "t3", "__typename": "ArtifactSequence"}, "thing": {"name": "thing-1"}}
    }


def test_fragments_type_conditions_and_directives():
    body, _ = run(
        """
        query Q($inc: Boolean!, $x: Int = 5) {
          things(first: 2) {
            ...F
            ... on ArtifactCollection { name }
            ... on ArtifactPortfolio { extra }
            double(x: $x) @include(if: $inc)
            id @skip(if: true)
          }
        }
        fragment F on ArtifactSequence { id }
        """,
        {"inc": True},
    )
    assert body["data"]["things"] == [
        {"id": "t0", "name": "thing-0", "double": 10},
        {"id": "t1", "name": "thing-1", "double": 10},
    ]


def test_operation_selected_by_name():
    doc = "query A { thing { id } } query B { thing(n: 2) { name } }"
    assert run(doc, op="B")[0]["data"] == {"thing": {"name": "thing-2"}}
    body, status = run(doc)
    assert status == 400 and "operation name" in body["errors"][0]["message"]


def test_unknown_root_field_and_resolver_errors_are_graphql_errors():
    # a resolver's error: that field is null, the rest of the data stays
    body, status = run("query { thing { id } broken }")
    assert status == 200
    assert body["data"] == {"thing": {"id": "t1"}, "broken": None}
    assert [e["message"] for e in body["errors"]] == ["no such thing"]
    # a field the server does not have, at any depth: a validation error, no data
    for query, msg in (
        ("query { nope { id } thing { id } }", 'Cannot query field "nope" on type "Query".'),
        (
            "query { thing { id nested } }",
            'Cannot query field "nested" on type "ArtifactSequence".',
        ),
    ):
        body, status = run(query)
        assert status == 400 and body["data"] is None
        assert [e["message"] for e in body["errors"]] == [msg]


def test_syntax_error_is_400():
    body, status = run("query {")
    assert status == 400 and body["errors"][0]["message"].startswith("Syntax Error")
