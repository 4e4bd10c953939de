"""The stand-in's team rules, one test each: who may create teams and
invite, viewers read-only, service accounts (Enterprise, key only to team admins, their
team as default entity), SCIM as W&B documents it (auth forms, filters, deactivation,
groups, no team delete), license tiers and the seat limit."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.sdk.conftest import StandIn, new_api_key
from tests.sdk.test_people import license_token

pytestmark = pytest.mark.standin_only(
    "STANDIN_ knob: fresh stand-ins, users seeded by STANDIN_USERS; the stand-in's team, SCIM rules"
)

TEAM_Q = """query($n: String!) { entity(name: $n) { isTeam
  members { username admin accountType apiKey } } }"""
CREATE_TEAM = """mutation($t: String!, $a: String) { createTeam(input: {teamName: $t,
  teamAdminUserName: $a}) { entity { id name } } }"""
INVITE = """mutation($e: String!, $u: String, $m: String, $a: Boolean) { createInvite(input:
  {entityName: $e, username: $u, email: $m, admin: $a}) { invite { id name } } }"""
SA = """mutation($e: String!, $d: String!) { createServiceAccount(input: {entityName: $e,
  description: $d}) { user { id } } }"""
UPSERT = """mutation($e: String, $p: String) { upsertBucket(input: {entityName: $e,
  modelName: $p}) { bucket { id } } }"""


def gql(server, key, query, **variables):
    r = requests.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        auth=("api", key),
        timeout=30,
    )
    return r


def ok(r):
    body = r.json()
    assert r.status_code == 200 and not body.get("errors"), r.text
    return body["data"]


def refused(r, words: str):
    body = r.json()
    assert body.get("errors"), r.text
    assert words in body["errors"][0]["message"], r.text


def make(tmp_path, license_claims=None, **env):
    bob, eve = new_api_key(), new_api_key()
    extra = {"STANDIN_USERS": f"bob:{bob},eve:{eve}", **env}
    if license_claims is not None:
        extra["LICENSE"] = license_token(**license_claims)
    server = StandIn(vol=tmp_path / "vol", extra_env=extra).start()
    server.bob, server.eve = bob, eve
    return server


@pytest.fixture
def ent(tmp_path):
    server = make(tmp_path, {"flags": ["enterprise"], "maxUsers": 4})
    yield server
    server.stop()


def test_team_creation_needs_an_instance_admin_unless_allowed(ent, tmp_path):
    refused(gql(ent, ent.bob, CREATE_TEAM, t="bobs"), "only instance admins can create teams")
    assert ok(gql(ent, ent.admin_key, CREATE_TEAM, t="lab", a="bob"))["createTeam"]["entity"]
    refused(gql(ent, ent.admin_key, CREATE_TEAM, t="lab"), "already taken")
    refused(gql(ent, ent.admin_key, CREATE_TEAM, t="bob"), "already taken")  # a user's name
    other = make(tmp_path / "o", GORILLA_ALLOW_USER_TEAM_CREATION="true")
    try:
        ok(gql(other, other.bob, CREATE_TEAM, t="bobs"))
        members = ok(gql(other, other.bob, TEAM_Q, n="bobs"))["entity"]["members"]
        assert [(m["username"], m["admin"]) for m in members] == [("bob", True)]
    finally:
        other.stop()


def test_team_admins_invite_members_do_not_and_outsiders_see_nothing(ent):
    ok(gql(ent, ent.admin_key, CREATE_TEAM, t="lab", a="bob"))
    ok(gql(ent, ent.bob, INVITE, e="lab", u="eve"))  # bob is the team's admin
    refused(gql(ent, ent.eve, INVITE, e="lab", m="new@lab.org"), "not an admin of team lab")
    refused(gql(ent, ent.bob, INVITE, e="lab", u="eve"), "already a member")
    ok(gql(ent, ent.bob, INVITE, e="lab", m="later@lab.org"))  # no account yet: pending
    r = gql(
        ent,
        ent.admin_key,
        "query($n: String!) { entity(name: $n) { members { name pending } } }",
        n="lab",
    )
    assert ("later@lab.org", True) in [
        (m["name"], m["pending"]) for m in ok(r)["entity"]["members"]
    ]
    ok(gql(ent, ent.admin_key, CREATE_TEAM, t="closed"))
    r = gql(ent, ent.bob, TEAM_Q, n="closed")
    assert (
        r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_ERROR"
    )


def test_viewers_read_but_cannot_write(ent):
    ok(gql(ent, ent.admin_key, CREATE_TEAM, t="lab"))
    ok(gql(ent, ent.admin_key, UPSERT, e="lab", p="p"))
    ok(gql(ent, ent.admin_key, INVITE, e="lab", u="eve"))
    patch_roles(ent, "eve", [{"teamName": "lab", "roleName": "viewer"}])
    read = 'query($e: String!) { project(entityName: $e, name: "p") { name } }'
    assert ok(gql(ent, ent.eve, read, e="lab"))["project"]["name"] == "p"
    r = gql(ent, ent.eve, UPSERT, e="lab", p="p2")
    assert r.status_code == 403, r.text
    fs = requests.post(
        f"{ent.url}/files/lab/p/r1/file_stream",
        json={"files": {}},
        auth=("api", ent.eve),
        timeout=30,
    )
    assert fs.status_code == 403


def test_service_account_key_only_to_team_admins_and_default_entity_is_its_team(ent):
    ok(gql(ent, ent.admin_key, CREATE_TEAM, t="lab", a="bob"))
    ok(gql(ent, ent.admin_key, INVITE, e="lab", u="eve"))
    refused(gql(ent, ent.eve, SA, e="lab", d="ci"), "not an admin of team lab")
    ok(gql(ent, ent.bob, SA, e="lab", d="ci"))
    rows = ok(gql(ent, ent.bob, TEAM_Q, n="lab"))["entity"]["members"]
    assert rows[-1]["accountType"] == "SERVICE" and rows[-1]["apiKey"].startswith("local-")
    key = rows[-1]["apiKey"]
    assert [m["apiKey"] for m in ok(gql(ent, ent.eve, TEAM_Q, n="lab"))["entity"]["members"]] == [
        None
    ] * 3
    who = ok(gql(ent, key, "{ viewer { username entity } }"))["viewer"]
    assert who["entity"] == "lab"
    ok(gql(ent, key, 'mutation { upsertBucket(input: {modelName: "ci"}) { bucket { id } } }'))
    # service accounts are not users: left out of the users search and SCIM
    users = ok(gql(ent, ent.admin_key, "{ users { edges { node { username } } } }"))["users"]
    assert who["username"] not in [e["node"]["username"] for e in users["edges"]]


def scim(server, method, path, key=None, auth=None, **kw):
    headers = {}
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {key or server.admin_key}"
    elif auth == "colon":
        token = base64.b64encode(f":{key or server.admin_key}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    else:
        kw["auth"] = ("admin", key or server.admin_key)
    return requests.request(method, f"{server.url}/scim/{path}", headers=headers, timeout=30, **kw)


def patch_roles(server, username, roles):
    uid = scim(server, "GET", "Users", params={"filter": f'userName eq "{username}"'}).json()[
        "Resources"
    ][0]["id"]
    r = scim(
        server,
        "PATCH",
        f"Users/{uid}",
        json={"Operations": [{"op": "replace", "path": "teamRoles", "value": roles}]},
    )
    assert r.status_code == 200, r.text
    return uid


def test_scim_users_auth_forms_filter_deactivate_and_seats(ent):
    for auth in (None, "bearer", "colon"):
        r = scim(ent, "GET", "Users", auth=auth)
        assert r.status_code == 200 and r.json()["totalResults"] == 3, (auth, r.text)
    assert scim(ent, "GET", "Users", key=ent.bob).status_code == 403  # not an admin
    assert scim(ent, "GET", "Users", key=new_api_key()).status_code == 401
    found = scim(ent, "GET", "Users", params={"filter": 'emails.value eq "eve@localhost"'}).json()
    assert [u["userName"] for u in found["Resources"]] == ["eve"]
    assert found["Resources"][0]["emails"]["Value"] == "eve@localhost"  # one object, as documented
    body = {"userName": "zed", "emails": [{"primary": True, "value": "zed@lab.org"}]}
    assert scim(ent, "POST", "Users", json=body).status_code == 201
    assert scim(ent, "POST", "Users", json=body).status_code == 409
    # maxUsers 4: admin, bob, eve, zed
    r = scim(ent, "POST", "Users", json={"userName": "y", "emails": [{"value": "y@lab.org"}]})
    assert r.status_code == 400 and "Seat limit reached" in r.json()["detail"]
    eve = found["Resources"][0]["id"]
    r = scim(
        ent,
        "PATCH",
        f"Users/{eve}",
        json={"Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert gql(ent, ent.eve, "{ viewer { id } }").status_code == 401
    assert scim(ent, "GET", f"Users/{eve}").json()["active"] is False  # the record stays


def test_scim_groups_members_and_no_team_delete(ent):
    r = scim(
        ent, "POST", "Groups", json={"displayName": "g", "members": [{"value": "bob@localhost"}]}
    )
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    r = scim(
        ent,
        "PATCH",
        f"Groups/{gid}",
        json={
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "eve@localhost"}]}]
        },
    )
    assert sorted(m["Display"] for m in r.json()["members"]) == ["bob", "eve"]
    r = scim(
        ent,
        "PATCH",
        f"Groups/{gid}",
        json={"Operations": [{"op": "remove", "path": 'members[value eq "bob@localhost"]'}]},
    )
    assert [m["Display"] for m in r.json()["members"]] == ["eve"]
    listed = scim(ent, "GET", "Groups", params={"filter": 'displayName eq "g"'}).json()
    assert listed["totalResults"] == 1
    r = scim(ent, "DELETE", f"Groups/{gid}")
    assert r.status_code == 400 and "unsupported" in r.json()["detail"]


@pytest.mark.parametrize("claims", [None, {"flags": ["trial"]}], ids=["no-license", "free"])
def test_free_tier_has_no_scim_and_no_service_accounts(tmp_path, claims):
    server = make(tmp_path, claims)
    try:
        r = scim(server, "GET", "Users")
        assert r.status_code == 403 and "Enterprise license" in r.json()["detail"]
        ok(gql(server, server.admin_key, CREATE_TEAM, t="lab", a="bob"))  # teams work
        ok(gql(server, server.admin_key, INVITE, e="lab", u="eve"))  # and invites
        refused(gql(server, server.admin_key, SA, e="lab", d="ci"), "Enterprise license")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("access", "reads", "writes"),
    [("PRIVATE", False, False), ("USER_READ", True, False), ("USER_WRITE", True, True)],
    ids=["team-private", "public", "open"],
)
def test_project_visibility_decides_what_outsiders_may_do(ent, access, reads, writes):
    ok(gql(ent, ent.admin_key, CREATE_TEAM, t="lab", a="bob"))
    set_access = """mutation($e: String, $p: String!, $a: String) { upsertModel(input:
      {entityName: $e, name: $p, access: $a}) { project { access } } }"""
    refused(gql(ent, ent.eve, set_access, e="lab", p="p", a="USER_WRITE"), "permission denied")
    assert (
        ok(gql(ent, ent.bob, set_access, e="lab", p="p", a=access))["upsertModel"]["project"][
            "access"
        ]
        == access
    )
    read = 'query($e: String!) { project(entityName: $e, name: "p") { name access } }'
    r = gql(ent, ent.eve, read, e="lab")  # eve is in no team
    assert (r.status_code == 200 and r.json()["data"]["project"]["name"] == "p") is reads, r.text
    r = gql(ent, ent.eve, UPSERT, e="lab", p="p")
    assert (r.status_code == 200 and not r.json().get("errors")) is writes, r.text
    fs = requests.post(
        f"{ent.url}/files/lab/p/r1/file_stream",
        json={"files": {}},
        auth=("api", ent.eve),
        timeout=30,
    )
    assert (fs.status_code != 403) is writes
    # another project of the same team stays closed to her
    r = gql(ent, ent.eve, 'query { project(entityName: "lab", name: "other") { name } }')
    assert r.status_code == 403
