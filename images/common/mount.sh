#!/bin/sh
# The one check of the mount setting (APP_MOUNT in the containers, MOUNT for
# make and compose). Run by the images' entrypoint before any server starts,
# and by `make up` on the host, so a bad value is refused in the same words
# in both places.
#   mount.sh VALUE   prints the settings derived from VALUE as shell assignments
#                    (the entrypoint evals them), or the rule and the value on
#                    stderr and exits 64 (EX_USAGE: a setting, not a crash).
#
# The rule: "" or "/" is the root; otherwise one or more path segments, each
# "/" followed by letters, digits, ".", "-", "_" or "~" (RFC 3986's unreserved
# characters), none of them "." or ".."; one trailing "/" is dropped. Those
# characters mean the same decoded or not, and nothing in the servers' config
# syntax (no quotes, spaces, "$", ";", "{", "#"), so the value can go into
# every config as it is; only regex contexts need the "." escaped, which is
# what APP_MOUNT_PATTERN is for.
#
# Derived settings:
#   APP_MOUNT          "" at the root, else the mount without a trailing "/"
#   APP_MOUNT_PATH     the mount as a path prefix: "/" at the root
#   APP_MOUNT_PATTERN  APP_MOUNT as a regex (PCRE, POSIX ERE): "." escaped
set -eu

value=${1-}
refuse() {
  printf '%s\n' "bad mount APP_MOUNT=\"$value\" (MOUNT for make and compose): $1. A mount is \"\" or \"/\" (the root), or path segments like /team-1/app.v2, each a \"/\" and then letters, digits, \".\", \"-\", \"_\" or \"~\", none of them \".\" or \"..\"." >&2
  exit 64
}

case $value in
  "" | /) mount="" ;;
  *)
    mount=${value%/}
    case $mount in
      /*) ;;
      *) refuse "it must start with /" ;;
    esac
    case $mount in
      *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~/-]*) refuse "a character outside the rule" ;;
    esac
    case $mount/ in
      *//*) refuse "an empty segment" ;;
      */./* | */../*) refuse "a . or .. segment" ;;
    esac
    ;;
esac

pattern=$(printf '%s' "$mount" | sed 's/[.]/\\./g')
printf "APP_MOUNT='%s'\nAPP_MOUNT_PATH='%s'\nAPP_MOUNT_PATTERN='%s'\n" "$mount" "${mount:-/}" "$pattern"
