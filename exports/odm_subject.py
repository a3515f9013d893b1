"""One SubjectData after another (issue 15 §3): the Snapshot writer (current values) and the
Transactional writer (the subject's audit chain replayed), plus the vendor extension
(queries, SDV) they share. Each writes one subject's elements as soon as they are built."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from django.db import models
from lxml import etree

from exports import odm_sources as src
from exports.metadata import DATE, DATETIME, FLOAT, TEXT, Column, Dataset, value_text
from exports.odm_meta import (
    EXT_NS,
    ODM,
    ODM_NS,
    SIGNATURE_LEVEL,
    SUBJECT_EVENT,
    X,
    event_oid,
    items,
    layout,
    location_oid,
    user_oid,
)

# characters XML 1.0 cannot hold (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text as an XML 1.0 document can carry it: a character XML cannot hold becomes U+FFFD
    (the writer escapes the rest: ``<``, ``&``, ``]]>``, quotes)."""
    return _NOT_XML.sub("\ufffd", value)


def _el(tag: str, attrs: dict | None = None, parent=None, *, root=False) -> etree._Element:
    """An element without the attributes that are None; ``root``: written on its own by the
    stream writer, so it declares its namespace (else lxml would invent an ``ns0`` prefix)."""
    attrs = {k: v for k, v in (attrs or {}).items() if v is not None}
    if parent is None:
        nsmap = ({None: ODM_NS} if tag.startswith(ODM) else {"alter": EXT_NS}) if root else None
        return etree.Element(tag, attrs, nsmap=nsmap)
    return etree.SubElement(parent, tag, attrs)


def _stamp(moment) -> str:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(dt.UTC).isoformat()


def signature_el(username, site_code: str, sig_oid: str, at, root=False) -> etree._Element:
    sig = _el(ODM + "Signature", root=root)
    _el(ODM + "UserRef", {"UserOID": user_oid(username)}, sig)
    _el(ODM + "LocationRef", {"LocationOID": location_oid(site_code)}, sig)
    _el(ODM + "SignatureRef", {"SignatureOID": sig_oid}, sig)
    _el(ODM + "DateTimeStamp", parent=sig).text = _stamp(at)
    return sig


def _column_oid(d: Dataset, field: str) -> str | None:
    for c in items(d):
        if field and c.name in (field, f"{field}_id"):
            return c.oid(d.key)
    return None


def record_ref(record_type: str, record_id, field: str = "") -> dict:
    """The attributes naming a record (and field) in the clinical data, for the extension."""
    attrs = {"RecordType": record_type, "RecordId": str(record_id)}
    if field:
        attrs["Field"] = field
    d = layout().by_label.get(record_type)
    if d is not None:
        attrs |= {
            "FormOID": d.form_oid,
            "FormRepeatKey": str(record_id),
            "ItemGroupOID": d.group_oid,
            "ItemGroupRepeatKey": str(record_id),
            "ItemOID": _column_oid(d, field),
        }
    return attrs


