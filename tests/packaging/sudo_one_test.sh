#!/usr/bin/env bash
# End to end through the real sudo: oneadmin runs the built gpuvm as
# /usr/bin/gpuvm with the shipped rule, as OpenNebula's deploy does. The
# allowed call works; sudo refuses an added option; gpuvm refuses a vm.xml
# that is not oneadmin's (SUDO_UID), and root's own `sudo gpuvm one` with an
# override. Everything (/usr/bin/gpuvm, /var/lib/one, /var/lib/gpuvm, the
# oneadmin user, sudoers) lives in a private mount namespace. The VM XML has
# no vGPU entry: gpuvm reads the real /sys's PCI tree and writes nothing.
set -euo pipefail
rule=${1:?usage: sudo_one_test.sh RULE_FILE GPUVM_BINARY}
gpuvm=${2:?usage: sudo_one_test.sh RULE_FILE GPUVM_BINARY}
rule=$(readlink -f "$rule")
gpuvm=$(readlink -f "$gpuvm")
command -v sudo >/dev/null || { echo "FAIL: sudo is not installed (scripts/install-deps.sh)"; exit 1; }
# shellcheck source=private_ns.sh
. "$(dirname "$0")/private_ns.sh"
enter_private_mount_ns "$rule" "$gpuvm"

overlay_usr_bin "$gpuvm" gpuvm
overlay_dir /var/lib
add_oneadmin
install_sudoers "$rule"
vm=/var/lib/one//datastores/0/42/vm.xml
mkdir -p /var/lib/one/datastores/0/42
printf '<VM><ID>42</ID><TEMPLATE><PCI><VENDOR>10de</VENDOR></PCI></TEMPLATE></VM>\n' >"$vm"
chown -R oneadmin:oneadmin /var/lib/one

failures=0
expect() {  # expect RC NEEDLE CMD...: exit status RC and NEEDLE in stderr
  local want=$1 needle=$2 rc=0 err
  shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" = "$want" ] && [[ "$err" == *"$needle"* ]]; then
    echo "ok   exit $rc: $*"
  else
    echo "FAIL want exit $want and '$needle', got $rc: $*"; echo "$err"
    failures=$((failures + 1))
  fi
}
as_oneadmin() { setpriv --reuid=oneadmin --regid=oneadmin --clear-groups "$@"; }

expect 0 "" as_oneadmin sudo -n /usr/bin/gpuvm one vgpu CREATE "$vm"
expect 0 "" as_oneadmin sudo -n /usr/bin/gpuvm one vgpu DELETE "$vm"
expect 1 "password is required" \
  as_oneadmin sudo -n /usr/bin/gpuvm one vgpu CREATE "$vm" --sysfs-root=/tmp
chown root:root "$vm"
expect 2 "owned by uid 0; expected a file of uid 9869" \
  as_oneadmin sudo -n /usr/bin/gpuvm one vgpu CREATE "$vm"
expect 2 "--sysfs-root is not accepted" sudo -n /usr/bin/gpuvm one vgpu CREATE "$vm" --sysfs-root=/tmp
expect 2 "GPUVM_STATE_DIR is not accepted" \
  sudo -n --preserve-env=GPUVM_STATE_DIR env GPUVM_STATE_DIR=/tmp/s /usr/bin/gpuvm one vgpu DELETE "$vm"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
