"""doctor's catalogue: the self-hosting pitfalls users hit again and again, each with
an id, a title, the symptom, the cause and the generic fix.

The pitfall table of docs/troubleshooting.md is rendered from PITFALLS (doctor_render), and
every pitfall has a detector (the doctor_detect_* modules).
"""

from __future__ import annotations

from dataclasses import dataclass

from wandb_local_kit.server import health

FAIL, WARN, NOTE = "fail", "warn", "note"
SEVERITIES = (FAIL, WARN, NOTE)


@dataclass(frozen=True)
class Pitfall:
    id: str
    title: str
    symptom: str
    cause: str
    fix: str


PITFALLS: list[Pitfall] = [
    Pitfall(
        "host-mismatch",
        "HOST is not the URL clients use",
        "runs appear but files, media and artifacts never arrive; 403 on /local-files "
        "uploads; signup or 'Unable to reach the backend api' in the browser",
        "W&B builds and signs upload/download URLs from HOST (WANDB_HOST in .env); a client "
        "that reaches the server under another name or port gets URLs it cannot use",
        "set WANDB_HOST in .env to exactly the URL clients use (scheme, host, port), then "
        "`wandb-kit up`; every client must use that same URL",
    ),
    Pitfall(
        "bucket-unreachable",
        "Bucket endpoint not reachable from clients (split horizon)",
        "metrics arrive, media and artifacts do not; the SDK's debug log shows connection "
        "errors to the bucket host (e.g. seaweedfs:8333)",
        "the bucket URL the server signs (WANDB_BUCKET_PUBLIC_URL) names a host that only "
        "containers resolve (like `seaweedfs`), or a port that is not published to clients",
        "set WANDB_BUCKET_PUBLIC_URL to this server's DNS name or LAN address (never "
        "`seaweedfs` or localhost), publish the port (WANDB_BUCKET_BIND), then `wandb-kit init "
        "&& wandb-kit up`",
    ),
    Pitfall(
        "cors-missing",
        "Storage without CORS for the W&B origin",
        "the UI shows broken images, empty media panels, failed artifact file views",
        "browsers fetch media straight from the bucket; without a CORS rule allowing the "
        "W&B origin they refuse",
        "allow GET, PUT and HEAD from the W&B origin on the bucket (S3 PutBucketCors); "
        "the kit's storage-init job sets it on every `wandb-kit up`, from WANDB_HOST",
    ),
    Pitfall(
        "own-storage",
        "Your own MySQL or bucket does not meet W&B's needs",
        "W&B does not start (migrations fail), or uploads, media and artifacts fail",
        "WANDB_EXTERNAL_MYSQL_URL / WANDB_EXTERNAL_BUCKET_URL name a service that is "
        "unreachable under that name, refuses the credentials, or lacks a setting, grant, "
        "CORS rule or S3 feature W&B needs",
        "the finding names what was found and the fix; `wandb-kit preflight` runs the same "
        "checks before `up`",
    ),
    Pitfall(
        "body-limit",
        "A proxy limits request bodies (413)",
        "HTTP 413 Request Entity Too Large; `wandb verify` fails the large-payload check; "
        "runs with big configs or many metrics stall",
        "nginx defaults to client_max_body_size 1m, ingress-nginx to proxy-body-size 1m; "
        "the SDK sends up to 10 MB per request",
        health.BODY_LIMIT_FIX,
    ),
    Pitfall(
        "wrong-key",
        "API key rejected",
        "401 Unauthorized; `wandb login` or `wandb.init` fails with an authentication error",
        "the key belongs to another server (e.g. api.wandb.ai), was deleted, or was mistyped",
        "get a key from <server>/authorize and run `wandb-kit login`; keys are per server "
        "and stored per host:port in .netrc",
    ),
    Pitfall(
        "no-key",
        "No API key for this server on this machine",
        "`wandb.init` prompts for a key or falls back to offline mode",
        "nothing in WANDB_API_KEY or .netrc for this host:port",
        "`wandb-kit login` (or `wandb-kit login --bootstrap` on a fresh kit server)",
    ),
    Pitfall(
        "not-ready",
        "Server alive but not ready (migrations, database)",
        "/healthz answers, /ready does not; the UI or SDK get 502/503",
        "first boot or an upgrade is running database migrations, or the database is "
        "unreachable; an interrupted migration leaves 'Dirty database version N'",
        "wait for migrations (minutes; never interrupt them); if it stays not ready, read "
        "`wandb-kit logs wandb`; a dirty migration needs a restore from backup "
        "(`wandb-kit restore`)",
    ),
    Pitfall(
        "dirty-migration",
        "Interrupted database migration",
        "the server restarts or stays not ready; logs show 'Dirty database version'",
        "the container was stopped or killed while migrations ran",
        "restore the last backup (`wandb-kit restore`), then start it and let migrations "
        "finish; give the container memory and time (the kit's healthcheck allows 10 min)",
    ),
    Pitfall(
        "untrusted-cert",
        "TLS certificate not trusted by this client",
        "SSL: CERTIFICATE_VERIFY_FAILED from the SDK or requests",
        "a private CA (like Caddy's internal one) or a self-signed certificate that this "
        "machine does not trust",
        'export SSL_CERT_FILE=CA.pem REQUESTS_CA_BUNDLE=CA.pem (`eval "$(wandb-kit env)"`), '
        "or add the CA to the system store; the kit exports its internal CA to "
        "compose/certs/wandb-root-ca.crt",
    ),
    Pitfall(
        "sdk-version-range",
        "SDK outside the server's supported range",
        "`wandb verify` warns about the wandb version; newer SDK features fail on the server",
        "the server supports SDK versions min_cli_version..max_cli_version (serverInfo)",
        "pin the SDK into the range (pip install 'wandb<=MAX') or upgrade the server",
    ),
    Pitfall(
        "license-missing",
        "No license configured",
        "the server refuses to start or shows 'You need a license for this instance'",
        "current wandb/local releases need a license (free ones from W&B's Deploy Manager)",
        "get one at https://deploy.wandb.ai/deploy and set WANDB_LICENSE in .env, then "
        "`wandb-kit up`",
    ),
    Pitfall(
        "license-expiry",
        "License expiring or expired",
        "'You need to renew your license immediately'; after W&B's 3-day grace period the "
        "UI is locked for everyone (logging goes on)",
        "the license JWT's expiry date (expiresAt/exp) is near or past; the kit warns 30 "
        "and again 7 days ahead",
        "renew the license with W&B, put it in WANDB_LICENSE in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "license-seats",
        "The lab needs more seats than the license grants",
        "new users cannot be added or activated; SCIM answers 'Seat limit reached'",
        "the lab file lists more users than the license's maxUsers/seats claim",
        "ask W&B for more seats, or list fewer users (service accounts take no seat)",
    ),
    Pitfall(
        "license-unread",
        "License contents not readable here",
        "doctor cannot tell when the license expires or how many seats it grants",
        "the license is not a JWT with the claims the kit knows (expiresAt/exp, "
        "maxUsers/seats); W&B does not document them",
        "check expiry and seats in the System Console's License tab (/system-admin)",
    ),
    Pitfall(
        "oidc-discovery",
        "OIDC discovery document unreachable",
        "SSO login fails or the server logs OIDC errors at start; users cannot sign in",
        "W&B fetches $OIDC_ISSUER/.well-known/openid-configuration from inside its "
        "container: the issuer names a host that container cannot reach (localhost, a name "
        "only this machine resolves, a firewall) or a CA it does not trust",
        "set WANDB_OIDC_ISSUER to the provider's issuer under a name and port both this "
        "machine and the wandb container reach (`wandb-kit init --oidc-issuer URL`), then "
        "`wandb-kit up`",
    ),
    Pitfall(
        "oidc-issuer",
        "OIDC issuer differs from the provider's (trailing slash)",
        "login redirects back with an error; token validation fails on 'iss'",
        "the ID token's iss is the provider's exact issuer; a configured issuer that "
        "differs even by a trailing slash does not match",
        "copy `issuer` from the provider's discovery document exactly into "
        "`wandb-kit init --oidc-issuer URL`, then `wandb-kit up`",
    ),
    Pitfall(
        "oidc-method",
        "OIDC provider does not support the chosen method",
        "the provider rejects the login request (unsupported_response_type or invalid_request)",
        "pkce needs the code flow with S256 challenges; implicit (W&B's default) needs "
        "id_token responses with response_mode=form_post; W&B asks for openid profile email",
        "enable the flow at the provider for this client, or `wandb-kit init --oidc-method "
        "pkce|implicit` to the one it supports, then `wandb-kit up`",
    ),
    Pitfall(
        "oidc-redirect",
        "OIDC redirect URI to register",
        "the provider says the redirect_uri is not allowed (redirect_uri_mismatch)",
        "W&B sends users back to <HOST>/oidc/callback; the provider must know that URI",
        "register the redirect URI doctor prints for the client id at the provider",
    ),
    Pitfall(
        "arm-host",
        "ARM host",
        "the wandb/local image will not start or runs very slowly under emulation",
        "wandb/local is published for linux/amd64 only; W&B does not support ARM",
        "run the server on an x86_64 host (clients may be ARM)",
    ),
    Pitfall(
        "disk-low",
        "Disk nearly full",
        "uploads fail, the embedded MySQL stops, the server becomes unready",
        "runs, media and artifacts fill the Docker volume; W&B recommends >= 100 GB",
        "free space or move Docker's data root to a larger disk; `wandb-kit backup` first; "
        "then delete old runs/artifacts",
    ),
    Pitfall(
        "memory-low",
        "Too little memory",
        "the server is killed (OOM) and restarts; slow or unready UI",
        "wandb/local runs MySQL, MinIO, Redis and the app in one container; W&B recommends 8 GB",
        "give the host (and WANDB_MEMORY in .env) at least 8 GB",
    ),
    Pitfall(
        "volume-permissions",
        "Volume ownership or permissions",
        "'permission denied' on /vol/minio or /vol/mysql, 'chmod: changing permissions of "
        "/vol/env' in the logs",
        "the data volume was copied or bind-mounted with another owner; wandb/local runs as "
        "UID 999 and needs group 0",
        "fix ownership inside the volume: `docker run --rm -v VOLUME:/vol debian:bookworm-slim "
        "sh -c 'chown -R 999:0 /vol && chmod -R g+rwX /vol'`, then `wandb-kit up`",
    ),
    Pitfall(
        "container-restarts",
        "Server container restarting",
        "the server comes and goes; requests fail intermittently",
        "the process crashes (often out of memory: OOMKilled) and Docker restarts it",
        "read the last log lines below (`wandb-kit logs wandb`); if OOMKilled, raise "
        "WANDB_MEMORY in .env and `wandb-kit up`",
    ),
    Pitfall(
        "stack-not-running",
        "The kit's stack is not running",
        "connection refused on the W&B port",
        "the compose project is stopped (or was never started) on this machine",
        "`wandb-kit up` (and `wandb-kit status` to see the services)",
    ),
    Pitfall(
        "unreachable",
        "Server unreachable from this client",
        "connection refused / timed out / host not found",
        "wrong URL or port, a firewall, or the server is down",
        "check the URL (`wandb-kit env`), that the server runs, and the network path; on the "
        "server, WANDB_BIND=0.0.0.0 for other machines",
    ),
    Pitfall(
        "bind-loopback",
        "Published on loopback only but named for the network",
        "the server works on its own machine, other machines get 'connection refused'",
        "WANDB_BIND=127.0.0.1 publishes the port on loopback only, while WANDB_HOST names "
        "another address",
        "set WANDB_BIND=0.0.0.0 (or the LAN address) in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "clock-skew",
        "Clock offset between client and server",
        "403 'RequestTimeTooSkewed' or expired signatures on uploads",
        "presigned URLs carry a time; S3/MinIO reject requests more than 15 min off",
        "run NTP (chrony/systemd-timesyncd) on the server, storage and clients",
    ),
    Pitfall(
        "admin-api-on",
        "Admin API key access still enabled",
        "anyone with the admin key from .env has full admin rights over the API",
        "WANDB_ADMIN_API_ENABLED=true is for the headless first-user bootstrap only",
        "once the first user exists: WANDB_ADMIN_API_ENABLED=false in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "bucket-controls",
        "Bucket versioning, object lock, lifecycle rules or a foreign CORS rule",
        "deleting runs and artifacts frees no disk space; objects cannot be deleted; files "
        "vanish after some days; another site's pages can use the bucket",
        "W&B's key needs write access to its bucket, and most S3 stores let that key (or "
        "anyone with the admin's) turn these bucket settings on; versioning and "
        "COMPLIANCE object lock cannot be undone",
        "the finding names the setting and the admin command that clears it; the bundled "
        "SeaweedFS denies W&B's key these changes with a bucket policy set by storage-init",
    ),
]
PITFALL = {p.id: p for p in PITFALLS}
