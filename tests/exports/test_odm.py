"""The CDISC ODM 1.3.2 export (issue 15 §3) on real records made through the services.

One treated subject of site GZ01 (clock frozen 2026-03-02 10:00 in Guangzhou, C1D1 2026-01-05,
tests/dosing/conftest.py) with: C1D1 vital signs recorded (systolic 128) then corrected to 131
("transcription error") and e-signed by the investigator; a RECIST baseline of 40 + 30 + 30 =
100 mm and a timepoint at TA1 (2026-02-16) of 30 + 20 + 20 = 70 mm: -30 % from baseline, a
partial response; a hypertension AE of grade 2 from 2026-02-01, grade 3 from 2026-02-10, its
causality e-signed "possible"; an ANC of 0.8 x10^9/L at C3D1 (CTCAE grade 3, LLN 1.8); a
monitor's query and SDV of the vital signs. One subject of site SH02 that must never show.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from django.test import RequestFactory
from lxml import etree

from accounts.signatures import content_hash
from assessments import services as recist
from crfs import services as crfs
from exports.metadata import catalogue, value_text
from exports.odm import read_odm, subject_odm_bytes, write_odm
from exports.odm_meta import EXT_NS, ODM_NS, items
from monitoring import services as monitoring
from queries import services as queries
from safety import services as safety
from safety.services.causality import sign_causality
from subjects.models import Visit
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.factories import PASSWORD, make_subject
from tests.monitoring.conftest import correct_vitals, vitals
from tests.safety.conftest import _ctcae, term  # noqa: F401

D = dt.date
NS = {"o": ODM_NS, "a": EXT_NS}
HOSTILE = '<script>alert(1)</script> <img src=file:///etc/passwd>\n=HYPERLINK("http://x") ]]> &amp;'
SCHEMAS = Path(__file__).resolve().parents[2] / "exports" / "schemas"


# --- schemas -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema_dir(tmp_path_factory) -> Path:
    """The ODM 1.3.2 schema files shipped with odmlib, with our extension beside them."""
    import odmlib

    shipped = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2"
    target = tmp_path_factory.mktemp("odm132")
    for f in shipped.glob("*.xsd"):
        shutil.copy(f, target / f.name)
    for f in SCHEMAS.glob("*.xsd"):
        shutil.copy(f, target / f.name)
    return target


@pytest.fixture(scope="session")
def odm_xsd(schema_dir):
    """The plain CDISC schema; imports resolved from its own folder only (no network)."""
    return xmlschema.XMLSchema(str(schema_dir / "ODM1-3-2.xsd"), allow="local")


@pytest.fixture(scope="session")
def extended_xsd(schema_dir):
    return xmlschema.XMLSchema(str(schema_dir / "alter-odm-extension.xsd"), allow="local")


def without_extension(data: bytes) -> etree._ElementTree:
    tree = etree.parse(io.BytesIO(data))
    for el in tree.xpath("//a:*", namespaces=NS):
        if el.getparent() is not None and etree.QName(el.getparent()).namespace == ODM_NS:
            el.getparent().remove(el)
    return tree


# --- the study -----------------------------------------------------------------------------

TARGETS = [
    ("T1", "liver", 40, False),
    ("T2", "lung", 30, False),
    ("T3", "lymph node", 30, True),
]


def _lesion(lesion_id, organ, mm, node):
    return {
        "lesion_id": lesion_id,
        "organ": organ,
        "location": f"{organ} lesion",
        "method": "CT",
        "slice_thickness_mm": 5,
        "is_node": node,
        "baseline_date": D(2026, 1, 2),
        "diameter_mm": mm,
    }


def _sign(by, level, subject, record=None, visit=None):
    shown = content_hash(
        monitoring.signed_content(level, subject=subject, visit=visit, record=record)
    )
    return monitoring.sign(
        by=by,
        level=level,
        password=PASSWORD,
        request=RequestFactory().post("/"),
        shown_hash=shown,
        subject=subject,
        visit=visit,
        record=record,
    )


@pytest.fixture
def study(treated, investigator_a, coordinator_a, monitor_a, site_b, coordinator_b):  # noqa: F811
    subject = treated
    visit = lambda code: Visit.objects.select_related("subject__site").get(  # noqa: E731
        subject=subject, code=code
    )
    vs = crfs.save_crf(
        visit=visit("C1D1"), form_key="vital_signs", by=coordinator_a, values=vitals()
    )
    vs = correct_vitals(vs, coordinator_a, systolic=131)
    recist.record_baseline(
        subject=subject,
        by=coordinator_a,
        targets=[_lesion(*t) for t in TARGETS],
        non_targets=[],
    )
    measured = {"T1": ("measured", 30), "T2": ("measured", 20), "T3": ("measured", 20)}
    recist.record_timepoint(
        subject=subject,
        by=coordinator_a,
        scan_date=D(2026, 2, 16),
        measurements=measured,
        non_target_status="",
        new_lesion="no",
    )
    ae = safety.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=2,
        onset_date=D(2026, 2, 1),
        outcome="not_recovered",
        ongoing=True,
        treatment_given=HOSTILE,
    )
    ae = safety.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Worse at C3D1",
        changes={"grade": 3},
        grade_from=D(2026, 2, 10),
    )
    ae = sign_causality(
        ae=ae,
        by=investigator_a,
        relationship="possible",
        password=PASSWORD,
        request=RequestFactory().post("/"),
    )
    panel = safety.record_lab_panel(
        subject=subject,
        by=coordinator_a,
        sample_date=D(2026, 2, 16),
        values={"anc": ("0.8", "10^9/L")},
        visit=visit("C3D1"),
    )
    vs.refresh_from_db()
    _sign(investigator_a, "crf", subject, record=vs)
    monitoring.verify(by=monitor_a, record=vs, fields=[""])
    query = queries.raise_query(
        user=monitor_a,
        subject=subject,
        record_type="crfs.vitalsigns",
        record_id=vs.pk,
        field="systolic",
        text=HOSTILE,
    )
    other = make_subject(site_b, coordinator_b, initials="LXM")
    return {
        "subject": subject,
        "vitals": vs,
        "ae": ae,
        "panel": panel,
        "query": query,
        "other": other,
    }


def export(subject_ids, file_type="Snapshot", **kwargs) -> bytes:
    out = io.BytesIO()
    write_odm(out, subject_ids=subject_ids, file_type=file_type, **kwargs)
    return out.getvalue()


def expected_records(subject_ids) -> dict:
    """What the database holds, read through the metadata's own rows (not the writer's code):
    every non-key value of every CRF record, as written (blank and null left out)."""
    out = {}
    for d in catalogue().crfs:
        names = d.names
        for row in d.rows(subject_ids):
            values = dict(zip(names, row, strict=True))
            key = (values["subject"], d.group_oid, str(values["id"]))
            out[key] = {
                c.oid(d.key): value_text(c, values[c.name])
                for c in items(d)
                if value_text(c, values[c.name]) != ""
            }
    return out


# --- tests ---------------------------------------------------------------------------------


def test_snapshot_and_transactional_validate_against_the_odm_1_3_2_xsd(
    study, odm_xsd, extended_xsd
):
    for file_type in ("Snapshot", "Transactional"):
        data = export([study["subject"].pk], file_type)
        extended_xsd.validate(etree.parse(io.BytesIO(data)))  # our extension included
        odm_xsd.validate(without_extension(data))  # the CDISC schema as shipped
        root = etree.fromstring(data)
        assert root.get("FileType") == file_type and root.get("ODMVersion") == "1.3.2"
        assert root.get("Archival") == ("Yes" if file_type == "Transactional" else None)
        assert root.xpath("count(//a:Query)", namespaces=NS) >= 1  # the extension is there


def test_snapshot_round_trips_every_value_of_the_database(study):
    sid = study["subject"].pk
    back = read_odm(io.BytesIO(export([sid])))
    assert back == expected_records([sid])
    key = study["subject"].screening_number
    vs = back[(key, "IG.VITAL_SIGNS", str(study["vitals"].pk))]
    assert (vs["I.VITAL_SIGNS.SYSTOLIC"], vs["I.VITAL_SIGNS.TEMPERATURE"]) == ("131", "36.8")
    [tp] = [v for k, v in back.items() if k[1] == "IG.TIMEPOINTS"]
    assert Decimal(tp["I.TIMEPOINTS.SUM_MM"]) == Decimal("70")  # 30 + 20 + 20
    assert Decimal(tp["I.TIMEPOINTS.CHANGE_FROM_BASELINE_PCT"]) == Decimal("-30")  # 70/100 - 1
    assert (tp["I.TIMEPOINTS.TARGET_RESPONSE"], tp["I.TIMEPOINTS.OVERALL_RESPONSE"]) == (
        "PR",
        "PR",
    )
    ae = back[(key, "IG.ADVERSE_EVENTS", str(study["ae"].pk))]
    assert (ae["I.ADVERSE_EVENTS.GRADE"], ae["I.ADVERSE_EVENTS.RELATIONSHIP"]) == ("3", "possible")
    assert ae["I.ADVERSE_EVENTS.TREATMENT_GIVEN"] == HOSTILE
    grades = sorted(
        (v["I.AE_GRADE_HISTORY.FROM_DATE"], v["I.AE_GRADE_HISTORY.GRADE"])
        for k, v in back.items()
        if k[1] == "IG.AE_GRADE_HISTORY"
    )
    assert grades == [("2026-02-01", "2"), ("2026-02-10", "3")]
    [lab] = [v for k, v in back.items() if k[1] == "IG.LAB_VALUES"]
    # the value as stored (three decimals), its CTCAE grade and the range's lower limit
    assert (lab["I.LAB_VALUES.VALUE"], lab["I.LAB_VALUES.GRADE"]) == ("0.800", "3")
    assert Decimal(lab["I.LAB_VALUES.LLN"]) == Decimal("1.8")
    assert lab["I.LAB_VALUES.TERM"] == "Neutrophil count decreased"


def test_transactional_file_replayed_gives_the_snapshot(study):
    sid = study["subject"].pk
    transactional = read_odm(io.BytesIO(export([sid], "Transactional")))
    assert transactional == read_odm(io.BytesIO(export([sid])))


def _stamps(root) -> list[dt.datetime]:
    texts = root.xpath("//o:DateTimeStamp/text()", namespaces=NS)
    return [dt.datetime.fromisoformat(t) for t in texts]


def test_a_correction_is_an_insert_then_an_update_with_its_reason_user_and_time(study):
    root = etree.fromstring(export([study["subject"].pk], "Transactional"))
    systolic = root.xpath("//o:ItemData[@ItemOID='I.VITAL_SIGNS.SYSTOLIC']", namespaces=NS)
    assert [(i.get("TransactionType"), i.get("Value")) for i in systolic] == [
        ("Insert", "128"),
        ("Update", "131"),
    ]
    audits = [i.find("o:AuditRecord", NS) for i in systolic]
    assert [a.find("o:UserRef", NS).get("UserOID") for a in audits] == ["USR.coord_a"] * 2
    assert audits[0].findtext("o:ReasonForChange", namespaces=NS) == "Vital signs recorded (C1D1)"
    assert audits[1].findtext("o:ReasonForChange", namespaces=NS) == "transcription error"
    assert audits[1].find("o:LocationRef", NS).get("LocationOID") == "LOC.GZ01"
    times = [
        dt.datetime.fromisoformat(a.findtext("o:DateTimeStamp", namespaces=NS)) for a in audits
    ]
    sources = [int(a.findtext("o:SourceID", namespaces=NS)) for a in audits]
    assert times[0] <= times[1] and sources[0] < sources[1]
    # every audit record of the subject in time order; the file made after all of them
    all_audits = root.xpath("//o:AuditRecord", namespaces=NS)
    seqs = [int(a.findtext("o:SourceID", namespaces=NS)) for a in all_audits]
    assert seqs == sorted(seqs)
    created = dt.datetime.fromisoformat(root.get("CreationDateTime"))
    assert all(stamp <= created for stamp in _stamps(root))


def test_each_signature_comes_after_the_changes_it_covers(study):
    root = etree.fromstring(export([study["subject"].pk], "Transactional"))
    order = {el: n for n, el in enumerate(root.iter())}
    vs = str(study["vitals"].pk)
    [signed] = root.xpath(
        f"//o:FormData[@FormOID='F.VITAL_SIGNS'][@FormRepeatKey='{vs}'][o:Signature]",
        namespaces=NS,
    )
    assert signed.find("o:Signature/o:SignatureRef", NS).get("SignatureOID") == "SIG.CRF"
    assert signed.find("o:Signature/o:UserRef", NS).get("UserOID") == "USR.inv_a"
    changes = root.xpath(
        f"//o:ItemGroupData[@ItemGroupOID='IG.VITAL_SIGNS'][@ItemGroupRepeatKey='{vs}']/o:ItemData",
        namespaces=NS,
    )
    assert changes and max(order[c] for c in changes) < order[signed]
    ae = str(study["ae"].pk)
    [causality] = root.xpath(
        f"//o:ItemGroupData[@ItemGroupOID='IG.ADVERSE_EVENTS'][@ItemGroupRepeatKey='{ae}']"
        "/o:Signature",
        namespaces=NS,
    )
    assert causality.find("o:SignatureRef", NS).get("SignatureOID") == "SIG.CAUSALITY"
    relationship = root.xpath(
        "//o:ItemData[@ItemOID='I.ADVERSE_EVENTS.RELATIONSHIP']", namespaces=NS
    )
    assert [r.get("Value") for r in relationship] == ["possible"]
    assert order[relationship[0]] < order[causality]
    assert root.xpath("//o:SignatureRef/@SignatureOID", namespaces=NS).count("SIG.ELIGIBILITY") == 1


def test_hostile_free_text_round_trips_as_text_and_injects_nothing(study):
    data = export([study["subject"].pk], "Snapshot")
    root = etree.fromstring(data)  # well-formed
    assert b"<script" not in data and b"<img" not in data and b"]]>" not in data
    namespaces = {etree.QName(el).namespace for el in root.iter()}
    assert namespaces == {ODM_NS, EXT_NS}  # no element of any other vocabulary
    locals_ = {etree.QName(el).localname.lower() for el in root.iter()}
    assert not locals_ & {"script", "img"}
    [text] = root.xpath("//a:Query[@Origin='manual']/a:Text/text()", namespaces=NS)
    assert text == HOSTILE
    [query] = root.xpath("//a:Query[@Origin='manual']", namespaces=NS)
    assert query.get("ItemOID") == "I.VITAL_SIGNS.SYSTOLIC"
    assert query.get("UserOID") == "USR.monitor_a"


def test_subject_ids_limit_everything_to_those_subjects(study):
    other = study["other"]
    for file_type in ("Snapshot", "Transactional"):
        data = export([study["subject"].pk], file_type)
        root = etree.fromstring(data)
        keys = root.xpath("//o:SubjectData/@SubjectKey", namespaces=NS)
        assert set(keys) == {study["subject"].screening_number}
        assert other.screening_number.encode() not in data
        users = root.xpath("//o:User/@OID", namespaces=NS)
        assert "USR.coord_b" not in users and "USR.coord_a" in users
        assert root.xpath("//o:Location/@OID", namespaces=NS) == ["LOC.GZ01"]
        assert b"SH02" not in data and b"coord_b" not in data
        # every user referenced is defined
        refs = set(root.xpath("//o:UserRef/@UserOID | //a:*/@UserOID", namespaces=NS))
        assert refs <= set(users)
    both = etree.fromstring(export(None))
    assert set(both.xpath("//o:SubjectData/@SubjectKey", namespaces=NS)) == {
        study["subject"].screening_number,
        other.screening_number,
    }
    assert both.xpath("//o:Location/@OID", namespaces=NS) == ["LOC.GZ01", "LOC.SH02"]


def test_every_crf_has_a_formdef_and_every_coded_item_its_model_choices(study):
    root = etree.fromstring(export([study["subject"].pk]))
    mdv = root.find("o:Study/o:MetaDataVersion", NS)
    forms = {f.get("OID"): f for f in mdv.findall("o:FormDef", NS)}
    code_lists = {c.get("OID"): c for c in mdv.findall("o:CodeList", NS)}
    item_defs = {i.get("OID"): i for i in mdv.findall("o:ItemDef", NS)}
    for d in catalogue().crfs:
        form = forms[d.form_oid]
        assert form.find("o:ItemGroupRef", NS).get("ItemGroupOID") == d.group_oid
        assert form.find("o:ArchiveLayout", NS).get("PdfFileName") == f"{d.key}.pdf"
        for c in items(d):
            if c.codelist is None:
                continue
            field = d.model._meta.get_field(c.path)
            ref = item_defs[c.oid(d.key)].find("o:CodeListRef", NS).get("CodeListOID")
            listed = [
                (i.get("CodedValue"), i.findtext("o:Decode/o:TranslatedText", namespaces=NS))
                for i in code_lists[ref].findall("o:CodeListItem", NS)
            ]
            assert listed == [(str(code), str(label)) for code, label in field.flatchoices]
    # the visit-kind events reference their schedule's forms; AEs are subject-level
    cycle = mdv.find("o:StudyEventDef[@OID='SE.CYCLE']", NS)
    assert cycle.get("Repeating") == "Yes"
    cycle_forms = [r.get("FormOID") for r in cycle.findall("o:FormRef", NS)]
    assert {"F.VITAL_SIGNS", "F.LAB_PANELS", "F.LAB_VALUES"} <= set(cycle_forms)
    subject_level = mdv.find("o:StudyEventDef[@OID='SE.SUBJECT']", NS)
    assert "F.ADVERSE_EVENTS" in [r.get("FormOID") for r in subject_level.findall("o:FormRef", NS)]
    from safety.models import AdverseEvent

    meanings = {}
    for d in root.findall("o:AdminData/o:SignatureDef", NS):
        meaning, legal = (d.findtext(f"o:{t}", namespaces=NS) for t in ("Meaning", "LegalReason"))
        meanings[d.get("OID")] = (meaning, legal)
    levels = ("ELIGIBILITY", "CAUSALITY", "CRF", "VISIT", "CASEBOOK")
    assert set(meanings) == {f"SIG.{level}" for level in levels}
    assert meanings["SIG.CAUSALITY"][0] == AdverseEvent.CAUSALITY_MEANING
    assert meanings["SIG.CRF"][0] == "I have reviewed this form and attest that it is accurate."
    assert all(legal for _meaning, legal in meanings.values())
    units = root.xpath(
        "//o:ItemDef[@OID='I.VITAL_SIGNS.SYSTOLIC']/o:MeasurementUnitRef", namespaces=NS
    )
    assert units[0].get("MeasurementUnitOID") == "MU.MM_HG"


def test_one_subject_file_and_progress(study):
    data = subject_odm_bytes(study["subject"].pk)
    root = etree.fromstring(data)
    assert root.get("Granularity") == "SingleSubject"
    seen = []
    export(None, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]


def test_a_change_after_a_lock_is_a_database_audit_edit_and_voids_the_signature(
    study, data_manager, coordinator_a
):
    vs = study["vitals"]
    hold = monitoring.place_hold(
        by=data_manager,
        kind="lock",
        level="record",
        reason="database lock",
        subject=study["subject"],
        record=vs,
    )
    monitoring.lift_hold(by=data_manager, hold=hold, reason="late correction", confirm=True)
    correct_vitals(vs, coordinator_a, systolic=135)
    sid = study["subject"].pk
    root = etree.fromstring(export([sid], "Transactional"))
    systolic = root.xpath("//o:ItemData[@ItemOID='I.VITAL_SIGNS.SYSTOLIC']", namespaces=NS)
    assert [i.get("Value") for i in systolic] == ["128", "131", "135"]
    points = [i.find("o:AuditRecord", NS).get("EditPoint") for i in systolic]
    assert points == [None, None, "DBAudit"]
    # the form's signature stays in the history, before the change that voided it ...
    order = {el: n for n, el in enumerate(root.iter())}
    [signed] = root.xpath("//o:FormData[@FormOID='F.VITAL_SIGNS'][o:Signature]", namespaces=NS)
    assert order[systolic[1]] < order[signed] < order[systolic[2]]
    # ... and is gone from the snapshot; the verification is marked changed
    snapshot = etree.fromstring(export([sid]))
    assert not snapshot.xpath("//o:FormData[@FormOID='F.VITAL_SIGNS'][o:Signature]", namespaces=NS)
    [mark] = snapshot.xpath("//a:SdvMark", namespaces=NS)
    assert (mark.get("State"), mark.get("UserOID")) == ("changed", "USR.monitor_a")
    assert mark.get("FormOID") == "F.VITAL_SIGNS" and mark.get("FormRepeatKey") == str(vs.pk)


def test_characters_xml_cannot_carry_become_replacement_characters():
    from exports.odm_subject import xml_text

    assert xml_text("a\x00b\x0bc\td\ne\rf") == "a\ufffdb\ufffdc\td\ne\rf"
    out = io.BytesIO()
    with etree.xmlfile(out) as xf:
        xf.write(etree.Element("x", v=xml_text("bell \x07 <b>")))
    assert etree.fromstring(out.getvalue()).get("v") == "bell \ufffd <b>"


def test_a_casebook_signature_follows_everything_it_covers_in_a_subject_data_of_its_own(
    study, investigator_a, extended_xsd
):
    from monitoring.models import Signature

    # stored as the signing service stores it (the service also needs every form complete)
    Signature.objects.create(
        level="casebook",
        subject=study["subject"],
        signed_by=investigator_a,
        printed_name="Dr A",
        meaning=monitoring.attestation("casebook"),
        content_hash="0" * 64,
    )
    data = export([study["subject"].pk], "Transactional")
    extended_xsd.validate(etree.parse(io.BytesIO(data)))
    root = etree.fromstring(data)
    parts = root.xpath("//o:SubjectData", namespaces=NS)
    assert [p.get("SubjectKey") for p in parts] == [study["subject"].screening_number] * 2
    signature = parts[1].find("o:Signature", NS)
    assert signature.find("o:SignatureRef", NS).get("SignatureOID") == "SIG.CASEBOOK"
    assert not parts[1].xpath(".//o:ItemData", namespaces=NS)  # nothing changed after it
    assert parts[1].find("a:Queries", NS) is not None  # the extension closes the last part
    snapshot = etree.fromstring(export([study["subject"].pk]))
    [subject] = snapshot.xpath("//o:SubjectData", namespaces=NS)
    assert subject[0].find("o:SignatureRef", NS).get("SignatureOID") == "SIG.CASEBOOK"
