"""The one metadata source of every export (issue 15; DESIGN.md "One metadata source"): for each
dataset its columns (variable name, label, type, unit, code list, derivation), read from the
models where the CRF is defined, so the CSV data dictionary, the annotated CRF and the CDISC ODM
MetaDataVersion all say the same thing.

A dataset is either a table (one row per record, its columns the model's fields, in the model's
order) or a derived listing (eligibility per criterion, exposure, best overall response) whose
rows a function computes. A dataset that is a CRF (``crf=True``) is a FormDef in the ODM and a
page of the blank and annotated CRF book.

Column names are stable: the model field's name (a user foreign key exports the username, a
CTCAE term its name) prefixed by the key columns every row carries: ``site``, ``subject`` and,
for a record tied to a visit, ``visit``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.models import VersionedModel

TEXT, INTEGER, FLOAT, DATE, DATETIME, BOOLEAN = (
    "text",
    "integer",
    "float",
    "date",
    "datetime",
    "boolean",
)
DATA_TYPES = (TEXT, INTEGER, FLOAT, DATE, DATETIME, BOOLEAN)


@dataclass(frozen=True)
class CodeList:
    name: str  # e.g. "overall_response"
    items: tuple[tuple[str, str], ...]  # (coded value, decode)
    data_type: str = TEXT

    @property
    def oid(self) -> str:
        return f"CL.{self.name.upper()}"

    def decode(self, value) -> str:
        for code, label in self.items:
            if str(code) == str(value):
                return str(label)
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Column:
    name: str  # the CSV column / ODM item name
    label: str | Promise
    data_type: str
    path: str  # ORM lookup from the dataset's model ("" for a computed column)
    unit: str = ""
    codelist: CodeList | None = None
    derivation: str = ""  # how a derived value is computed (and its source)
    length: int | None = None
    key: bool = False  # a key column (site, subject, visit, record id)
    # text the system writes from a fixed vocabulary (codes, table and field names): never
    # a formula, so the CSV does not test it
    system: bool = False

    def oid(self, dataset: str) -> str:
        return f"I.{dataset.upper()}.{self.name.upper()}"


@dataclass(frozen=True)
class Dataset:
    key: str  # e.g. "vital_signs": file name, FormDef / ItemGroupDef name
    label: str | Promise
    model: type[models.Model] | None
    columns: tuple[Column, ...]
    subject_path: str = "subject"  # ORM lookup from a row to its subject
    visit_path: str | None = None  # ORM lookup to its visit, if any
    crf: bool = False  # a case report form: FormDef, blank and annotated CRF
    form_keys: tuple[str, ...] = ()  # the schedule's form keys it is (crfs.registry.FORMS)
    order_by: tuple[str, ...] = ("pk",)
    rows_fn: Callable[[Iterable[int]], Iterator[tuple]] | None = None  # a derived listing
    # a listing the database computes: (sql, params) of its SELECT, columns in order
    sql_fn: Callable[[Iterable[int] | None], tuple[str, list]] | None = None
    description: str = ""

    @property
    def form_oid(self) -> str:
        return f"F.{self.key.upper()}"

    @property
    def group_oid(self) -> str:
        return f"IG.{self.key.upper()}"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def queryset(self, subject_ids: Iterable[int] | None = None):
        """The dataset's records (of ``subject_ids`` if given), in a stable order."""
        qs = self.model._default_manager.all()
        if subject_ids is not None:
            from alter_s006.sql import id_array

            lookup = f"{self.subject_path}_id__in" if self.subject_path else "pk__in"
            qs = qs.filter(**{lookup: id_array(list(subject_ids))})
        return qs.order_by(*self.order_by)

    def rows(self, subject_ids: Iterable[int] | None = None, chunk: int = 2000) -> Iterator[tuple]:
        """The rows as tuples of Python values in column order, streamed (a server-side
        cursor: memory stays flat whatever the number of rows)."""
        if self.rows_fn is not None:
            yield from self.rows_fn(subject_ids)
            return
        if self.sql_fn is not None:
            yield from server_side_rows(*self.sql_fn(subject_ids), chunk=chunk)
            return
        paths = [c.path for c in self.columns]
        yield from self.queryset(subject_ids).values_list(*paths).iterator(chunk_size=chunk)

    def select(self, subject_ids: Iterable[int] | None = None) -> tuple[str, list] | None:
        """(sql, params) of a SELECT giving the rows (columns in order), or None for a listing
        computed in Python. CSV files are written from it by the database (``COPY``)."""
        if self.rows_fn is not None:
            return None
        if self.sql_fn is not None:
            return self.sql_fn(subject_ids)
        paths = [c.path for c in self.columns]
        sql, params = self.queryset(subject_ids).values_list(*paths).query.sql_with_params()
        return sql, list(params)


