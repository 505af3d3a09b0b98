"""Runtime settings: where the database is, which locale and compute backend to use.

Only runtime concerns live here. Model hyperparameters are explicit arguments or saved parameter
tables, never global configuration. Values come from ``SAPA_*`` environment variables or a ``.env``
file in the working directory.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Sapa's runtime settings (environment prefix ``SAPA_``)."""

    model_config = SettingsConfigDict(env_prefix="SAPA_", env_file=".env", extra="ignore")

    database_url: str | None = None
    """SQLAlchemy URL. Unset means the embedded SQLite file ``<data_dir>/sapa.sqlite``;
    production uses ``postgresql+psycopg://user:password@host/db``."""

    data_dir: Path = Path("sapa-data")
    """Folder for the embedded database and the columnar (Parquet) assessment data."""

    locale: str = "kk"
    """Default user-interface language: ``kk``, ``ru`` or ``en``."""

    compute_backend: str = "numpy"
    """IRT engine backend: ``numpy`` (default), ``torch`` or ``dask``."""

    secure_cookies: bool = True
    """Mark the web session cookie ``Secure`` (sent over HTTPS only). Turn off only to serve
    plain HTTP on a loopback address."""

    dask_scheduler: str | None = None
    """Address of a Dask scheduler for the ``dask`` backend; ``None`` starts a local cluster."""

    as_of: dt.date | None = None
    """The web application's working day for deadlines and overdue cases; ``None`` (the
    default) is the calendar day. The demonstration sets the synthetic nation's date."""

    def resolved_database_url(self) -> str:
        """The database URL actually used: the configured one, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sapa.sqlite').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
