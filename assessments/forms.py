"""Forms of the tumour-assessment pages. Field names are the service's error keys
(``targets-2-organ``, ``measurements-T1``), so a refusal lands beside the field at fault."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from assessments import notes, recist
from assessments.models import Lesion

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_TARGETS = 5  # RECIST 4.2: at most 5 target lesions
NON_TARGET_ROWS = 6

METHODS = notes.choices(recist.Method)
KINDS = notes.choices(recist.MeasurementKind, blank=None)
NON_TARGET = notes.choices(recist.NonTargetStatus)
NEW_LESION = notes.choices(recist.NewLesion)
RESPONSES = [("", _("— agree with the computed response —"))] + [
    (r.value, r.value) for r in recist.Response
]
MM = {"step": "0.1", "min": "0", "max": str(recist.MAX_DIAMETER_MM), "inputmode": "decimal"}

ROW_FIELDS = (
    "lesion_id",
    "organ",
    "location",
    "method",
    "slice_thickness_mm",
    "is_node",
    "baseline_date",
    "diameter_mm",
)


def _row_fields(prefix: str, default_id: str, target: bool) -> dict[str, forms.Field]:
    small = {"class": "form-control form-control-sm"}
    return {
        f"{prefix}-lesion_id": forms.CharField(
            label=_("Lesion"),
            max_length=10,
            required=False,
            initial=default_id,
            widget=forms.TextInput(attrs=small | {"size": 4}),
        ),
        f"{prefix}-organ": forms.CharField(
            label=_("Organ / site"),
            max_length=60,
            required=False,
            widget=forms.TextInput(attrs=small),
        ),
        f"{prefix}-location": forms.CharField(
            label=_("Location"),
            max_length=200,
            required=False,
            widget=forms.TextInput(attrs=small),
        ),
        f"{prefix}-method": forms.ChoiceField(
            label=_("Method"),
            choices=METHODS,
            required=False,
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        ),
        f"{prefix}-slice_thickness_mm": edc.DecimalField(
            label=_("Slice (mm)"),
            required=False,
            widget=forms.NumberInput(attrs=small | MM),
        ),
        f"{prefix}-is_node": forms.BooleanField(
            label=_("Node"),
            required=False,
            widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        ),
        f"{prefix}-baseline_date": edc.DateField(
            label=_("Scan date"),
            required=False,
            widget=forms.DateInput(attrs=small | {"type": "date"}, format="%Y-%m-%d"),
        ),
        f"{prefix}-diameter_mm": edc.DecimalField(
            label=_("Diameter (mm)") if target else _("Diameter (mm, optional)"),
            required=False,
            widget=forms.NumberInput(attrs=small | MM),
        ),
    }


class BaselineForm(edc.Form):
    """Up to 5 target rows and some non-target rows; empty rows are ignored."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(MAX_TARGETS):
            self.fields.update(_row_fields(f"targets-{i}", f"T{i + 1}", True))
        for i in range(NON_TARGET_ROWS):
            self.fields.update(_row_fields(f"non_targets-{i}", f"NT{i + 1}", False))

    def rows(self, group: str):
        """Bound fields per row, for the template: [(index, [bound field, ...])]."""
        count = MAX_TARGETS if group == "targets" else NON_TARGET_ROWS
        return [(i, [self[f"{group}-{i}-{name}"] for name in ROW_FIELDS]) for i in range(count)]

    def target_rows(self):
        return self.rows("targets")

    def non_target_rows(self):
        return self.rows("non_targets")

    def lesions(self, group: str) -> list[dict]:
        """The filled rows as the service's dicts (a row counts once its organ or size is
        given); rows keep their index so errors find their row."""
        count = MAX_TARGETS if group == "targets" else NON_TARGET_ROWS
        out = []
        for i in range(count):
            data = {name: self.cleaned_data.get(f"{group}-{i}-{name}") for name in ROW_FIELDS}
            if not (data["organ"] or data["diameter_mm"] is not None or data["location"]):
                continue
            out.append(data)
        return out

    def clean(self):
        cleaned = super().clean()
        for group, count in (("targets", MAX_TARGETS), ("non_targets", NON_TARGET_ROWS)):
            filled = 0
            for i in range(count):
                organ = cleaned.get(f"{group}-{i}-organ")
                size = cleaned.get(f"{group}-{i}-diameter_mm")
                if not (organ or size is not None or cleaned.get(f"{group}-{i}-location")):
                    continue
                if filled != i:  # the service numbers rows by position: keep them contiguous
                    self.add_error(
                        f"{group}-{i}-organ",
                        ValidationError(_("Fill the rows from the top."), code="row_gap"),
                    )
                filled += 1
        return cleaned


