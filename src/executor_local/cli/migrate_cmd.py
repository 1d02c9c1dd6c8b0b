"""``executor migrate`` and ``executor backups``: the migrator's commands."""

from __future__ import annotations

from datetime import UTC

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
    """List, restore and prune backups of data.db."""


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


def complete_backup_names(ctx: click.Context, _param: click.Parameter, incomplete: str,
                          ) -> list[str]:
    """Shell completion of ``backups restore NAME``: the backups of the data dir in use."""
    import os

    from executor_local.boot.locate import locate_data_dir
    from executor_local.migrate.backups import list_backups
    from executor_local.migrate.layout import Layout

    try:
        choice = locate_data_dir(ctx.find_root().params.get("data_dir"), os.environ)
        names = [b.name for b in list_backups(Layout(choice.path))]
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


@backups.command("restore")
@click.argument("name", shell_complete=complete_backup_names)
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


@backups.command("prune")
@click.option("--keep", type=click.IntRange(0), default=None, metavar="N",
              help="Keep the N newest backups; remove the older ones.")
@click.option("--older-than", "older_than", default=None, metavar="DATE",
              help="Remove backups made before DATE (2026-01-31, 2026-01-31T12:00, or 30d).")
@click.option("--force", is_flag=True,
              help="Also remove the last v1-v2 backup (the only copy of the v1 data).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@json_option
@pass_context
def prune(ctx: Context, keep: int | None, older_than: str | None, force: bool,
          dry_run: bool) -> None:
    """Remove old backups: beyond the N newest and/or made before a date.

    The last data.db.v1-v2-* backup (the v1 data as it was before the migration) is kept unless
    --force. With both --keep and --older-than, a backup goes only when both say so.
    """
    from executor_local.migrate.backups import list_backups, plan_prune, remove_backup
    from executor_local.migrate.layout import Layout

    if keep is None and older_than is None:
        raise click.UsageError("say what to remove: --keep N and/or --older-than DATE")
    before_ms = _parse_date_ms(older_than) if older_than is not None else None
    layout = Layout(ctx.locate().path)
    plan = plan_prune(list_backups(layout), keep=keep, before_ms=before_ms, force=force)
    if plan.remove and not dry_run:
        with _prune_permission(ctx, layout):
            for backup in plan.remove:
                remove_backup(backup)
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {b.name}" for b in plan.remove] or ["nothing to remove"]
    lines += [f"kept {b.name}" for b in plan.keep]
    if plan.kept_last_v1 is not None:
        lines.append(f"kept {plan.kept_last_v1.name} although it matched: it is the only "
                     "backup of the v1 data (--force removes it too)")
    ctx.emit({"dry_run": dry_run, "removed": [b.name for b in plan.remove],
              "kept": [b.name for b in plan.keep],
              "kept_last_v1": plan.kept_last_v1.name if plan.kept_last_v1 else None},
             "\n".join(lines))


def _prune_permission(ctx: Context, layout):  # type: ignore[no-untyped-def]
    """The owner lock, or a running daemon's: the daemon never reads backups, but a restore
    (which holds the lock) may be copying one."""
    import contextlib

    from executor_local.boot.own import acquire_ownership
    from executor_local.boot.status import inspect
    from executor_local.errors import DataDirOwned

    try:
        return acquire_ownership(layout.data_dir)
    except DataDirOwned:
        if inspect(layout.data_dir, clean=False).running:
            return contextlib.nullcontext()
        raise


def _parse_date_ms(text: str) -> int:
    import re
    import time
    from datetime import datetime

    match = re.fullmatch(r"(\d+)d", text.strip())
    if match:
        return int((time.time() - int(match.group(1)) * 86400) * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (2026-01-31, 2026-01-31T12:00 or 30d)",
                                 param_hint="--older-than") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
