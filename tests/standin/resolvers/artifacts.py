"""Artifacts: the create -> manifest -> files -> commit sequence, read-back, aliases, lineage.

Storage: an artifact's files are content-addressed blobs per entity
(`wandb_artifacts/<entity>/<md5 hex>`), so a file already stored is not uploaded again
(CreateArtifactFiles answers without an upload URL), and the manifest of each version is
a file of its own, outside `wandb_artifacts/` (see `new_manifest_key`).
Collections ("sequences") hold the version counter and the aliases.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from typing import Any

from ..graphql_exec import GqlError
from .base import Ctx, connection, decode_id, dumps, encode_id, guard, loads, now
from .runs import Project, Run, ensure_project, get_run, project_key, run_key


def blob_key(entity: str, md5_b64_or_hex: str) -> str:
    return f"wandb_artifacts/{entity}/{to_hex(md5_b64_or_hex)}"


def to_hex(digest: str) -> str:
    """Manifest digests are base64 md5; URLs use hex (b64_to_hex_id in the SDK)."""
    if len(digest) == 32 and all(c in "0123456789abcdef" for c in digest):
        return digest
    return base64.b64decode(digest + "=" * (-len(digest) % 4)).hex()


MANIFEST_PREFIX = "wandb_manifests"


def new_manifest_key(art: dict) -> str:
    """Where a new version's manifest is stored. As on W&B, not under `wandb_artifacts/`:
    that prefix holds only file blobs, and the wandb SDK's system test
    `test_artifact_multipart_download_refresh_presigned_url` relies on it (GETs under
    `wandb_artifacts/` are blobs; URLs naming `wandb_manifest.json` are the manifest). W&B
    keeps the manifest as a file of the logging run (`CreateArtifactManifest` names the
    run); the stand-in keeps it out of run prefixes, because deleting a run removes its
    prefix here and the artifact must stay readable."""
    return f"{MANIFEST_PREFIX}/{art['entity']}/{art['project']}/{art['_seq']}/wandb_manifest.json"


def legacy_manifest_key(artifact_seq: int) -> str:
    """Where stand-ins before the move stored manifests; versions on such volumes keep it."""
    return f"wandb_artifacts/{artifact_seq}/{artifact_seq}/wandb_manifest.json"


def manifest_key(art: dict) -> str:
    """A version's manifest key: the one recorded when its manifest was created, else the
    old layout (records written before the key was recorded)."""
    return art.get("manifestKey") or legacy_manifest_key(art["_seq"])


def coll_key(entity: str, project: str, name: str) -> str:
    return f"{entity}/{project}/{name}"


def get_type(ctx: Ctx, entity: str, project: str, name: str) -> dict | None:
    return ctx.store.get("atype", f"{entity}/{project}/{name}")


def get_collection(ctx: Ctx, entity: str, project: str, name: str) -> dict | None:
    return ctx.store.get("acoll", coll_key(entity, project, name))


def get_artifact(ctx: Ctx, artifact_id: str | None) -> dict | None:
    seq = decode_id(artifact_id, "Artifact")
    return guard(ctx, ctx.store.get_seq("artifact", seq) if seq is not None else None)


def save_collection(ctx: Ctx, coll: dict) -> dict:
    coll["_seq"] = ctx.store.put(
        "acoll",
        coll_key(coll["entity"], coll["project"], coll["name"]),
        coll,
        parent=project_key(coll["entity"], coll["project"]),
    )
    return coll


def save_artifact(ctx: Ctx, doc: dict) -> dict:
    doc["_seq"] = ctx.store.put(
        "artifact",
        doc["key"],
        doc,
        parent=coll_key(doc["entity"], doc["project"], doc["collection"]),
    )
    return doc


def resolve_artifact_name(ctx: Ctx, entity: str, project: str, name: str) -> dict | None:
    """`collection:alias` or `collection:vN` (no suffix means `latest`)."""
    coll_name, _, ref = name.partition(":")
    ref = ref or "latest"
    coll = get_collection(ctx, entity, project, coll_name)
    if coll is None:
        return None
    if coll.get("portfolio"):
        return _resolve_in_portfolio(ctx, coll, ref)
    if ref in coll.get("aliases", {}):
        return ctx.store.get_seq("artifact", coll["aliases"][ref])
    if ref.startswith("v") and ref[1:].isdigit():
        for a in ctx.store.list("artifact", parent=coll_key(entity, project, coll_name)):
            if a.get("versionIndex") == int(ref[1:]) and a["state"] == "COMMITTED":
                return a
    # a commit hash or the digest also identifies a version
    for a in ctx.store.list("artifact", parent=coll_key(entity, project, coll_name)):
        if ref in (a.get("commitHash"), a.get("digest")) and a["state"] == "COMMITTED":
            return a
    return None


def _resolve_in_portfolio(ctx: Ctx, coll: dict, ref: str) -> dict | None:
    """A linked collection (portfolio) holds links to artifacts of other collections."""
    seq = coll.get("aliases", {}).get(ref)
    if seq is None and ref.startswith("v") and ref[1:].isdigit():
        seq = next(
            (m["artifact"] for m in coll["members"] if m["versionIndex"] == int(ref[1:])), None
        )
    doc = ctx.store.get_seq("artifact", seq) if seq is not None else None
    if doc is not None:
        doc["_via"] = coll_key(coll["entity"], coll["project"], coll["name"])
    return doc


def _portfolio_view(ctx: Ctx, doc: dict) -> tuple[dict | None, dict | None]:
    """(portfolio, membership entry) when the artifact is seen through a portfolio."""
    if not doc.get("_via"):
        return None, None
    coll = ctx.store.get("acoll", doc["_via"])
    if coll is None:
        return None, None
    member = next((m for m in coll["members"] if m["artifact"] == doc["_seq"]), None)
    return coll, member


def run_artifacts(ctx: Ctx, run: dict, direction: str) -> list[Any]:
    rkey = run_key(run["entity"], run["project"], run["name"])
    if direction == "output":
        arts = [
            a
            for a in ctx.store.list("artifact")
            if a.get("createdBy") == rkey or rkey in a.get("loggedBy", [])
        ]
    else:
        seqs = run.get("inputArtifacts") or []
        arts = [a for s in seqs if (a := ctx.store.get_seq("artifact", s))]
    return [Artifact(ctx, a) for a in arts]


def _manifest(ctx: Ctx, art: dict) -> dict | None:
    f = ctx.files.open(manifest_key(art))
    if f is None:
        return None
    with f:
        try:
            return json.loads(f.read())
        except ValueError:
            return None


class ArtifactType:
    typename = "ArtifactType"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx, self.doc = ctx, doc
        self.f_id = encode_id("ArtifactType", doc["_seq"])
        self.f_name = doc["name"]
        self.f_description = doc.get("description")
        self.f_createdAt = doc["createdAt"]

    def _colls(self):
        return [
            c
            for c in self.ctx.store.list(
                "acoll", parent=project_key(self.doc["entity"], self.doc["project"])
            )
            if c["type"] == self.doc["name"]
        ]

    def f_artifactCollection(self, name):
        c = get_collection(self.ctx, self.doc["entity"], self.doc["project"], name)
        return ArtifactCollection(self.ctx, c) if c and c["type"] == self.doc["name"] else None

    f_artifactSequence = f_artifactCollection

    def f_artifactCollections(self, after=None, first=None, filters=None, order=None, **_):
        # ARTIFACT_COLLECTIONS_FILTERING_SORTING: Mongo-style filters and "[+-]field" order
        from .runs import order_runs, run_matches

        flt = loads(filters, {}) or {}
        docs = order_runs([c for c in self._colls() if run_matches(c, flt)], order or "+createdAt")
        return connection([ArtifactCollection(self.ctx, c) for c in docs], first, after)

    f_artifactSequences = f_artifactCollections

    def f_artifact(self, name):
        a = resolve_artifact_name(self.ctx, self.doc["entity"], self.doc["project"], name)
        return Artifact(self.ctx, a) if a and a["type"] == self.doc["name"] else None


class ArtifactCollection:
    typename = "ArtifactSequence"
    interfaces = ("ArtifactCollection",)

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx, self.doc = ctx, doc
        if doc.get("portfolio"):
            self.typename = "ArtifactPortfolio"  # a collection of links
        self.f_id = encode_id("ArtifactCollection", doc["_seq"])
        self.f_name = doc["name"]
        self.f_description = doc.get("description")
        self.f_createdAt = doc["createdAt"]
        self.f_updatedAt = doc.get("updatedAt")
        self.f_digestAlgorithm = "MANIFEST_MD5"
        self.f_state = "READY"

    def f_project(self):
        p = self.ctx.store.get("project", project_key(self.doc["entity"], self.doc["project"]))
        return Project(self.ctx, p) if p else None

    def f_defaultArtifactType(self):
        t = get_type(self.ctx, self.doc["entity"], self.doc["project"], self.doc["type"])
        return ArtifactType(self.ctx, t) if t else None

    def f_tags(self, **_):
        return connection([])

    def _versions(self) -> list[dict]:
        if self.doc.get("portfolio"):
            out = []
            for m in self.doc["members"]:
                a = self.ctx.store.get_seq("artifact", m["artifact"])
                if a is not None and a["state"] == "COMMITTED":
                    a["_via"] = coll_key(self.doc["entity"], self.doc["project"], self.doc["name"])
                    a["_versionIndex"] = m["versionIndex"]
                    out.append(a)
            return out
        arts = self.ctx.store.list(
            "artifact", parent=coll_key(self.doc["entity"], self.doc["project"], self.doc["name"])
        )
        return [a for a in arts if a["state"] == "COMMITTED"]

    def f_artifacts(self, after=None, first=None, order=None, filters=None, **_):
        arts = self._versions()
        flt = loads(filters, {}) or {}
        if "alias" in flt:
            arts = [a for a in arts if flt["alias"] in a.get("aliases", [])]
        arts.sort(key=_version_of, reverse=(order or "-").startswith("-"))
        conn = connection([Artifact(self.ctx, a) for a in arts], first, after)
        for e in conn["edges"]:
            e["version"] = f"v{e['node'].f_versionIndex}"
        return conn

    def f_artifactMemberships(self, after=None, first=None, **_):
        arts = sorted(self._versions(), key=lambda a: -_version_of(a))
        return connection([Membership(self.ctx, a) for a in arts], first, after)

    def f_artifactMembership(self, aliasName):
        a = resolve_artifact_name(
            self.ctx, self.doc["entity"], self.doc["project"], f"{self.doc['name']}:{aliasName}"
        )
        return Membership(self.ctx, a) if a else None

    def f_aliases(self, after=None, first=None, **_):
        nodes = [
            {"__typename": "ArtifactAlias", "id": encode_id("ArtifactAlias", seq), "alias": alias}
            for alias, seq in sorted(self.doc.get("aliases", {}).items())
        ]
        return connection(nodes, first, after)

    def f_latestArtifact(self):
        a = self.doc.get("aliases", {}).get("latest")
        doc = self.ctx.store.get_seq("artifact", a) if a else None
        return Artifact(self.ctx, doc) if doc else None


def _tag_names(tags: list | None) -> list[str]:
    """TagInput list ({tagName, tagCategoryName}) -> tag names, in order, once each."""
    out: list[str] = []
    for t in tags or []:
        name = t.get("tagName") if isinstance(t, dict) else t
        if name and name not in out:
            out.append(name)
    return out


def _version_of(doc: dict) -> int:
    return doc.get("_versionIndex", doc.get("versionIndex") or 0)


class ArtifactFile:
    typename = "File"

    def __init__(self, ctx: Ctx, art: dict, path: str, entry: dict) -> None:
        digest = entry.get("digest", "")
        self.f_id = encode_id("File", abs(hash((art["_seq"], path))) % 10**12)
        self.f_name = path
        self.f_displayName = path.rsplit("/", 1)[-1]
        self.f_sizeBytes = entry.get("size") or 0
        self.f_mimetype = None
        self.f_updatedAt = art.get("updatedAt")
        self.f_digest = digest
        self.f_md5 = digest
        self.f_storagePath = blob_key(art["entity"], digest) if not entry.get("ref") else None
        self.f_directUrl = (
            ctx.files.download_url(self.f_storagePath) if self.f_storagePath else entry.get("ref")
        )
        self.f_url = self.f_directUrl


def _alias_nodes(ctx: Ctx, art: dict) -> list[dict]:
    portfolio, _ = _portfolio_view(ctx, art)
    if portfolio is not None:
        names = sorted(a for a, seq in portfolio["aliases"].items() if seq == art["_seq"])
        return [
            {
                "__typename": "ArtifactAlias",
                "id": encode_id("ArtifactAlias", portfolio["_seq"] * 100000 + i),
                "alias": alias,
                "artifactCollection": ArtifactCollection(ctx, portfolio),
            }
            for i, alias in enumerate(names)
        ]
    coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
    return [
        {
            "__typename": "ArtifactAlias",
            "id": encode_id("ArtifactAlias", art["_seq"] * 1000 + i),
            "alias": alias,
            "artifactCollection": ArtifactCollection(ctx, coll) if coll else None,
        }
        for i, alias in enumerate(art.get("aliases", []))
    ]


class Artifact:
    typename = "Artifact"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx, self.doc = ctx, doc
        d = doc
        self.f_id = encode_id("Artifact", d["_seq"])
        self.f_versionIndex = d.get("versionIndex")
        self.f_description = d.get("description")
        self.f_metadata = dumps(d.get("metadata") or {})
        self.f_ttlDurationSeconds = d.get("ttlDurationSeconds") or -1
        self.f_ttlIsInherited = True
        self.f_tags = [
            {
                "__typename": "Tag",
                "id": encode_id("Tag", abs(hash(t)) % 10**9),
                "name": t,
                "tagCategoryName": "",
                "attributes": "{}",
            }
            for t in d.get("tags", [])
        ]
        self.f_historyStep = d.get("historyStep")
        self.f_state = d["state"]
        self.f_size = d.get("size", 0)
        self.f_digest = d["digest"]
        self.f_digestAlgorithm = "MANIFEST_MD5"
        self.f_commitHash = d.get("commitHash")
        self.f_fileCount = d.get("fileCount", 0)
        self.f_createdAt = d["createdAt"]
        self.f_updatedAt = d.get("updatedAt")
        self.f_labels = None
        # seen through a linked collection: its version index and collection are the link's
        portfolio, member = _portfolio_view(ctx, doc)
        self._portfolio = portfolio
        if member is not None:
            self.f_versionIndex = member["versionIndex"]

    def _coll(self):
        c = get_collection(
            self.ctx, self.doc["entity"], self.doc["project"], self.doc["collection"]
        )
        return ArtifactCollection(self.ctx, c) if c else None

    def f_artifactSequence(self):
        return self._coll()

    def f_artifactCollection(self):
        if self._portfolio is not None:
            return ArtifactCollection(self.ctx, self._portfolio)
        return self._coll()

    def f_artifactType(self):
        t = get_type(self.ctx, self.doc["entity"], self.doc["project"], self.doc["type"])
        return ArtifactType(self.ctx, t) if t else None

    def f_aliases(self):
        return _alias_nodes(self.ctx, self.doc)

    def f_artifactMemberships(self, **kw):
        """Its own collection, then every portfolio it is linked into."""
        plain = {k: v for k, v in self.doc.items() if k not in ("_via", "_versionIndex")}
        views = [Membership(self.ctx, plain)]
        for c in self.ctx.store.list("acoll"):
            if c.get("portfolio") and any(m["artifact"] == plain["_seq"] for m in c["members"]):
                linked = dict(plain, _via=coll_key(c["entity"], c["project"], c["name"]))
                views.append(Membership(self.ctx, linked))
        return connection(views, kw.get("first"), kw.get("after"))

    def f_currentManifest(self):
        key = manifest_key(self.doc)
        return {
            "__typename": "ArtifactManifest",
            "id": encode_id("ArtifactManifest", self.doc["_seq"]),
            "file": {
                "__typename": "File",
                "id": encode_id("File", self.doc["_seq"]),
                "directUrl": self.ctx.files.download_url(key),
                "name": "wandb_manifest.json",
            },
        }

    def _entries(self) -> dict[str, dict]:
        m = _manifest(self.ctx, self.doc) or {}
        return m.get("contents", {})

    def f_files(self, names=None, after=None, first=None, **_):
        entries = self._entries()
        paths = [p for p in sorted(entries) if not names or p in names]
        return connection(
            [ArtifactFile(self.ctx, self.doc, p, entries[p]) for p in paths], first, after
        )

    def f_filesByManifestEntries(self, entries=None, **_):
        files = []
        for e in entries or []:
            files.append(
                {
                    "__typename": "File",
                    "name": e.get("name"),
                    "directUrl": self.ctx.files.download_url(
                        blob_key(self.doc["entity"], e["digest"])
                    ),
                }
            )
        return connection(files)

    def f_createdBy(self):
        key = self.doc.get("createdBy")
        if not key:
            return None
        run = self.ctx.store.get("run", key)
        return Run(self.ctx, run) if run else None

    def f_usedBy(self, **kw):
        runs = [r for k in self.doc.get("usedBy", []) if (r := self.ctx.store.get("run", k))]
        return connection([Run(self.ctx, r) for r in runs], kw.get("first"), kw.get("after"))


class Membership(Artifact):
    """An artifact seen through its collection (ArtifactCollectionMembership)."""

    typename = "ArtifactCollectionMembership"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        super().__init__(ctx, doc)
        self.f_id = encode_id("ArtifactCollectionMembership", doc["_seq"])

    def f_artifact(self):
        # the artifact itself, as in its source collection (not the linked view)
        plain = {k: v for k, v in self.doc.items() if k not in ("_via", "_versionIndex")}
        return Artifact(self.ctx, plain)


class ArtifactQueries:
    def f_artifact(self, id):  # noqa: A002
        a = get_artifact(self.ctx, id)
        return Artifact(self.ctx, a) if a else None

    def f_artifactCollection(self, id):  # noqa: A002
        seq = decode_id(id, "ArtifactCollection")
        c = guard(self.ctx, self.ctx.store.get_seq("acoll", seq) if seq else None)
        return ArtifactCollection(self.ctx, c) if c else None

    f_artifactSequence = f_artifactCollection

    def f_clientIDMapping(self, clientID):
        for a in self.ctx.store.list("artifact"):
            if not self.ctx.can_access(a["entity"]):
                continue
            if clientID in (a.get("clientID"), a.get("sequenceClientID")):
                return {"serverID": encode_id("Artifact", a["_seq"])}
        return None


class ArtifactMutations:
    def f_createArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        entity = ctx.entity_or_default(inp.get("entityName"))
        project = inp.get("projectName") or "uncategorized"
        type_name = inp.get("artifactTypeName") or "unspecified"
        names = inp.get("artifactCollectionNames") or [inp.get("artifactCollectionName")]
        name = names[0]
        if not name:
            raise GqlError("createArtifact: artifactCollectionName is required")
        digest = inp.get("digest") or ""
        with ctx.store.lock:
            ensure_project(ctx, entity, project)
            tkey = f"{entity}/{project}/{type_name}"
            if ctx.store.get("atype", tkey) is None:
                ctx.store.put(
                    "atype",
                    tkey,
                    {"entity": entity, "project": project, "name": type_name, "createdAt": now()},
                    parent=project_key(entity, project),
                )
            coll = get_collection(ctx, entity, project, name)
            if coll is None:
                coll = {
                    "entity": entity,
                    "project": project,
                    "name": name,
                    "type": type_name,
                    "createdAt": now(),
                    "nextVersion": 0,
                    "aliases": {},
                    "description": inp.get("description"),
                }
                save_collection(ctx, coll)
            elif coll["type"] != type_name:
                raise GqlError(
                    f"artifact collection {name} already exists with type {coll['type']}"
                )
            # deduplication: the same contents in the same collection is the same version
            existing = next(
                (
                    a
                    for a in ctx.store.list("artifact", parent=coll_key(entity, project, name))
                    if a["digest"] == digest and a["state"] == "COMMITTED"
                ),
                None,
            )
            run = get_run(ctx, entity, project, inp["runName"]) if inp.get("runName") else None
            if existing is not None:
                art = existing
                if run is not None:
                    # the run that logged the same contents again has it as an output too
                    rkey = run_key(entity, project, run["name"])
                    if rkey != art.get("createdBy") and rkey not in art.setdefault("loggedBy", []):
                        art["loggedBy"].append(rkey)
                self._add_aliases(coll, art, inp.get("aliases") or [])
            else:
                art = {
                    "key": secrets.token_hex(12),
                    "entity": entity,
                    "project": project,
                    "collection": name,
                    "type": type_name,
                    "digest": digest,
                    "state": "PENDING",
                    "versionIndex": None,
                    "description": inp.get("description"),
                    "metadata": loads(inp.get("metadata"), {}),
                    "pendingAliases": [
                        a.get("alias") for a in inp.get("aliases") or [] if a.get("alias")
                    ],
                    "historyStep": inp.get("historyStep"),
                    "clientID": inp.get("clientID"),
                    "sequenceClientID": inp.get("sequenceClientID"),
                    "createdBy": run_key(entity, project, run["name"]) if run else None,
                    "createdAt": now(),
                    "updatedAt": now(),
                    "aliases": [],
                    "usedBy": [],
                    "ttlDurationSeconds": inp.get("ttlDurationSeconds"),
                    "tags": _tag_names(inp.get("tags")),
                }
                save_artifact(ctx, art)
        # artifactSequence.latestArtifact is the newest committed version before this one
        return {"__typename": "CreateArtifactPayload", "artifact": Artifact(ctx, art)}

    def _target(self, art: dict, alias) -> dict | None:
        """The linked collection an alias input names, if it is not the artifact's own."""
        if not isinstance(alias, dict) or not alias.get("artifactCollectionName"):
            return None
        entity = alias.get("entityName") or art["entity"]
        project = alias.get("projectName") or art["project"]
        coll = get_collection(self.ctx, entity, project, alias["artifactCollectionName"])
        if coll is None or not coll.get("portfolio"):
            return None
        guard(self.ctx, coll)
        return coll

    def _add_aliases(self, coll: dict, art: dict, aliases: list) -> None:
        """Move aliases to this version (an alias names one version of a collection)."""
        store = self.ctx.store
        for alias in aliases:
            portfolio = self._target(art, alias)
            alias = alias.get("alias") if isinstance(alias, dict) else alias
            if not alias:
                continue
            if portfolio is not None:  # saved through a linked artifact: the link's alias
                portfolio["aliases"][alias] = art["_seq"]
                save_collection(self.ctx, portfolio)
                continue
            old = coll["aliases"].get(alias)
            if old is not None and old != art["_seq"]:
                prev = store.get_seq("artifact", old)
                if prev is not None:
                    prev["aliases"] = [a for a in prev.get("aliases", []) if a != alias]
                    save_artifact(self.ctx, prev)
            coll["aliases"][alias] = art["_seq"]
            if alias not in art["aliases"]:
                art["aliases"].append(alias)
        save_collection(self.ctx, coll)
        save_artifact(self.ctx, art)

    def _manifest_payload(self, art: dict, include_upload: bool = True) -> dict:
        key = manifest_key(art)
        file = {"__typename": "File", "id": encode_id("File", art["_seq"])}
        file["uploadUrl"] = self.ctx.files.upload_url(key)
        file["uploadHeaders"] = []
        return {
            "__typename": "CreateArtifactManifestPayload",
            "artifactManifest": {
                "__typename": "ArtifactManifest",
                "id": encode_id("ArtifactManifest", art["_seq"]),
                "file": file,
            },
        }

    def f_linkArtifact(self, input):  # noqa: A002
        """Link a committed artifact into a portfolio collection (`run.link_artifact`)."""
        ctx = self.ctx
        inp = input or {}
        art = get_artifact(ctx, inp.get("artifactID"))
        if art is None and inp.get("clientID"):
            art = next(
                (a for a in ctx.store.list("artifact") if a.get("clientID") == inp["clientID"]),
                None,
            )
        if art is None:
            raise GqlError("linkArtifact: artifact not found")
        name = inp.get("artifactPortfolioName")
        if not name:
            raise GqlError("linkArtifact: artifactPortfolioName is required")
        entity = ctx.entity_or_default(inp.get("entityName"))
        project = inp.get("projectName") or art["project"]
        with ctx.store.lock:
            ensure_project(ctx, entity, project)
            key = coll_key(entity, project, name)
            coll = ctx.store.get("acoll", key)
            if coll is None:
                coll = {
                    "entity": entity,
                    "project": project,
                    "name": name,
                    "type": art["type"],
                    "portfolio": True,
                    "members": [],
                    "aliases": {},
                    "nextVersion": 0,
                    "createdAt": now(),
                }
            elif not coll.get("portfolio"):
                raise GqlError(f"{name} is an artifact sequence, not a linked collection")
            member = next((m for m in coll["members"] if m["artifact"] == art["_seq"]), None)
            if member is None:
                member = {
                    "artifact": art["_seq"],
                    "versionIndex": coll["nextVersion"],
                    "createdAt": now(),
                }
                coll["members"].append(member)
                coll["nextVersion"] += 1
            aliases = ["latest"] + [
                a.get("alias") if isinstance(a, dict) else a for a in inp.get("aliases") or []
            ]
            for alias in aliases:
                if alias:
                    coll["aliases"][alias] = art["_seq"]
            coll["_seq"] = ctx.store.put("acoll", key, coll, parent=project_key(entity, project))
            tkey = f"{entity}/{project}/{art['type']}"
            if ctx.store.get("atype", tkey) is None:
                ctx.store.put(
                    "atype",
                    tkey,
                    {"entity": entity, "project": project, "name": art["type"], "createdAt": now()},
                    parent=project_key(entity, project),
                )
        view = dict(art, _via=key)
        return {
            "__typename": "LinkArtifactPayload",
            "versionIndex": member["versionIndex"],
            "artifactMembership": Membership(ctx, view),
        }

    def f_unlinkArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        seq = decode_id(inp.get("artifactPortfolioID"), "ArtifactCollection")
        with ctx.store.lock:
            coll = guard(ctx, ctx.store.get_seq("acoll", seq) if seq else None)
            art = get_artifact(ctx, inp.get("artifactID"))
            if coll is None or art is None or not coll.get("portfolio"):
                raise GqlError("unlinkArtifact: link not found")
            coll["members"] = [m for m in coll["members"] if m["artifact"] != art["_seq"]]
            coll["aliases"] = {a: s for a, s in coll["aliases"].items() if s != art["_seq"]}
            save_collection(ctx, coll)
        return {"success": True}

    def f_createArtifactManifest(self, input):  # noqa: A002
        inp = input or {}
        with self.ctx.store.lock:  # read-modify-write of the version's record
            art = get_artifact(self.ctx, inp.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            if (inp.get("type") or "FULL") == "INCREMENTAL":
                # the uploaded manifest holds only the changes; commit merges it with the base
                base = get_artifact(self.ctx, inp.get("baseArtifactID"))
                if base is None:
                    raise GqlError("createArtifactManifest: INCREMENTAL needs a baseArtifactID")
                art["baseArtifact"] = base["_seq"]
            # recorded once: later reads and re-uploads use the key this version started with
            art.setdefault("manifestKey", new_manifest_key(art))
            save_artifact(self.ctx, art)
        return self._manifest_payload(art)

    def f_updateArtifactManifest(self, input):  # noqa: A002
        seq = decode_id((input or {}).get("artifactManifestID"), "ArtifactManifest")
        art = guard(self.ctx, self.ctx.store.get_seq("artifact", seq) if seq else None)
        if art is None:
            raise GqlError("artifact manifest not found")
        if input.get("digest"):
            art["digest"] = input["digest"]
            save_artifact(self.ctx, art)
        return self._manifest_payload(art)

    def f_createArtifactFiles(self, input):  # noqa: A002
        ctx = self.ctx
        edges = []
        for spec in (input or {}).get("artifactFiles") or []:
            art = get_artifact(ctx, spec.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            key = blob_key(art["entity"], spec["md5"])
            exists = ctx.files.stat(key) is not None
            edges.append(
                {
                    "node": {
                        "__typename": "File",
                        "storagePath": key,
                        # no URL when the blob is already stored: the client skips the upload
                        "uploadUrl": None if exists else ctx.files.upload_url(key),
                        "uploadHeaders": [],
                        "uploadMultipartUrls": None,
                        "artifact": Artifact(ctx, art),
                        "name": spec.get("name"),
                    }
                }
            )
        return {
            "__typename": "CreateArtifactFilesPayload",
            "files": {"__typename": "FileConnection", "edges": edges},
        }

    def f_commitArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        with ctx.store.lock:
            art = get_artifact(ctx, (input or {}).get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            if art["state"] != "COMMITTED":
                coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
                manifest = _manifest(ctx, art) or {}
                if art.get("baseArtifact") is not None:
                    manifest = self._merge_incremental(art, manifest)
                contents = manifest.get("contents", {})
                art["size"] = sum(int(e.get("size") or 0) for e in contents.values())
                art["fileCount"] = len(contents)
                art["versionIndex"] = coll["nextVersion"]
                coll["nextVersion"] += 1
                art["state"] = "COMMITTED"
                art["commitHash"] = secrets.token_hex(10)
                art["updatedAt"] = now()
                aliases = ["latest"] + art.pop("pendingAliases", [])
                self._add_aliases(coll, art, aliases)
        return {"__typename": "CommitArtifactPayload", "artifact": Artifact(ctx, art)}

    def _merge_incremental(self, art: dict, manifest: dict) -> dict:
        """Base version's entries, overlaid with this version's, stored as its manifest."""
        base = self.ctx.store.get_seq("artifact", art["baseArtifact"])
        base_manifest = (_manifest(self.ctx, base) if base else None) or {}
        merged = dict(base_manifest or manifest)
        merged.update({k: v for k, v in manifest.items() if k != "contents"})
        merged["contents"] = {
            **base_manifest.get("contents", {}),
            **manifest.get("contents", {}),
        }
        data = json.dumps(merged).encode()
        self.ctx.files.write(manifest_key(art), io.BytesIO(data), len(data))
        return merged

    def f_useArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            art = get_artifact(ctx, inp.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            entity = ctx.entity_or_default(inp.get("entityName"))
            run = get_run(ctx, entity, inp.get("projectName"), inp.get("runName"))
            if run is not None:
                from .runs import save_run

                run.setdefault("inputArtifacts", [])
                if art["_seq"] not in run["inputArtifacts"]:
                    run["inputArtifacts"].append(art["_seq"])
                    save_run(ctx, run)
                rkey = run_key(run["entity"], run["project"], run["name"])
                if rkey not in art.setdefault("usedBy", []):
                    art["usedBy"].append(rkey)
                    save_artifact(ctx, art)
        return {"__typename": "UseArtifactPayload", "artifact": Artifact(ctx, art)}

    def f_updateArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            art = get_artifact(ctx, inp.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            if inp.get("description") is not None:
                art["description"] = inp["description"]
            if inp.get("metadata") is not None:
                art["metadata"] = loads(inp["metadata"], {})
            if inp.get("ttlDurationSeconds") is not None:
                art["ttlDurationSeconds"] = inp["ttlDurationSeconds"]
            drop = set(_tag_names(inp.get("tagsToDelete")))
            tags = [t for t in art.get("tags", []) if t not in drop]
            art["tags"] = tags + [t for t in _tag_names(inp.get("tagsToAdd")) if t not in tags]
            save_artifact(ctx, art)
            if inp.get("aliases") is not None:
                coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
                self._add_aliases(coll, art, inp["aliases"])
        return {"__typename": "UpdateArtifactPayload", "artifact": Artifact(ctx, art)}

    def f_addAliases(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            art = get_artifact(ctx, inp.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
            self._add_aliases(coll, art, inp.get("aliases") or [])
        return {"success": True}

    def f_deleteAliases(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            art = get_artifact(ctx, inp.get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
            for a in inp.get("aliases") or []:
                portfolio = self._target(art, a)
                alias = a.get("alias") if isinstance(a, dict) else a
                if portfolio is not None:
                    if portfolio["aliases"].get(alias) == art["_seq"]:
                        del portfolio["aliases"][alias]
                        save_collection(ctx, portfolio)
                    continue
                art["aliases"] = [x for x in art.get("aliases", []) if x != alias]
                if coll["aliases"].get(alias) == art["_seq"]:
                    del coll["aliases"][alias]
            save_artifact(ctx, art)
            save_collection(ctx, coll)
        return {"success": True}

    def _delete_collection(self, coll_id, portfolio: bool) -> dict:
        ctx = self.ctx
        with ctx.store.lock:
            seq = decode_id(coll_id, "ArtifactCollection")
            coll = guard(ctx, ctx.store.get_seq("acoll", seq) if seq else None)
            if coll is None or bool(coll.get("portfolio")) != portfolio:
                kind = "artifact portfolio" if portfolio else "artifact sequence"
                raise GqlError(f"{kind} {coll_id} not found")
            key = coll_key(coll["entity"], coll["project"], coll["name"])
            if not portfolio:  # its versions go with it (links to them too)
                for a in ctx.store.list("artifact", parent=key):
                    a["state"] = "DELETED"
                    a["aliases"] = []
                    save_artifact(ctx, a)
            ctx.store.delete("acoll", key)
        coll["state"] = "DELETED"
        view = ArtifactCollection(ctx, coll)
        view.f_state = "DELETED"
        return {"__typename": "DeleteArtifactCollectionPayload", "artifactCollection": view}

    def f_deleteArtifactSequence(self, input):  # noqa: A002
        return self._delete_collection((input or {}).get("artifactSequenceID"), portfolio=False)

    def f_deleteArtifactPortfolio(self, input):  # noqa: A002
        return self._delete_collection((input or {}).get("artifactPortfolioID"), portfolio=True)

    def f_deleteArtifact(self, input):  # noqa: A002
        ctx = self.ctx
        with ctx.store.lock:
            art = get_artifact(ctx, (input or {}).get("artifactID"))
            if art is None:
                raise GqlError("artifact not found")
            if art.get("aliases") and not input.get("deleteAliases"):
                raise GqlError("cannot delete an artifact version that has aliases")
            coll = get_collection(ctx, art["entity"], art["project"], art["collection"])
            for alias in art.get("aliases", []):
                coll["aliases"].pop(alias, None)
            save_collection(ctx, coll)
            art["state"] = "DELETED"
            art["aliases"] = []
            save_artifact(ctx, art)
        return {"__typename": "DeleteArtifactPayload", "artifact": Artifact(ctx, art)}
