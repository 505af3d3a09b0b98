"""Accounts, sessions and the audit trail of the web application.

These tables are the application's own records, not national education data: they are never
imported or exported as files (``__file_entity__ = False``), and a password is stored only as
its Argon2id hash.

Every account has one role and, for the roles below the ministry, one place in the hierarchy
(``scope_code``): a region code for ``region``, a district code for ``district``, a school
(organization) code for ``school`` and a teacher code for ``teacher``. The web application's
data-access layer reads this scope on every request; nothing else decides what a user sees.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, reference, str_enum

__all__ = ["AuditEvent", "LoginAttempt", "LoginSession", "Role", "UserAccount"]


class Role(enum.StrEnum):
    """What a user is: the level of the hierarchy they work at, or their function."""

    MINISTRY = "ministry"
    REGION = "region"
    DISTRICT = "district"
    SCHOOL = "school"
    TEACHER = "teacher"
    ANALYST = "analyst"
    AUDITOR = "auditor"


class UserAccount(Base):
    """A person who signs in to the web application."""

    __tablename__ = "user_account"
    __natural_key__ = ("username",)
    __file_entity__ = False

    username: Mapped[str] = mapped_column(
        String(60), unique=True, comment="Sign-in name, lower case."
    )
    display_name: Mapped[str] = mapped_column(String(120), comment="Name shown in the interface.")
    role: Mapped[Role] = mapped_column(str_enum(Role), comment="Role; see Role.")
    scope_code: Mapped[str | None] = mapped_column(
        String(40),
        comment="Region, district, school or teacher code the account is limited to; empty for "
        "ministry, analyst and auditor accounts.",
    )
    language: Mapped[str] = mapped_column(String(2), comment="Interface language: kk, ru or en.")
    password_hash: Mapped[str] = mapped_column(String(200), comment="Argon2id hash.")
    active: Mapped[bool] = mapped_column(default=True, comment="False blocks sign-in.")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When the account was made (UTC).")


class LoginSession(Base):
    """A signed-in browser: the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "login_session"
    __natural_key__ = ("token_sha256",)
    __file_entity__ = False

    token_sha256: Mapped[str] = mapped_column(
        String(64), unique=True, comment="SHA-256 of the session token, hex."
    )
    user_account_id: Mapped[int] = reference("user_account", "Account signed in.")
    csrf_token: Mapped[str] = mapped_column(
        String(64), comment="Token every state-changing request must echo."
    )
    created_at: Mapped[dt.datetime] = mapped_column(comment="Sign-in time (UTC).")
    last_seen_at: Mapped[dt.datetime] = mapped_column(comment="Last request (UTC).")
    expires_at: Mapped[dt.datetime] = mapped_column(comment="Absolute expiry (UTC).")


class LoginAttempt(Base):
    """One sign-in attempt, kept for rate limiting and for the audit trail."""

    __tablename__ = "login_attempt"
    __natural_key__ = ("username", "client", "at")
    __file_entity__ = False

    username: Mapped[str] = mapped_column(String(60), index=True, comment="Name tried.")
    client: Mapped[str] = mapped_column(String(64), index=True, comment="Client address.")
    at: Mapped[dt.datetime] = mapped_column(index=True, comment="When (UTC).")
    succeeded: Mapped[bool] = mapped_column(comment="Whether the password was right.")


class AuditEvent(Base):
    """A read of personal data or restricted records, or a change, by a signed-in user."""

    __tablename__ = "audit_event"
    __natural_key__ = ("at", "username", "action", "entity")
    __file_entity__ = False

    at: Mapped[dt.datetime] = mapped_column(index=True, comment="When (UTC).")
    username: Mapped[str] = mapped_column(String(60), index=True, comment="Who.")
    role: Mapped[Role] = mapped_column(str_enum(Role), comment="Their role at the time.")
    action: Mapped[str] = mapped_column(String(20), comment="read, export, sign_in, sign_out.")
    entity: Mapped[str] = mapped_column(String(60), comment="Entity or page read.")
    detail: Mapped[str] = mapped_column(String(500), comment="Filters, record codes or path.")
    rows: Mapped[int] = mapped_column(comment="Records returned.")
