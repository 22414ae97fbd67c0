#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter: PATH first, then pyenv's versions (3.12 first: the
# version the stack was verified on, then newer ones).
# A pyenv shim for a version that is not activated fails its version check and is skipped.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for name in python3.12 python3.13 python3 python; do
  if path=$(command -v "$name" 2>/dev/null) && ok "$path"; then echo "$path"; exit 0; fi
done
root="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -d "$root/versions" ]; then
  for dir in $(cd "$root/versions" && ls -1d 3.12.* 3.1[3-9].* 2>/dev/null); do
    for exe in "$root/versions/$dir/bin/python3" "$root/versions/$dir/bin/python"; do
      if [ -x "$exe" ] && ok "$exe"; then echo "$exe"; exit 0; fi
    done
  done
fi
echo "error: borderabm needs Python >= 3.12 (Mesa 3.5 requires it) and none was found on PATH" \
     "or under ${root}/versions. Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
exit 1
