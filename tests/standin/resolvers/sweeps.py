"""Sweeps: UpsertSweep, CreateAgent and a server-side controller behind agentHeartbeat.

`wandb.agent` (SDK 0.31, agents/pyagent.py) registers an agent and then polls
`agentHeartbeat`, running each `{"type": "run", "run_id", "args"}` command it gets; the
server owns the search. This controller does `grid` (every combination, in order, then
`exit`) and `random` (samples each parameter's distribution); `bayes` is served like random.
It hands out a new run while the agent has fewer than two runs queued or running, so the
agent starts the next trial right after the previous one instead of waiting a heartbeat.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import string

import yaml

from ..faults import FAULTS
from ..graphql_exec import GqlError
from .base import Ctx, connection, decode_id, dumps, encode_id, guard, loads, now
from .runs import Project, Run, ensure_project, order_runs, project_key, run_key, run_matches

ALPHABET = string.ascii_lowercase + string.digits


def sweep_key(entity: str, project: str, name: str) -> str:
    return f"{entity}/{project}/{name}"


def get_sweep(ctx: Ctx, entity: str, project: str, name: str) -> dict | None:
    return ctx.store.get("sweep", sweep_key(entity, project, name))


def save_sweep(ctx: Ctx, doc: dict) -> dict:
    doc["_seq"] = ctx.store.put(
        "sweep",
        sweep_key(doc["entity"], doc["project"], doc["name"]),
        doc,
        parent=project_key(doc["entity"], doc["project"]),
    )
    return doc


def attach_run(ctx: Ctx, run: dict) -> None:
    """A run that names a sweep in UpsertBucket belongs to it."""
    with ctx.store.lock:
        sw = get_sweep(ctx, run["entity"], run["project"], run["sweep"])
        if sw is not None and run["name"] not in sw["runs"]:
            sw["runs"].append(run["name"])
            save_sweep(ctx, sw)


# -- the search ----------------------------------------------------------------------------


def _flat_params(params: dict, prefix: str = "") -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, spec in (params or {}).items():
        if isinstance(spec, dict) and "parameters" in spec:
            out.update(_flat_params(spec["parameters"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec if isinstance(spec, dict) else {"value": spec}
    return out


def _nest(flat: dict[str, object]) -> dict[str, dict]:
    """Back to the agent's `{name: {"value": v}}` shape (nested parameters as dicts)."""
    out: dict[str, dict] = {}
    for key, value in flat.items():
        head, *rest = key.split(".")
        if not rest:
            out[head] = {"value": value}
        else:
            node = out.setdefault(head, {"value": {}})["value"]
            for part in rest[:-1]:
                node = node.setdefault(part, {})
            node[rest[-1]] = value
    return out


def grid_points(params: dict) -> list[dict]:
    flat = _flat_params(params)
    names = sorted(flat)
    choices = []
    for n in names:
        spec = flat[n]
        if "values" in spec:
            choices.append(list(spec["values"]))
        elif "value" in spec:
            choices.append([spec["value"]])
        else:
            raise GqlError(f"grid search needs `values` for parameter {n!r}")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def random_point(params: dict, rng: random.Random) -> dict:
    point = {}
    for name, spec in _flat_params(params).items():
        dist = spec.get("distribution")
        if "values" in spec and dist in (None, "categorical"):
            vals = spec["values"]
            probs = spec.get("probabilities")
            point[name] = rng.choices(vals, weights=probs)[0] if probs else rng.choice(vals)
        elif "value" in spec:
            point[name] = spec["value"]
        elif dist == "int_uniform" or (
            dist is None and isinstance(spec.get("min"), int) and isinstance(spec.get("max"), int)
        ):
            point[name] = rng.randint(spec["min"], spec["max"])
        elif dist in (None, "uniform"):
            point[name] = rng.uniform(spec["min"], spec["max"])
        elif dist == "q_uniform":
            q = spec.get("q", 1)
            point[name] = round(rng.uniform(spec["min"], spec["max"]) / q) * q
        elif dist == "log_uniform_values":
            point[name] = math.exp(rng.uniform(math.log(spec["min"]), math.log(spec["max"])))
        elif dist == "log_uniform":
            point[name] = math.exp(rng.uniform(spec["min"], spec["max"]))
        elif dist == "normal":
            point[name] = rng.gauss(spec.get("mu", 0.0), spec.get("sigma", 1.0))
        elif dist == "log_normal":
            point[name] = math.exp(rng.gauss(spec.get("mu", 0.0), spec.get("sigma", 1.0)))
        else:
            raise GqlError(f"unsupported distribution {dist!r} for parameter {name!r}")
    return point


