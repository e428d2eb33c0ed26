"""Read literal ``op.*`` calls of ``upgrade()`` from the syntax tree.

Used only where a revision cannot be imported or run (it imports an application that is not
installed here, say, or asks a database there is none of). It sees what is written literally —
``op.create_table("product", …)`` — in ``upgrade()`` and in the functions of the same file it
calls (their literal arguments bound to their parameters), and nothing computed; findings built
on it say so. What it could not read (an ``op.*`` call on a computed table, a call it cannot
follow that is handed ``op``) is said in ``RevisionOperations.unread``: such a revision may touch
any table.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from migdoctor.facts.operations import (
    STATIC,
    Operation,
    RevisionOperations,
    UnreadCall,
    unread_words,
)

# ``# migdoctor: ignore[MD401, MD408]`` on an operation's line silences those codes there, as
# ruff's noqa comments do
_IGNORE_COMMENT = re.compile(r"#\s*migdoctor:\s*ignore\[([^\]]*)\]", re.IGNORECASE)

# operation name -> positional parameter names, as alembic's op.* signatures declare them
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "create_index": ("index_name", "table_name", "columns"),
    "drop_index": ("index_name", "table_name"),
    "create_foreign_key": ("constraint_name", "source_table", "referent_table"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "drop_constraint": ("constraint_name", "table_name"),
    "execute": ("sqltext",),
    "bulk_insert": ("table", "rows"),
}
# inside ``with op.batch_alter_table(name) as batch_op``, the table argument is implied
_BATCH_SIGNATURES: dict[str, tuple[str, ...]] = {
    "add_column": ("column",),
    "drop_column": ("column_name",),
    "alter_column": ("column_name",),
    "create_index": ("index_name", "columns"),
    "drop_index": ("index_name",),
    "create_foreign_key": ("constraint_name", "referent_table"),
    "create_unique_constraint": ("constraint_name", "columns"),
    "create_primary_key": ("constraint_name", "columns"),
    "create_check_constraint": ("constraint_name", "condition"),
    "drop_constraint": ("constraint_name",),
    "execute": ("sqltext",),
}


def read_operations_statically(path: Path, revision: str, why: str) -> RevisionOperations:
    """The literal operations of ``upgrade()`` in ``path``; ``why`` says why it was not run."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, OSError, ValueError) as error:
        return RevisionOperations(
            revision, (), STATIC, f"{why}; the file cannot be parsed ({error})"
        )
    upgrade = next(
        (
            node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "upgrade"
        ),
        None,
    )
    if upgrade is None:
        return RevisionOperations(revision, (), STATIC, f"{why}; no upgrade() function found")
    reader = _UpgradeReader(_module_functions(tree), _module_constants(tree))
    lines = source_lines(path)
    operations = tuple(
        replace(
            operation,
            ignored=ignored_codes(lines[operation.line - 1])
            if operation.line is not None and 0 < operation.line <= len(lines)
            else (),
        )
        for operation in reader.read_function(upgrade)
    )
    note = f"{why}; read statically from the source"
    unread = unread_words(reader.unread)
    if unread is not None:
        note += f" (not all of it could be read: {unread})"
    return RevisionOperations(revision, operations, STATIC, note, unread=tuple(reader.unread))


