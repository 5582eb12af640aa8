"""Accounts, roles, passwords and sign-in tokens, stored in PostgreSQL.

Passwords are hashed with Argon2id (argon2-cffi). Tokens are random secrets handed to the client
once; only their SHA-256 is stored. Failed sign-ins are counted per typed account and client
address (`authenticate`): after `FREE_FAILURES` that pair waits a time that doubles with each
further failure; no one can lock an account out for others.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import class_row

from geo.capabilities import ROLES, Capability, capabilities_of
from geo.errors import InvalidInput, NattvandringError, NotFound

logger = logging.getLogger(__name__)

FREE_FAILURES = 5
MAX_LOCK = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(hours=24)  # failures older than this are forgotten
BEARER_TTL = timedelta(minutes=60)
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that an unknown account takes as long to
# refuse as a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class Unauthorized(NattvandringError):
    """No valid sign-in (missing, wrong or expired credentials)."""

    code = "unauthorized"


class TooManyAttempts(NattvandringError):
    """Too many failed sign-ins for an account; try again after ``retry_after_s`` seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class User:
    """A signed-in account; what it may do is `capabilities` (from its role's table row)."""

    id: int
    email: str
    role: str
    organisation_id: int
    organisation: str
    disabled: bool = False

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities_of(self.role)

    def can(self, capability: Capability) -> bool:
        """Whether the user has ``capability``."""
        return capability in self.capabilities


# Column names are User's fields: the rows come back as `User` (psycopg's class_row).
_USER_SELECT = """
    SELECT u.id, u.email, u.role, u.organisation_id, o.name AS organisation, u.disabled
    FROM users u JOIN organisations o ON o.id = u.organisation_id
"""


def _users(conn: psycopg.Connection, tail: str, params: tuple[object, ...] = ()) -> list[User]:
    """The users of ``_USER_SELECT`` + ``tail`` (joins, WHERE, ORDER BY)."""
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(_USER_SELECT + tail, params).fetchall()


def add_user(
    conn: psycopg.Connection,
    email: str,
    password: str,
    *,
    role: str,
    organisation: str,
    display_name: str | None = None,
) -> User:
    """Create a user (and the organisation, if new); the password is stored hashed.

    ``display_name`` (e.g. a first name) is what other walkers of the club see.
    """
    email = email.strip()
    if display_name is not None and not 0 < len(display_name.strip()) <= 80:
        raise InvalidInput("the display name must have 1–80 characters", field="display_name")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}", field="role")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users WHERE lower(email) = lower(%s)", (email,)).fetchone():
            raise InvalidInput(f"a user {email} exists already", field="email")
        org = conn.execute(
            """
            INSERT INTO organisations (name, kind) VALUES (%s, 'other')
            ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
            RETURNING id
            """,
            (organisation.strip(),),
        ).fetchone()
        assert org is not None
        row = conn.execute(
            "INSERT INTO users (email, password_hash, role, organisation_id, display_name) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (email, _hasher.hash(password), role, org[0], display_name and display_name.strip()),
        ).fetchone()
        assert row is not None
    return get_user(conn, int(row[0]))


DEMO_USERS = (
    ("vandrare@demo.nattvandring.example", "walker", "Älvsjö AIK"),
    ("planerare@demo.nattvandring.example", "planner", "Hägersten-Älvsjö stadsdelsförvaltning"),
    ("polis@demo.nattvandring.example", "partner", "Polisen"),
    ("admin@demo.nattvandring.example", "admin", "Hägersten-Älvsjö stadsdelsförvaltning"),
)


def add_demo_users(conn: psycopg.Connection) -> list[tuple[User, str]]:
    """Create the demo users that do not exist yet, one per role, with random passwords.

    Returns the new users with their passwords, to be shown once; nothing stores a password in
    clear, so a second call returns an empty list (``users password`` sets a new one).
    """
    made = []
    for email, role, organisation in DEMO_USERS:
        if conn.execute("SELECT 1 FROM users WHERE lower(email) = %s", (email,)).fetchone():
            continue
        password = secrets.token_urlsafe(12)
        made.append(
            (add_user(conn, email, password, role=role, organisation=organisation), password)
        )
    return made