def next_point(sw: dict) -> dict | None:
    cfg = sw["configParsed"]
    method = cfg.get("method", "random")
    params = cfg.get("parameters", {})
    if method == "grid":
        points = grid_points(params)
        idx = len(sw["assigned"])
        if FAULTS.repeat_grid and idx >= 1:
            idx -= 1  # test fault: the first point is handed out twice
        return points[idx] if idx < len(points) else None
    cap = cfg.get("run_cap")
    if cap and len(sw["assigned"]) >= cap:
        return None
    rng = random.Random(f"{sw['name']}:{len(sw['assigned'])}")
    return random_point(params, rng)


# -- GraphQL types -------------------------------------------------------------------------


class Sweep:
    typename = "Sweep"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        self.ctx, self.doc = ctx, doc
        d = doc
        self.f_id = encode_id("Sweep", d["_seq"])
        self.f_name = d["name"]
        self.f_displayName = d.get("displayName") or d["configParsed"].get("name") or d["name"]
        self.f_method = d["configParsed"].get("method", "random")
        self.f_state = d["state"]
        self.f_description = d.get("description")
        self.f_config = d["config"]
        self.f_createdAt = d["createdAt"]
        self.f_updatedAt = d.get("updatedAt")
        self.f_heartbeatAt = d.get("heartbeatAt")
        self.f_earlyStopJobRunning = False
        self.f_bestLoss = None
        self.f_controller = d.get("controller")
        self.f_scheduler = d.get("scheduler")
        self.f_controllerRunName = None
        self.f_priorRunsCount = len(d.get("priorRuns", []))
        self.f_runCount = len(d["runs"])
        self.f_runCountExpected = (
            len(grid_points(d["configParsed"].get("parameters", {})))
            if self.f_method == "grid"
            else d["configParsed"].get("run_cap")
        )

    def _runs(self) -> list[dict]:
        d = self.doc
        runs = [self.ctx.store.get("run", run_key(d["entity"], d["project"], n)) for n in d["runs"]]
        return [r for r in runs if r]

    def f_runs(self, first=None, after=None, **_):
        return connection([Run(self.ctx, r) for r in self._runs()], first, after)

    def f_priorRuns(self, first=None, after=None, **_):
        """Runs attached with `priorRunsFilters` (`wandb.sweep(..., prior_runs=[...])`)."""
        d = self.doc
        runs = [
            r
            for n in d.get("priorRuns", [])
            if (r := self.ctx.store.get("run", run_key(d["entity"], d["project"], n)))
        ]
        return connection([Run(self.ctx, r) for r in runs], first, after)

    def f_project(self):
        p = self.ctx.store.get("project", project_key(self.doc["entity"], self.doc["project"]))
        return Project(self.ctx, p) if p else None

    def f_agents(self, **kw):
        agents = [a for a in self.ctx.store.list("agent") if a["sweep"] == self.doc["_seq"]]
        return connection(
            [_agent(a, self.ctx, self.doc) for a in agents], kw.get("first"), kw.get("after")
        )

    def f_agent(self, agentName=None, **_):
        for a in self.ctx.store.list("agent"):
            if a["sweep"] == self.doc["_seq"] and agentName in (
                a["name"],
                encode_id("Agent", a["_seq"]),
            ):
                return _agent(a, self.ctx, self.doc)
        return None


def _agent(a: dict, ctx: Ctx | None = None, sweep: dict | None = None) -> dict:
    def runs(first=None, after=None, order=None, **_):
        """Agent.runs: the runs this agent was handed by the controller."""
        names = [x["run"] for x in sweep["assigned"] if x.get("agent") == a["name"]]
        docs = [
            r
            for n in names
            if (r := ctx.store.get("run", run_key(sweep["entity"], sweep["project"], n)))
        ]
        if order and order.lstrip("+-") in ("created_at", "createdAt"):
            docs.sort(key=lambda r: (r["createdAt"], r["_seq"]), reverse=order.startswith("-"))
        return connection([Run(ctx, r) for r in docs], first, after)

    return {
        "runs": runs,
        "__typename": "Agent",
        "id": encode_id("Agent", a["_seq"]),
        "name": a["name"],
        "state": a.get("state", "RUNNING"),
        "host": a.get("host"),
        "persistent": False,
        "createdAt": a["createdAt"],
        "heartbeatAt": a.get("heartbeatAt"),
        "totalRuns": a.get("totalRuns", 0),
        "completedRuns": 0,
        "failedRuns": 0,
        "config": "{}",
        "user": None,
    }


