"""CDISC ODM 1.3.2 export of the clinical data (issue 15 §3), written as a stream.

``write_odm(out, ...)`` writes one ODM file to a binary file object with lxml's incremental
writer (``etree.xmlfile``): the Study (``exports.odm_meta``: metadata from the one metadata
source), the AdminData (a User per person appearing, a Location per site of the exported
subjects, the SignatureDefs), then one SubjectData after another, each built from that
subject's rows only (``exports.odm_sources``: ordered server-side cursors). Memory stays flat
whatever the number of subjects.

Two file types:
- **Snapshot**: the current value of every item (null and blank values left out), the signatures
  in force on the forms, visits and casebook.
- **Transactional** (``Archival="Yes"``): the subject's audit chain replayed in order, one
  ItemData per changed field with its AuditRecord (user, site, time, reason, the audit row's
  sequence number as SourceID, EditPoint), each signature placed after the changes it covers.

Queries with their threads and the SDV marks of each subject are in our namespaced extension
(``alter:Queries``, ``alter:SourceDataVerification``), at the end of the SubjectData where the
ODM schema's extension group is; ``exports/schemas/alter-odm-extension.xsd`` declares them by
the XML-Schema redefine mechanism ODM 1.3.2 provides for vendor extensions.

``read_odm`` parses a file back (the round-trip tests compare it with the database).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.utils import timezone
from lxml import etree

from alter_s006 import protocol as P
from exports import odm_sources as src
from exports.metadata import value_text
from exports.odm_meta import (
    MDV_OID,
    NSMAP,
    ODM,
    STUDY_OID,
    layout,
    location_oid,
    signature_defs,
    study_element,
    user_oid,
)
from exports.odm_subject import SnapshotWriter, TransactionalWriter, xml_text

SNAPSHOT, TRANSACTIONAL = "Snapshot", "Transactional"


def _source_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alter-s006-edc")
    except PackageNotFoundError:
        return "unknown"


def _now() -> dt.datetime:
    """The file's CreationDateTime: the database's clock (every stamp it wrote is earlier)
    or the application's, whichever is later."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        db_now = cursor.fetchone()[0]
    return max(db_now, timezone.now()).astimezone(dt.UTC)


def _ids(subject_ids: Iterable[int] | None) -> list[int] | None:
    return None if subject_ids is None else sorted({int(i) for i in subject_ids})


def _granularity(ids, sites) -> str | None:
    if ids is None:
        return "All"
    if len(ids) == 1:
        return "SingleSubject"
    return "SingleSite" if len(sites) == 1 else None


def _root_attrs(file_type, now, ids, sites, description) -> dict:
    attrs = {
        "FileOID": f"ODM.{P.TRIAL_ID}.{file_type}.{uuid.uuid4().hex}",
        "FileType": file_type,
        "CreationDateTime": now.isoformat(),
        "ODMVersion": "1.3.2",
        "Originator": P.TRIAL_ID,
        "SourceSystem": f"{P.TRIAL_ID} EDC",
        "SourceSystemVersion": _source_version(),
    }
    granularity = _granularity(ids, sites)
    if granularity:
        attrs["Granularity"] = granularity
    if file_type == TRANSACTIONAL:
        attrs["Archival"] = "Yes"
    else:
        attrs["AsOfDateTime"] = now.isoformat()
    if description:
        attrs["Description"] = xml_text(description)
    return attrs


# --- AdminData -----------------------------------------------------------------------------


def _usernames(ids, file_type: str, now) -> set[str]:
    """Every person the file names: user columns of the forms, signers, query and SDV
    authors, and (transactional) the audit trail's users; only from the exported subjects."""
    from audit.models import AuditEvent
    from eligibility.models import EligibilitySignature
    from monitoring.models import SdvMark, Signature
    from queries.models import Query, QueryMessage

    names: set[str] = set()
    for d in layout().forms:
        for c in src.items(d):
            if c.path.endswith("__username"):
                qs, _sp = src._by_subject(d.model._default_manager.all(), d.subject_path, ids)
                names.update(qs.order_by().values_list(c.path, flat=True).distinct())
    for model, path, subject in (
        (Signature, "signed_by__username", "subject"),
        (EligibilitySignature, "signed_by__username", "subject"),
        (Query, "raised_by__username", "subject"),
        (QueryMessage, "author__username", "query__subject"),
        (SdvMark, "verified_by__username", "subject"),
    ):
        qs, _sp = src._by_subject(model.objects.all(), subject, ids)
        names.update(qs.order_by().values_list(path, flat=True).distinct())
    if file_type == TRANSACTIONAL:
        events = AuditEvent.objects.filter(occurred_at__lte=now).exclude(chain_key=0)
        if ids is not None:
            events = events.filter(chain_key__in=src.id_array(ids))
        names.update(events.order_by().values_list("app_username", flat=True).distinct())
    names.discard(None)
    return names


def _write_users(admin, names: set[str]) -> None:
    from django.contrib.auth import get_user_model

    people = {
        u.username: u for u in get_user_model().objects.filter(username__in=sorted(names - {""}))
    }
    for name in sorted(names):
        user = etree.SubElement(admin, ODM + "User", OID=user_oid(name))
        etree.SubElement(user, ODM + "LoginName").text = xml_text(name or "system")
        person = people.get(name)
        if person is None:
            continue
        full = person.get_full_name()
        if full:
            etree.SubElement(user, ODM + "FullName").text = xml_text(full)
        if person.first_name:
            etree.SubElement(user, ODM + "FirstName").text = xml_text(person.first_name)
        if person.last_name:
            etree.SubElement(user, ODM + "LastName").text = xml_text(person.last_name)


