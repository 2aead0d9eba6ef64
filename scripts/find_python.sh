#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter; Rasa 3.6 runs on 3.8-3.10 only and
# the lock file was resolved on 3.10, so nothing else will do.
set -u
candidates=("${PYTHON:-}" python3.10)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in "$root"/versions/3.10*; do
    [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
  done
fi
candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10 python3 python)

for candidate in "${candidates[@]}"; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done

cat >&2 <<'MSG'
error: no Python 3.10 interpreter found (Rasa 3.6 supports Python 3.8-3.10 only).
Install one, then run the command again:
  pyenv install 3.10.13          # with pyenv
  apt-get install python3.10-venv # on Debian/Ubuntu releases that ship 3.10
or point to an interpreter explicitly:  PYTHON=/path/to/python3.10 make run
MSG
exit 1
