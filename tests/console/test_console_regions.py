"""The Regions in the console, named in the reader's language (issue 13): the board's place
filters (a list of the 12 Regions by name whose value stays the Region's code, the provinces of the
chosen Region or of every Region under its name, a Region agent offered their own Region only; in
Arabic the provinces by HCP's Arabic names) and
the dashboard's map of the 12 Regions shaded by the amounts awarded (its paths built by `make map`
from the npm package morocco-map). The console app is called in process over HTTP on a SQLite
domain database; the board and the dashboard read only the database."""

import html
import re

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bench.console import seed
from charts import regions_map
from console import editions
from console.app import console_state, create_app
from domain.db.edition_repository import EditionRepository
from domain.db.session import make_engine, migrate
from domain.db.tables import Application
from domain.reference import province_name, regions
from infra.settings import Settings
from tests.console.sessions import PASSWORD, csrf_of, signed_in
from tests.console.test_console import _application

MAPPED = 94  # the dashboard's edition
USERS = {"officer-nadia": ["officer"], "agent-souss": ["region-council:09"], "auditor-arabic": ["auditor"]}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    here = tmp_path_factory.mktemp("regions")
    settings = Settings(database_url=f"sqlite:///{here / 'moazara.db'}", secrets_file=str(here / "secrets.json"))
    engine = make_engine(settings.database_url)
    migrate(engine)
    s = console_state(settings, engine)
    for login, roles in USERS.items():
        s.accounts.create(login, login.split("-")[1].title(), PASSWORD, roles, by="test-admin")
    rows = [
        _application(93, "TETOUAN", "review", 1, region_code="01", province="Tétouan"),
        _application(93, "LARACHE", "review", 1, region_code="01", province="Larache"),
        _application(93, "OUJDA", "review", 1, region_code="02", province="Oujda-Angad"),
        _application(93, "AGADIR", "review", 1, region_code="09", province="Agadir Ida-Outanane"),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Application), rows)
    seed(engine, 300, edition=MAPPED)  # awards in every Region
    yield create_app(s)
    engine.dispose()


