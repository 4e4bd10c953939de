"""A server that closes the connection in the middle of its GraphQL answer is a
GraphQLError naming it (a `health` finding), never a traceback (seen in CI under load:
ChunkedEncodingError escaped `wandb-kit health --deep`)."""

from __future__ import annotations

import pytest
from wandb_local_kit.server import client

from tests.fakewandb import Behaviour, FakeWandb, Reply


def test_an_answer_that_breaks_off_is_a_graphql_error():
    breaks_off = Behaviour(replies={"/graphql": Reply(200, broken=True)})
    with FakeWandb(breaks_off) as fake:
        with pytest.raises(client.GraphQLError) as err:
            client.graphql(client.session(), fake.url, "local-" + "k" * 40, "{ viewer { id } }")
        assert "broke off" in str(err.value)
        assert "k" * 40 not in str(err.value)
