"""The live schema, reflected once, and the two ways of measuring a revision's replayed schema
against it: a distance kept up to date table by table as the replay goes, and alembic's
autogenerate comparison (see :mod:`migdoctor.database.schema_history`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from migdoctor.database.bounds import gave_up_waiting
from migdoctor.database.drift import compared
from migdoctor.errors import describe_exception
from migdoctor.facts.model import RevisionSchemaComparison, SchemaDifference, TableFact
from migdoctor.operations.replay import ReplayedSchema

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import Column, Table
    from sqlalchemy.engine import Inspector

    from migdoctor.database.drift_cache import ComparisonCache

TableKey = tuple[str | None, str]


class _LiveTable:
    """A live table as the distance needs it."""

    def __init__(self, columns: dict[str, Column[Any]], indexes: set[str]) -> None:
        self.columns = columns
        self.indexes = indexes


class Measured:
    """A replayed schema with its distance from the live one, kept up to date table by
    table: ``contributions`` holds what each table changed so far adds to the distance."""

    def __init__(
        self, schema: ReplayedSchema, distance: int, contributions: dict[TableKey, int]
    ) -> None:
        self.schema = schema
        self.distance = distance
        self.contributions = contributions

    def copy(self) -> Measured:
        return Measured(self.schema.copy(), self.distance, dict(self.contributions))


class Measure:
    """The live schema, reflected once, and the two ways of measuring a revision against it."""

    def __init__(
        self,
        context: MigrationContext,
        inspector: Inspector,
        default_schema: str | None,
        case_insensitive: bool,
        history_tables: set[TableKey],
        history_indexes: set[str],
        reflected: Sequence[TableFact],
        live_names: Sequence[str],
        cache: ComparisonCache | None = None,
    ) -> None:
        self.context = context
        self.cache = cache
        self.reflected = reflected
        self.live_names = live_names
        self.inspector = inspector
        self.default_schema = default_schema
        self.case_insensitive = case_insensitive
        # every table some revision names (as this database matches names): a live table
        # outside them is untracked, not a difference
        self.history_tables = {(self._schema(s), self._name(n)) for s, n in history_tables}
        self.history_indexes = history_indexes
        self._live: dict[str | None, dict[str, _LiveTable]] = {}
        self._table_distance: dict[Table, int] = {}

    def _refers_to(self, difference: SchemaDifference) -> TableKey | None:
        """The table a foreign key difference points at, as the keys here name tables."""
        if not difference.refers_to:
            return None
        schema, _, name = difference.refers_to.rpartition(".")
        return (self._schema(schema or None), self._name(name))

    def _schema(self, schema: str | None) -> str | None:
        return None if schema is None or schema == self.default_schema else schema

    def _name(self, name: str) -> str:
        return name.lower() if self.case_insensitive else name

    def live(self, schema: str | None) -> dict[str, _LiveTable]:
        """The live tables of ``schema``: columns and index names as the capture reflected
        them (a table it did not reflect, outside the history, has its name only)."""
        schema = self._schema(schema)
        if schema not in self._live:
            from sqlalchemy import Column

            tables: dict[str, _LiveTable] = {}
            for qualified in self.live_names:
                table_schema, _, name = qualified.rpartition(".")
                if (table_schema or None) == schema:
                    tables[self._name(name)] = _LiveTable({}, set())
            for fact in self.reflected:
                if self._schema(fact.schema) != schema:
                    continue
                tables[self._name(fact.name)] = _LiveTable(
                    {
                        self._name(column.name): Column(
                            column.name, column.type_object, nullable=column.nullable
                        )
                        for column in fact.columns
                    },
                    set(fact.indexes),
                )
            self._live[schema] = tables
        return self._live[schema]

    def initial_distance(self) -> int:
        """The distance of the empty schema: every live table the history names."""
        return sum(self._absent(key) for key in self.history_tables)

    def update(self, measured: Measured) -> None:
        """Bring the distance up to date with the tables changed since the last update."""
        schema = measured.schema
        for raw_key in schema.touched:
            key = (self._schema(raw_key[0]), self._name(raw_key[1]))
            old = measured.contributions.get(key)
            if old is None:
                old = self._absent(key)
            new = self._contribution(schema, raw_key, key)
            measured.contributions[key] = new
            measured.distance += new - old
        schema.touched.clear()

    def _absent(self, key: TableKey) -> int:
        """What a table the schema does not have adds: a live table the history names (one it
        drops, or has not created yet) differs whole."""
        live = self.live(key[0]).get(key[1])
        if live is not None and key in self.history_tables:
            return 1 + len(live.columns)
        return 0

    def _contribution(self, schema: ReplayedSchema, raw_key: TableKey, key: TableKey) -> int:
        """What one table adds to the distance between ``schema`` and the live one."""
        if raw_key in schema.uncertain:
            return 0
        table = schema.tables.get(raw_key)
        if table is None:
            return self._absent(key)
        if table not in self._table_distance:
            self._table_distance[table] = self._distance_of_table(table)
        return self._table_distance[table]

    def _distance_of_table(self, table: Table) -> int:
        live = self.live(table.schema).get(self._name(table.name))
        if live is None:
            return 1 + len(table.columns)
        impl = self.context.impl
        total = 0
        wanted = {self._name(column.name) for column in table.columns}
        for column in table.columns:
            live_column = live.columns.get(self._name(column.name))
            if live_column is None:
                total += 1
                continue
            try:
                if impl.compare_type(live_column, column):
                    total += 1
            except Exception:  # noqa: BLE001 - a user's type may not compare
                pass
            if not column.primary_key and bool(live_column.nullable) != bool(column.nullable):
                total += 1
        total += sum(1 for name in live.columns if name not in wanted)
        expected_indexes = {str(index.name) for index in table.indexes if index.name}
        total += len(expected_indexes - live.indexes)
        total += len((live.indexes & self.history_indexes) - expected_indexes)
        return total

    @cached_property
    def untracked(self) -> tuple[str, ...]:
        """Live tables no revision names, as env.py's include_name / include_object let
        autogenerate see them."""
        from alembic.autogenerate.api import AutogenContext
        from sqlalchemy import MetaData, Table

        autogen = AutogenContext(self.context, metadata=MetaData())
        tracked = self.history_tables
        schemas = {None} | {key[0] for key in tracked}
        untracked = []
        for schema in sorted(schemas, key=lambda s: (s is not None, s or "")):
            for name in sorted(self.live(schema)):
                if (schema, name) in tracked:
                    continue
                if not autogen.run_name_filters(name, "table", {"schema_name": schema}):
                    continue
                stub = Table(name, MetaData(), schema=schema)
                if not autogen.run_object_filters(stub, name, "table", True, None):
                    continue
                untracked.append(f"{schema}.{name}" if schema else name)
        return tuple(untracked)

    def compare(
        self, revisions: tuple[str, ...], schema: ReplayedSchema, history_key: str | None = None
    ) -> RevisionSchemaComparison:
        """alembic's autogenerate comparison of the live database with ``schema``;
        ``history_key`` identifies the files ``schema`` was replayed from, when they alone
        shape it (see ``compared``)."""
        uncertain = {(self._schema(s), self._name(n)) for s, n in schema.uncertain}
        replayed = {(self._schema(s), self._name(n)) for s, n in schema.tables}
        where = f"revision {', '.join(revisions)}" if revisions else "the empty schema"
        if not schema.tables and not schema.uncertain:
            return self._against_nothing(revisions, where)
        try:
            answer = compared(
                self.context,
                schema.to_metadata,
                self.inspector,  # one reflection for every comparison
                self.cache,
                expected=f"the history at {where}",
                metadata_key=history_key,
            )
        except Exception as error:
            if gave_up_waiting(error):
                raise
            return RevisionSchemaComparison(revisions, error=describe_exception(error))
        differences = []
        untracked: list[str] = []
        # a live table no revision names is untracked-schema's, and so is what alembic says
        # about its indexes and constraints (it reports those of a table it would drop too)
        untracked_keys = {
            (self._schema(table_key[0]), self._name(table_key[1]))
            for difference, table_key in answer
            if difference.operation == "remove_table"
        } - set(self.history_tables)
        for difference, table_key in answer:
            key = (self._schema(table_key[0]), self._name(table_key[1]))
            refers_to = self._refers_to(difference)
            if key in uncertain or refers_to in uncertain:
                # nor a foreign key to such a table: the history's side has none to compare
                continue
            if (
                refers_to is not None
                and refers_to not in replayed
                and refers_to not in self.history_tables
            ):
                # a foreign key to a table no revision names but as its target (Netflix/
                # dispatch: plugin_event's to dispatch_core.plugin, which create_all makes):
                # the replay drops such keys, so the history's side cannot have it
                continue
            if key in untracked_keys:
                if difference.operation == "remove_table":
                    untracked.append(difference.table)
                continue
            differences.append(difference)
        return RevisionSchemaComparison(
            revisions,
            differences=tuple(differences),
            untracked_tables=tuple(untracked),
            uncertain_tables=tuple(sorted(f"{s}.{n}" if s else n for s, n in schema.uncertain)),
        )

    def _against_nothing(self, revisions: tuple[str, ...], where: str) -> RevisionSchemaComparison:
        """The comparison with a schema of no table, without reflecting anything: every live
        table the history names differs, the others are untracked."""
        untracked = set(self.untracked)
        differences = []
        for schema_name in sorted({None} | {key[0] for key in self.history_tables}, key=str):
            for name in sorted(self.live(schema_name)):
                if (schema_name, name) not in self.history_tables:
                    continue
                table = f"{schema_name}.{name}" if schema_name else name
                if table in untracked:
                    continue
                differences.append(
                    SchemaDifference(
                        "remove_table",
                        table,
                        "",
                        f"table {table} is in the database but not in the history at {where}",
                    )
                )
        return RevisionSchemaComparison(
            revisions, differences=tuple(differences), untracked_tables=tuple(sorted(untracked))
        )