class _Writer:
    """What both file types share: the subject's visits, queries and SDV marks."""

    def __init__(self, xf, ids, now):
        self.xf, self.ids, self.now = xf, ids, now
        self.visit_rows = src.visits(ids)
        self.queries = src.queries(ids)
        self.messages = src.query_messages(ids)
        self.sdv = src.sdv_marks(ids)

    def sources(self) -> list[src.Grouped]:
        return [self.visit_rows, self.queries, self.messages, self.sdv]

    def check_done(self) -> None:
        for g in self.sources():
            g.check_done()

    def subject_attrs(self, key: str, transaction_type: str | None = None) -> dict:
        attrs = {"SubjectKey": key}
        if transaction_type:
            attrs["TransactionType"] = transaction_type
        return attrs

    def site_ref(self, site_code: str) -> etree._Element:
        return _el(ODM + "SiteRef", {"LocationOID": location_oid(site_code)}, root=True)

    def extension(self, subject_id: int) -> None:
        """alter:Queries (with their threads) and alter:SourceDataVerification."""
        queries = self.queries.take(subject_id)
        thread: dict[int, list[tuple]] = {}
        for m in self.messages.take(subject_id):
            thread.setdefault(m[1], []).append(m)
        marks = self.sdv.take(subject_id)
        if queries:
            box = _el(X + "Queries", root=True)
            for q in queries:
                self._query(box, q, thread.get(q[1], []))
            self.xf.write(box)
        if marks:
            box = _el(X + "SourceDataVerification", root=True)
            for m in marks:
                self._sdv(box, m)
            self.xf.write(box)

    def _query(self, box, q, messages) -> None:
        (_s, pk, rtype, rid, field, check, text, status, origin, raiser, raised, closed, res) = q
        attrs = {"OID": f"Q.{pk}", **record_ref(rtype, rid, field), "Status": status}
        attrs |= {"Origin": origin, "EditCheck": check or None, "RaisedAt": _stamp(raised)}
        attrs |= {"ClosedAt": _stamp(closed) if closed else None}
        attrs |= {"UserOID": user_oid(raiser) if raiser else None}
        el = _el(X + "Query", attrs, box)
        _el(X + "Text", parent=el).text = xml_text(text)
        if res:
            _el(X + "Resolution", parent=el).text = xml_text(res)
        for _s, _q, action, author, role, mtext, suggested, at in messages:
            msg = _el(X + "Message", {"Action": action, "Role": role or None}, el)
            msg.set("DateTimeStamp", _stamp(at))
            if author:
                msg.set("UserOID", user_oid(author))
            _el(X + "Text", parent=msg).text = xml_text(mtext)
            if suggested:
                _el(X + "SuggestedValue", parent=msg).text = xml_text(suggested)

    def _sdv(self, box, m) -> None:
        _s, rtype, rid, field, state, by, verified, changed, comment = m
        attrs = {**record_ref(rtype, rid, field), "State": state, "UserOID": user_oid(by)}
        attrs |= {"VerifiedAt": _stamp(verified), "ChangedAt": _stamp(changed) if changed else None}
        el = _el(X + "SdvMark", attrs, box)
        if comment:
            _el(X + "Comment", parent=el).text = xml_text(comment)


# --- Snapshot ------------------------------------------------------------------------------