class SweepMutations:
    def f_upsertSweep(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        with ctx.store.lock:
            if inp.get("id"):
                seq = decode_id(inp["id"], "Sweep")
                sw = guard(ctx, ctx.store.get_seq("sweep", seq) if seq else None)
                if sw is None:
                    raise GqlError("sweep not found")
            else:
                entity = ctx.entity_or_default(inp.get("entityName"))
                project = inp.get("projectName") or "uncategorized"
                ensure_project(ctx, entity, project)
                name = "".join(secrets.choice(ALPHABET) for _ in range(8))
                sw = {
                    "entity": entity,
                    "project": project,
                    "name": name,
                    # PENDING until an agent asks for work, as on a real server
                    "state": "PENDING",
                    "createdAt": now(),
                    "runs": [],
                    "assigned": [],
                    "config": "",
                    "configParsed": {},
                }
            if inp.get("config") is not None:
                try:
                    parsed = yaml.safe_load(inp["config"]) or {}
                except yaml.YAMLError as e:
                    raise GqlError(f"invalid sweep config: {e}") from e
                method = parsed.get("method")
                if method not in ("grid", "random", "bayes"):
                    raise GqlError(
                        f"sweep config: method must be grid, random or bayes, got {method!r}"
                    )
                sw["config"], sw["configParsed"] = inp["config"], parsed
                if method == "grid":
                    grid_points(parsed.get("parameters", {}))  # validate now, not at the agent
            if inp.get("priorRunsFilters"):
                flt = loads(inp["priorRunsFilters"], {})
                prior = [
                    r
                    for r in ctx.store.list("run", parent=project_key(sw["entity"], sw["project"]))
                    if run_matches(r, flt)
                ]
                sw["priorRuns"] = [r["name"] for r in order_runs(prior, "+created_at")]
            for src in ("description", "displayName", "controller", "scheduler"):
                if inp.get(src) is not None:
                    sw[src] = inp[src]
            if inp.get("state"):
                sw["state"] = inp["state"].upper()
            sw["updatedAt"] = now()
            save_sweep(ctx, sw)
        return {
            "__typename": "UpsertSweepPayload",
            "sweep": Sweep(ctx, sw),
            "configValidationWarnings": [],
            "inserted": not inp.get("id"),
        }

    def f_createAgent(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        entity = ctx.entity_or_default(inp.get("entityName"))
        sw = get_sweep(ctx, entity, inp.get("projectName") or "uncategorized", inp.get("sweep"))
        if sw is None:
            raise GqlError(f"sweep {inp.get('sweep')} not found", status=404)
        name = "".join(secrets.choice(ALPHABET) for _ in range(8))
        a = {
            "name": name,
            "sweep": sw["_seq"],
            "host": inp.get("host"),
            "createdAt": now(),
            "state": "RUNNING",
        }
        a["_seq"] = ctx.store.put("agent", name, a, parent=str(sw["_seq"]))
        return {"__typename": "CreateAgentPayload", "agent": _agent(a, ctx, sw)}

    def f_agentHeartbeat(self, input):  # noqa: A002
        ctx = self.ctx
        inp = input or {}
        seq = decode_id(inp.get("id"), "Agent")
        with ctx.store.lock:
            agent = ctx.store.get_seq("agent", seq) if seq else None
            sw = guard(ctx, ctx.store.get_seq("sweep", agent["sweep"]) if agent else None)
            if agent is None or sw is None:
                # pyagent treats HTTP 404 as "sweep deleted" and stops
                raise GqlError("agent or sweep not found", status=404)
            run_state = json_obj(inp.get("runState"))
            agent["heartbeatAt"] = now()
            commands: list[dict] = []
            if sw["state"] in ("CANCELED", "FINISHED"):
                commands = [{"type": "exit"}] if not run_state else []
            elif sw["state"] in ("PENDING", "RUNNING") and len(run_state) < 2:
                sw["state"] = "RUNNING"  # an agent is at work
                point = next_point(sw)
                if point is None:
                    if not run_state:
                        commands = [{"type": "exit"}]
                        sw["state"] = "FINISHED"
                else:
                    run_id = "".join(secrets.choice(ALPHABET) for _ in range(8))
                    sw["assigned"].append({"run": run_id, "params": point, "agent": agent["name"]})
                    agent["totalRuns"] = agent.get("totalRuns", 0) + 1
                    commands = [
                        {
                            "type": "run",
                            "run_id": run_id,
                            "args": _nest(point),
                            "program": sw["configParsed"].get("program"),
                        }
                    ]
            sw["heartbeatAt"] = now()
            save_sweep(ctx, sw)
            ctx.store.put("agent", agent["name"], agent, parent=str(sw["_seq"]))
        return {
            "__typename": "AgentHeartbeatPayload",
            "agent": _agent(agent, ctx, sw),
            "commands": dumps(commands),
        }


def json_obj(value) -> dict:
    import json

    if not value:
        return {}
    if isinstance(value, dict):
        return value
    try:
        v = json.loads(value)
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}
