"""A generated call for projects shaped after the 4th edition (2023), at its size.

Every region and sector appears; associations, networks and cooperatives (cooperatives mostly
in the partner regions l'Oriental and Fès-Meknès, a few elsewhere where no one funds them);
one request in four from the six earthquake-hit provinces; and some bad applications (over the
ceiling, documents missing, too small an own contribution). Deterministic for a given seed.

Applicants ask for the ceiling, as the programme's projects did: editions 1-4 funded 414
projects with 19.2 MDH, 46,400 MAD each on average, 95% of the 49,000 MAD ceiling. The 4th
edition's envelopes hold so many ceilings (domain/edition.py, edition_4_settings), so its
committee funds 121 projects, 44 of them from the envelope ring-fenced for the earthquake zone,
as published; a project asking less would leave room for one more.
"""

import random
from decimal import ROUND_UP, Decimal

from domain.edition import EditionSettings
from domain.models import ApplicationSubmission
from domain.reference import LegalForm, Sector, province_region, regions
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


REQUESTS, SEED = 550, 2023  # `make demo`'s call: the 4th edition's count was not published, the 5th had 670
ZONE_EVERY = 4  # one request in four from the earthquake-hit provinces (44 of the 121 selected were)


def generate(settings: EditionSettings, n: int = REQUESTS, seed: int = SEED) -> list[ApplicationSubmission]:
    rng = random.Random(seed)
    partner_regions = [p.region_code for p in settings.partners]
    all_regions = sorted(regions())
    zone = settings.priority_provinces
    out = []
    for i in range(n):
        if i % ZONE_EVERY == 0:
            province = zone[(i // ZONE_EVERY) % len(zone)]
        else:  # every region is represented: the first rounds walk through them; then the partner
            # regions, whose Councils called on their cooperatives to apply, come up twice as often
            j = i - i // ZONE_EVERY - 1
            region = all_regions[j % len(all_regions)] if j < 100 else rng.choice(all_regions + partner_regions)
            province = rng.choice(regions()[region]["provinces"])
        region = province_region()[province]
        if region in partner_regions and rng.random() < 0.7:
            form = LegalForm.COOPERATIVE
        elif rng.random() < 0.04:
            form = LegalForm.COOPERATIVE  # outside a partner region: nobody funds it
        else:
            form = LegalForm.NETWORK if rng.random() < 0.1 else LegalForm.ASSOCIATION
        requested = settings.ceilings[form]
        # The requested part of the project's cost: 60-85%, the applicant brings the rest.
        total = (requested * 100 / rng.randrange(60, 86)).quantize(Decimal("1"), rounding=ROUND_UP)
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