class TimepointForm(edc.Form):
    """One assessment: a result per baseline target lesion, non-target status, new lesions."""

    version = edc.VersionField(required=False)
    scan_date = edc.DateField(label=_("Scan date"), widget=DATE)
    non_target_status = forms.ChoiceField(
        label=_("Non-target lesions"), choices=NON_TARGET, required=False
    )
    new_lesion = forms.ChoiceField(label=_("New lesion"), choices=NEW_LESION)
    confirms_equivocal = forms.BooleanField(
        label=_("This new lesion is the equivocal one of the assessment before"),
        help_text=_("Progression is then dated back to that scan (RECIST 4.3.4)."),
        required=False,
    )
    investigator_response = forms.ChoiceField(
        label=_("Investigator's response"), choices=RESPONSES, required=False
    )
    disagreement_reason = forms.CharField(
        label=_("Reason for disagreement"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reason = forms.CharField(
        label=_("Reason for change"), required=False, max_length=500, widget=forms.TextInput
    )

    def __init__(self, *args, targets: list[Lesion], has_non_targets: bool, correcting=False, **kw):
        super().__init__(*args, **kw)
        self.targets = targets
        for lesion in targets:
            self.fields[f"measurements-{lesion.lesion_id}"] = forms.ChoiceField(
                label=lesion.lesion_id,
                choices=KINDS,
                initial=recist.MeasurementKind.MEASURED.value,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
            others = [(x.lesion_id, x.lesion_id) for x in targets if x != lesion]
            self.fields[f"measurements-{lesion.lesion_id}-into"] = forms.ChoiceField(
                label=_("merged into"),
                choices=[("", "—")] + others,
                required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm merged-into"}),
            )
            self.fields[f"measurements-{lesion.lesion_id}-mm"] = edc.DecimalField(
                label=_("mm"),
                required=False,
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"} | MM),
            )
        if not has_non_targets:
            del self.fields["non_target_status"]
        if correcting:
            self.fields["version"].required = True
        else:
            del self.fields["reason"]
            del self.fields["version"]

    def measurement_rows(self):
        return [
            (
                lesion,
                self[f"measurements-{lesion.lesion_id}"],
                self[f"measurements-{lesion.lesion_id}-mm"],
                self[f"measurements-{lesion.lesion_id}-into"],
            )
            for lesion in self.targets
        ]

    def measurements(self) -> dict[str, tuple[str, object, str | None]]:
        data = self.cleaned_data
        return {
            lesion.lesion_id: (
                data.get(f"measurements-{lesion.lesion_id}") or "",
                data.get(f"measurements-{lesion.lesion_id}-mm"),
                data.get(f"measurements-{lesion.lesion_id}-into") or None,
            )
            for lesion in self.targets
        }

    def entries(self) -> dict:
        """The service's keyword arguments (except subject, by, version and reason)."""
        data = self.cleaned_data
        return {
            "scan_date": data.get("scan_date"),
            "measurements": self.measurements(),
            "non_target_status": data.get("non_target_status") or "",
            "new_lesion": data.get("new_lesion") or "",
            "investigator_response": data.get("investigator_response") or "",
            "disagreement_reason": data.get("disagreement_reason") or "",
            "confirms_equivocal": bool(data.get("confirms_equivocal")),
        }


class LesionForm(edc.ModelForm):
    """Correct one baseline lesion (reason required)."""

    version = edc.VersionField()
    reason = forms.CharField(label=_("Reason for change"), max_length=500)

    class Meta:
        model = Lesion
        fields = [
            "organ",
            "location",
            "method",
            "slice_thickness_mm",
            "is_node",
            "baseline_date",
            "baseline_diameter_mm",
        ]
        widgets = {"baseline_date": DATE}


__all__ = ["BaselineForm", "LesionForm", "TimepointForm"]