def _options(page: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of each option of the select `name`, in order."""
    select = page.split(f'<select name="{name}">')[1].split("</select>")[0]
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    return [(html.unescape(v), html.unescape(text.strip())) for v, text in found]


def _shown(page: str) -> set[str]:
    return set(re.findall(r'href="/applications/moazara-93-([A-Z]+)"', page))


async def test_the_region_filter_lists_the_twelve_regions_by_name_and_filters_by_code(app):
    c = await signed_in(app, "officer-nadia")
    page = (await c.get("/applications?edition=93")).text
    options = _options(page, "region")
    assert options[0] == ("", "Toutes")
    assert options[1:] == [(code, r["name_fr"]) for code, r in sorted(regions().items())]
    assert len(options[1:]) == 12
    # Without a Region, every province under its Region's name.
    assert '<optgroup label="Tanger-Tétouan-Al Hoceïma">' in page and page.count("<optgroup") == 12
    page = (await c.get("/applications?edition=93&region=01")).text
    assert _shown(page) == {"TETOUAN", "LARACHE"}
    assert '<option value="01" selected>Tanger-Tétouan-Al Hoceïma</option>' in page
    # A Region chosen: its provinces only, the value the province's reference name.
    provinces = [v for v, _ in _options(page, "province")]
    assert provinces == ["", *regions()["01"]["provinces"]] and "<optgroup" not in page
    page = (await c.get("/applications?edition=93&region=01&province=Larache")).text
    assert _shown(page) == {"LARACHE"} and '<option value="Larache" selected>Larache</option>' in page
    assert "/applications.csv?edition=93&amp;region=01&amp;province=Larache" in page  # the export keeps them
    assert (await c.get("/applications?region=Tanger")).status_code == 422  # the value is the code


async def test_the_regions_are_named_in_arabic_for_an_arabic_reader(app):
    c = await signed_in(app, "auditor-arabic")
    page = (await c.get("/applications")).text
    await c.post("/language", data={"csrf": csrf_of(page), "language": "ar"})
    page = (await c.get("/applications?edition=93&region=02")).text
    assert '<option value="02" selected>الشرق</option>' in page
    assert [text for _, text in _options(page, "region")][1:] == [r["name_ar"] for _, r in sorted(regions().items())]
    oujda = province_name("Oujda-Angad", "ar")  # HCP's name (tests/domain/test_reference.py)
    assert _shown(page) == {"OUJDA"} and f"<bdi>الشرق</bdi> · <bdi>{oujda}</bdi>" in page  # the row names both
    # The provinces named in Arabic too, the filter's value still the reference's name.
    assert ("Oujda-Angad", oujda) in _options(page, "province") and oujda != "Oujda-Angad"
    page = (await c.get("/applications/moazara-93-OUJDA")).text  # and the application's page
    assert f"<bdi>الشرق</bdi> · <bdi>{oujda}</bdi>" in page


async def test_a_regions_agent_is_offered_their_own_region_only(app):
    c = await signed_in(app, "agent-souss")
    page = (await c.get("/applications?edition=93&region=01")).text
    assert _options(page, "region") == [("09", "Souss-Massa")]  # no "All": the agent sees one Region
    assert [v for v, _ in _options(page, "province")] == ["", *regions()["09"]["provinces"]]
    assert _shown(page) == {"AGADIR"}


async def test_the_dashboard_maps_the_twelve_regions_shaded_by_the_amounts_awarded(app):
    assert regions_map.BUILT.exists(), "the map's paths are built by `make map` (make test does it)"
    with Session(app.state.console.repo.engine) as db:
        settings = editions.settings_of(EditionRepository(db.get_bind()), MAPPED)
        figures = editions.figures(db, settings)
        awarded = {k: g.awarded for k, g in figures.by_region.items()}
    c = await signed_in(app, "auditor-arabic")
    page = (await c.get("/applications")).text
    await c.post("/language", data={"csrf": csrf_of(page), "language": "fr"})
    page = (await c.get(f"/editions/{MAPPED}")).text
    svg = page.split('aria-labelledby="chart-map-title"')[1].split("</svg>")[0]
    found = re.findall(r'<g class="region step(\d)" data-region="(\d\d)">', svg)
    steps = {code: int(step) for step, code in found}
    assert len(found) == 12 and sorted(steps) == sorted(regions())  # the 12 Regions, by code
    assert svg.count('<path d="M') == 12 and "style=" not in svg  # drawn with classes, as the CSP wants
    top = max(awarded, key=lambda k: awarded[k])
    assert steps[top] == regions_map.STEPS and all(steps[k] >= 1 for k, v in awarded.items() if v > 0)
    assert all(steps[k] == 0 for k in regions() if awarded.get(k, 0) == 0)
    key = page.split('<ol class="map-key">')[1].split("</ol>")[0]
    names = [html.unescape(n) for n in re.findall(r"<bdi>([^<]+)</bdi>", key)]
    assert names == [r["name_fr"] for _, r in sorted(regions().items())]
    assert f'href="/applications?edition={MAPPED}&amp;region=11"' in key  # each Region's applications
    assert "Limites : morocco-map" in page and "OpenStreetMap" in page  # the licence's attribution
    await c.post("/language", data={"csrf": csrf_of(page), "language": "ar"})
    page = (await c.get(f"/editions/{MAPPED}")).text
    key = page.split('<ol class="map-key">')[1].split("</ol>")[0]
    assert [html.unescape(n) for n in re.findall(r"<bdi>([^<]+)</bdi>", key)] == [
        r["name_ar"] for _, r in sorted(regions().items())
    ]
    assert "المبالغ الممنوحة حسب الجهة على الخريطة" in page
    funded = [p for p, g in figures.by_province.items() if g.funded]
    assert funded and all(f"<bdi>{province_name(p, 'ar')}</bdi>" in page for p in funded)  # provinces too
