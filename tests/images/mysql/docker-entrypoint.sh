#!/usr/bin/env bash
# Initialises an empty datadir the way the official mysql image does, then runs
# the server in the foreground as the mysql user. Test stand-in; see Dockerfile.
set -euo pipefail

log() { echo "[entrypoint] $*" >&2; }

# MYSQL_X_FILE -> MYSQL_X (docker secrets), as in the official image.
file_env() {
  local var="$1" file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then export "$var"="$(cat "${!file_var}")"; fi
}

if [ "${1:0:1}" = "-" ]; then set -- mysqld "$@"; fi
# The official image's command is mysqld; MariaDB's binary is mariadbd.
if [ "$1" = "mysqld" ] || [ "$1" = "mariadbd" ]; then
  shift
  for v in MYSQL_ROOT_PASSWORD MYSQL_PASSWORD MYSQL_USER MYSQL_DATABASE; do file_env "$v"; done
  DATADIR=/var/lib/mysql
  chown -R mysql:mysql "$DATADIR" /run/mysqld

  if [ ! -d "$DATADIR/mysql" ]; then
    if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
      log "error: database is uninitialized and password option is not specified"
      log "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
      exit 1
    fi
    log "initialising database in $DATADIR"
    mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal >/dev/null
    # Like the official image: a temporary server on the default socket only, so
    # init scripts can use a plain `mysql --protocol=socket`.
    mariadbd --user=mysql --datadir="$DATADIR" --skip-networking "$@" &
    pid=$!
    sql=(mariadb --protocol=socket -uroot)
    for _ in $(seq 1 60); do "${sql[@]}" -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done

    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
      MYSQL_ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
      log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi
    root_host="${MYSQL_ROOT_HOST:-%}"
    # Quote for SQL string literals: double every single quote and backslash.
    q() { printf "%s" "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g"; }
    {
      echo "SET @@SESSION.SQL_LOG_BIN=0;"
      # Keep only root@localhost (and root@MYSQL_ROOT_HOST below), as the official image
      # does: install-db's password-less root@127.0.0.1 would shadow root@'%' over TCP.
      # mysql.user is a view in MariaDB >= 10.4, so users are dropped by name.
      h="$(q "$(hostname)")"
      echo "DROP USER IF EXISTS ''@'localhost', ''@'$h', 'root'@'$h', 'root'@'127.0.0.1', 'root'@'::1';"
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(q "${MYSQL_ROOT_PASSWORD:-}")';"
      if [ "$root_host" != "localhost" ]; then
        echo "CREATE USER 'root'@'$(q "$root_host")' IDENTIFIED BY '$(q "${MYSQL_ROOT_PASSWORD:-}")';"
        echo "GRANT ALL ON *.* TO 'root'@'$(q "$root_host")' WITH GRANT OPTION;"
      fi
      if [ -n "${MYSQL_DATABASE:-}" ]; then
        echo "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE}\`;"
      fi
      if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
        echo "CREATE USER '$(q "$MYSQL_USER")'@'%' IDENTIFIED BY '$(q "$MYSQL_PASSWORD")';"
        if [ -n "${MYSQL_DATABASE:-}" ]; then
          echo "GRANT ALL ON \`${MYSQL_DATABASE}\`.* TO '$(q "$MYSQL_USER")'@'%';"
        fi
      fi
      echo "FLUSH PRIVILEGES;"
    } | "${sql[@]}"
    # The root password from now on in the environment, never on a command line.
    export MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}"
    [ -n "${MYSQL_DATABASE:-}" ] && db=("$MYSQL_DATABASE") || db=()
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
        *.sql)    log "running $f"; "${sql[@]}" "${db[@]}" < "$f" ;;
        *.sql.gz) log "running $f"; gunzip -c "$f" | "${sql[@]}" "${db[@]}" ;;
        *)        [ -e "$f" ] && log "ignoring $f" ;;
      esac
    done
    unset MYSQL_PWD
    kill "$pid"; wait "$pid" || true
    log "initialisation done"
  fi
  exec mariadbd --user=mysql --datadir="$DATADIR" "$@"
fi
exec "$@"
