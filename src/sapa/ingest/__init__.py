"""Validated, atomic import and export of every entity of the data model.

The file layout of each entity is derived from the SQLAlchemy metadata (:func:`entity_schema`),
so a new entity is importable and exportable without code here. ``docs/data-formats.md`` is
generated from the same schemas by ``python -m sapa.ingest.docs``.

>>> from sapa.ingest import entity_schema
>>> from sapa.domain.geography import District
>>> entity_schema(District).field_names
('code', 'region_code', 'name_en', 'name_kk', 'name_ru')
"""

from sapa.ingest._export import export_all, export_entity, file_layout_select, read_entity
from sapa.ingest._load import (
    EntityCounts,
    ImportReport,
    ProgressCallback,
    import_files,
    import_tables,
)
from sapa.ingest._readers import FORMATS, RawTable, collect_files, read_table
from sapa.ingest._reference import initialise
from sapa.ingest._schema import EntitySchema, FieldSpec, Range, entity_schema, entity_schemas
from sapa.ingest._status import region_counts, region_path, row_counts
from sapa.ingest._validate import CHUNK_SIZE, MAX_PROBLEMS

__all__ = [
    "CHUNK_SIZE",
    "FORMATS",
    "MAX_PROBLEMS",
    "EntityCounts",
    "EntitySchema",
    "FieldSpec",
    "ImportReport",
    "ProgressCallback",
    "Range",
    "RawTable",
    "collect_files",
    "entity_schema",
    "entity_schemas",
    "export_all",
    "export_entity",
    "file_layout_select",
    "import_files",
    "import_tables",
    "initialise",
    "read_entity",
    "read_table",
    "region_counts",
    "region_path",
    "row_counts",
]