class SnapshotWriter(_Writer):
    """Each subject's current values, by visit, form instance and record."""

    def __init__(self, xf, ids, now):
        super().__init__(xf, ids, now)
        self.records = [(d, src.records(d, ids)) for d in layout().forms]
        self.signatures = src.signatures(ids, current=True)
        self.eligibility = src.eligibility_signatures(ids, current=True)
        self.columns = {d.key: [(c, c.oid(d.key)) for c in items(d)] for d in layout().forms}

    def sources(self):
        return [*super().sources(), self.signatures, self.eligibility] + [
            g for _d, g in self.records
        ]

    def subject(self, subject_id: int, key: str, site: str) -> None:
        visits = self.visit_rows.take(subject_id)
        by_visit: dict[int | None, list] = {}
        for d, rows in self.records:
            for row in rows.take(subject_id):
                by_visit.setdefault(row[2], []).append((d, row))
        self.sig = {"crf": {}, "visit": {}, "casebook": None, "site": site}
        for _s, level, visit, rtype, rid, who, at in self.signatures.take(subject_id):
            target = {"crf": (rtype, rid), "visit": visit}.get(level)
            sig = signature_el(who, site, SIGNATURE_LEVEL[level], at, root=level == "casebook")
            if level == "casebook":
                self.sig["casebook"] = sig
            else:
                self.sig[level][target] = sig
        eligibility = self.eligibility.take(subject_id)
        self.sig["eligibility"] = eligibility[-1] if eligibility else None
        with self.xf.element(ODM + "SubjectData", self.subject_attrs(key)):
            if self.sig["casebook"] is not None:
                self.xf.write(self.sig["casebook"])
            self.xf.write(self.site_ref(site))
            known = {v[1] for v in visits}
            loose = [r for vid, rows in by_visit.items() if vid not in known for r in rows]
            if loose:
                self._event(None, None, None, loose)
            for _s, vid, kind, code in visits:
                if vid in by_visit or vid in self.sig["visit"]:
                    self._event(vid, kind, code, by_visit.get(vid, []))
            self.extension(subject_id)

    def _event(self, vid, kind, code, records) -> None:
        attrs = {"StudyEventOID": event_oid(kind), "StudyEventRepeatKey": code}
        se = _el(ODM + "StudyEventData", attrs, root=True)
        if vid in self.sig["visit"]:
            se.append(self.sig["visit"][vid])
        for d, row in records:
            fd = _el(ODM + "FormData", {"FormOID": d.form_oid, "FormRepeatKey": str(row[1])}, se)
            crf_sig = self.sig["crf"].get((d.model._meta.label_lower, row[1]))
            if crf_sig is not None:
                fd.append(crf_sig)
            self._group(fd, d, row)
        self.xf.write(se)

    def _group(self, fd, d: Dataset, row) -> None:
        ig = _el(
            ODM + "ItemGroupData",
            {"ItemGroupOID": d.group_oid, "ItemGroupRepeatKey": str(row[1])},
            fd,
        )
        columns = self.columns[d.key]
        values = {c.name: v for (c, _oid), v in zip(columns, row[3:], strict=True)}
        site = self.sig["site"]
        if d.key == "screening" and self.sig["eligibility"] is not None:
            _s, who, at = self.sig["eligibility"]
            ig.append(signature_el(who, site, "SIG.ELIGIBILITY", at))
        elif values.get("causality_signed_at") and values.get("causality_signed_by"):
            who, at = values["causality_signed_by"], values["causality_signed_at"]
            ig.append(signature_el(who, site, "SIG.CAUSALITY", at))
        item_tag = ODM + "ItemData"
        for (c, oid), value in zip(columns, row[3:], strict=True):
            text = value_text(c, value)
            if text != "":
                etree.SubElement(ig, item_tag, ItemOID=oid, Value=xml_text(text))


# --- Transactional -------------------------------------------------------------------------


def _typed(c: Column, raw, field):
    """A value of the audit trail's JSON row as the snapshot reads it from the model."""
    if raw is None:
        return None
    if c.data_type == DATE and isinstance(raw, str):
        return dt.date.fromisoformat(raw[:10])
    if c.data_type == DATETIME and isinstance(raw, str):
        return dt.datetime.fromisoformat(raw).astimezone(dt.UTC)
    decimal = isinstance(field, models.DecimalField) and isinstance(raw, int | float)
    if c.data_type == FLOAT and decimal and not isinstance(raw, bool):
        return Decimal(repr(raw)).quantize(Decimal(1).scaleb(-field.decimal_places))
    return raw


TRANSACTION = {"INSERT": "Insert", "UPDATE": "Update", "DELETE": "Remove"}
HOLD_TABLE = "monitoring_hold"
EDIT_POINT = {"monitor": "Monitoring", "data_manager": "DataManagement"}


