"""The Query and Mutation roots: the union of each area's root fields."""

from __future__ import annotations

from .artifacts import (
    Artifact,
    ArtifactCollection,
    ArtifactMutations,
    ArtifactQueries,
    ArtifactType,
)
from .base import Ctx
from .runs import Project, Run, RunMutations, RunQueries
from .server import ServerQueries
from .sweeps import Sweep, SweepMutations
from .teams import Member, TeamMutations
from .users import Entity, User, UserMutations, UserQueries


class Query(UserQueries, RunQueries, ArtifactQueries, ServerQueries):
    typename = "Query"

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx


class Mutation(UserMutations, TeamMutations, RunMutations, ArtifactMutations, SweepMutations):
    typename = "Mutation"

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx


# for `__type(name:)` probes
TYPES = {
    c.typename: c
    for c in (
        Query,
        Mutation,
        User,
        Entity,
        Member,
        Project,
        Run,
        Sweep,
        Artifact,
        ArtifactType,
        ArtifactCollection,
    )
}
TYPES["ArtifactCollection"] = ArtifactCollection
