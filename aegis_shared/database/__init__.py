"""Database access, the YAML schema registry and the migration coordinator.

No Dagster imports: services and jobs use this directly; ``aegis_orchestration.resources``
adapts it.
"""

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("db", "aegis_shared.database (schema registry and migrations)")


from aegis_shared.database.errors import (
    DataLossError,
    MigrationFailedError,
    MigrationLockedError,
    NothingToRollBackError,
    RollbackRefusedError,
    SchemaDefinitionError,
    SchemaNotMigratedError,
    SchemaProblem,
    SchemaReferenceError,
)
from aegis_shared.database.migration_coordinator import (
    MigrationCoordinator,
    MigrationResult,
    RollbackResult,
    apply_registry,
    check_schema,
)
from aegis_shared.database.migration_history import HistoryEntry, migration_history
from aegis_shared.database.migration_plan import ImpactReport, MigrationPlan, MigrationStep
from aegis_shared.database.schema_registry import SchemaRegistry, default_registry_dir
from aegis_shared.database.table_schema import (
    ColumnSchema,
    IndexSchema,
    ReferenceSchema,
    TableSchema,
    VersionEntry,
)

__all__ = [
    "ColumnSchema",
    "DataLossError",
    "HistoryEntry",
    "ImpactReport",
    "IndexSchema",
    "MigrationCoordinator",
    "MigrationFailedError",
    "MigrationLockedError",
    "MigrationPlan",
    "MigrationResult",
    "MigrationStep",
    "NothingToRollBackError",
    "ReferenceSchema",
    "RollbackRefusedError",
    "RollbackResult",
    "SchemaDefinitionError",
    "SchemaNotMigratedError",
    "SchemaProblem",
    "SchemaReferenceError",
    "SchemaRegistry",
    "TableSchema",
    "VersionEntry",
    "apply_registry",
    "check_schema",
    "default_registry_dir",
    "migration_history",
]
