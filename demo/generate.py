"""A generated call for projects shaped after the 4th edition (2023).

Every region and sector appears; associations, networks and cooperatives (cooperatives mostly
in the partner regions l'Oriental and Fès-Meknès, a few elsewhere where no one funds them);
a share in the six earthquake-hit provinces; and some bad applications (over the ceiling,
documents missing, too small an own contribution). Deterministic for a given seed.
"""

import random
from decimal import Decimal

from domain.edition import EditionSettings
from domain.models import ApplicationSubmission
from domain.reference import EARTHQUAKE_PROVINCES_2023, LegalForm, Sector, province_region, regions
from simulation.factories import drawn_submission, registration

TITLES = {
    Sector.TOURISM: "Gîte rural et circuits de randonnée",
    Sector.HANDICRAFTS: "Atelier de tissage de tapis",
    Sector.SOLIDARITY_AGRICULTURE: "Unité de valorisation du safran",
    Sector.LOCAL_PRODUCTS: "Coopérative d'huile d'argan",
    Sector.EDUCATION: "Centre de soutien scolaire",
    Sector.CULTURAL_ENTREPRENEURSHIP: "Festival des arts populaires",
    Sector.ENVIRONMENT: "Recyclage des déchets plastiques",
    Sector.RENEWABLE_ENERGY: "Pompage solaire pour l'irrigation",
    Sector.NATURAL_RESOURCES: "Gestion durable des plantes aromatiques",
    Sector.HEALTH: "Caravane de santé de proximité",
    Sector.DIGITAL_COMMERCE: "Vente en ligne des produits du terroir",
    Sector.CAPACITY_BUILDING: "Formation des jeunes à l'entrepreneuriat",
}


def generate(settings: EditionSettings, n: int = 300, seed: int = 2023) -> list[ApplicationSubmission]:
    rng = random.Random(seed)
    partner_regions = [p.region_code for p in settings.partners]
    all_regions = sorted(regions())
    out = []
    for i in range(n):
        # Every region and sector is represented: the first rounds walk through them.
        if i < len(EARTHQUAKE_PROVINCES_2023) * 4:
            province = EARTHQUAKE_PROVINCES_2023[i % len(EARTHQUAKE_PROVINCES_2023)]
        else:
            region = all_regions[i % len(all_regions)] if i < 100 else rng.choice(all_regions)
            province = rng.choice(regions()[region]["provinces"])
        region = province_region()[province]
        if region in partner_regions and rng.random() < 0.5:
            form = LegalForm.COOPERATIVE
        elif rng.random() < 0.04:
            form = LegalForm.COOPERATIVE  # outside a partner region: nobody funds it
        else:
            form = LegalForm.NETWORK if rng.random() < 0.1 else LegalForm.ASSOCIATION
        requested = Decimal(rng.randrange(20_000, 49_001, 500))
        total = (requested / Decimal("0.8")).quantize(Decimal("1"))
        own = total - requested
        documents = list(settings.required_documents)
        fault = rng.random()
        if fault < 0.05:
            requested, total, own = Decimal(60_000), Decimal(80_000), Decimal(20_000)  # over the ceiling
        elif fault < 0.12:
            documents = documents[:-1]  # one document missing: a deadline to complete
        elif fault < 0.15:
            own = (total * Decimal("0.05")).quantize(Decimal("1"))  # own contribution too small
            requested = total - own
        cents = tuple(Decimal(a).quantize(Decimal("0.01")) for a in (requested, total, own))
        contact = {  # the messages land in var/mail/
            "email": f"contact@{registration(form, settings.edition, i).lower()}.ma",
            "language": "ar" if i % 3 == 0 else "fr",
        }
        out.append(drawn_submission(rng, settings, i, form, province, cents, documents, titles=TITLES, **contact))
    return out
