"""Transport: a 10 MB GraphQL POST (proxy body limits), a signed-URL upload, CORS
on the storage URL (warning), https (warning) - what `wandb verify` checks."""

from __future__ import annotations

from wandb_local_kit.smoke import sdk
from wandb_local_kit.smoke.context import CheckFailed, Recorder, SmokeContext, expect

LARGE_POST_BYTES = 10**7


def _session(ctx: SmokeContext):
    import requests

    s = requests.Session()
    s.auth = ("api", ctx.api_key)
    if ctx.ca_file:
        s.verify = ctx.ca_file
    return s


def run_transport(ctx: SmokeContext, rec: Recorder) -> None:
    s = _session(ctx)
    url = ctx.base_url.rstrip("/") + "/graphql"
    # Same shape as wandb verify's check_large_post: a 10^7-byte variable.
    query = "query Probe($desc: String!) { viewer { id } }"
    r = s.post(
        url, json={"query": query, "variables": {"desc": "x" * LARGE_POST_BYTES}}, timeout=120
    )
    if r.status_code == 413:
        raise CheckFailed(
            "10 MB GraphQL POST got 413 Request Entity Too Large: a proxy "
            "in front of W&B limits the body size (nginx: client_max_body_size "
            '0; ingress: proxy-body-size "0")'
        )
    expect("10 MB GraphQL POST status", 200, r.status_code)
    rec.compared_("10 MB GraphQL POST accepted")

    # Signed URL upload and read back, as wandb verify's check_graphql_put does.
    run = sdk.init(ctx, "transport", tags=["transport"])
    payload = b"signed url upload \xe2\x9c\x93\n" * 64
    fname = "signed_url_probe.txt"
    with open(f"{run.dir}/{fname}", "wb") as f:
        f.write(payload)
    run.save(f"{run.dir}/{fname}", base_path=run.dir, policy="now")
    path = sdk.run_path(run)
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, path))
    back = sdk.fetch_run(path)
    files = {f.name: f for f in back.files()}
    if fname not in files:
        raise CheckFailed(f"signed-URL upload: {fname} never reached the server")
    expect(
        "signed-URL round trip (sha256)",
        sdk.sha256(payload),
        sdk.sha256(sdk.download(back, fname, sdk.scratch(ctx, "transport"))),
    )
    rec.compared_("signed-URL upload and download")
    signed = files[fname].direct_url or files[fname].url

    origin = ctx.base_url.rstrip("/")
    import requests

    # A browser's preflight carries no credentials: a plain request, not the session.
    pre = requests.options(
        signed,
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        timeout=30,
        verify=ctx.ca_file or True,
    )
    if not pre.headers.get("Access-Control-Allow-Origin"):
        rec.warn(
            f"CORS: the storage URL answered the preflight from {origin} without "
            "Access-Control-Allow-Origin; browsers cannot show media (set the bucket's "
            "CORS to allow GET/PUT/HEAD from the W&B origin)"
        )
    else:
        rec.compared_("CORS preflight on the storage URL")
    for label, u in (("W&B URL", ctx.base_url), ("storage URL", signed)):
        if not u.startswith("https://"):
            rec.warn(
                f"{label} is plain http: API keys and data travel unencrypted "
                "(use the TLS overlay: wandb-kit init --tls internal)"
            )
