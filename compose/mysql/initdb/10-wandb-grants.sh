#!/bin/bash
# Runs once, on an empty datadir, inside the mysql container (official image
# convention). The image already created MYSQL_DATABASE and MYSQL_USER with ALL on it;
# add what W&B documents (WITH GRANT OPTION) and the two global privileges
# `mysqldump --single-transaction` backups of that database need (RELOAD to flush,
# PROCESS to read the server's state). No SELECT on *.*: the app user reads only its
# own database. The root password travels in the environment (MYSQL_PWD), never on
# the command line, where any process on the host could read it.
set -eu
mysql_root() { MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket -uroot "$@"; }
mysql_root <<SQL
GRANT ALL ON \`${MYSQL_DATABASE}\`.* TO '${MYSQL_USER}'@'%' WITH GRANT OPTION;
GRANT RELOAD, PROCESS ON *.* TO '${MYSQL_USER}'@'%';
FLUSH PRIVILEGES;
SQL
