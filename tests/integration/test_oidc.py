"""doctor's SSO findings against a real OpenID provider (panva's oidc-provider, OpenID
Certified; tests/oidc), each provoked by the provider's own configuration, never by
editing its answers:

- the issuer differs from the configured one by a trailing slash (either way round);
- PKCE: S256 supported (oidc-provider 9) or not (oidc-provider 7 configured for `plain`);
- implicit: `id_token` responses allowed or not (response types `code` only);
- reachable from this machine but not from inside the wandb container (an issuer on
  loopback), and reachable from both (an issuer on the stack network's gateway).

What no configuration of oidc-provider produces (a provider without form_post, or
without code_challenge_methods_supported) is covered on documents in
tests/unit/test_sso.py. The host-side tests need node and npm, the container ones a
Docker engine and the stand-in image as well.
"""

from __future__ import annotations

import json
import re

import pytest
from wandb_local_kit.server import doctor, sso

from tests.oidc import provider as oidc
from tests.unit.test_doctor import evidence
from tests.unit.test_health import clean_env, run_kit

pytestmark = pytest.mark.portable

HOST = "https://wandb.lab.example"


def diagnose(issuer: str, method: str) -> dict[str, doctor.Finding]:
    """doctor's OIDC findings from the document fetched from this machine."""
    values = {
        "WANDB_HOST": HOST,
        sso.ISSUER: issuer,
        sso.CLIENT_ID: "wandb",
        sso.METHOD: method,
    }
    local = doctor.LocalFacts(arch="x86_64")
    local.oidc = sso.observe(values)  # no compose project: this machine only
    found = doctor.diagnose(evidence(values=values, local=local, url=HOST))
    return {f.pitfall: f for f in found if f.pitfall.startswith("oidc-")}


def test_a_provider_that_fits_both_methods_gives_only_the_redirect_to_register():
    with oidc.running() as idp:
        for method in ("pkce", "implicit"):
            found = diagnose(idp.issuer, method)
            assert set(found) == {"oidc-redirect"}, {k: f.found for k, f in found.items()}
            assert f"register {HOST}/oidc/callback for client wandb" in found["oidc-redirect"].found


def test_issuer_with_a_trailing_slash_at_the_provider_is_a_mismatch():
    with oidc.running(OIDC_ISSUER="http://127.0.0.1:{port}/") as idp:
        configured = idp.issuer.rstrip("/")
        found = diagnose(configured, "pkce")
        f = found["oidc-issuer"]
        assert f.severity == doctor.FAIL and "trailing slash" in f.found
        assert f"--oidc-issuer {idp.issuer}`" in f.fix  # the provider's exact issuer
        assert "oidc-discovery" not in found  # the document itself was reachable
        assert "oidc-issuer" not in diagnose(idp.issuer, "pkce")  # exact: no finding


def test_issuer_configured_with_a_trailing_slash_the_provider_lacks_is_a_mismatch():
    with oidc.running() as idp:
        found = diagnose(idp.issuer + "/", "implicit")
        assert "trailing slash" in found["oidc-issuer"].found


def test_pkce_needs_s256_a_provider_offering_only_plain_fails():
    with oidc.running(OIDC_PROVIDER="7", OIDC_PKCE_METHODS="plain") as idp:
        found = diagnose(idp.issuer, "pkce")
        f = found["oidc-method"]
        assert f.severity == doctor.FAIL
        assert "PKCE method S256 is not supported (only plain)" in f.found
        assert "oidc-method" not in diagnose(idp.issuer, "implicit")  # implicit still fits
    with oidc.running(OIDC_PROVIDER="7", OIDC_PKCE_METHODS="S256,plain") as idp:
        assert "oidc-method" not in diagnose(idp.issuer, "pkce")


