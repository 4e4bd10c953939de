#!/bin/bash
# Runs once, on an empty datadir, inside the mysql container (official image
# convention). The image already created MYSQL_DATABASE and MYSQL_USER with ALL on it;
# add what W&B documents (WITH GRANT OPTION) and what `mysqldump --single-transaction`
# backups need on *.* (the legacy W&B chart grants RELOAD, SELECT, LOCK TABLES).
set -eu
mysql_root() { mysql --protocol=socket -uroot -p"$MYSQL_ROOT_PASSWORD" "$@"; }
mysql_root <<SQL
GRANT ALL ON \`${MYSQL_DATABASE}\`.* TO '${MYSQL_USER}'@'%' WITH GRANT OPTION;
GRANT RELOAD, PROCESS, SELECT, LOCK TABLES ON *.* TO '${MYSQL_USER}'@'%';
FLUSH PRIVILEGES;
SQL
