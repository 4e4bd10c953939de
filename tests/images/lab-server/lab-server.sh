#!/usr/bin/env bash
# A local "lab server" to try the Ansible playbook on before a real machine: Debian
# with systemd, sshd and python3 (no Docker yet: the playbook installs it), reachable
# over ssh on a loopback port with a key made here, and its inventory.
#
#   make lab-server              (= tests/images/lab-server/lab-server.sh start)
#   make lab-server-stop         (= ... stop: removes the container and its volume)
#
# Settings (environment): KIT_LAB_SSH_PORT (default 2222), KIT_LAB_WANDB_PORT (the W&B
# port on this machine, default 18080), KIT_LAB_NAME (container, default
# wandb-kit-lab-server), KIT_LAB_IMAGE (another platform's lab server, built from
# this Dockerfile with --build-arg BASE_IMAGE=...; default lab-server:test, Debian 12),
# KIT_LAB_DIR (its key, inventory.ini and group_vars/all.yml; default build/lab-server).
# Runs without --privileged (systemd in a container: the recipe in the Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib.sh
NAME="${KIT_LAB_NAME:-wandb-kit-lab-server}"
SSH_PORT="${KIT_LAB_SSH_PORT:-2222}"
WANDB_PORT="${KIT_LAB_WANDB_PORT:-18080}"
IMAGE="${KIT_LAB_IMAGE:-${KIT_IMAGE_PREFIX:-wandb-kit-test/}lab-server:test}"
DIR="${KIT_LAB_DIR:-build/lab-server}"

stop() {
  docker rm -f -v "$NAME" >/dev/null 2>&1 && log "removed $NAME" || log "no container $NAME"
}

start() {
  command -v docker >/dev/null || die "docker is not installed (scripts/provision-docker.sh)"
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    [ -z "${KIT_LAB_IMAGE:-}" ] || die "no image $KIT_LAB_IMAGE (build it first)"
    scripts/build-images.sh lab-server
  fi
  if docker container inspect "$NAME" >/dev/null 2>&1; then
    die "$NAME exists already: \`make lab-server-stop\` removes it (and its data)"
  fi
  mkdir -p "$DIR"
  DIR=$(realpath "$DIR")
  [ -f "$DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C wandb-kit-lab-server -f "$DIR/id_ed25519"
  docker run -d --name "$NAME" --label wandb-kit.lab-server=1 \
    --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    -p "127.0.0.1:$SSH_PORT:22" -p "127.0.0.1:$WANDB_PORT:8080" "$IMAGE" >/dev/null
  docker cp "$DIR/id_ed25519.pub" "$NAME:/home/admin/.ssh/authorized_keys"
  docker exec "$NAME" sh -c 'chown admin:admin /home/admin/.ssh/authorized_keys && chmod 600 /home/admin/.ssh/authorized_keys'
  key="$DIR/id_ed25519"
  cat >"$DIR/inventory.ini" <<INI
# The local lab server of \`make lab-server\` (container $NAME).
[wandb_servers]
lab-server ansible_host=127.0.0.1 ansible_port=$SSH_PORT ansible_user=admin ansible_ssh_private_key_file=$key ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes'
INI
  mkdir -p "$DIR/group_vars"
  cat >"$DIR/group_vars/all.yml" <<YML
---
# Settings for the local lab server: W&B on http://127.0.0.1:$WANDB_PORT of this machine.
wandb_server_host: http://127.0.0.1:$WANDB_PORT
wandb_server_cpus: "2"
wandb_server_memory: 4g
# The container keeps Docker's data on a volume, where overlay2 works.
wandb_engine_storage_driver: overlay2
# Debian 12 has no compose v2 package: the plugin comes from this machine.
wandb_engine_compose_plugin_src: $(docker_compose_plugin)
YML
  for _ in $(seq 60); do
    ssh -i "$DIR/id_ed25519" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
      -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 admin@127.0.0.1 sudo -n true \
      2>/dev/null && break
    sleep 1
  done || true
  log "lab server $NAME: ssh admin@127.0.0.1 -p $SSH_PORT -i $DIR/id_ed25519"
  echo "inventory: $DIR/inventory.ini"
  cat "$DIR/inventory.ini"
  echo
  echo "try the playbook on it:"
  echo "  cd ansible && ../.venv/bin/ansible-playbook -i $DIR/inventory.ini site.yml"
  echo "  (settings: $DIR/group_vars/all.yml; the molecule scenario: MOLECULE_LAB_DIR=$DIR molecule test)"
  echo "stop it (removes its data): make lab-server-stop"
}

docker_compose_plugin() {  # the controller's compose v2 binary (Debian 12 needs it)
  for d in /usr/local/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins \
           /usr/lib/docker/cli-plugins "$HOME/.docker/cli-plugins"; do
    [ -x "$d/docker-compose" ] && { echo "$d/docker-compose"; return; }
  done
  echo '""'
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