def source_lines(path: Path) -> tuple[str, ...]:
    """The lines of a revision file (none when it cannot be read)."""
    try:
        return tuple(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


def ignored_codes(line: str) -> tuple[str, ...]:
    """The codes a ``# migdoctor: ignore[MD401]`` comment on ``line`` silences."""
    found = _IGNORE_COMMENT.search(line)
    if found is None:
        return ()
    return tuple(code.strip().upper() for code in found.group(1).split(",") if code.strip())


# how deep calls into the file's own functions are followed from upgrade(), and how many
# calls are followed in all (a helper called in many places, each calling others, would
# otherwise multiply)
MAX_CALL_DEPTH = 6
MAX_CALLS_FOLLOWED = 500


def _module_functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions the file defines at module level, by name (the last definition wins, as
    when the module runs)."""
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound once to a literal (``TABLE = "trace_info"``)."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            assigned.setdefault(node.target.id, []).append(node.value)
    return {
        name: values[0]
        for name, values in assigned.items()
        if len(values) == 1 and _is_literal(values[0])
    }


def _is_literal(node: ast.expr) -> bool:
    """A string, number, None or boolean, or a list or tuple of them."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(element) for element in node.elts)
    return False


class _Bound(ast.NodeTransformer):
    """A function body with the names bound to literals replaced by those literals."""

    def __init__(self, bindings: dict[str, ast.expr]) -> None:
        self.bindings = bindings

    def visit_Name(self, node: ast.Name) -> ast.expr:
        value = self.bindings.get(node.id)
        if value is None or not isinstance(node.ctx, ast.Load):
            return node
        return ast.copy_location(copy.deepcopy(value), node)


def _assigned_names(body: list[ast.stmt]) -> set[str]:
    """Names a function body assigns (a loop variable too): a module constant they shadow is
    not that constant there."""
    names: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


class _UpgradeReader:
    def __init__(
        self,
        functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] | None = None,
        constants: dict[str, ast.expr] | None = None,
    ) -> None:
        self.functions = functions or {}
        self.constants = constants or {}
        # what could not be read, in words (each a call that may have changed the schema)
        self.unread: list[UnreadCall] = []
        self.following: list[str] = []
        self.followed = 0

    def read_function(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        bindings: dict[str, ast.expr] | None = None,
    ) -> Iterator[Operation]:
        """The operations of ``function``'s body, with ``bindings`` (its parameters bound to
        literal arguments) and the file's literal constants in place of their names."""
        arguments = function.args
        parameters = {
            a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        } | {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        local = _assigned_names(function.body) | parameters
        visible = {k: v for k, v in self.constants.items() if k not in local}
        visible.update(bindings or {})
        body = function.body
        if visible:
            module = _Bound(visible).visit(ast.Module(body=copy.deepcopy(body), type_ignores=[]))
            body = module.body
        return self.read(body)

    def read(
        self,
        body: list[ast.stmt],
        batch: dict[str, tuple[str, str | None]] | None = None,
        autocommit: bool = False,
    ) -> Iterator[Operation]:
        batch = dict(batch or {})
        for statement in body:
            if isinstance(statement, (ast.With, ast.AsyncWith)):
                inner = dict(batch)
                inner_autocommit = autocommit
                for item in statement.items:
                    if _is_batch(item.context_expr):
                        table = _batch_table(item.context_expr)
                        if table is None:
                            self._unread(item.context_expr, "a batch on a computed table")
                        elif isinstance(item.optional_vars, ast.Name):
                            inner[item.optional_vars.id] = table
                    if _is_autocommit_block(item.context_expr):
                        inner_autocommit = True
                yield from self.read(statement.body, inner, inner_autocommit)
                continue
            nested = _nested_bodies(statement)
            if nested is not None:
                # a batch block inside an if or a loop is still a batch block
                headers, bodies = nested
                for header in headers:
                    yield from self._read_calls(ast.Expr(header), batch, autocommit)
                for inner_body in bodies:
                    yield from self.read(inner_body, batch, autocommit)
                continue
            yield from self._read_calls(statement, batch, autocommit)

    def _read_calls(
        self, statement: ast.stmt, batch: dict[str, tuple[str, str | None]], autocommit: bool
    ) -> Iterator[Operation]:
        for node in _calls_in(statement):
            operation = self._operation(node, batch)
            if operation is not None:
                yield replace(operation, autocommit=autocommit, line=node.lineno)
                continue
            for followed in self._followed(node, batch):
                yield replace(followed, autocommit=followed.autocommit or autocommit)

    def _followed(
        self, call: ast.Call, batch: dict[str, tuple[str, str | None]]
    ) -> Iterator[Operation]:
        """The operations of a call into a function of the same file (followed to
        ``MAX_CALL_DEPTH``); a call that cannot be followed but is handed ``op`` or a batch is
        noted as unread."""
        name = call.func.id if isinstance(call.func, ast.Name) else None
        function = self.functions.get(name) if name is not None else None
        if function is None or name is None:
            if _hands_operations(call, batch):
                self._unread(call, "a call handed op")
            return
        if name in self.following or len(self.following) >= MAX_CALL_DEPTH:
            if self._operates(name):
                recursive = name in self.following
                self._unread(call, "a recursive call" if recursive else "a call too deep to follow")
            return
        if self.followed >= MAX_CALLS_FOLLOWED:
            if self._operates(name):
                self._unread(call, "a call beyond the number followed")
            return
        self.followed += 1
        self.following.append(name)
        try:
            yield from self.read_function(function, _bound_arguments(function, call))
        finally:
            self.following.pop()

    def _operates(self, name: str) -> bool:
        """Whether the file's function ``name``, or one of the file's functions it calls, may
        run an operation (it names ``op`` for more than a question, or a batch)."""
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.functions:
                continue
            seen.add(current)
            for node in ast.walk(self.functions[current]):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "op"
                    and node.attr not in _QUESTIONS - {"batch_alter_table"}
                ):
                    return True
                if isinstance(node, ast.Name) and node.id in self.functions:
                    pending.append(node.id)
        return False

    def _unread(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", None)
        where = f" (line {line})" if line is not None else ""
        self.unread.append(UnreadCall(line, f"{what}{where}: {ast.unparse(node)[:80]}"))

    def _operation(
        self, call: ast.Call, batch: dict[str, tuple[str, str | None]]
    ) -> Operation | None:
        if not isinstance(call.func, ast.Attribute) or not isinstance(call.func.value, ast.Name):
            return None
        receiver, kind = call.func.value.id, call.func.attr
        if receiver in batch:
            signature = _BATCH_SIGNATURES.get(kind)
            table, schema = batch[receiver]
        elif receiver == "op":
            signature = _SIGNATURES.get(kind)
            table, schema = None, None
        else:
            return None
        if signature is None:
            return None
        if signature is None:
            if receiver == "op" and kind not in _QUESTIONS:
                # an operation the reader does not know (op.invoke, a custom one)
                self._unread(call, "an operation the source reader does not know")
            return None
        arguments = _bind(call, signature)
        schema = _string(arguments.get("schema")) or schema
        if table is None:
            table = _string(arguments.get("table_name") or arguments.get("source_table"))
            if kind == "rename_table":
                table = _string(arguments.get("old_table_name"))
        if kind != "execute" and table is None and kind not in ("drop_index",):
            self._unread(call, "an operation on a computed table")
            return None
        return _build(kind, table, schema, arguments, call)


# op.* calls that ask or build rather than change the schema
_QUESTIONS = frozenset(
    {"get_bind", "get_context", "f", "inline_literal", "batch_alter_table", "implementation_for"}
)


def _nested_bodies(
    statement: ast.stmt,
) -> tuple[list[ast.expr], list[list[ast.stmt]]] | None:
    """The expressions an if, loop or try evaluates itself and the bodies it holds (None for
    any other statement)."""
    if isinstance(statement, (ast.If, ast.While)):
        return [statement.test], [statement.body, statement.orelse]
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return [statement.iter], [statement.body, statement.orelse]
    if isinstance(statement, ast.Try):
        handlers = [handler.body for handler in statement.handlers]
        return [], [statement.body, *handlers, statement.orelse, statement.finalbody]
    return None


def _is_batch(expression: ast.expr) -> bool:
    return (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and expression.func.attr == "batch_alter_table"
    )


def _hands_operations(call: ast.Call, batch: dict[str, tuple[str, str | None]]) -> bool:
    """Whether ``call`` is given ``op`` or a batch (it may run operations with it)."""
    receivers = {"op", *batch}
    values = [*call.args, *(keyword.value for keyword in call.keywords)]
    names = [value.value if isinstance(value, ast.Starred) else value for value in values]
    return any(isinstance(name, ast.Name) and name.id in receivers for name in names)


def _bound_arguments(
    function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
) -> dict[str, ast.expr]:
    """The parameters of ``function`` the call gives a literal (its defaults when a literal and
    not given); a parameter given anything else stays unbound."""
    parameters = [*function.args.posonlyargs, *function.args.args]
    bound: dict[str, ast.expr] = {}
    defaults = function.args.defaults
    defaulted = parameters[len(parameters) - len(defaults) :]
    for parameter, default in zip(defaulted, defaults, strict=True):
        if _is_literal(default):
            bound[parameter.arg] = default
    keyword_only = zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True)
    for parameter, keyword_default in keyword_only:
        if keyword_default is not None and _is_literal(keyword_default):
            bound[parameter.arg] = keyword_default
    given: dict[str, ast.expr] = {}
    if any(isinstance(argument, ast.Starred) for argument in call.args):
        return {}
    for parameter, argument in zip(parameters, call.args, strict=False):
        given[parameter.arg] = argument
    for keyword in call.keywords:
        if keyword.arg is not None:
            given[keyword.arg] = keyword.value
    for name, value in given.items():
        if _is_literal(value):
            bound[name] = value
        else:
            bound.pop(name, None)
    return bound


