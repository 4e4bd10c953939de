"""Projects and runs: UpsertBucket, run read-back, history, files, deleteRun."""

from __future__ import annotations

import base64
import json
import math
import posixpath
import re
import secrets
import string
from typing import Any

from .. import retention
from ..faults import FAULTS
from ..graphql_exec import GqlError
from .base import Ctx, connection, decode_id, dumps, encode_id, guard, loads, now, readable_entity

RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def project_key(entity: str, project: str) -> str:
    return f"{entity}/{project}"


def run_key(entity: str, project: str, name: str) -> str:
    return f"{entity}/{project}/{name}"


def run_file_key(run: dict, name: str) -> str:
    """Where a run's file lives in the file store (the real server: <entity>/<project>/<run>/)."""
    return f"{run['entity']}/{run['project']}/{run['name']}/{name}"


def ensure_project(ctx: Ctx, entity: str, name: str) -> dict:
    with ctx.store.lock:
        doc = ctx.store.get("project", project_key(entity, name))
        if doc is None:
            doc = {"entity": entity, "name": name, "createdAt": now(), "user": ctx.username}
            doc["_seq"] = ctx.store.put("project", project_key(entity, name), doc)
        return doc


def get_run(ctx: Ctx, entity: str, project: str, name: str) -> dict | None:
    return ctx.store.get("run", run_key(entity, project, name))


def save_run(ctx: Ctx, run: dict) -> dict:
    key = run_key(run["entity"], run["project"], run["name"])
    run["_seq"] = ctx.store.put("run", key, run, parent=project_key(run["entity"], run["project"]))
    return run


# -- history helpers -------------------------------------------------------------------------


