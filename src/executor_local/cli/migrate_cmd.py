"""``executor migrate`` and ``executor backups``: the migrator's commands."""

from __future__ import annotations

import click

from executor_local.cli.app import Context, json_option, pass_context


def _owned_layout(ctx: Context):  # type: ignore[no-untyped-def]
    """Locate, create and own the data dir (a running daemon owning it refuses with exit 4)."""
    from executor_local.boot.locate import ensure_data_dir
    from executor_local.boot.own import acquire_ownership
    from executor_local.migrate.layout import Layout

    choice = ensure_data_dir(ctx.locate())
    return Layout(choice.path), acquire_ownership(choice.path)


@click.command()
@click.option("--dry-run", is_flag=True, help="Only plan: counts and warnings; change nothing.")
@json_option
@pass_context
def migrate(ctx: Context, dry_run: bool) -> None:
    """Migrate Executor v1 data to v2 now (the daemon also does it at start)."""
    if dry_run:
        from executor_local.migrate.layout import Layout
        from executor_local.migrate.run import dry_run as plan_only

        # No lock, no mkdir: a dry run must leave the data dir byte-identical.
        result = plan_only(Layout(ctx.locate().path))
        ctx.emit(result, _describe_dry_run(result))
        return
    from executor_local.cli.touched import say_what_a_refusal_created
    from executor_local.migrate.recover import recover
    from executor_local.migrate.run import migrate_if_needed

    with say_what_a_refusal_created(ctx.locate().path):
        layout, ownership = _owned_layout(ctx)
        with ownership:
            recovered = recover(layout)
            result = migrate_if_needed(layout)
    payload = {"status": result.status, "recovered": recovered,
               "backup": str(result.backup) if result.backup else None,
               "report": result.report, "warnings": result.warnings}
    lines = [f"recovered: {recovered}"] if recovered else []
    if result.migrated:
        lines.append(f"migrated {layout.db} to v2; the v1 data is kept at {result.backup}")
        lines += [f"  {table}: {n}" for table, n in (result.report or {}).get("counts", {}).items()]
    else:
        lines.append(f"nothing to migrate: {layout.db} is {result.status}")
    lines += [f"warning: {w}" for w in result.warnings]
    ctx.emit(payload, "\n".join(lines))


def _describe_dry_run(result: dict) -> str:  # type: ignore[type-arg]
    if result["status"] != "v1":
        return f"nothing to migrate: the data is {result['status']}"
    plan = result["plan"]
    lines = ["would migrate v1 data to v2:"]
    lines += [f"  {table}: {n}" for table, n in plan.get("counts", {}).items()]
    lines += [f"warning: {w}" for w in plan.get("warnings", [])]
    return "\n".join(lines)


@click.group()
def backups() -> None:
    """List and restore backups of data.db."""


@backups.command("list")
@json_option
@pass_context
def list_(ctx: Context) -> None:
    """List the backups in the data dir, oldest first."""
    from executor_local.migrate.backups import list_backups
    from executor_local.migrate.layout import Layout

    found = list_backups(Layout(ctx.locate().path))
    rows = [b.to_json() for b in found]
    text = "\n".join(f"{r['name']}  {r['kind']:<14}  {r['created']}  {r['size']} bytes"
                     for r in rows) or "no backups"
    ctx.emit(rows, text)


@backups.command("restore")
@click.argument("name")
@json_option
@pass_context
def restore(ctx: Context, name: str) -> None:
    """Put backup NAME in place of data.db; the current data is kept as a backup too."""
    from executor_local.cli.touched import say_what_a_refusal_created
    from executor_local.migrate.backups import find_backup, restore_backup
    from executor_local.migrate.layout import Layout
    from executor_local.migrate.recover import recover

    find_backup(Layout(ctx.locate().path), name)  # an unknown name is refused before any write
    with say_what_a_refusal_created(ctx.locate().path):
        layout, ownership = _owned_layout(ctx)
        with ownership:
            recover(layout)
            kept = restore_backup(layout, name)
    ctx.emit({"restored": name, "previous": str(kept)},
             f"restored {name}; the data it replaced is kept at {kept.name}")
