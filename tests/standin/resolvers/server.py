"""serverInfo: version window, feature flags, license; and the introspection root fields."""

from __future__ import annotations

from ... import standin

# Features the SDK 0.31 probes with ServerFeaturesQuery. Enabled ones switch the SDK onto code
# paths the stand-in implements; everything else is reported disabled, so the SDK uses its
# fallbacks instead of operations the stand-in does not have.
ENABLED_FEATURES = {
    "LARGE_FILENAMES",
    "MARK_RUN_FILES_UPLOADED",
    "TOTAL_COUNT_IN_FILE_CONNECTION",
}
KNOWN_FEATURES = [
    "LARGE_FILENAMES",
    "ARTIFACT_TAGS",
    "CLIENT_IDS",
    "ARTIFACT_REGISTRY_SEARCH",
    "STRUCTURED_CONSOLE_LOGS",
    "ARTIFACT_COLLECTION_MEMBERSHIP_FILES",
    "ARTIFACT_COLLECTION_MEMBERSHIP_FILE_DOWNLOAD_HANDLER",
    "USE_ARTIFACT_WITH_ENTITY_AND_PROJECT_INFORMATION",
    "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP",
    "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",
    "TOTAL_COUNT_IN_FILE_CONNECTION",
    "ARTIFACT_COLLECTIONS_FILTERING_SORTING",
    "ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID",
    "MARK_RUN_FILES_UPLOADED",
    "SWEEPS_QUERY_FILTERING",
    "FILESTREAM_GZIP",
    "SWEEPS_LOCAL_SCHEDULER",
    "ARTIFACT_DIGEST_ALGORITHM",
    "EVAL_TABLES_CES",
]

# `wandb verify` warns unless the SDK version lies inside this window.
MIN_CLI_VERSION = "0.10.0"
MAX_CLI_VERSION = "0.31.99"


class ServerQueries:
    def f_serverInfo(self):
        s = self.ctx.settings
        return {
            "__typename": "ServerInfo",
            "features": [
                {"__typename": "ServerFeature", "name": n, "isEnabled": n in ENABLED_FEATURES}
                for n in KNOWN_FEATURES
            ],
            "cliVersionInfo": {
                "min_cli_version": MIN_CLI_VERSION,
                "max_cli_version": MAX_CLI_VERSION,
            },
            "latestLocalVersionInfo": {
                "__typename": "LocalVersionInfo",
                "outOfDate": False,
                "latestVersionString": standin.VERSION,
                "versionOnThisInstanceString": standin.VERSION,
            },
            "availableBucketProviders": ["S3"] if s.bucket else [],
            "isGoogleCloudPlatform": False,
            "licenseFlags": None,
            "license": {"__typename": "License", "present": bool(s.license)},
            "frontendHost": s.host,
            "defaultCloudRegion": {"id": "default", "provider": "S3", "region": s.aws_region},
            "exportModeEnabled": False,
        }

    def f___schema(self):
        return {
            "__typename": "__Schema",
            "queryType": {"__typename": "__Type", "name": "Query"},
            "mutationType": {"__typename": "__Type", "name": "Mutation"},
            "subscriptionType": None,
            "types": [],
            "directives": [],
        }

    def f___type(self, name):
        """Fields the stand-in resolves for a type it knows (for feature probes)."""
        from . import root

        cls = root.TYPES.get(name)
        if cls is None:
            return None
        fields = sorted({a[2:] for a in dir(cls) if a.startswith("f_")})
        return {
            "__typename": "__Type",
            "name": name,
            "kind": "OBJECT",
            "fields": [{"__typename": "__Field", "name": f, "args": []} for f in fields],
            "inputFields": [],
        }