def _flatten(row: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys (as the UI and history_keys show them); media stay."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and "_type" not in v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return v.get("_type", "map")
    return "nil"


def history_rows(ctx: Ctx, run: dict) -> list[dict]:
    rows = []
    for line in ctx.store.lines(run["_seq"], "history"):
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return FAULTS.history(rows)


def sample(rows: list, samples: int | None) -> list:
    """Down-sample evenly, keeping the first and the last row (like the real server)."""
    if samples is None or samples <= 0 or len(rows) <= samples:
        return rows
    if samples == 1:
        return [rows[-1]]
    step = (len(rows) - 1) / (samples - 1)
    return [rows[round(i * step)] for i in range(samples)]


def history_keys(rows: list[dict]) -> dict:
    keys: dict[str, dict] = {}
    last_step = -1
    for row in rows:
        if isinstance(row.get("_step"), int):
            last_step = max(last_step, row["_step"])
        for k, v in _flatten(row).items():
            info = keys.setdefault(k, {"typeCounts": {}, "monotonic": True, "previousValue": None})
            t = _type_name(v)
            info["typeCounts"][t] = info["typeCounts"].get(t, 0) + 1
            prev = info["previousValue"]
            if isinstance(v, (int, float)) and isinstance(prev, (int, float)) and v < prev:
                info["monotonic"] = False
            info["previousValue"] = v
    for info in keys.values():
        info["typeCounts"] = [{"type": t, "count": c} for t, c in info["typeCounts"].items()]
    return {"lastStep": last_step, "keys": keys}


# -- filters for Runs(filters: JSONString) -----------------------------------------------------

_FIELD_ALIASES = {
    "display_name": "displayName",
    "job_type": "jobType",
    "created_at": "createdAt",
    "createdAt": "createdAt",
    "heartbeat_at": "heartbeatAt",
    "sweep": "sweep",
    "sweepName": "sweep",
}


def _run_value(run: dict, field: str) -> Any:
    if field.startswith("config."):
        v = _dig(run.get("config") or {}, field[len("config.") :].removesuffix(".value"))
        return v.get("value") if isinstance(v, dict) and "value" in v else v
    for prefix in ("summary_metrics.", "summaryMetrics.", "summary."):
        if field.startswith(prefix):
            return _dig(run.get("summary") or {}, field[len(prefix) :])
    return run.get(_FIELD_ALIASES.get(field, field))


def _dig(d: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _match_op(value: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return value == arg or (isinstance(value, list) and arg in value)
    if op == "$ne":
        return value != arg
    if op == "$in":
        if isinstance(value, list):
            return any(v in arg for v in value)
        return value in arg
    if op == "$nin":
        return value not in arg
    if op == "$exists":
        return (value is not None) == bool(arg)
    if op == "$regex":
        return isinstance(value, str) and re.search(arg, value) is not None
    try:
        if op == "$gt":
            return value > arg
        if op == "$gte":
            return value >= arg
        if op == "$lt":
            return value < arg
        if op == "$lte":
            return value <= arg
    except TypeError:
        return False
    raise GqlError(f"unsupported filter operator {op}")


def run_matches(run: dict, flt: Any) -> bool:
    if not flt:
        return True
    for k, v in flt.items():
        if k == "$and":
            if not all(run_matches(run, f) for f in v):
                return False
        elif k == "$or":
            if not any(run_matches(run, f) for f in v):
                return False
        elif k == "$nor":
            if any(run_matches(run, f) for f in v):
                return False
        else:
            value = _run_value(run, k)
            if isinstance(v, dict) and v and all(op.startswith("$") for op in v):
                if not all(_match_op(value, op, arg) for op, arg in v.items()):
                    return False
            elif not _match_op(value, "$eq", v):
                return False
    return True


def order_runs(runs: list[dict], order: str | None) -> list[dict]:
    order = order or "-created_at"
    desc = order.startswith("-")
    field = order.lstrip("+-")

    def key(r):
        v = _run_value(r, field)
        return (v is None, v if isinstance(v, (int, float, str)) else str(v), r["_seq"])

    return sorted(runs, key=key, reverse=desc)


# -- GraphQL types -----------------------------------------------------------------------------


class Project:
    typename = "Project"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx = ctx
        self.doc = doc
        self.f_id = encode_id("Project", doc["_seq"])
        self.f_internalId = self.f_id
        self.f_name = doc["name"]
        self.f_entityName = doc["entity"]
        self.f_createdAt = doc["createdAt"]
        self.f_updatedAt = doc["createdAt"]
        self.f_readOnly = False
        self.f_isBenchmark = False
        self.f_access = doc.get("access") or "PRIVATE"
        self.f_description = None
        self.f_views = "{}"

    def f_entity(self):
        from .users import Entity

        return Entity(self.ctx, self.doc["entity"])

    def f_user(self):
        from .users import User

        rec = self.ctx.store.get("user", self.doc.get("user") or self.ctx.username)
        return User(self.ctx, rec) if rec else None

    def _runs(self, filters=None, order=None) -> list[dict]:
        flt = loads(filters, {})
        runs = self.ctx.store.list("run", parent=project_key(self.doc["entity"], self.doc["name"]))
        return order_runs([r for r in runs if run_matches(r, flt)], order)

    def f_run(self, name):
        run = get_run(self.ctx, self.doc["entity"], self.doc["name"], name)
        return Run(self.ctx, run) if run else None

    def f_bucket(self, name, missingOk=None):
        return self.f_run(name)

    def f_runs(self, filters=None, after=None, first=None, order=None, **_):
        runs = [Run(self.ctx, r) for r in self._runs(filters, order)]
        return connection(runs, first, after)

    def f_runCount(self, filters=None):
        return len(self._runs(filters))

    def f_totalRuns(self):
        return len(self._runs())

    # sweeps and artifacts live in their own modules
    def f_sweep(self, sweepName):
        from .sweeps import Sweep, get_sweep

        doc = get_sweep(self.ctx, self.doc["entity"], self.doc["name"], sweepName)
        return Sweep(self.ctx, doc) if doc else None

    def _sweep_docs(self) -> list[dict]:
        return self.ctx.store.list(
            "sweep", parent=project_key(self.doc["entity"], self.doc["name"])
        )

    def f_sweeps(self, filters=None, **kw):
        from .sweeps import Sweep

        flt = loads(filters, {}) or {}
        docs = [d for d in self._sweep_docs() if run_matches(d, flt)]
        return connection([Sweep(self.ctx, d) for d in docs], kw.get("first"), kw.get("after"))

    def f_totalSweeps(self):
        return len(self._sweep_docs())

    def f_artifactCollections(self, after=None, first=None, filters=None, order=None, **_):
        """Every collection of the project, of any type (Project.artifactCollections)."""
        from .artifacts import ArtifactCollection

        docs = self.ctx.store.list(
            "acoll", parent=project_key(self.doc["entity"], self.doc["name"])
        )
        flt = loads(filters, {}) or {}
        docs = order_runs([d for d in docs if run_matches(d, flt)], order or "+createdAt")
        return connection([ArtifactCollection(self.ctx, d) for d in docs], first, after)

    def f_artifactType(self, name):
        from .artifacts import ArtifactType, get_type

        doc = get_type(self.ctx, self.doc["entity"], self.doc["name"], name)
        return ArtifactType(self.ctx, doc) if doc else None

    def f_artifactTypes(self, after=None, first=None, **_):
        from .artifacts import ArtifactType

        docs = self.ctx.store.list(
            "atype", parent=project_key(self.doc["entity"], self.doc["name"])
        )
        return connection([ArtifactType(self.ctx, d) for d in docs], first, after)

    def f_artifact(self, name):
        from .artifacts import Artifact, resolve_artifact_name

        doc = resolve_artifact_name(self.ctx, self.doc["entity"], self.doc["name"], name)
        return Artifact(self.ctx, doc) if doc else None

    def f_artifactCollection(self, name):
        from .artifacts import ArtifactCollection, get_collection

        doc = get_collection(self.ctx, self.doc["entity"], self.doc["name"], name)
        return ArtifactCollection(self.ctx, doc) if doc else None

    def f_artifactCollectionMembership(
        self, name=None, artifactCollectionName=None, aliasName=None, **_
    ):
        """`name` is `collection:alias` or `collection:vN`."""
        from .artifacts import Membership, resolve_artifact_name

        if name is None:
            name = f"{artifactCollectionName}:{aliasName}"
        doc = resolve_artifact_name(self.ctx, self.doc["entity"], self.doc["name"], name)
        return Membership(self.ctx, doc) if doc else None


class RunFile:
    typename = "File"

    def __init__(self, ctx: Ctx, run: dict, doc: dict) -> None:
        key = run_file_key(run, doc["name"])
        self.f_id = encode_id("File", doc["_seq"])
        self.f_name = doc["name"]
        self.f_displayName = doc["name"]
        self.f_sizeBytes = doc.get("size", 0)
        self.f_mimetype = doc.get("mimetype", "application/octet-stream")
        self.f_updatedAt = doc.get("updatedAt")
        # W&B reports file md5s base64-encoded
        md5 = doc.get("md5")
        self.f_md5 = base64.b64encode(bytes.fromhex(md5)).decode() if md5 else None
        self.f_digest = self.f_md5
        self.f_directUrl = ctx.files.download_url(key)
        self._ctx, self._key = ctx, key

    def f_url(self, upload=False):
        return self._ctx.files.upload_url(self._key) if upload else self.f_directUrl


class Run:
    typename = "Run"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx = ctx
        self.doc = doc
        d = doc
        self.f_id = encode_id("Run", d["_seq"])
        self.f_name = d["name"]
        self.f_displayName = d.get("displayName") or d["name"]
        self.f_description = d.get("description")
        self.f_notes = d.get("notes")
        self.f_tags = d.get("tags") or []
        self.f_group = None if FAULTS.drop_group else d.get("group")
        self.f_groupName = self.f_group
        self.f_jobType = d.get("jobType")
        self.f_sweepName = d.get("sweep")
        self.f_state = d.get("state", "running")
        self.f_commit = d.get("commit")
        self.f_host = d.get("host")
        self.f_program = d.get("program")
        self.f_readOnly = False
        self.f_createdAt = d.get("createdAt")
        self.f_updatedAt = d.get("heartbeatAt") or d.get("createdAt")
        self.f_heartbeatAt = d.get("heartbeatAt") or d.get("createdAt")
        self.f_exitcode = d.get("exitcode")
        self.f_shouldStop = bool(d.get("shouldStop"))
        self.f_stopped = d.get("state") == "killed"
        self.f_running = d.get("state") == "running"
        self.f_failed = d.get("state") in ("failed", "crashed")
        self.f_projectId = doc.get("projectSeq", 0)
        self.f_config = dumps(d.get("config") or {})
        self.f_summaryMetrics = dumps(d.get("summary") or {})
        self.f_debug = bool(d.get("debug"))

    def _rows(self):
        return history_rows(self.ctx, self.doc)

    def f_project(self):
        doc = self.ctx.store.get("project", project_key(self.doc["entity"], self.doc["project"]))
        return Project(self.ctx, doc) if doc else None

    def f_user(self):
        from .users import User

        rec = self.ctx.store.get("user", self.doc.get("user") or self.ctx.username)
        return User(self.ctx, rec) if rec else None

    def f_systemMetrics(self):
        lines = self.ctx.store.lines(self.doc["_seq"], "events")
        return lines[-1] if lines else "{}"

    def f_historyLineCount(self):
        return self.ctx.store.line_count(self.doc["_seq"], "history")

    def f_eventsLineCount(self):
        return self.ctx.store.line_count(self.doc["_seq"], "events")

    def f_logLineCount(self):
        return self.ctx.store.line_count(self.doc["_seq"], "output")

    def f_historyKeys(self, **_):
        return history_keys(self._rows())

    def f_history(self, samples=None, minStep=None, maxStep=None, **_):
        rows = self._rows()
        if minStep is not None or maxStep is not None:
            lo = -math.inf if minStep is None else minStep
            hi = math.inf if maxStep is None else maxStep
            rows = [r for r in rows if lo <= r.get("_step", -1) < hi]
            rows = rows[:samples] if samples else rows
        else:
            rows = sample(rows, samples)
        return [dumps(r) for r in rows]

    def f_events(self, samples=None, **_):
        lines = self.ctx.store.lines(self.doc["_seq"], "events")
        return [dumps(r) for r in sample([json.loads(x) for x in lines], samples)]

    def f_historyTail(self):
        # a JSON array of the last history lines, each still a JSON string (for resuming)
        return dumps(self.ctx.store.lines(self.doc["_seq"], "history")[-10:])

    def f_eventsTail(self):
        return dumps(self.ctx.store.lines(self.doc["_seq"], "events")[-10:])

    def f_sampledHistory(self, specs, **_):
        rows = self._rows()
        out = []
        for spec in specs or []:
            spec = loads(spec, {})
            keys = spec.get("keys") or []
            # the step window of the spec, both ends inclusive: wandb-core 0.31 pages
            # scan_history(min_step, max_step) with minStep=min_step, maxStep=max_step - 1
            lo, hi = spec.get("minStep"), spec.get("maxStep")
            lo = -math.inf if lo is None else lo
            hi = math.inf if hi is None else hi
            flat = [_flatten(r) for r in rows if lo <= r.get("_step", -1) <= hi]
            if keys:
                sel = [{k: r[k] for k in keys} for r in flat if all(k in r for k in keys)]
            else:
                sel = flat
            out.append(sample(sel, spec.get("samples", 500)))
        return out

    def f_parquetHistory(self, liveKeys=None, **_):
        # History is kept as JSON lines only, never exported to parquet: every row is
        # "live data" (the rows the real server has not exported yet).
        rows = self._rows()
        if liveKeys:
            keep = set(liveKeys) | {"_step"}
            rows = [{k: v for k, v in _flatten(r).items() if k in keep} for r in rows]
        return {"__typename": "ParquetHistory", "parquetUrls": [], "liveData": rows}

    def f_wandbConfig(self, keys=None):
        cfg = (self.doc.get("config") or {}).get("_wandb", {})
        value = cfg.get("value", cfg) if isinstance(cfg, dict) else {}
        if keys and isinstance(value, dict):
            value = {k: value[k] for k in keys if k in value}
        return dumps(value)

    def f_fileCount(self):
        return len(self.ctx.store.list("runfile", parent=self.doc_key))

    @property
    def doc_key(self) -> str:
        return run_key(self.doc["entity"], self.doc["project"], self.doc["name"])

    def f_files(self, names=None, after=None, first=None, pattern=None, **_):
        docs = self.ctx.store.list("runfile", parent=self.doc_key)
        # In bucket mode the server never sees the PUT: look at the store for pending files.
        docs = [
            d for d in docs if d.get("uploaded") or mark_uploaded(self.ctx, self.doc, d["name"])
        ]
        docs = [self.ctx.store.get("runfile", f"{self.doc_key}/{d['name']}") for d in docs]
        if names:
            # the server cleans requested paths ("./a.txt" names "a.txt"; wandb verify relies on it)
            wanted = {posixpath.normpath(n) for n in names if n}
            docs = [d for d in docs if d["name"] in wanted]
        if pattern:
            rx = re.compile("^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$")
            docs = [d for d in docs if rx.match(d["name"])]
        docs.sort(key=lambda d: d["name"])
        return connection([RunFile(self.ctx, self.doc, d) for d in docs], first, after)

    def f_logLines(self, first=None, after=None, last=None, **_):
        lines = self.ctx.store.lines(self.doc["_seq"], "output")
        nodes = [
            {
                "__typename": "LogLine",
                "number": i,
                "timestamp": None,
                "level": "INFO",
                "label": "",
                "line": line,
            }
            for i, line in enumerate(lines)
        ]
        return connection(nodes, first, after, last)

    def f_outputArtifacts(self, after=None, first=None, **_):
        from .artifacts import run_artifacts

        return connection(run_artifacts(self.ctx, self.doc, "output"), first, after)

    def f_inputArtifacts(self, after=None, first=None, **_):
        from .artifacts import run_artifacts

        return connection(run_artifacts(self.ctx, self.doc, "input"), first, after)

    def f_sweep(self):
        from .sweeps import Sweep, get_sweep

        if not self.doc.get("sweep"):
            return None
        doc = get_sweep(self.ctx, self.doc["entity"], self.doc["project"], self.doc["sweep"])
        return Sweep(self.ctx, doc) if doc else None


def find_run_by_id(ctx: Ctx, run_id: str | None) -> dict | None:
    seq = decode_id(run_id, "Run")
    return guard(ctx, ctx.store.get_seq("run", seq) if seq is not None else None)


class RunQueries:
    def f_project(self, name=None, entityName=None, **_):
        entity = readable_entity(self.ctx, entityName, name or "uncategorized")
        if entity is None:
            return None
        doc = self.ctx.store.get("project", project_key(entity, name or "uncategorized"))
        return Project(self.ctx, doc) if doc else None

    f_model = f_project  # the legacy name of a project, used by RunResumeStatus

    def f_models(self, entityName=None, first=None, after=None, **_):
        return self.f_projects(entityName=entityName, first=first, after=after)

    def f_projects(self, entityName=None, first=None, after=None, **_):
        entity = readable_entity(self.ctx, entityName)
        if entity is None:
            return connection([])
        docs = [d for d in self.ctx.store.list("project") if d["entity"] == entity]
        return connection([Project(self.ctx, d) for d in docs], first, after)


class RunMutations:
    def f_upsertModel(self, input):  # noqa: A002
        """Create (or update the description of) a project."""
        inp = input or {}
        entity = self.ctx.entity_or_default(inp.get("entityName"))
        if not inp.get("name"):
            raise GqlError("upsertModel: name is required")
        if inp.get("access") not in (None, "PRIVATE", "USER_READ", "USER_WRITE"):
            raise GqlError(f"upsertModel: unknown access {inp['access']!r}")
        with self.ctx.store.lock:
            inserted = self.ctx.store.get("project", project_key(entity, inp["name"])) is None
            doc = ensure_project(self.ctx, entity, inp["name"])
            changed = False
            for key in ("description", "access"):  # access: the project's visibility
                if inp.get(key) is not None:
                    doc[key] = inp[key]
                    changed = True
            if changed:
                self.ctx.store.put("project", project_key(entity, inp["name"]), doc)
        proj = Project(self.ctx, doc)
        return {
            "__typename": "UpsertModelPayload",
            "project": proj,
            "model": proj,
            "inserted": inserted,
        }

    def f_createCustomChart(self, input):  # noqa: A002
        """A custom chart preset (`Api.create_custom_chart`): stored, returned by id."""
        inp = input or {}
        entity = self.ctx.entity_or_default(inp.get("entity"))
        if not inp.get("name"):
            raise GqlError("createCustomChart: name is required")
        doc = {k: inp.get(k) for k in ("name", "displayName", "type", "access", "spec")}
        seq = self.ctx.store.put("chart", f"{entity}/{inp['name']}", dict(doc, entity=entity))
        return {
            "__typename": "CreateCustomChartPayload",
            "chart": {"__typename": "CustomChart", "id": encode_id("CustomChart", seq)},
        }

    def f_updateRunState(self, input):  # noqa: A002
        inp = input or {}
        with self.ctx.store.lock:
            run = find_run_by_id(self.ctx, inp.get("id"))
            if run is None:
                raise GqlError("run not found")
            run["state"] = inp.get("state") or run.get("state")
            save_run(self.ctx, run)
        return {"success": True}

    def f_deleteFiles(self, input):  # noqa: A002
        """Delete run files by their File ids."""
        ctx = self.ctx
        for fid in (input or {}).get("files") or []:
            seq = decode_id(fid, "File")
            doc = ctx.store.get_seq("runfile", seq) if seq is not None else None
            if doc is None:
                continue
            run = ctx.store.get("run", doc["run"]) if doc.get("run") else None
            if guard(ctx, run) is not None:
                ctx.store.delete("runfile", f"{doc['run']}/{doc['name']}")
                ctx.files.delete(run_file_key(run, doc["name"]))
        return {"success": True}

    def f_upsertBucket(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            run = find_run_by_id(ctx, inp.get("id")) if inp.get("id") else None
            if inp.get("id") and run is None:
                raise GqlError(f"run {inp.get('id')} not found")
            inserted = False
            if run is None:
                project = inp.get("modelName") or "uncategorized"
                entity = ctx.entity_or_default(inp.get("entityName"), project)
                name = inp.get("name") or "".join(secrets.choice(RUN_ID_ALPHABET) for _ in range(8))
                run = get_run(ctx, entity, project, name)
                if run is None:
                    proj = ensure_project(ctx, entity, project)
                    inserted = True
                    run = {
                        "entity": entity,
                        "project": project,
                        "projectSeq": proj["_seq"],
                        "name": name,
                        "state": "running",
                        "createdAt": now(),
                        "user": ctx.username,
                        "config": {},
                        "summary": {},
                        "tags": [],
                    }
            simple = {
                "groupName": "group",
                "description": "description",
                "displayName": "displayName",
                "notes": "notes",
                "commit": "commit",
                "host": "host",
                "debug": "debug",
                "jobProgram": "program",
                "jobRepo": "repo",
                "jobType": "jobType",
                "state": "state",
                "tags": "tags",
            }
            for src, dst in simple.items():
                if inp.get(src) is not None:
                    run[dst] = inp[src]
            if inp.get("config") is not None:
                run["config"] = loads(inp["config"], {})
            if inp.get("summaryMetrics") is not None:
                run["summary"] = loads(inp["summaryMetrics"], {})
            if inp.get("sweep"):
                from .sweeps import attach_run

                run["sweep"] = inp["sweep"]
                attach_run(ctx, run)
            run["heartbeatAt"] = now()
            save_run(ctx, run)
        return {"__typename": "UpsertBucketPayload", "bucket": Run(ctx, run), "inserted": inserted}

    def f_deleteRun(self, input):  # noqa: A002
        ctx = self.ctx
        run = find_run_by_id(ctx, (input or {}).get("id"))
        if run is None:
            raise GqlError("run not found")
        key = run_key(run["entity"], run["project"], run["name"])
        with ctx.store.lock:
            size = 0
            for f in ctx.store.list("runfile", parent=key):
                size += int(f.get("size") or 0)
                ctx.store.delete("runfile", f"{key}/{f['name']}")
            ctx.store.delete_lines(run["_seq"])
            ctx.store.delete("run", key)
            # A soft delete, as W&B's: the files stay until the retention period has
            # passed, then the purger (retention.py) removes them.
            retention.soft_delete(ctx.store, key, run["entity"], run["project"], size)
        return {
            "__typename": "DeleteRunPayload",
            "clientMutationId": (input or {}).get("clientMutationId"),
        }

    def f_createRunFiles(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        entity = ctx.entity_or_default(inp.get("entityName"))
        run = get_run(ctx, entity, inp.get("projectName") or "uncategorized", inp.get("runName"))
        if run is None:
            raise GqlError(f"run {entity}/{inp.get('projectName')}/{inp.get('runName')} not found")
        rkey = run_key(run["entity"], run["project"], run["name"])
        files = []
        with ctx.store.lock:
            for name in inp.get("files") or []:
                if not name or ".." in name.split("/"):
                    raise GqlError(f"invalid file name {name!r}")
                fkey = f"{rkey}/{name}"
                doc = ctx.store.get("runfile", fkey) or {
                    "name": name,
                    "uploaded": False,
                    "run": rkey,
                }
                doc["updatedAt"] = now()
                ctx.store.put("runfile", fkey, doc, parent=rkey)
                files.append(
                    {
                        "__typename": "File",
                        "name": name,
                        "uploadUrl": ctx.files.upload_url(run_file_key(run, name)),
                    }
                )
        return {
            "__typename": "CreateRunFilesPayload",
            "runID": encode_id("Run", run["_seq"]),
            "uploadHeaders": [],
            "files": files,
        }

    def f_markRunFilesUploaded(self, input):  # noqa: A002
        inp = input or {}
        run = get_run(
            self.ctx,
            self.ctx.entity_or_default(inp.get("entityName")),
            inp.get("projectName"),
            inp.get("runName"),
        )
        if run is not None:
            for name in inp.get("files") or []:
                mark_uploaded(self.ctx, run, name)
        return {"success": True}

    def f_notifyScriptableRunAlert(self, input):  # noqa: A002
        """run.alert(): kept on the run (no email/Slack delivery from a stand-in)."""
        inp = input or {}
        ctx = self.ctx
        entity = ctx.entity_or_default(inp.get("entityName"))
        with ctx.store.lock:
            run = get_run(ctx, entity, inp.get("projectName"), inp.get("runName"))
            if run is None:
                raise GqlError("run not found")
            run.setdefault("alerts", []).append(
                {k: inp.get(k) for k in ("title", "text", "severity")} | {"at": now()}
            )
            save_run(ctx, run)
        return {"success": True}

    def f_stopRun(self, input):  # noqa: A002
        run = find_run_by_id(self.ctx, (input or {}).get("id"))
        if run is None:
            raise GqlError("run not found")
        run["shouldStop"] = True
        save_run(self.ctx, run)
        return {"success": True}


def mark_uploaded(ctx: Ctx, run: dict, name: str) -> bool:
    """Record size and md5 of an uploaded run file (after the PUT reached the store)."""
    stat = ctx.files.stat(run_file_key(run, name))
    if stat is None:
        return False
    rkey = run_key(run["entity"], run["project"], run["name"])
    with ctx.store.lock:
        doc = ctx.store.get("runfile", f"{rkey}/{name}") or {"name": name, "run": rkey}
        doc.update(size=stat[0], md5=stat[1], uploaded=True, updatedAt=now())
        ctx.store.put("runfile", f"{rkey}/{name}", doc, parent=rkey)
    return True
