#!/bin/sh
# What the official SeaweedFS image's docker/entrypoint.sh does, for the subcommands
# the kit uses (server, mini, shell); anything else runs `weed ARGS` as upstream.
# Upstream drops privileges with su-exec (Alpine); Debian has setpriv.
export GODEBUG="${GODEBUG:+$GODEBUG,}fips140=on"

if [ "$(id -u)" = "0" ]; then
  SEAWEED_UID=$(id -u seaweed)
  SEAWEED_GID=$(id -g seaweed)
  if [ -z "$SEAWEED_UID" ] || [ -z "$SEAWEED_GID" ]; then
    echo "Error: 'seaweed' user or group not found. Cannot fix permissions." >&2
    exit 1
  fi
  DATA_UID=$(stat -c '%u' /data 2>/dev/null)
  DATA_GID=$(stat -c '%g' /data 2>/dev/null)
  if [ "$DATA_UID" != "$SEAWEED_UID" ] || [ "$DATA_GID" != "$SEAWEED_GID" ]; then
    echo "Fixing /data ownership for seaweed user (uid=$SEAWEED_UID, gid=$SEAWEED_GID)"
    if ! chown -R seaweed:seaweed /data; then
      echo "Warning: Failed to change ownership of /data. This may cause permission errors." >&2
    fi
  fi
  exec setpriv --reuid="$SEAWEED_UID" --regid="$SEAWEED_GID" --init-groups "$0" "$@"
fi

isArgPassed() {
  arg="$1"; shift
  for passed in "$@"; do
    case $passed in
      "$arg"|"-$arg"|"$arg="*|"-$arg="*) return 0 ;;
    esac
  done
  return 1
}

case "$1" in
  server)
    ARGS="-dir=/data -volume.max=0 -master.volumeSizeLimitMB=1024"
    if isArgPassed "-volume.max" "$@"; then
      ARGS="-dir=/data -master.volumeSizeLimitMB=1024"
    fi
    shift
    exec /usr/bin/weed -logtostderr=true server $ARGS "$@"
    ;;
  mini)
    ARGS="-dir=/data"
    if isArgPassed "-dir" "$@"; then
      ARGS=""
    fi
    shift
    exec /usr/bin/weed -logtostderr=true mini $ARGS "$@"
    ;;
  shell)
    ARGS="-cluster=$SHELL_CLUSTER -filer=$SHELL_FILER -filerGroup=$SHELL_FILER_GROUP -master=$SHELL_MASTER -options=$SHELL_OPTIONS"
    shift
    exec echo "$@" | /usr/bin/weed -logtostderr=true shell $ARGS
    ;;
  *)
    exec /usr/bin/weed "$@"
    ;;
esac
