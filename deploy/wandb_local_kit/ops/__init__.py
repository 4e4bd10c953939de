"""Operations on a deployment: backup and restore, upgrade, image bundles for
air-gapped hosts, the support bundle, the MinIO migration."""