def server_side_rows(sql: str, params: list, chunk: int = 2000) -> Iterator[tuple]:
    """Rows of ``sql`` through a server-side cursor (memory flat whatever the row count)."""
    import uuid

    from django.db import connection, transaction

    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name=f"exp_{uuid.uuid4().hex[:12]}") as cursor:
            cursor.itersize = chunk
            cursor.execute(sql, params)
            yield from cursor


# --- columns from model fields -------------------------------------------------------------

_SKIP = {"id", *VersionedModel.BOOKKEEPING}


_CODELIST_NAMES: dict[tuple, str] = {}


def _codelist(model, f) -> CodeList | None:
    """One code list per set of choices: fields sharing choices (the four RECIST responses)
    share one, named after the first field; another field of the same name with other choices
    gets its model's name in front."""
    if not f.choices:
        return None
    data_type = INTEGER if isinstance(f, models.IntegerField) else TEXT
    codes = tuple((str(c), str(label)) for c, label in f.flatchoices)
    # codes and decodes: two fields with the same codes but other labels (the screening's
    # ECOG 0-5 and the ECOG form's worded scale) are two lists, not one OID with two meanings
    signature = codes
    name = _CODELIST_NAMES.get(signature)
    if name is None:
        taken = set(_CODELIST_NAMES.values())
        name = f.name if f.name not in taken else f"{model._meta.model_name}_{f.name}"
        _CODELIST_NAMES[signature] = name
    return CodeList(name, codes, data_type)


def _type_of(f) -> str:
    if isinstance(f, models.BooleanField):
        return BOOLEAN
    if isinstance(f, models.DateTimeField):
        return DATETIME
    if isinstance(f, models.DateField):
        return DATE
    if isinstance(f, models.IntegerField | models.AutoField):
        return INTEGER
    if isinstance(f, models.DecimalField | models.FloatField):
        return FLOAT
    return TEXT


def _fk_column(prefix: str, f) -> Column:
    target = f.related_model
    if target is settings.AUTH_USER_MODEL or target._meta.label == settings.AUTH_USER_MODEL:
        return Column(f.name, f.verbose_name, TEXT, f"{prefix}{f.name}__username", length=150)
    if target._meta.label_lower == "safety.ctcaeterm":
        return Column(f.name, f.verbose_name, TEXT, f"{prefix}{f.name}__term", length=120)
    return Column(f"{f.name}_id", f.verbose_name, INTEGER, f"{prefix}{f.name}_id")


def model_columns(
    model,
    *,
    skip: Iterable[str] = (),
    units: dict[str, str] | None = None,
    derived: dict[str, str] | None = None,
    prefix: str = "",
) -> list[Column]:
    """A column per concrete field of ``model`` in its order (keys and bookkeeping left out)."""
    units, derived = units or {}, derived or {}
    skip = set(skip) | _SKIP
    out = []
    for f in model._meta.concrete_fields:
        if f.name in skip:
            continue
        if f.is_relation:
            out.append(_fk_column(prefix, f))
            continue
        codelist = _codelist(model, f)
        out.append(
            Column(
                f.name,
                f.verbose_name,
                _type_of(f),
                f"{prefix}{f.name}",
                unit=units.get(f.name, _unit_from_label(str(f.verbose_name))),
                codelist=codelist,
                derivation=derived.get(f.name, ""),
                length=getattr(f, "max_length", None) if _type_of(f) == TEXT else None,
            )
        )
    return out


_UNIT_IN_LABEL = re.compile(r"\(([^()]*)\)\s*$")
_KNOWN_UNITS = {"mm", "%", "mg", "kg", "cm", "ms", "g/L", "mm Hg", "days", "°C", "mg/day"}


def _unit_from_label(label: str) -> str:
    """A unit written in the field's label, e.g. "sum of diameters (mm)" -> "mm"."""
    m = _UNIT_IN_LABEL.search(label)
    return m.group(1) if m and m.group(1) in _KNOWN_UNITS else ""