class TransactionalWriter(_Writer):
    """Each subject's audit chain replayed: the data changes of the CRF tables as ItemData
    with their AuditRecord, the signatures where they were made."""

    def __init__(self, xf, ids, now):
        super().__init__(xf, ids, now)
        self.events = src.audit_events(ids, now)
        self.locks = src.study_locks()
        self.roles = self._roles()
        self.lookups: dict[tuple, object] = {}
        self.specs = {d.key: [self._spec(d, c) for c in items(d)] for d in layout().forms}
        self.parents, self.needed = self._tables()

    def sources(self):
        return [*super().sources(), self.events]

    @staticmethod
    def _tables() -> tuple[set[str], set[str]]:
        """The tables whose rows the replay keeps (those a visit path goes through, the
        screening, the visits) and those it reads at all (those, the forms, the signatures)."""
        from eligibility.models import EligibilitySignature, Screening
        from monitoring.models import Signature
        from subjects.models import Visit

        lay = layout()
        parents = {Visit._meta.db_table, Screening._meta.db_table, *lay.by_table}
        for d in lay.forms:
            model = d.model
            for seg in (d.visit_path or "").split("__")[:-1]:
                model = model._meta.get_field(seg).related_model
                parents.add(model._meta.db_table)
        others = {Signature._meta.db_table, EligibilitySignature._meta.db_table, HOLD_TABLE}
        return parents, parents | others

    @staticmethod
    def _roles() -> dict[tuple[str, str | None], str]:
        from accounts.models import Membership

        rows = Membership.objects.values_list("user__username", "site__code", "role")
        return {(name, code): role for name, code, role in rows}

    def _spec(self, d: Dataset, c: Column) -> tuple:
        """(column, JSON key of the audit row, related model and lookup or None, field, OID)."""
        first, _sep, rest = c.path.partition("__")
        f = d.model._meta.get_field(first)
        related = (f.related_model, rest) if rest else None
        return (c, f.column, related, None if rest else f, c.oid(d.key))

    def lookup(self, model, path: str, pk):
        key = (model, path, pk)
        if key not in self.lookups:
            qs = model._default_manager.filter(pk=pk).values_list(path, flat=True)
            self.lookups[key] = qs.first()
        return self.lookups[key]

    def username(self, user_id) -> str | None:
        from django.contrib.auth import get_user_model

        return None if user_id is None else self.lookup(get_user_model(), "username", user_id)

    def value(self, spec, row) -> str | None:
        c, key, related, field, _oid = spec
        raw = row.get(key)
        if raw is not None and related is not None:
            raw = self.lookup(related[0], related[1], raw)
        text = value_text(c, _typed(c, raw, field))
        if text == "":
            return None
        return xml_text(text) if c.data_type == TEXT else text

    def edit_point(self, username: str, site: str, locked: bool) -> str | None:
        if locked:
            return "DBAudit"
        role = self.roles.get((username, site)) or self.roles.get((username, None))
        return EDIT_POINT.get(role)

    def subject(self, subject_id: int, key: str, site: str) -> None:
        visits = {vid: (kind, code) for _s, vid, kind, code in self.visit_rows.take(subject_id)}
        replay = _Replay(self, subject_id, key, site, visits)
        replay.open()
        for event in self.events.take(subject_id):
            replay.event(*event[1:])
        replay.flush()
        self.extension(subject_id)
        replay.close()


