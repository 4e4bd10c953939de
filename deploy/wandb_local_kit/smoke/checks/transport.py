"""Transport: a 10 MB GraphQL POST (proxy body limits), a signed-URL upload, CORS
on the storage URL (warning), https (warning) - what `wandb verify` checks."""

from __future__ import annotations

from wandb_local_kit.smoke import evidence, sdk
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
    # What each request sent and what came back, for the report, also when one fails.
    sent: list[list] = []
    seen: list[list] = []
    try:
        _transport(ctx, rec, sent, seen)
    finally:
        columns = ["request", "bytes", "status"]
        rec.show(
            evidence.table(
                "requests: sent, and as answered",
                columns,
                sent,
                columns,
                seen or None,
                "" if seen else "no request was answered",
                sides=("sent (and the status expected)", "answered"),
                compare=["request", "status"],  # bytes: a preflight's answer has a body
            )
        )


# long: one session's probes in sequence, each recorded as it runs
def _transport(ctx: SmokeContext, rec: Recorder, sent: list, seen: list) -> None:
    s = _session(ctx)
    url = ctx.base_url.rstrip("/") + "/graphql"
    # Same shape as wandb verify's check_large_post: a 10^7-byte variable.
    query = "query Probe($desc: String!) { viewer { id } }"
    r = s.post(
        url, json={"query": query, "variables": {"desc": "x" * LARGE_POST_BYTES}}, timeout=120
    )
    body = len(r.request.body or b"")
    sent.append(["POST /graphql (10 MB variable)", body, 200])
    seen.append(["POST /graphql (10 MB variable)", body, r.status_code])
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
    sent.append(["signed-URL upload (run.save)", len(payload), "listed"])
    if fname not in files:
        seen.append(["signed-URL upload (run.save)", 0, "not listed"])
        raise CheckFailed(f"signed-URL upload: {fname} never reached the server")
    seen.append(["signed-URL upload (run.save)", files[fname].size, "listed"])
    got = sdk.download(back, fname, sdk.scratch(ctx, "transport"))
    same = sdk.sha256(got) == sdk.sha256(payload)
    sent.append(["signed-URL download", len(payload), "same sha256"])
    seen.append(["signed-URL download", len(got), "same sha256" if same else "sha256 differs"])
    expect("signed-URL round trip (sha256)", sdk.sha256(payload), sdk.sha256(got))
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
    allowed = pre.headers.get("Access-Control-Allow-Origin")
    code = "2xx" if 200 <= pre.status_code < 300 else str(pre.status_code)
    sent.append(["OPTIONS storage URL (CORS preflight)", 0, "2xx, allow-origin set"])
    seen.append(
        [
            "OPTIONS storage URL (CORS preflight)",
            len(pre.content),
            f"{code}, allow-origin {'set' if allowed else 'missing'}",
        ]
    )
    if not allowed:
        rec.warn(
            f"CORS: the storage URL answered the preflight from {origin} without "
            "Access-Control-Allow-Origin; browsers cannot show media (set the bucket's "
            "CORS to allow GET/PUT/HEAD from the W&B origin)"
        )
    else:
        rec.compared_("CORS preflight on the storage URL")
    plain = [
        label
        for label, u in (("W&B URL", ctx.base_url), ("storage URL", signed))
        if not u.startswith("https://")
    ]
    if plain:
        # One warning, once: the storage URL is often the W&B URL itself (embedded mode).
        same = _origin(signed) == _origin(ctx.base_url)
        what = "W&B URL (which also serves the storage URLs)" if same else " and ".join(plain)
        if same:
            plain = ["W&B URL"]
        rec.warn(
            f"{what} {'is' if len(plain) == 1 else 'are'} plain http: API keys and data "
            "travel unencrypted (use the TLS overlay: wandb-kit init --tls internal)"
        )


def _origin(url: str) -> tuple:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port