def key_columns(*, subject_path: str = "subject", visit_path: str | None = None) -> list[Column]:
    """The columns every row starts with: site, subject (number once enrolled, else the
    screening number), visit (if the record has one) and the record's id."""
    sp = f"{subject_path}__" if subject_path else ""
    cols = [
        Column("site", _("site"), TEXT, f"{sp}site__code", key=True, length=6, system=True),
        Column(
            "subject", _("subject"), TEXT, f"{sp}screening_number", key=True, length=20, system=True
        ),
        Column(
            "subject_number",
            _("subject number"),
            TEXT,
            f"{sp}subject_number",
            key=True,
            length=20,
            system=True,
        ),
    ]
    if visit_path:
        cols.append(
            Column(
                "visit", _("visit"), TEXT, f"{visit_path}__code", key=True, length=10, system=True
            )
        )
    return cols


def record_id() -> Column:
    return Column("id", _("record id"), INTEGER, "pk", key=True)


def table(
    key: str,
    label,
    model_label: str,
    *,
    subject_path: str = "subject",
    visit_path: str | None = None,
    crf: bool = False,
    form_keys: tuple[str, ...] = (),
    skip: Iterable[str] = (),
    units: dict[str, str] | None = None,
    derived: dict[str, str] | None = None,
    extra: Iterable[Column] = (),
    order_by: tuple[str, ...] | None = None,
    description: str = "",
) -> Dataset:
    model = apps.get_model(model_label)
    skip = {*skip, "subject", "visit", "site"}
    cols = [
        *key_columns(subject_path=subject_path, visit_path=visit_path),
        record_id(),
        *extra,
        *model_columns(model, skip=skip, units=units, derived=derived),
    ]
    sp = f"{subject_path}__" if subject_path else ""
    return Dataset(
        key,
        label,
        model,
        tuple(cols),
        subject_path=subject_path,
        visit_path=visit_path,
        crf=crf,
        form_keys=form_keys,
        order_by=order_by or (f"{sp}site__code", f"{sp}screening_number", "pk"),
        description=description,
    )


def value_text(column: Column, value) -> str:
    """A value as it is written to CSV and ODM: ISO dates, date-times in UTC with
    microseconds, "true"/"false", decimals as stored. ``sql_text`` gives the same in SQL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return jsonb_text(value)
    return str(value)


def jsonb_text(value) -> str:
    """JSON as PostgreSQL prints a jsonb value (keys shortest first, ", " and ": "), so a JSON
    cell reads the same in the CSV (written by the database) and in the ODM."""
    import json

    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return (
            "{"
            + ", ".join(
                f"{json.dumps(k, ensure_ascii=False)}: {jsonb_text(value[k])}" for k in keys
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "''''"  # SQL for a one-apostrophe string


def sql_text(column: Column, expr: str) -> str:
    """SQL giving ``value_text`` of ``expr`` (NULL for no value); a text cell made inert in a
    spreadsheet as ``csv_export.escape_cell`` does."""
    if column.data_type == BOOLEAN:
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if column.data_type == DATETIME:
        fmt = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
        return f"to_char(({expr}) AT TIME ZONE 'UTC', '{fmt}')"
    if column.data_type in (INTEGER, FLOAT, DATE) or column.system:
        return f"({expr})::text"
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_START)
    text = f"({expr})::text"
    return f"CASE WHEN left({text}, 1) IN ({starts}) THEN {_QUOTE} || {text} ELSE {text} END"


def value_display(column: Column, value) -> str:
    """A value as a reader sees it (PDF): the code list's decode, units beside numbers."""
    if value is None or value == "":
        return ""
    if column.codelist is not None:
        return column.codelist.decode(value)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    text = value_text(column, value)
    return f"{text} {column.unit}" if column.unit else text


@dataclass
class Catalogue:
    datasets: list[Dataset] = field(default_factory=list)

    def __iter__(self):
        return iter(self.datasets)

    def get(self, key: str) -> Dataset:
        for d in self.datasets:
            if d.key == key:
                return d
        raise KeyError(key)

    def for_model(self, model) -> Dataset | None:
        for d in self.datasets:
            if d.model is model and d.rows_fn is None:
                return d
        return None

    @property
    def crfs(self) -> list[Dataset]:
        return [d for d in self.datasets if d.crf]

    def codelists(self) -> list[CodeList]:
        seen: dict[str, CodeList] = {}
        for d in self.datasets:
            for c in d.columns:
                if c.codelist is not None:
                    seen.setdefault(c.codelist.oid, c.codelist)
        return list(seen.values())


@cache
def catalogue() -> Catalogue:
    """Every dataset, in casebook order (built once: the models do not change at run time)."""
    from django.utils import translation

    from exports.datasets import build

    # built in the default language whatever the request's: code list decodes and units read
    # from labels are the same for every caller (lazy labels still translate when shown)
    with translation.override(settings.LANGUAGE_CODE):
        return Catalogue(build())
