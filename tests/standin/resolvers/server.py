"""serverInfo: version window, feature flags, license; and the introspection root fields."""

from __future__ import annotations

from ... import standin

# Features the SDK 0.31 probes with ServerFeaturesQuery. The enabled ones are what a current
# wandb/local advertises for everything the stand-in implements, so the SDK takes the code
# paths real users take (gzip file_stream bodies, tags, client ids, membership queries...).
# Disabled: registries/organizations (ARTIFACT_REGISTRY_SEARCH), automations, the local sweep
# scheduler, eval tables, structured console logs and the membership download handler, which
# the stand-in does not implement.
ENABLED_FEATURES = {
    "LARGE_FILENAMES",
    "ARTIFACT_TAGS",  # createArtifact(tags), updateArtifact(tagsToAdd/tagsToDelete)
    "CLIENT_IDS",  # clientID / sequenceClientID, clientIDMapping
    "ARTIFACT_COLLECTION_MEMBERSHIP_FILES",  # artifactCollection.artifactMembership.files
    "USE_ARTIFACT_WITH_ENTITY_AND_PROJECT_INFORMATION",  # useArtifact(artifactEntityName..)
    "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP",  # project.artifactCollectionMembership
    "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",  # linkArtifact { artifactMembership }
    "TOTAL_COUNT_IN_FILE_CONNECTION",
    "ARTIFACT_COLLECTIONS_FILTERING_SORTING",  # artifactCollections(filters, order)
    "ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID",  # /artifactsV2/.../<id>/...
    "MARK_RUN_FILES_UPLOADED",
    "SWEEPS_QUERY_FILTERING",  # project.sweeps(filters)
    "FILESTREAM_GZIP",  # file_stream bodies with Content-Encoding: gzip
    "ARTIFACT_DIGEST_ALGORITHM",  # artifact.digestAlgorithm (MANIFEST_MD5)
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