def set_password(conn: psycopg.Connection, email: str, password: str) -> None:
    """Set a new password; the user's sign-ins end and the delays of failed sign-ins end."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    with conn.transaction():
        row = conn.execute(
            "UPDATE users SET password_hash = %s, failed_logins = 0, locked_until = NULL "
            "WHERE lower(email) = lower(%s) RETURNING id",
            (_hasher.hash(password), email.strip()),
        ).fetchone()
        if row is None:
            raise NotFound(f"no user {email}")
        conn.execute("DELETE FROM auth_tokens WHERE user_id = %s", (row[0],))
        conn.execute(
            "DELETE FROM sign_in_failures WHERE account_sha256 = %s", (_account_key(email),)
        )


def get_user(conn: psycopg.Connection, user_id: int) -> User:
    found = _users(conn, " WHERE u.id = %s", (user_id,))
    if not found:
        raise NotFound(f"no user {user_id}")
    return found[0]


def list_users(conn: psycopg.Connection) -> list[User]:
    return _users(conn, " ORDER BY lower(u.email)")


def disable_user(conn: psycopg.Connection, email: str) -> None:
    """Disable a user and end all their sign-ins at once."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE users SET disabled = true WHERE lower(email) = lower(%s) RETURNING id",
            (email,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no user {email}")
        conn.execute("DELETE FROM auth_tokens WHERE user_id = %s", (row[0],))


def _account_key(email: str) -> str:
    """The throttle's key of a typed e-mail: SHA-256 of it trimmed and in lower case."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def sign_in_delay(failures: int) -> timedelta:
    """How long a client waits after ``failures`` failed sign-ins in a row (account and address).

    The first ``FREE_FAILURES - 1`` cost nothing; then 30 s, doubling with each further failure,
    at most `MAX_LOCK`.

    >>> [int(sign_in_delay(n).total_seconds()) for n in (1, 4, 5, 6, 7, 20)]
    [0, 0, 30, 60, 120, 900]
    """
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=30 * 2 ** min(failures - FREE_FAILURES, 20)), MAX_LOCK)


def authenticate(
    conn: psycopg.Connection,
    email: str,
    password: str,
    *,
    address: str,
    now: datetime | None = None,
) -> User:
    """The user with this e-mail and password, or `Unauthorized` / `TooManyAttempts`.

    Failed sign-ins are counted per (typed e-mail, client ``address``), whether or not the
    account exists: after `FREE_FAILURES` the pair waits `sign_in_delay`, so that the same
    answers come for unknown accounts, and wrong passwords from one address do not keep the
    account's owner out from another. Each delay is logged for the administrator.
    """
    now = now or datetime.now(UTC)
    refused = Unauthorized("wrong e-mail or password")
    key = _account_key(email)
    address = (address or "unknown")[:100]
    # The failure counter must be committed although the sign-in is refused: decide inside the
    # transaction, raise after it.
    error: Exception | None = None
    with conn.transaction():
        # One attempt at a time per (account, address): a burst of parallel guesses cannot slip
        # past the delay that the first of them sets.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 18))", (key + address,))
        throttle = conn.execute(
            "SELECT failures, blocked_until, last_failed_at FROM sign_in_failures "
            "WHERE account_sha256 = %s AND address = %s",
            (key, address),
        ).fetchone()
        failures = 0
        if throttle is not None:
            failures, blocked_until, last_failed_at = throttle
            if blocked_until is not None and blocked_until > now:
                wait = int((blocked_until - now).total_seconds()) + 1
                raise TooManyAttempts(
                    f"too many failed sign-ins for this account from your address: try again "
                    f"in {wait} s",
                    retry_after_s=wait,
                )
            if now - last_failed_at > FAILURE_MEMORY:
                failures = 0
        row = conn.execute(
            "SELECT id, password_hash, disabled FROM users WHERE lower(email) = lower(%s)",
            (email.strip(),),
        ).fetchone()
        try:
            if row is None:
                # An unknown account takes as long to refuse as a wrong password (no account
                # enumeration by timing).
                _hasher.verify(_DUMMY_HASH, password)
                raise VerificationError("unknown account")
            _hasher.verify(row[1], password)
        except (VerificationError, InvalidHashError):
            failures += 1
            delay = sign_in_delay(failures)
            conn.execute(
                "INSERT INTO sign_in_failures (account_sha256, address, failures, "
                "last_failed_at, blocked_until) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (account_sha256, address) DO UPDATE SET failures = "
                "EXCLUDED.failures, last_failed_at = EXCLUDED.last_failed_at, "
                "blocked_until = EXCLUDED.blocked_until",
                (key, address, failures, now, now + delay if delay else None),
            )
            if delay:
                logger.warning(
                    "sign-in delayed %d s after %d failed attempts for %s from %s",
                    delay.total_seconds(),
                    failures,
                    f"the account {email.strip()[:100]!r}" if row else "an unknown account",
                    address,
                )
            error = refused
        else:
            user_id, pw_hash, disabled = row
            if disabled:
                raise Unauthorized("this account is disabled")
            conn.execute(
                "DELETE FROM sign_in_failures WHERE account_sha256 = %s AND address = %s",
                (key, address),
            )
            if _hasher.check_needs_rehash(pw_hash):
                conn.execute(
                    "UPDATE users SET password_hash = %s WHERE id = %s",
                    (_hasher.hash(password), user_id),
                )
    if error is not None or row is None:
        raise error or refused
    return get_user(conn, int(row[0]))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: psycopg.Connection, user: User, *, kind: str = "bearer") -> str:
    """A new random token of ``kind`` ('bearer' or 'session') for ``user``."""
    token = secrets.token_urlsafe(32)
    ttl = BEARER_TTL if kind == "bearer" else SESSION_TTL
    with conn.transaction():
        conn.execute("DELETE FROM auth_tokens WHERE expires_at < now()")
        conn.execute(
            "INSERT INTO auth_tokens (token_sha256, user_id, kind, expires_at) "
            "VALUES (%s, %s, %s, now() + %s)",
            (_digest(token), user.id, kind, ttl),
        )
    return token


def revoke_token(conn: psycopg.Connection, token: str) -> None:
    """End one sign-in (sign-out)."""
    with conn.transaction():
        conn.execute("DELETE FROM auth_tokens WHERE token_sha256 = %s", (_digest(token),))


def user_for_token(conn: psycopg.Connection, token: str, *, kind: str) -> User | None:
    """The enabled user a live token of ``kind`` belongs to, or None."""
    found = _users(
        conn,
        " JOIN auth_tokens t ON t.user_id = u.id "
        "WHERE t.token_sha256 = %s AND t.kind = %s AND t.expires_at > now() AND NOT u.disabled",
        (_digest(token), kind),
    )
    return found[0] if found else None