class _Replay:
    """One subject's audit chain, event by event, with the rows as they stood (to find a
    record's visit through its parent, e.g. a lab value's panel)."""

    def __init__(self, writer: TransactionalWriter, subject_id, key, site, visits):
        from eligibility.models import EligibilitySignature
        from monitoring.models import Signature
        from subjects.models import Visit

        self.w, self.subject_id, self.key, self.site = writer, subject_id, key, site
        self.visits, self.lay = visits, layout()
        self.rows: dict[tuple[str, str], dict] = {}
        self.pending = None  # (event key, StudyEventData, (form key, FormData)) not yet written
        self.visit_table = Visit._meta.db_table
        self.signature_table = Signature._meta.db_table
        self.eligibility_table = EligibilitySignature._meta.db_table
        self.locks = list(writer.locks)  # the study's, then the subject's as they are placed

    def open(self, signature=None) -> None:
        self.context = self.w.xf.element(
            ODM + "SubjectData", self.w.subject_attrs(self.key, "Upsert")
        )
        self.context.__enter__()
        if signature is not None:
            self.w.xf.write(signature)
        self.w.xf.write(self.w.site_ref(self.site))

    def close(self) -> None:
        self.flush()
        self.context.__exit__(None, None, None)

    def event(self, seq, at, table, pk, action, old_text, new_text, username, reason) -> None:
        """One audit row: a form's change, a signature, a lock, or nothing the file shows
        (status changes, queries, SDV...: their JSON is not even parsed)."""
        if table not in self.w.needed:
            return
        old = json.loads(old_text) if old_text else None
        new = json.loads(new_text) if new_text else None
        row = new if new is not None else old
        if table in self.w.parents:
            self.rows[(table, pk)] = row
        if table == self.visit_table:
            self.visits[int(pk)] = (row.get("kind"), row.get("code"))
        d = self.lay.by_table.get(table)
        if d is not None:
            self._data(d, pk, action, old, new, (username, at, reason, seq))
            if d.key == "adverse_events" and action == "UPDATE":
                self._causality(d, pk, old, new)
        elif action == "INSERT":
            self._workflow(table, new)

    def _workflow(self, table: str, new: dict) -> None:
        if table == self.signature_table:
            self._signature(new)
        elif table == self.eligibility_table:
            self._eligibility(new)
        elif table == HOLD_TABLE and new.get("kind") == "lock":
            # from here on in the chain, a change under this lock is a database-audit edit
            lock = ("level", "visit_id", "record_type", "record_id")
            self.locks.append((*(new.get(k) for k in lock), None))

    def _visit_of(self, d: Dataset, row: dict | None):
        """The record's visit id, through its parents' rows as replayed (or as stored)."""
        if not d.visit_path or row is None:
            return None
        model, current = d.model, row
        *hops, last = d.visit_path.split("__")
        for seg in hops:
            f = model._meta.get_field(seg)
            model, fk = f.related_model, current.get(f.column)
            current = self.rows.get((model._meta.db_table, str(fk)))
            if current is None:
                current = model._default_manager.filter(pk=fk).values().first()
            if current is None:
                return None
        return current.get(model._meta.get_field(last).column)

    def _locked(self, d: Dataset, pk: str, visit_id, at) -> bool:
        label = d.model._meta.label_lower
        for level, visit, rtype, rid, placed in self.locks:
            if placed is not None and placed > at:
                continue
            if level in ("study", "subject") or (level == "visit" and visit == visit_id):
                return True
            if level == "record" and rtype == label and str(rid) == str(pk):
                return True
        return False

    def _changes(self, d: Dataset, action: str, old, new) -> list[tuple]:
        """(item OID, transaction type, new value or None) of each field the event changed."""
        out = []
        value = self.w.value
        for spec in self.w.specs[d.key]:
            if action == "UPDATE" and old.get(spec[1]) == new.get(spec[1]):
                continue
            before = value(spec, old) if old is not None else None
            after = value(spec, new) if new is not None else None
            if action == "DELETE" and before is not None:
                out.append((spec[4], "Remove", None))
            elif action != "DELETE" and before != after:
                out.append((spec[4], TRANSACTION[action], after))
        return out

    def _audit(self, d, pk, visit_id, audit) -> etree._Element:
        username, at, reason, seq = audit
        point = self.w.edit_point(username, self.site, self._locked(d, pk, visit_id, at))
        record = _el(ODM + "AuditRecord", {"EditPoint": point})
        _el(ODM + "UserRef", {"UserOID": user_oid(username)}, record)
        _el(ODM + "LocationRef", {"LocationOID": location_oid(self.site)}, record)
        _el(ODM + "DateTimeStamp", parent=record).text = _stamp(at)
        if reason:
            _el(ODM + "ReasonForChange", parent=record).text = xml_text(reason)
        _el(ODM + "SourceID", parent=record).text = str(seq)
        return record

    def _data(self, d, pk, action, old, new, audit) -> None:
        changes = self._changes(d, action, old, new)
        if not changes:
            return
        visit_id = self._visit_of(d, new if new is not None else old)
        record = self._audit(d, pk, visit_id, audit)
        ig = self._group(d, pk, TRANSACTION[action])
        sub, item_tag = etree.SubElement, ODM + "ItemData"
        for oid, kind, text in changes:
            attrs = {"ItemOID": oid, "TransactionType": kind}
            if kind != "Remove":
                attrs |= {"Value": text} if text is not None else {"IsNull": "Yes"}
            sub(ig, item_tag, attrs).append(record.__copy__())  # lxml: a deep copy
        self._write(d, pk, visit_id, ig, "Upsert")

    def _group(self, d, pk, transaction_type, signature=None) -> etree._Element:
        attrs = {"ItemGroupOID": d.group_oid, "ItemGroupRepeatKey": str(pk)}
        ig = _el(ODM + "ItemGroupData", attrs | {"TransactionType": transaction_type})
        if signature is not None:
            ig.append(signature)
        return ig

    def _event_el(self, visit_id, transaction_type) -> etree._Element:
        kind, code = self.visits.get(visit_id, (None, None)) if visit_id else (None, None)
        attrs = {"StudyEventOID": event_oid(kind) if kind else SUBJECT_EVENT}
        if kind:
            attrs["StudyEventRepeatKey"] = code
        return _el(ODM + "StudyEventData", attrs | {"TransactionType": transaction_type}, root=True)

    def _write(self, d, pk, visit_id, ig, transaction_type, form_signature=None) -> None:
        """Add the record's change (or signature) to the study event being built: consecutive
        changes of one visit share its StudyEventData, of one form instance its FormData."""
        event_key = (visit_id, transaction_type)
        if self.pending is None or self.pending[0] != event_key or form_signature is not None:
            self.flush()
            self.pending = (event_key, self._event_el(visit_id, transaction_type), None)
        event_key, se, last = self.pending
        form_key = (d.form_oid, str(pk))
        if last is not None and last[0] == form_key and form_signature is None:
            fd = last[1]
        else:
            attrs = {"FormOID": d.form_oid, "FormRepeatKey": str(pk)}
            fd = _el(ODM + "FormData", attrs | {"TransactionType": transaction_type}, se)
        if form_signature is not None:
            fd.append(form_signature)
        if ig is not None:
            fd.append(ig)
        self.pending = (event_key, se, (form_key, fd))

    def flush(self) -> None:
        """Write the study event being built."""
        if self.pending is not None:
            self.w.xf.write(self.pending[1])
            self.pending = None

    def _causality(self, d, pk, old, new) -> None:
        at = new.get("causality_signed_at")
        if not at or at == (old or {}).get("causality_signed_at"):
            return
        who = self.w.username(new.get("causality_signed_by_id"))
        sig = signature_el(who, self.site, "SIG.CAUSALITY", at)
        self._write(d, pk, None, self._group(d, pk, "Context", sig), "Context")

    def _signature(self, row: dict) -> None:
        """A monitoring signature (form, visit or casebook), after what it signs."""
        level = row.get("level")
        who = self.w.username(row.get("signed_by_id"))
        at = row.get("signed_at")
        sig = signature_el(who, self.site, SIGNATURE_LEVEL[level], at, root=level == "casebook")
        if level == "casebook":
            self.close()
            self.open(signature=sig)
        elif level == "visit":
            se = self._event_el(row.get("visit_id"), "Context")
            se.append(sig)
            self.flush()
            self.w.xf.write(se)
        else:
            d = self.lay.by_label.get(row.get("record_type"))
            if d is None:
                return
            pk = str(row.get("record_id"))
            visit_id = self._visit_of(d, self.rows.get((d.model._meta.db_table, pk)))
            self._write(d, pk, visit_id, None, "Context", form_signature=sig)

    def _eligibility(self, row: dict) -> None:
        from eligibility.models import Screening

        d = self.lay.by_label[Screening._meta.label_lower]
        table = Screening._meta.db_table
        pks = [pk for (t, pk) in self.rows if t == table]
        if not pks:
            found = Screening.objects.filter(subject_id=self.subject_id).values_list(
                "pk", flat=True
            )
            pks = [str(pk) for pk in found]
        if not pks:
            return
        who = self.w.username(row.get("signed_by_id"))
        sig = signature_el(who, self.site, "SIG.ELIGIBILITY", row.get("signed_at"))
        self._write(d, pks[-1], None, self._group(d, pks[-1], "Context", sig), "Context")
