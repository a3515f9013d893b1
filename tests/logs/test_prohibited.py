"""logs.prohibited: the protocol's prohibited and cautionary medications matched by name
(docs/PROTOCOL.md "Prohibited and cautionary concomitant medications [default]"). Names
chosen by hand, each side of the matching rule."""

import pytest

from logs import prohibited

PROHIBITED_NAMES = {
    # VEGFR TKIs: generic, with salt and dose, upper case, brand, Chinese
    "Sorafenib": "vegfr_tki",
    "sorafenib tosylate 200 mg": "vegfr_tki",
    "SUNITINIB": "vegfr_tki",
    "Lenvima 4mg": "vegfr_tki",
    "阿帕替尼片": "vegfr_tki",
    "甲磺酸阿帕替尼": "vegfr_tki",
    "fruquintinib": "vegfr_tki",
    "Cabozantinib (Cabometyx)": "vegfr_tki",
    # strong CYP3A4 inducers
    "Rifampicin": "cyp3a4_inducer",
    "rifampin 600mg": "cyp3a4_inducer",
    "Carbamazepine CR": "cyp3a4_inducer",
    "fosphenytoin": "cyp3a4_inducer",
    "St John’s Wort extract": "cyp3a4_inducer",  # curly apostrophe
    "卡马西平": "cyp3a4_inducer",
    # strong CYP3A4 inhibitors
    "Ketoconazole cream": "cyp3a4_inhibitor",
    "itraconazole": "cyp3a4_inhibitor",
    "Clarithromycin": "cyp3a4_inhibitor",
    "lopinavir/ritonavir": "cyp3a4_inhibitor",
    "伏立康唑": "cyp3a4_inhibitor",
}
CAUTIONARY_NAMES = {
    "Warfarin": "anticoagulant",
    "rivaroxaban 20 mg": "anticoagulant",
    "Eliquis": "anticoagulant",
    "Enoxaparin sodium": "anticoagulant",
    "低分子肝素钙": "anticoagulant",  # low-molecular-weight heparin, in Chinese
    "利伐沙班": "anticoagulant",
}
ALLOWED_NAMES = [
    "Paracetamol",
    "Amlodipine 5 mg",
    "Rifaximin",  # not rifampicin: a whole word is needed
    "Carbimazole",  # not carbamazepine
    "Fluconazole",  # a moderate inhibitor, not in the table
    "Azithromycin",  # not clarithromycin
    "Heparinoid cream",  # not heparin
    "Anlotinib",  # the study drug
    "安罗替尼",
    "Aspirin",
    "",
    "   ",
]


@pytest.mark.parametrize(("name", "code"), PROHIBITED_NAMES.items())
def test_a_prohibited_medication_is_matched(name, code):
    found = prohibited.match(name)
    assert found is not None and found.drug_class.code == code
    assert found.prohibited


@pytest.mark.parametrize(("name", "code"), CAUTIONARY_NAMES.items())
def test_an_anticoagulant_is_cautionary_not_prohibited(name, code):
    found = prohibited.match(name)
    assert found is not None and found.drug_class.code == code
    assert not found.prohibited


@pytest.mark.parametrize("name", ALLOWED_NAMES)
def test_other_medications_are_not_matched(name):
    assert prohibited.match(name) is None


def test_a_whole_word_is_needed_on_both_sides():
    assert prohibited.match("xsorafenib") is None
    assert prohibited.match("sorafenibs") is None
    assert prohibited.match("(sorafenib)") is not None
    assert prohibited.match("sorafenib-tosylate") is not None


def test_the_full_width_spelling_matches():
    assert prohibited.match("ＷＡＲＦＡＲＩＮ").drug_class.code == "anticoagulant"


def test_the_matched_table_entry_is_named():
    assert prohibited.match("Tegretol retard").name == "tegretol"


def test_every_class_has_a_level_and_names_written_lower_case():
    for drug_class in prohibited.CLASSES:
        assert drug_class.names
        assert all(prohibited.normalise(n) == n for n in drug_class.names), drug_class.code
        assert prohibited.by_code(drug_class.code) is drug_class
    assert prohibited.by_code("nope") is None