def _is_autocommit_block(expression: ast.expr) -> bool:
    return (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and expression.func.attr == "autocommit_block"
    )


def _batch_table(expression: ast.expr) -> tuple[str, str | None] | None:
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and expression.func.attr == "batch_alter_table"
    ):
        arguments = _bind(expression, ("table_name", "schema"))
        table = _string(arguments.get("table_name"))
        if table is not None:
            return table, _string(arguments.get("schema"))
    return None


def _calls_in(statement: ast.stmt) -> Iterator[ast.Call]:
    """Calls in source order, not descending into nested function definitions."""
    pending: list[ast.AST] = [statement]
    found = []
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    yield from sorted(found, key=lambda call: (call.lineno, call.col_offset))


def _bind(call: ast.Call, positional: tuple[str, ...]) -> dict[str, ast.expr]:
    arguments: dict[str, ast.expr] = {}
    for name, value in zip(positional, call.args, strict=False):
        arguments[name] = value
    for keyword in call.keywords:
        if keyword.arg is not None:
            arguments[keyword.arg] = keyword.value
    # create_table's columns follow the name positionally
    arguments["__rest__"] = ast.Tuple(elts=list(call.args[len(positional) :]), ctx=ast.Load())
    return arguments


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _callee_name(node) == "f" and node.args:
        return _string(node.args[0])  # op.f("ix_name")
    return None


