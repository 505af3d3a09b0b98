"""The IRT step of a run: calibrate and score one achievement-monitoring administration.

The administration's booklets are read through the database's ``response_file`` records (each
file checked against its recorded SHA-256) and stacked into one booklet design. Each domain
(the ``subject`` of its items) is calibrated on its own with the model of each item type
(:data:`sapa.domain.assessment.DEFAULT_IRT_MODEL`), pupils are scored by EAP, and plausible
values are drawn with a latent-regression population model on the pupils' background (the
PISA/NAEP method), then put on a reporting scale of mean 500 and SD 100 in this year's
population.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from sapa.domain.assessment import (
    DEFAULT_IRT_MODEL,
    Administration,
    AssessmentProgramme,
    Booklet,
    BookletItem,
    Item,
    ResponseFile,
    Subject,
)
from sapa.errors import StoreError
from sapa.irt.dif import mantel_haenszel
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank
from sapa.irt.plausible import PlausibleValues
from sapa.irt.scales import ReportingScale
from sapa.irt.score import score
from sapa.store.columnar import read_responses, stack_responses

__all__ = [
    "BACKGROUND",
    "DomainResult",
    "item_results",
    "monitoring_administrations",
    "score_administration",
]

BACKGROUND = ("language", "locality", "sex", "low_income")
"""Background variables of the population model (conditioning variables)."""


@dataclass(frozen=True)
class DomainResult:
    """One domain of one administration: the calibration, scores and DIF by language.

    ``scores`` holds the plausible values on the reporting scale (index: pupil code, columns
    PV1…PVM); ``eap`` the EAP estimates on the θ scale; ``dif`` the Mantel–Haenszel table of
    Russian- against Kazakh-medium pupils (dichotomous items); ``items`` one row per item in the
    layout of :class:`sapa.domain.quality.ItemResult` (without the run).
    """

    administration: str
    domain: str
    grade: int
    parameters: pd.DataFrame
    model: IRTModel
    scale: ReportingScale
    scores: pd.DataFrame
    eap: pd.Series
    dif: pd.DataFrame
    items: pd.DataFrame


def monitoring_administrations(engine: Engine, year: int) -> list[tuple[str, int]]:
    """Codes and grades of the year's achievement-monitoring administrations with responses."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Administration.code, AssessmentProgramme.grade)
            .join(AssessmentProgramme)
            .where(
                Administration.year == year,
                AssessmentProgramme.kind == "achievement_monitoring",
                Administration.id.in_(select(ResponseFile.administration_id)),
            )
            .order_by(Administration.code)
        ).all()
    return [(code, int(grade)) for code, grade in rows]


