"""The demo's console users, one per role, created once with random passwords kept in
var/demo-users.json (mode 0600) and printed at the end of `make demo`; the reviewers' profiles."""

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from console.accounts import Accounts
from domain.db.repository import Repository
from domain.reference import Sector
from domain.reviewers import ReviewerProfile

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


# The edition's reviewers and their sectors: assignment puts the sector's experts first. The
# simulation scores as whoever is assigned; demo-reviewer sees theirs in the console (blind).
REVIEWERS = {
    "demo-reviewer": (Sector.HANDICRAFTS, Sector.LOCAL_PRODUCTS, Sector.TOURISM),
    "reviewer-1": (Sector.SOLIDARITY_AGRICULTURE, Sector.LOCAL_PRODUCTS),
    "reviewer-2": (Sector.EDUCATION, Sector.CAPACITY_BUILDING, Sector.HEALTH),
    "reviewer-3": (Sector.ENVIRONMENT, Sector.RENEWABLE_ENERGY, Sector.NATURAL_RESOURCES),
    "reviewer-4": (Sector.DIGITAL_COMMERCE, Sector.CULTURAL_ENTREPRENEURSHIP, Sector.TOURISM),
    "reviewer-5": (Sector.HANDICRAFTS, Sector.CULTURAL_ENTREPRENEURSHIP),
    "reviewer-6": (),
}


def ensure_reviewers(repo: Repository) -> None:
    now = datetime.now(UTC)
    for reviewer_id, sectors in REVIEWERS.items():
        email = f"{reviewer_id}@evaluation.programme.ma"
        repo.set_reviewer(ReviewerProfile(reviewer_id=reviewer_id, sectors=sectors, email=email), now)


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
