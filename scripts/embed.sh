#!/bin/sh
# embed.sh NAME FILE [HEADER]: FILE's bytes as a C array NAME and its
# length NAME_len, on stdout (the Makefile compiles the dashboard page
# into the ambassador with it). Only od and sed: nothing to install.
set -eu
name=$1
file=$2
header=${3:-}
printf '/* Generated from %s by scripts/embed.sh: do not edit. */\n' "$file"
if [ -n "$header" ]; then
    printf '#include "%s"\n' "$header"
else
    printf '#include <stddef.h>\n'
fi
printf 'const unsigned char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
printf '};\nconst size_t %s_len = sizeof(%s);\n' "$name" "$name"
