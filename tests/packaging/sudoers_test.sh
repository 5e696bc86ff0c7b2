#!/usr/bin/env bash
# Which command lines packaging/sudoers/gpuvm-opennebula lets oneadmin run as
# root, asked of the real sudo: `sudo -l -U oneadmin CMD` exits 0 when the
# rule allows CMD and 1 when it does not (sudo(8), -l with a command).
#
# Nothing on the host changes: everything runs in a private mount namespace
# (unshare -m) where /etc/passwd and /etc/group gain a oneadmin user, a
# minimal /etc/sudoers includes a temporary /etc/sudoers.d holding only the
# rule, and /usr/bin/gpuvm exists on an overlay of /usr/bin (sudo only
# matches commands that exist). Needs root, sudo, unshare and overlayfs.
set -euo pipefail
rule=${1:?usage: sudoers_test.sh RULE_FILE}
rule=$(readlink -f "$rule")

command -v sudo >/dev/null || { echo "FAIL: sudo is not installed (scripts/install-deps.sh)"; exit 1; }
visudo -cf "$rule" >/dev/null
# shellcheck source=private_ns.sh
. "$(dirname "$0")/private_ns.sh"
enter_private_mount_ns "$rule"

# Inside the namespace: lay out the test host.
overlay_usr_bin /usr/bin/true gpuvm
add_oneadmin
install_sudoers "$rule"

failures=0
check() {  # check allow|deny ARGV...
  local want=$1 got rc=0
  shift
  sudo -n -l -U oneadmin "$@" >/dev/null 2>&1 || rc=$?
  case $rc in 0) got=allow ;; 1) got=deny ;; *) got="error $rc" ;; esac
  if [ "$got" = "$want" ]; then
    echo "ok   $want: $*"
  else
    echo "FAIL want $want, got $got: $*"
    failures=$((failures + 1))
  fi
}

g=/usr/bin/gpuvm
ds=/var/lib/one//datastores  # OpenNebula's default DATASTORE_LOCATION, as the KVM driver passes it
# What deploy ($DEP_FILE_LOCATION/vm.xml), cancel and shutdown ($DATASTORE/vm.xml) pass.
check allow $g one vgpu CREATE $ds/0/42/vm.xml
check allow $g one vgpu DELETE $ds/0/42/vm.xml
check allow $g one vgpu CREATE $ds/104/1234567/vm.xml
# DATASTORE_LOCATION=/var/lib/one/datastores on the host.
check allow $g one vgpu DELETE /var/lib/one/datastores/0/42/vm.xml
# Extra options, anywhere; the first is the issue's reproduction (sudo's `*`
# matched '/' and spaces).
check deny $g one vgpu CREATE /var/lib/one/datastores/../../../tmp/x.xml --sysfs-root=/tmp/t/vm.xml
check deny $g one vgpu CREATE $ds/0/42/vm.xml --sysfs-root=/tmp/t
check deny $g one vgpu CREATE $ds/0/42/vm.xml --sysfs-root /tmp/t
check deny $g one --sysfs-root=/tmp/t vgpu CREATE $ds/0/42/vm.xml
check deny $g one vgpu --state-dir=/tmp/s CREATE $ds/0/42/vm.xml
check deny $g one vgpu CREATE $ds/0/42/vm.xml --nvml-lib=/tmp/libnvidia-ml.so.1
check deny $g --sysfs-root=/tmp/t one vgpu CREATE $ds/0/42/vm.xml
check deny $g one vgpu CREATE --help $ds/0/42/vm.xml
# Traversal and other paths.
check deny $g one vgpu CREATE $ds/../../../tmp/x.xml
check deny $g one vgpu CREATE /var/lib/one/datastores/../../../tmp/x/vm.xml
check deny $g one vgpu CREATE $ds/0/../42/vm.xml
check deny $g one vgpu CREATE $ds/0/42/../vm.xml
check deny $g one vgpu CREATE $ds/0/42/./vm.xml
check deny $g one vgpu CREATE $ds/0/42/sub/vm.xml
check deny $g one vgpu CREATE $ds/0/vm.xml
check deny $g one vgpu CREATE $ds/0/42/vm.xml.bak
check deny $g one vgpu CREATE $ds/0/42/vmXxml
check deny $g one vgpu CREATE $ds/0/42/deployment.0
check deny $g one vgpu CREATE /var/lib/one///datastores/0/42/vm.xml
check deny $g one vgpu CREATE /tmp/vm.xml
check deny $g one vgpu CREATE vm.xml
check deny $g one vgpu CREATE /etc/shadow
# A second argument, no argument, other actions and verbs.
check deny $g one vgpu CREATE $ds/0/42/vm.xml $ds/0/43/vm.xml
check deny $g one vgpu CREATE $ds/0/42/vm.xml x
check deny $g one vgpu CREATE
check deny $g one vgpu DATASTORE one-42  # the KVM driver runs DATASTORE as oneadmin, without sudo
check deny $g one vgpu create $ds/0/42/vm.xml
check deny $g one vgpu CREATEX $ds/0/42/vm.xml
check deny $g one probe
check deny $g vgpu create 0000:41:00.4 nvidia-474
check deny $g node apply -f /tmp/node.yaml
check deny $g sriov enable 0000:41:00.0
check deny $g
# sudo matches the arguments joined by spaces, so one argument holding spaces
# matches too; gpuvm then gets too few arguments and refuses them (exit 2,
# tests/vgpu/one_cli_test.cpp SpacesInsideOneArgument).
check allow $g one "vgpu CREATE $ds/0/42/vm.xml"
check allow $g one vgpu "CREATE $ds/0/42/vm.xml"
check deny $g one vgpu CREATE "$ds/0/42/vm.xml
"
# Another binary.
check deny /usr/bin/true one vgpu CREATE $ds/0/42/vm.xml

if [ "$failures" -ne 0 ]; then
  echo "$failures command line(s) not as expected"
  exit 1
fi
echo "all command lines as expected"
