"""Coded exceptions raised by the schema registry, the migration coordinator and the access layer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aegis_shared.errors import DatabaseError, ValidationError


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One problem in one schema file: where it is and what is wrong."""

    file: str
    line: int | None
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        loc = f" [{self.location}]" if self.location else ""
        return f"{where}{loc}: {self.message}"


def _problem_details(problems: list[SchemaProblem]) -> dict[str, Any]:
    return {"problems": [asdict(problem) for problem in problems]}


class SchemaDefinitionError(ValidationError):
    """VALID_3012: one or more schema files are malformed; ``problems`` lists each one."""

    def __init__(self, problems: list[SchemaProblem]) -> None:
        self.problems = list(problems)
        text = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            "VALID_3012",
            f"{len(self.problems)} schema problem(s):\n{text}",
            details=_problem_details(problems),
        )


class SchemaReferenceError(DatabaseError):
    """DB_4010: references point at a missing table or column, a wrong type, or form a cycle."""

    def __init__(self, problems: list[SchemaProblem]) -> None:
        self.problems = list(problems)
        text = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            "DB_4010",
            f"{len(self.problems)} reference problem(s):\n{text}",
            details=_problem_details(problems),
        )


class MigrationLockedError(DatabaseError):
    """DB_4009: another coordinator holds the migration advisory lock."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("DB_4009", message)


class DataLossError(DatabaseError):
    """DB_4008: the change set drops data and ``allow_data_loss`` was not given."""

    def __init__(self, risks: list[str]) -> None:
        self.risks = list(risks)
        super().__init__(
            "DB_4008",
            "Migration would lose data: " + "; ".join(self.risks),
            details={"risks": self.risks},
        )


class MigrationFailedError(DatabaseError):
    """DB_4007: a step failed; the transaction rolled back and the schema is as before."""

    def __init__(self, message: str, *, step: int, sql: str, cause: str) -> None:
        self.step = step
        super().__init__("DB_4007", message, details={"step": step, "sql": sql, "cause": cause})


MIGRATE_HINT = "run `aegis schema migrate` (or the Dagster job `schema_migrate_job`)"


class SchemaNotMigratedError(DatabaseError):
    """DB_4020: the database is not at the registry's version; resources never migrate it."""

    def __init__(self, *, expected: str, found: str | None) -> None:
        state = "has never been migrated" if found is None else f"is at schema version {found}"
        super().__init__(
            "DB_4020",
            f"The database {state}, but this code expects schema version {expected}: {MIGRATE_HINT}",
            details={"expected": expected, "found": found, "command": "aegis schema migrate"},
        )


class RollbackRefusedError(DatabaseError):
    """DB_4021: the last migration has steps that cannot be undone mechanically."""

    def __init__(self, migration_id: int, steps: list[str]) -> None:
        super().__init__(
            "DB_4021",
            f"Migration {migration_id} is not purely additive; cannot roll back: " + "; ".join(steps),
            details={"migration_id": migration_id, "steps": steps},
        )


class NothingToRollBackError(DatabaseError):
    """DB_4022: no applied migration is left to undo."""

    def __init__(self) -> None:
        super().__init__("DB_4022", "No applied migration to roll back")
