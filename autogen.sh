#!/bin/sh
# Regenerate the build system. Nothing else: configure does the probing.
exec autoreconf -fi
