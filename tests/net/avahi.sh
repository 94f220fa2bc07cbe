#!/bin/sh
# A private avahi-daemon and its own dbus-daemon, for tests/mdns_interop.rs. Run every verb
# inside the test bed's namespace (`ip netns exec NS avahi.sh ...`); each execs one program, so
# the test owns its pid and kills it. DIR holds the configuration and the bus socket. Nothing
# else is written: the pid file's directory and /etc/avahi/services are covered by private
# mounts that `ip netns exec`'s own mount namespace keeps from leaking (only an empty
# /run/avahi-daemon is created if the machine has none).
#
#   avahi.sh bus DIR                      the system bus at DIR/bus
#   avahi.sh daemon DIR HOST V4 V6        avahi-daemon on eth0 as HOST.local, use-ipv4=V4 use-ipv6=V6 (yes|no)
#   avahi.sh run DIR CMD...               an avahi client (avahi-browse, avahi-publish) on that bus
set -eu
verb=${1:?verb}; dir=${2:?dir}; shift 2
bus="unix:path=$dir/bus"
case "$verb" in
bus)
  cat > "$dir/dbus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
  rm -f "$dir/bus"
  exec dbus-daemon --config-file="$dir/dbus.conf" --nofork --nopidfile
  ;;
daemon)
  host=${1:?host}; v4=${2:?yes|no}; v6=${3:?yes|no}
  mkdir -p "$dir/services"
  cat > "$dir/avahi-daemon.conf" <<INI
[server]
host-name=$host
domain-name=local
use-ipv4=$v4
use-ipv6=$v6
allow-interfaces=eth0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-addresses=yes
[reflector]
[rlimits]
INI
  mkdir -p /run/avahi-daemon
  mount -t tmpfs tmpfs /run/avahi-daemon
  mount --bind "$dir/services" /etc/avahi/services
  export DBUS_SYSTEM_BUS_ADDRESS="$bus"
  exec avahi-daemon -f "$dir/avahi-daemon.conf" --no-drop-root --no-chroot --no-rlimits --no-proc-title
  ;;
run)
  export DBUS_SYSTEM_BUS_ADDRESS="$bus"
  exec "$@"
  ;;
*)
  echo "usage: avahi.sh bus|daemon|run DIR ..." >&2
  exit 2
  ;;
esac
