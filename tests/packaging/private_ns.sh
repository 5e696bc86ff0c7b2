# Sourced by the packaging tests: run the test in a private mount namespace
# (unshare(1) -m) so that what it lays out over /usr/bin, /etc/passwd or
# /etc/sudoers never reaches the host, and is gone when the test exits.

# Re-executes the calling script ("$0" "$@") inside a private mount
# namespace with $TMPDIR a fresh directory (removed afterwards); returns in
# the namespace. Exits 77 (CTest's skip) when not root.
enter_private_mount_ns() {
  if [ "${GPUVM_PRIVATE_NS:-}" = 1 ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (unshare -m, mounts); CI runs as root"; exit 77; fi
  local tmp rc=0
  tmp=$(mktemp -d)
  GPUVM_PRIVATE_NS=1 TMPDIR="$tmp" \
    unshare -m bash -c 'mount --make-rprivate / && exec bash "$@"' bash "$0" "$@" || rc=$?
  rm -rf "$tmp"
  exit "$rc"
}

# Makes /usr/bin/NAME exist, a copy of FILE, on a tmpfs-backed overlay of
# /usr/bin (sudo and systemd-analyze only take commands that exist).
overlay_usr_bin() {  # overlay_usr_bin FILE NAME
  mkdir -p "$TMPDIR/ov"
  mount -t tmpfs -o mode=0755 tmpfs "$TMPDIR/ov"
  mkdir "$TMPDIR/ov/upper" "$TMPDIR/ov/work"
  mount -t overlay overlay \
    -o "lowerdir=/usr/bin,upperdir=$TMPDIR/ov/upper,workdir=$TMPDIR/ov/work" /usr/bin
  install -m 0755 "$1" "/usr/bin/$2"
}

# Makes a directory on a tmpfs-backed overlay of DIR, so that files can be
# created under DIR (e.g. /var/lib/one) without reaching the host.
overlay_dir() {  # overlay_dir DIR
  local d
  d="$TMPDIR/ov$(echo "$1" | tr / _)"
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
  mkdir "$d/upper" "$d/work"
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$d/upper,workdir=$d/work" "$1"
}

# A oneadmin user and group (uid/gid 9869, OpenNebula's packages' id) in
# bind-mounted copies of /etc/passwd, /etc/group and /etc/shadow (an account
# entry: sudo's PAM account check wants one; no password).
add_oneadmin() {
  getent passwd oneadmin >/dev/null && return 0
  cp /etc/passwd "$TMPDIR/passwd" && cp /etc/group "$TMPDIR/group" && cp /etc/shadow "$TMPDIR/shadow"
  echo 'oneadmin:x:9869:9869:OpenNebula:/var/lib/one:/bin/sh' >>"$TMPDIR/passwd"
  echo 'oneadmin:x:9869:' >>"$TMPDIR/group"
  echo 'oneadmin:*:19000:0:99999:7:::' >>"$TMPDIR/shadow"
  mount --bind "$TMPDIR/passwd" /etc/passwd
  mount --bind "$TMPDIR/group" /etc/group
  mount --bind "$TMPDIR/shadow" /etc/shadow
}

# /etc/sudoers: Debian's env_reset, root may do anything, and /etc/sudoers.d
# holds only RULE
# (installed as gpuvm-opennebula, mode 0440, as packaging/README.md says).
install_sudoers() {  # install_sudoers RULE
  mkdir -p "$TMPDIR/sudoers.d"
  # env_keep: only the sanitizers' settings, so that an ASan build of gpuvm
  # run through sudo reads the same suppressions as under CTest.
  printf '%s\n' 'Defaults env_reset' \
    'Defaults env_keep += "ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS"' \
    'root ALL=(ALL:ALL) ALL' '@includedir /etc/sudoers.d' >"$TMPDIR/sudoers"
  chmod 0440 "$TMPDIR/sudoers"
  install -m 0440 "$1" "$TMPDIR/sudoers.d/gpuvm-opennebula"
  mount --bind "$TMPDIR/sudoers" /etc/sudoers
  mount --bind "$TMPDIR/sudoers.d" /etc/sudoers.d
}