def test_implicit_needs_id_token_a_code_only_provider_fails():
    with oidc.running(OIDC_RESPONSE_TYPES="code") as idp:
        found = diagnose(idp.issuer, "implicit")
        f = found["oidc-method"]
        assert f.severity == doctor.FAIL
        assert "response type `id_token` (implicit flow) is not supported" in f.found
        assert "oidc-method" not in diagnose(idp.issuer, "pkce")
    with oidc.running(OIDC_RESPONSE_TYPES="id_token") as idp:
        found = diagnose(idp.issuer, "pkce")
        assert "`code` (authorization code flow) is not supported" in found["oidc-method"].found


def test_an_issuer_with_a_wrong_path_has_no_discovery_document():
    with oidc.running() as idp:
        found = diagnose(idp.issuer + "/realms/lab", "pkce")
    f = found["oidc-discovery"]
    assert f.severity == doctor.FAIL and "HTTP 404" in f.found and "path" in f.found
    assert "oidc-issuer" not in found and "oidc-method" not in found  # nothing to judge


def test_a_provider_that_stopped_is_unreachable_from_this_machine():
    with oidc.running() as idp:
        issuer = idp.issuer
    found = diagnose(issuer, "implicit")
    f = found["oidc-discovery"]
    assert f.severity == doctor.FAIL and "from this machine" in f.found
    assert "refused" in f.found


# --- from inside the wandb container ------------------------------------------------------------


@pytest.fixture(scope="module")
def stacks(wandb_stack_factory, server_image):
    del server_image  # a missing stand-in image skips with its how-to (conftest)
    wandb_stack_factory.test_images = True
    return wandb_stack_factory


def doctor_json(server, tmp_path) -> dict:
    env = clean_env(tmp_path, WANDB_API_KEY=server.api_key)
    loc = ["--env-file", str(server.env_file), "--compose-dir", str(server.compose_dir)]
    r = run_kit("doctor", "--url", server.base_url, "--no-deep", "--json", *loc, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    for secret in (server.api_key, server.values[sso.SECRET]):
        assert secret not in r.stdout + r.stderr
    return {f["pitfall"]: f for f in json.loads(r.stdout)["findings"]}


def test_doctor_checks_the_provider_from_inside_the_wandb_container(stacks, tmp_path):
    """The issuer on loopback: this machine reaches it, the wandb container (where W&B
    fetches it) does not. Then the issuer on the stack network's gateway, which both
    reach: the finding goes away."""
    with oidc.running() as idp:
        server = stacks.start(
            WANDB_OIDC_ISSUER=idp.issuer,
            WANDB_OIDC_CLIENT_ID="wandb",
            WANDB_OIDC_CLIENT_SECRET="planted-oidc-secret-4b1d",
        )
        try:
            assert server.files[-1] == "sso.yaml"
            found = doctor_json(server, tmp_path)
            f = found["oidc-discovery"]
            assert f["severity"] == "fail"
            assert "from the wandb container:" in f["found"]
            assert "from this machine" not in f["found"]  # this machine got the document
            assert "this machine reaches the provider, the wandb container does not" in f["fix"]
            assert f"{server.base_url}/oidc/callback" in found["oidc-redirect"]["found"]
            assert "oidc-issuer" not in found and "oidc-method" not in found

            gateway = server.deployment().docker(
                "network", "inspect", f"{server.project}_default",
                "--format", "{{(index .IPAM.Config 0).Gateway}}",
            ).strip()  # fmt: skip
            assert re.fullmatch(r"[\d.]+", gateway), gateway
            with oidc.running(OIDC_BIND=gateway, OIDC_ISSUER=f"http://{gateway}:{{port}}") as near:
                text = server.env_file.read_text()
                server.env_file.write_text(
                    re.sub(r"^WANDB_OIDC_ISSUER=.*$", f"WANDB_OIDC_ISSUER='{near.issuer}'",
                           text, flags=re.M)
                )  # fmt: skip
                server.up()  # the server now runs with that issuer
                found = doctor_json(server, tmp_path)
                assert "oidc-discovery" not in found, found.get("oidc-discovery")
                assert "oidc-issuer" not in found and "oidc-method" not in found
                assert "not checked" not in found["oidc-redirect"]["found"]
        finally:
            stacks.stop(server)
