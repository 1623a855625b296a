#!/bin/sh
# install-deps.sh - install what building and testing outpost needs on
# Debian 12 (bookworm).  Idempotent: packages already present are skipped
# by apt.  Postfix is preseeded to "No configuration" so installing it does
# not touch the host's mail setup; no service is started by the tests'
# packages on these machines (the tests start their own daemons).
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (apt-get)" >&2
	exit 1
fi
PKGS="build-essential autoconf automake libtool pkg-config
 libmilter-dev libopendkim-dev libspf2-dev libssl-dev libconfig-dev liblmdb-dev
 libhiredis-dev libmicrohttpd-dev libcmocka-dev
 postfix swaks miltertest opendkim opendkim-tools spfquery nsd dnsmasq-base
 redis-server python3-dkim python3-spf python3-dnspython python3-yaml python3-nacl libmail-dkim-perl
 m4 liblockfile1 libwrap0 iproute2 jq clang clang-format libclang-rt-14-dev valgrind mandoc logrotate
 prometheus curl"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null |
	awk '$NF != "installed" {print $1}'; for p in $PKGS; do
	dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -z "$missing" ]; then
	echo "install-deps.sh: all packages present"
	exit 0
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $PKGS >/dev/null
echo "install-deps.sh: installed $(echo $missing | wc -w) packages"
