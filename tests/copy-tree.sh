#!/bin/bash
# copy-tree.sh SRC DEST - copy outpost's source tree SRC into DEST for a
# second build (the sanitizer build of tests/run.sh, the clang build of
# `make fuzz-smoke`): SRC is configured in place, so it cannot also host a
# VPATH build.
#
# In a git checkout: the files git knows or would add (tracked and
# untracked, not ignored), plus what autogen.sh generated (configure,
# Makefile.in, aclocal.m4, config.h.in, build-aux/, m4/), so DEST needs no
# autoreconf.  Otherwise (a release tarball, configured): `make distdir`.
# Modification times are kept, so DEST rebuilds only what changed since
# the last copy; files deleted from SRC stay in DEST (harmless).
# Exit status: 0, or 1 with a message.
set -eu
src=$1
dest=$2
mkdir -p "$dest"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	cd "$src"
	{
		git ls-files -z --cached --others --exclude-standard
		for f in configure Makefile.in aclocal.m4 config.h.in; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done
		find build-aux m4 -type f -print0 2>/dev/null
	} | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | cpio -0pdmu --quiet "$dest"
elif [ -f "$src/Makefile" ]; then
	make -C "$src" distdir distdir="$dest" >/dev/null
else
	echo "copy-tree.sh: $src is neither a git checkout nor configured" >&2
	exit 1
fi