def read_administration(
    engine: Engine, data_dir: Path, code: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The administration's responses (pupils × items, −1 missing) and its items' domain and
    type, read through the database."""
    with engine.connect() as connection:
        files = connection.execute(
            select(ResponseFile.path, ResponseFile.sha256)
            .join(Administration, ResponseFile.administration_id == Administration.id)
            .where(Administration.code == code, ResponseFile.content == "responses")
            .order_by(ResponseFile.code)
        ).all()
        items = pd.DataFrame(
            connection.execute(
                select(Item.code, Subject.code, Item.item_type)
                .distinct()
                .join(Subject, Item.subject_id == Subject.id)
                .join(BookletItem, BookletItem.item_id == Item.id)
                .join(Booklet, BookletItem.booklet_id == Booklet.id)
                .join(Administration, Booklet.administration_id == Administration.id)
                .where(Administration.code == code)
            ).all(),
            columns=["item", "domain", "item_type"],
        ).set_index("item")
    if not files:
        raise StoreError(f"No response files are registered for administration {code}.")
    stacked = stack_responses(
        [read_responses(data_dir / path, expected_sha256=sha) for path, sha in files]
    )
    responses = pd.DataFrame(
        stacked.values, index=list(stacked.person_codes), columns=list(stacked.item_codes)
    )
    return responses, items.loc[[c for c in responses.columns if c in items.index]]


def score_administration(
    engine: Engine,
    data_dir: Path,
    code: str,
    grade: int,
    pupils: pd.DataFrame,
    *,
    n_plausible: int = 5,
    rng: np.random.Generator,
) -> list[DomainResult]:
    """Calibrate and score every domain of one administration.

    ``pupils`` is indexed by pupil code and holds the :data:`BACKGROUND` columns; pupils with
    responses but no record are refused.
    """
    responses, items = read_administration(engine, data_dir, code)
    unknown = responses.index.difference(pupils.index)
    if len(unknown):
        raise StoreError(
            f"{len(unknown)} pupils in the responses of {code} have no student record "
            f"(e.g. {', '.join(unknown[:3])})."
        )
    background = pupils.loc[responses.index, list(BACKGROUND)].astype(str)
    results = []
    for domain, domain_items in items.groupby("domain", sort=True):
        codes = list(domain_items.index)
        data = responses[codes]
        answered = (data.to_numpy() >= 0).any(axis=1)
        data = data[answered]
        models = [DEFAULT_IRT_MODEL[t] for t in domain_items["item_type"]]
        model = IRTModel(model=models).fit(data)
        bank = model.item_bank_
        matrix = data.to_numpy()
        eap = score(bank, matrix, method="EAP")
        language = background.loc[data.index, "language"]
        dif = mantel_haenszel(
            data, language, focal="ru", reference="kk", matching=np.round(eap.theta * 2) / 2
        )
        pv = PlausibleValues(n_draws=n_plausible, rng=rng).fit(
            bank, matrix, background=background.loc[data.index].reset_index(drop=True)
        )
        values = pv.values_.to_numpy()
        scale = ReportingScale.from_plausible_values(values)
        parameters = model.result_.parameter_table()
        results.append(
            DomainResult(
                administration=code,
                domain=str(domain),
                grade=grade,
                parameters=parameters,
                model=model,
                scale=scale,
                scores=pd.DataFrame(
                    scale.to_scale(values),
                    index=data.index,
                    columns=[f"PV{k + 1}" for k in range(values.shape[1])],
                ),
                eap=pd.Series(eap.theta, index=data.index, name="eap"),
                dif=dif.table.assign(domain=domain),
                items=item_results(code, str(domain), bank, matrix, dif.table),
            )
        )
    return results


def _optional(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def item_results(
    administration: str, domain: str, bank: ItemBank, matrix: np.ndarray, dif: pd.DataFrame
) -> pd.DataFrame:
    """One row per item: slope–intercept parameters as JSON, the classical facility and
    item–rest correlation over the pupils who answered it, and its Mantel–Haenszel DIF."""
    answered = matrix >= 0
    scores = np.where(answered, matrix, 0).astype(np.float64)
    totals = scores.sum(axis=1)
    by_item = dif  # indexed by item
    rows = []
    for j, item in enumerate(bank.names):
        mask = answered[:, j]
        own = scores[mask, j]
        rest = totals[mask] - own
        varies = own.size > 2 and own.std() > 0 and rest.std() > 0
        intercepts = bank.intercepts[j][~np.isnan(bank.intercepts[j])]
        parameters = {
            "a": round(float(bank.slopes[j]), 6),
            "d": [round(float(d), 6) for d in intercepts],
            "g": round(float(bank.guessing[j]), 6),
        }
        row = by_item.loc[item] if item in by_item.index else None
        rows.append(
            {
                "administration": administration,
                "item": item,
                "domain": domain,
                "model": bank.models[j],
                "parameters": json.dumps(parameters),
                "n": int(mask.sum()),
                "p_value": float(own.mean() / (bank.n_categories[j] - 1)) if own.size else None,
                "item_rest": float(np.corrcoef(own, rest)[0, 1]) if varies else None,
                "dif_delta": None if row is None else _optional(row["delta_mh"]),
                "dif_se": None if row is None else _optional(row["se_delta"]),
                "dif_class": (
                    None if row is None or pd.isna(row["ets_class"]) else str(row["ets_class"])
                ),
            }
        )
    return pd.DataFrame(rows)