def _callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _column_name(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Call) and _callee_name(node) == "Column" and node.args:
        return _string(node.args[0])
    return None


def _strings(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(s for s in (_string(element) for element in node.elts) if s is not None)
    single = _string(node)
    return (single,) if single is not None else ()


def _build(
    kind: str,
    table: str | None,
    schema: str | None,
    arguments: dict[str, ast.expr],
    call: ast.Call,
) -> Operation:
    columns: tuple[str, ...] = ()
    name: str | None = None
    detail = ""
    flags = _flags(kind, arguments)
    if kind == "create_table":
        rest = arguments["__rest__"]
        assert isinstance(rest, ast.Tuple)
        columns = tuple(c for c in (_column_name(e) for e in rest.elts) if c is not None)
    elif kind == "add_column":
        column = _column_name(arguments.get("column"))
        columns = (column,) if column else ()
    elif kind in ("drop_column", "alter_column"):
        columns = _strings(arguments.get("column_name"))
        name = _string(arguments.get("new_column_name"))
    elif kind == "rename_table":
        name = _string(arguments.get("new_table_name"))
    elif kind in ("create_index", "drop_index"):
        name = _string(arguments.get("index_name"))
        columns = _strings(arguments.get("columns"))
        table = table or _string(arguments.get("table_name"))
    elif kind in (
        "create_foreign_key",
        "create_unique_constraint",
        "create_primary_key",
        "create_check_constraint",
        "drop_constraint",
    ):
        name = _string(arguments.get("constraint_name"))
        columns = _strings(arguments.get("columns"))
    elif kind == "execute":
        detail = _string(arguments.get("sqltext")) or ast.unparse(call)[:120]
    return Operation(kind, table, schema, columns, name, detail, **flags)


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


# SQLAlchemy's generic types as its default dialect writes them
_TYPE_NAMES = {
    "String": "VARCHAR",
    "Unicode": "VARCHAR",
    "Text": "TEXT",
    "UnicodeText": "TEXT",
    "Integer": "INTEGER",
    "BigInteger": "BIGINT",
    "SmallInteger": "SMALLINT",
    "Boolean": "BOOLEAN",
    "DateTime": "DATETIME",
    "Date": "DATE",
    "Float": "FLOAT",
    "Numeric": "NUMERIC",
}


def _type_text(node: ast.expr | None) -> str | None:
    """``sa.String(100)`` as ``VARCHAR(100)`` (a literal call only)."""
    if node is None:
        return None
    call = node if isinstance(node, ast.Call) else None
    name = _callee_name(call) if call is not None else None
    if name is None and isinstance(node, (ast.Attribute, ast.Name)):
        name = node.attr if isinstance(node, ast.Attribute) else node.id
    if name is None:
        return None
    text = _TYPE_NAMES.get(name, name.upper())
    arguments = [_literal(a) for a in call.args] if call is not None else []
    length = _literal(_keyword(call, "length")) if call is not None else None
    if length is None and arguments and isinstance(arguments[0], int):
        length = arguments[0]
    return f"{text}({length})" if isinstance(length, int) else text


def _default_text(node: ast.expr | None) -> str | None:
    if node is None or _is_none(node):
        return None
    if isinstance(node, ast.Call) and _callee_name(node) == "text" and node.args:
        return _string(node.args[0]) or ast.unparse(node)
    value = _literal(node)
    return f"'{value}'" if isinstance(value, str) else ast.unparse(node)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _keyword(call: ast.expr | None, name: str) -> ast.expr | None:
    if isinstance(call, ast.Call):
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value
    return None


def _flags(kind: str, arguments: dict[str, ast.expr]) -> dict[str, Any]:
    """What the call says literally about nullability, defaults, uniqueness and concurrency
    (a value that is not a literal is taken as not said)."""
    if kind == "add_column":
        column = arguments.get("column")
        nullable = _literal(_keyword(column, "nullable"))
        primary_key = _literal(_keyword(column, "primary_key")) is True
        default = _keyword(column, "server_default")
        return {
            "nullable": not primary_key if nullable is None else bool(nullable),
            "server_default": default is not None and not _is_none(default),
            "default_sql": _default_text(default),
        }
    if kind == "alter_column":
        nullable = _literal(arguments.get("nullable"))
        default = arguments.get("server_default")
        return {
            "nullable": nullable if isinstance(nullable, bool) else None,
            "server_default": default is not None
            and not _is_none(default)
            and _literal(default) is not False,
            "new_type": _type_text(arguments.get("type_")),
        }
    if kind in ("create_index", "drop_index"):
        return {
            "unique": _literal(arguments.get("unique")) is True,
            "concurrently": _literal(arguments.get("postgresql_concurrently")) is True,
        }
    if kind == "create_unique_constraint":
        return {"unique": True}
    if kind in ("create_foreign_key", "create_check_constraint"):
        return {"not_valid": _literal(arguments.get("postgresql_not_valid")) is True}
    return {}
