"""The demo's console users, one per role, created once with random passwords kept in
var/demo-users.json (mode 0600) and printed at the end of `make demo`."""

import json
import os
import secrets
from pathlib import Path

from sqlalchemy import Engine

from console.accounts import Accounts

FILE = Path("var") / "demo-users.json"
USERS = {
    "demo-officer": ("Amina El Idrissi (chargée de programme)", ["officer"]),
    "demo-committee": ("Youssef Benali (président du comité)", ["committee"]),
    "demo-finance": ("Karim Alaoui (finances)", ["finance"]),
    "demo-finance-2": ("Salma Tazi (finances, seconde approbation)", ["finance"]),
    "demo-reviewer": ("Nadia Chraibi (évaluatrice)", ["reviewer"]),
    "demo-oriental": ("Agent de la Région de l'Oriental", ["region-council:02"]),
    "demo-auditor": ("Hicham Berrada (audit)", ["auditor"]),
    "demo-admin": ("Administrateur", ["admin"]),
}


def ensure(engine: Engine) -> dict[str, str]:
    """{login: password} of the demo users, created on the first run."""
    known: dict[str, str] = json.loads(FILE.read_text()) if FILE.exists() else {}
    accounts = Accounts(engine)
    for login, (name, roles) in USERS.items():
        if login in known and accounts.get(login) is not None:
            continue
        if accounts.get(login) is not None:
            continue  # created by an earlier run whose file was removed: keep it as it is
        known[login] = secrets.token_urlsafe(12)
        accounts.create(login, name, known[login], roles, by="demo")
    FILE.parent.mkdir(exist_ok=True)
    FILE.write_text(json.dumps(known, indent=2))
    os.chmod(FILE, 0o600)
    return known