def _sites(ids):
    from accounts.models import Site

    qs = Site.objects.all()
    if ids is not None:
        qs = qs.filter(subjects__in=src.id_array(ids))
    else:
        qs = qs.filter(subjects__isnull=False)
    return list(qs.distinct().order_by("code"))


def admin_element(names: set[str], sites) -> etree._Element:
    admin = etree.Element(ODM + "AdminData", StudyOID=STUDY_OID, nsmap=NSMAP)
    _write_users(admin, names)
    for site in sites:
        loc = etree.SubElement(
            admin, ODM + "Location", OID=location_oid(site.code), Name=xml_text(site.name)
        )
        loc.set("LocationType", "Site")
        etree.SubElement(
            loc,
            ODM + "MetaDataVersionRef",
            StudyOID=STUDY_OID,
            MetaDataVersionOID=MDV_OID,
            EffectiveDate=site.created_at.date().isoformat(),
        )
    for oid, (meaning, legal) in signature_defs().items():
        sd = etree.SubElement(admin, ODM + "SignatureDef", OID=oid, Methodology="Electronic")
        etree.SubElement(sd, ODM + "Meaning").text = meaning
        etree.SubElement(sd, ODM + "LegalReason").text = legal
    return admin


# --- the file ------------------------------------------------------------------------------


class _consistent_read:
    """One REPEATABLE READ, read-only transaction for the whole file (one consistent picture of
    the database) when the caller is not already in a transaction."""

    def __enter__(self):
        self.atomic = None
        if not connection.in_atomic_block:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return self

    def __exit__(self, *exc):
        if self.atomic is not None:
            return self.atomic.__exit__(*exc)
        return False


def write_odm(
    out,
    *,
    subject_ids: Iterable[int] | None = None,
    file_type: str = SNAPSHOT,
    progress: Callable[[int, int], None] | None = None,
    description: str = "",
) -> None:
    """Write the ODM 1.3.2 file of ``subject_ids`` (None: the whole study) to ``out`` (binary).
    The caller scopes the subjects (site, role); nothing of another subject is written."""
    if file_type not in (SNAPSHOT, TRANSACTIONAL):
        raise ValueError(f"file_type must be {SNAPSHOT} or {TRANSACTIONAL}")
    ids = _ids(subject_ids)
    with _consistent_read():
        now = _now()
        sites = _sites(ids)
        names = _usernames(ids, file_type, now)
        subjects = src.subjects(ids)
        total = subjects.count()
        writer_class = SnapshotWriter if file_type == SNAPSHOT else TransactionalWriter
        with etree.xmlfile(out, encoding="utf-8") as xf:
            xf.write_declaration()
            attrs = _root_attrs(file_type, now, ids, sites, description)
            with xf.element(ODM + "ODM", attrs, nsmap=NSMAP):
                xf.write(study_element())
                xf.write(admin_element(names, sites))
                clinical = {"StudyOID": STUDY_OID, "MetaDataVersionOID": MDV_OID}
                with xf.element(ODM + "ClinicalData", clinical):
                    writer = writer_class(xf, ids, now)
                    for done, subject in enumerate(subjects.iterator(chunk_size=src.CHUNK), 1):
                        writer.subject(*subject)
                        xf.flush()
                        if progress is not None:
                            progress(done, total)
                    writer.check_done()


def subject_odm_bytes(subject_id: int, file_type: str = SNAPSHOT) -> bytes:
    """One subject's ODM file (embedded in the subject's casebook PDF/A-3b)."""
    buffer = io.BytesIO()
    write_odm(buffer, subject_ids=[subject_id], file_type=file_type)
    return buffer.getvalue()


# --- reading back --------------------------------------------------------------------------


def read_odm(source) -> dict[tuple[str, str, str], dict[str, str]]:
    """{(subject key, item group OID, repeat key): {item OID: value}} of an ODM file; a
    transactional file is replayed in order (Insert / Update set a value, IsNull and Remove
    clear it; a record left without a value is gone)."""
    records: dict[tuple[str, str, str], dict[str, str]] = {}
    subject = group = None
    for event, el in etree.iterparse(source, events=("start", "end")):
        tag = etree.QName(el).localname if el.tag.startswith(ODM) else None
        if event == "start":
            if tag == "SubjectData":
                subject = el.get("SubjectKey")
            elif tag == "ItemGroupData":
                group = (subject, el.get("ItemGroupOID"), el.get("ItemGroupRepeatKey"))
            continue
        if tag == "ItemData":
            values = records.setdefault(group, {})
            if el.get("TransactionType") == "Remove" or el.get("IsNull") == "Yes":
                values.pop(el.get("ItemOID"), None)
            else:
                values[el.get("ItemOID")] = el.get("Value")
        if tag in ("ItemGroupData", "SubjectData", "ClinicalData"):
            el.clear()
    return {k: v for k, v in records.items() if v}


__all__ = ["SNAPSHOT", "TRANSACTIONAL", "read_odm", "subject_odm_bytes", "value_text", "write_odm"]
