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
