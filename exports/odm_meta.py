"""The ODM 1.3.2 Study element (MetaDataVersion, measurement units, code lists) and the layout
of the clinical data (issue 15 §3), both read from the one metadata source
(``exports.metadata.catalogue``): every CRF dataset is a FormDef with one repeating ItemGroupDef,
every non-key column an ItemDef.

Study events: one StudyEventDef per visit kind of the schedule of assessments
(``alter_s006.protocol.SCHEDULE_OF_ASSESSMENTS``) and ``SE.SUBJECT`` for the records that belong
to the subject rather than to a visit (adverse events, dosing, lesions, con-meds...). A dataset
with a visit is referenced by the kinds whose schedule lists one of its form keys (a child
dataset, such as the lab values of a lab panel, by its parent's); a dataset without a visit, or
whose visit may be empty, by ``SE.SUBJECT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils import translation
from lxml import etree

from alter_s006 import protocol as P
from exports.metadata import Column, Dataset, catalogue

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
# Our vendor extension (queries and SDV): its schema is exports/schemas/alter-odm-extension.xsd
EXT_NS = "https://alter-s006.example.org/ns/odm-extension/v1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM_NS, "alter": EXT_NS}
ODM = "{%s}" % ODM_NS  # noqa: UP031  (an lxml Clark-notation prefix)
X = "{%s}" % EXT_NS  # noqa: UP031

STUDY_OID = f"ST.{P.TRIAL_ID}"
MDV_OID = f"MDV.{P.TRIAL_ID}.1"
SUBJECT_EVENT = "SE.SUBJECT"
# visit kinds a subject has more than one of
REPEATING_KINDS = frozenset({"cycle", "tumour_assessment", "survival_follow_up", "unscheduled"})
DATA_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}
# SignatureDef OID -> legal reason; the meanings are those the signers attest (signature_defs)
LEGAL_REASONS = {
    "SIG.ELIGIBILITY": "Investigator's eligibility sign-off before enrolment "
    "(21 CFR 11.50, 11.70; ICH E6 4.9)",
    "SIG.CAUSALITY": "Investigator's causality assessment of an adverse event "
    "(21 CFR 11.50; ICH E6 4.11)",
    "SIG.CRF": "Investigator's approval of the form's data (21 CFR 11.50, 11.70; ICH E6 4.9)",
    "SIG.VISIT": "Investigator's approval of the visit's data (21 CFR 11.50, 11.70; ICH E6 4.9)",
    "SIG.CASEBOOK": "Investigator's approval of the subject casebook "
    "(21 CFR 11.50, 11.70; ICH E6 4.9)",
}
SIGNATURE_LEVEL = {"crf": "SIG.CRF", "visit": "SIG.VISIT", "casebook": "SIG.CASEBOOK"}


def signature_defs() -> dict[str, tuple[str, str]]:
    """OID -> (meaning, legal reason): the meaning each signer attested, as the signing code
    words it (English, the language of the record)."""
    from eligibility.models import EligibilitySignature
    from monitoring.services import attestation
    from safety.models import AdverseEvent

    with translation.override("en"):
        meanings = {
            "SIG.ELIGIBILITY": EligibilitySignature.MEANING,
            "SIG.CAUSALITY": AdverseEvent.CAUSALITY_MEANING,
            **{oid: str(attestation(level)) for level, oid in SIGNATURE_LEVEL.items()},
        }
    return {oid: (meanings[oid], LEGAL_REASONS[oid]) for oid in LEGAL_REASONS}


def event_oid(kind: str | None) -> str:
    return f"SE.{kind.upper()}" if kind else SUBJECT_EVENT


def user_oid(username: str | None) -> str:
    return f"USR.{username}" if username else "USR.SYSTEM"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def unit_oid(unit: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", unit.replace("%", "PCT").replace("°", "DEG")).strip("_")
    return f"MU.{slug.upper() or 'UNIT'}"


def items(d: Dataset) -> list[Column]:
    """The columns written as ItemData: every column but the keys (site, subject, visit, id)."""
    return [c for c in d.columns if not c.key]


@dataclass(frozen=True)
class Layout:
    forms: tuple[Dataset, ...]
    # (event OID, name, repeating, type, ((dataset, mandatory), ...))
    events: tuple[tuple[str, str, bool, str, tuple[tuple[Dataset, bool], ...]], ...]
    by_table: dict[str, Dataset]
    by_label: dict[str, Dataset]
    units: dict[str, str]  # unit -> OID


def _visit_nullable(d: Dataset) -> bool:
    model, nullable = d.model, False
    for seg in d.visit_path.split("__"):
        f = model._meta.get_field(seg)
        nullable = nullable or f.null
        model = f.related_model
    return nullable


def form_keys(d: Dataset) -> tuple[str, ...]:
    """The schedule's form keys of a dataset; a child dataset without any (lab values) takes
    those of the dataset its visit path goes through (lab panels)."""
    if d.form_keys or not d.visit_path or "__" not in d.visit_path:
        return d.form_keys
    parent = d.model._meta.get_field(d.visit_path.split("__")[0]).related_model
    found = catalogue().for_model(parent)
    return found.form_keys if found is not None else ()


def _event_forms(kind: str, forms) -> tuple[tuple[Dataset, bool], ...]:
    planned = dict(P.SCHEDULE_OF_ASSESSMENTS[kind])
    out = []
    for d in forms:
        keys = [k for k in form_keys(d) if k in planned]
        if d.visit_path and keys:
            out.append((d, any(planned[k] == "required" for k in keys)))
    return tuple(out)


@cache
def layout() -> Layout:
    """The study events, forms and units (built once: the models do not change at run time)."""
    from subjects.models import VisitKind

    forms = tuple(catalogue().crfs)
    subject_forms = tuple((d, False) for d in forms if not d.visit_path or _visit_nullable(d))
    events = [(SUBJECT_EVENT, "Subject-level records", False, "Common", subject_forms)]
    labels = dict(VisitKind.choices)
    for kind in P.SCHEDULE_OF_ASSESSMENTS:
        kind_type = "Unscheduled" if kind == "unscheduled" else "Scheduled"
        events.append(
            (
                event_oid(kind),
                str(labels.get(kind, kind)),
                kind in REPEATING_KINDS,
                kind_type,
                _event_forms(kind, forms),
            )
        )
    units = {c.unit: unit_oid(c.unit) for d in forms for c in items(d) if c.unit}
    return Layout(
        forms=forms,
        events=tuple(events),
        by_table={d.model._meta.db_table: d for d in forms},
        by_label={d.model._meta.label_lower: d for d in forms},
        units=units,
    )


# --- the Study element ---------------------------------------------------------------------


def _texts(parent, tag: str, text) -> etree._Element:
    """``tag`` with a TranslatedText per language of the site where the text differs."""
    el = etree.SubElement(parent, ODM + tag)
    seen = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            value = str(text)
        if value in seen:
            continue
        seen.add(value)
        tt = etree.SubElement(el, ODM + "TranslatedText")
        tt.set(XML_LANG, "zh-Hans" if code == "zh-hans" else code)
        tt.text = value
    return el


def _global_variables(study) -> None:
    gv = etree.SubElement(study, ODM + "GlobalVariables")
    etree.SubElement(gv, ODM + "StudyName").text = P.TRIAL_ID
    etree.SubElement(gv, ODM + "StudyDescription").text = (
        f"{P.TRIAL_ID}: {P.DRUG_NAME} maintenance in advanced soft-tissue sarcoma, "
        "single-arm open-label multicentre phase II"
    )
    etree.SubElement(gv, ODM + "ProtocolName").text = P.TRIAL_ID


def _basic_definitions(study, lay: Layout) -> None:
    basic = etree.SubElement(study, ODM + "BasicDefinitions")
    for unit, oid in sorted(lay.units.items(), key=lambda u: u[1]):
        mu = etree.SubElement(basic, ODM + "MeasurementUnit", OID=oid, Name=unit)
        symbol = etree.SubElement(mu, ODM + "Symbol")
        tt = etree.SubElement(symbol, ODM + "TranslatedText")
        tt.set(XML_LANG, "en")
        tt.text = unit


def _protocol_and_events(mdv, lay: Layout) -> None:
    protocol = etree.SubElement(mdv, ODM + "Protocol")
    for n, (oid, *_rest) in enumerate(lay.events, 1):
        etree.SubElement(
            protocol, ODM + "StudyEventRef", StudyEventOID=oid, OrderNumber=str(n), Mandatory="No"
        )
    for oid, name, repeating, kind_type, forms in lay.events:
        sed = etree.SubElement(
            mdv,
            ODM + "StudyEventDef",
            OID=oid,
            Name=name,
            Repeating="Yes" if repeating else "No",
            Type=kind_type,
        )
        for n, (d, mandatory) in enumerate(forms, 1):
            etree.SubElement(
                sed,
                ODM + "FormRef",
                FormOID=d.form_oid,
                OrderNumber=str(n),
                Mandatory="Yes" if mandatory else "No",
            )


def _forms_and_groups(mdv, lay: Layout) -> None:
    for d in lay.forms:
        fd = etree.SubElement(
            mdv, ODM + "FormDef", OID=d.form_oid, Name=str(d.label), Repeating="Yes"
        )
        etree.SubElement(fd, ODM + "ItemGroupRef", ItemGroupOID=d.group_oid, Mandatory="Yes")
        etree.SubElement(
            fd, ODM + "ArchiveLayout", OID=f"AL.{d.key.upper()}", PdfFileName=f"{d.key}.pdf"
        )
    for d in lay.forms:
        igd = etree.SubElement(
            mdv,
            ODM + "ItemGroupDef",
            OID=d.group_oid,
            Name=d.key,
            Repeating="Yes",
            Purpose="Tabulation",
        )
        if d.description:
            _texts(igd, "Description", d.description)
        for n, c in enumerate(items(d), 1):
            etree.SubElement(
                igd, ODM + "ItemRef", ItemOID=c.oid(d.key), OrderNumber=str(n), Mandatory="No"
            )


def _item_def(mdv, d: Dataset, c: Column, lay: Layout) -> None:
    attrs = {"OID": c.oid(d.key), "Name": c.name, "DataType": DATA_TYPES[c.data_type]}
    if c.data_type == "text" and c.length:
        attrs["Length"] = str(c.length)
    attrs["Origin"] = "Derived" if c.derivation else "CRF"
    item = etree.SubElement(mdv, ODM + "ItemDef", attrs)
    if c.derivation:
        _texts(item, "Description", c.derivation)
    _texts(item, "Question", c.label)
    if c.unit:
        etree.SubElement(item, ODM + "MeasurementUnitRef", MeasurementUnitOID=lay.units[c.unit])
    if c.codelist is not None:
        etree.SubElement(item, ODM + "CodeListRef", CodeListOID=c.codelist.oid)


def _code_lists(mdv, lay: Layout) -> None:
    seen = {}
    for d in lay.forms:
        for c in items(d):
            if c.codelist is not None:
                seen.setdefault(c.codelist.oid, c.codelist)
    for cl in seen.values():
        attrs = {"OID": cl.oid, "Name": cl.name, "DataType": cl.data_type}
        el = etree.SubElement(mdv, ODM + "CodeList", attrs)
        for n, (code, decode) in enumerate(cl.items, 1):
            item = etree.SubElement(el, ODM + "CodeListItem", CodedValue=code, OrderNumber=str(n))
            _texts(item, "Decode", decode)


def study_element() -> etree._Element:
    """The whole Study element: global variables, units, the MetaDataVersion."""
    lay = layout()
    study = etree.Element(ODM + "Study", OID=STUDY_OID, nsmap=NSMAP)
    _global_variables(study)
    _basic_definitions(study, lay)
    mdv = etree.SubElement(
        study,
        ODM + "MetaDataVersion",
        OID=MDV_OID,
        Name=f"{P.TRIAL_ID} case report forms",
        Description="Generated from the EDC's models (exports.metadata)",
    )
    _protocol_and_events(mdv, lay)
    _forms_and_groups(mdv, lay)
    for d in lay.forms:
        for c in items(d):
            _item_def(mdv, d, c, lay)
    _code_lists(mdv, lay)
    return study
