"""The `docarchive` command: serve | worker | migrate | import | verify | gc | user | audit |
fixity | backup | restore | object-lock."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from app.audit.service import configure_audit_from_settings
from app.config import Settings
from app.supervise import worker_subprocess


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured database URL, or the embedded server's for the duration of the block."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    from app.embedded import embedded_postgres

    with embedded_postgres(settings.postgres_dir) as url:
        yield url


_ROLES = (
    "admin",
    "archivist",
    "accountant",
    "approver",
    "hr",
    "clerk",
    "auditor",
    "cfo",
    "legal",
    "signatory",
    "head_of_unit",
)


class _StopRequested(Exception):
    """Raised by our SIGINT/SIGTERM handler so that cleanup (the embedded database) runs."""


def _request_stop(signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    # uvicorn shuts down gracefully on these signals, then re-raises them to the handlers it
    # found; ours turn that into an exception, so the `with` blocks below still clean up.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _request_stop)
    try:
        return _run_server(settings, args)
    except _StopRequested:
        return 0


def _run_server(settings: Settings, args: argparse.Namespace) -> int:
    from app.main import create_app
    from app.migrate import upgrade

    with database(settings) as url:
        upgrade(url)
        configure_audit_from_settings(settings)  # the first admin's creation is an event too
        _announce_first_admin(url)
        app = create_app(settings.model_copy(update={"database_url": url}))
        embedded = settings.database_url is None
        run_worker = settings.run_worker if settings.run_worker is not None else embedded
        with (
            worker_subprocess(url) if run_worker else contextlib.nullcontext(),
            _hot_folder_thread(settings, url),
        ):
            _run_uvicorn(app, settings, args)
    return 0


def _announce_first_admin(url: str) -> None:
    from app.db import build_engine, build_sessionmaker, disposing, session_scope
    from app.security.service import ensure_first_admin

    with (
        disposing(build_engine(url, pool_size=1)) as engine,
        session_scope(build_sessionmaker(engine)) as session,
    ):
        password = ensure_first_admin(session)
    if password is not None:
        print(
            "\n  First start: created the account 'admin' with the password\n"
            f"      {password}\n"
            "  It is shown this once. Log in and change it (POST /api/v1/me/password).\n",
            flush=True,
        )


def _run_uvicorn(app: Any, settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
        log_config=None,  # our handlers (app.observability.logs); one line per request
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=10,
    )
    print(
        f"docarchive serving on http://{config.host}:{config.port} "
        f"(API docs at /docs, blobs: {settings.blob_backend.value})",
        flush=True,
    )
    # Everything imported and built so far lives as long as the process: out of the collector's
    # sight, a full collection no longer walks it (70-85 ms pauses every ~18 searches in
    # bench/search.py without this, the p95 of the slower query types).
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run()


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers import runtime
    from workers.app import connected

    with database(settings) as url:
        worker_runtime = runtime.configure(settings.model_copy(update={"database_url": url}))
        try:
            with connected(url) as app:
                app.run_worker(
                    concurrency=args.concurrency or settings.worker_concurrency,
                    name=f"docarchive-{os.getpid()}",
                )
        finally:
            worker_runtime.close()
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    with database(settings) as url:
        upgrade(url, args.revision)
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from app.bulk_import import import_paths
    from app.migrate import upgrade

    with database(settings) as url:
        upgrade(url)
        report = import_paths(
            settings.model_copy(update={"database_url": url}),
            [Path(p) for p in args.paths],
            document_class=args.document_class,
            tags=args.tag or [],
        )
    return 0 if report.ok else 1


def _gc(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.documents.gc import collect_garbage
    from app.storage.factory import build_blob_store

    grace = timedelta(seconds=args.grace if args.grace is not None else settings.gc_grace_seconds)
    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        report = collect_garbage(
            build_sessionmaker(engine),
            build_blob_store(settings),
            tmp_dirs=[settings.tmp_dir, settings.resolved_blob_dir / ".staging"],
            grace=grace,
        )
    print(
        f"blobs examined: {report.blobs_seen}, orphan blobs removed: "
        f"{len(report.blobs_removed)}, stale temporary files removed: "
        f"{report.temp_files_removed}, expired idempotency records: "
        f"{report.idempotency_records_removed}"
    )
    for key in report.blobs_removed:
        print(f"  removed {key}")
    return 0


def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.migrate import upgrade
    from app.search.pesel import configure_pesel_key
    from app.search.reindex import reindex_with_progress

    configure_pesel_key(settings)
    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        upgrade(url)
        report = reindex_with_progress(build_sessionmaker(engine), everything=args.all)
    print(f"search rows rebuilt: {report.reindexed} (terms version {report.version})")
    return 0


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.storage.factory import build_blob_store
    from app.verify import verify_archive

    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        report = verify_archive(
            build_sessionmaker(engine),
            build_blob_store(settings),
            settings,
            check_hashes=not args.no_hash,
        )
    hashed = "sizes only" if args.no_hash else "sizes and SHA-256"
    print(f"versions checked ({hashed}): {report.versions_checked}")
    print(f"audit events in the chain: {report.audit_events}")
    print(report.fixity)
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    for key in report.orphan_blobs:
        print(f"ORPHAN  {key} (no version; `docarchive gc` removes it)")
    print("archive OK" if report.ok else "archive NOT OK")
    return 0 if report.ok else 1


def _fixity(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.migrate import upgrade
    from app.reliability.fixity import FixityRunInProgress, run_fixity
    from app.storage.factory import build_blob_store

    configure_audit_from_settings(settings)
    share = 1.0 if args.all else (args.share or settings.fixity_share)
    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        upgrade(url)
        try:
            report = run_fixity(
                build_sessionmaker(engine), build_blob_store(settings), share=share, trigger="cli"
            )
        except FixityRunInProgress as exc:
            print(f"docarchive: {exc.detail}", file=sys.stderr)
            return 1
    print(
        f"blobs re-hashed: {report.checked} of {report.planned} planned "
        f"({report.bytes_read} bytes), failed: {len(report.failures)}, "
        f"recovered: {report.recovered}, unreadable: {len(report.unreadable)}"
    )
    for finding in report.failures:
        print(f"FAILED  {finding.describe()}")
    for line in report.unreadable:
        print(f"UNREADABLE {line}")
    return 0 if report.ok else 1


def _share(value: str) -> float:
    share = float(value)
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1]")
    return share


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from app.reliability.backup import BackupError, backup
    from app.storage.factory import build_blob_store

    try:
        with database(settings) as url:
            report = backup(url, build_blob_store(settings), Path(args.folder))
    except BackupError as exc:
        print(f"docarchive: {exc}", file=sys.stderr)
        return 1
    print(
        f"database dump: {report.dump_bytes} bytes; blobs copied: {report.blobs_copied} "
        f"({report.bytes_copied} bytes), already in the backup: {report.blobs_present}"
    )
    for key in report.corrupt:
        print(f"CORRUPT {key} (not copied; `docarchive verify` names its document)")
    return 1 if report.corrupt else 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from app.reliability.backup import BackupError, restore
    from app.storage.factory import build_blob_store

    try:
        with database(settings) as url:
            report = restore(Path(args.folder), url, build_blob_store(settings))
    except BackupError as exc:
        print(f"docarchive: {exc}", file=sys.stderr)
        return 1
    print(
        f"blobs restored: {report.blobs_restored}, already in the store: {report.blobs_present}; "
        "database restored. Next: `docarchive migrate`, then `docarchive verify`."
    )
    for key in report.corrupt:
        print(f"CORRUPT {key} in the backup (not restored)")
    return 1 if report.corrupt else 0


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.migrate import upgrade
    from app.retention import purge
    from app.storage.factory import build_blob_store

    configure_audit_from_settings(settings)
    with database(settings) as url, disposing(build_engine(url, pool_size=2)) as engine:
        upgrade(url)
        factory = build_sessionmaker(engine)
        if args.execute:
            run_settings = settings.model_copy(update={"database_url": url})
            summary = purge.run(factory, build_blob_store(settings), run_settings)
        else:
            summary = purge.dry_run(factory)
    verb = "listed" if args.execute else "would be listed"
    for kind, count in sorted(summary.would_add.items()):
        print(f"{kind}: {count} documents {verb} in a draft batch awaiting review")
    for number in summary.approved:
        done = summary.destroyed.get(number)
        state = f"{done} documents destroyed" if done is not None else "approved, to destroy"
        print(f"batch {number}: {state}")
        for document_id, reason in summary.refused.get(number, {}).items():
            print(f"  REFUSED {document_id}: {reason}")
    print(f"{'run' if args.execute else 'dry run'} took {summary.seconds:.2f} s")
    return 1 if summary.refused else 0


def _object_lock_sync(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing
    from app.migrate import upgrade
    from app.retention import object_lock
    from app.storage.factory import build_blob_store

    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        upgrade(url)
        report = object_lock.sync(
            build_sessionmaker(engine), build_blob_store(settings), settings, limit=args.limit
        )
    if not report.active:
        print("S3 Object Lock is off (DOCARCHIVE_S3_OBJECT_LOCK) or the bucket does not support it")
        return 0
    if report.running_elsewhere:
        print("another object-lock sync is running; nothing done")
        return 0
    print(
        f"versions locked or extended: {report.locked}, legal holds set: {report.held}, "
        f"released: {report.released}, failed: {len(report.failed)}"
    )
    for key, problem in report.failed.items():
        print(f"FAILED  {key}: {problem}")
    return 1 if report.failed else 0


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing, session_scope
    from app.errors import DomainError
    from app.migrate import upgrade
    from app.security.models import Role
    from app.security.principal import system_actor
    from app.security.secrets import new_password
    from app.security.service import create_user

    roles = set(args.role or []) | ({Role.admin.value} if args.admin else set())
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else new_password()
    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        upgrade(url)
        configure_audit_from_settings(settings)
        try:
            with session_scope(build_sessionmaker(engine)) as session:
                create_user(
                    session,
                    username=args.username,
                    password=password,
                    roles=sorted(roles),
                    display_name=args.name,
                    actor=system_actor("cli"),
                )
        except DomainError as exc:
            print(f"docarchive: {exc.detail}", file=sys.stderr)
            return 1
    print(f"created user {args.username} with roles {', '.join(sorted(roles)) or '(none)'}")
    if not args.password_stdin:
        print(f"password (shown once): {password}")
    return 0


def _user_token(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import build_engine, build_sessionmaker, disposing, session_scope
    from app.errors import DomainError
    from app.migrate import upgrade
    from app.security.service import actor_of, create_token, user_by_name

    with database(settings) as url, disposing(build_engine(url, pool_size=1)) as engine:
        upgrade(url)
        configure_audit_from_settings(settings)
        try:
            with session_scope(build_sessionmaker(engine)) as session:
                user = user_by_name(session, args.username)
                if user is None or not user.active:
                    print(f"docarchive: no active user {args.username!r}", file=sys.stderr)
                    return 1
                token, secret = create_token(
                    session,
                    actor=actor_of(user),
                    name=args.name,
                    scopes=args.scope or ["read"],
                    days=args.days,
                    settings=settings,
                )
        except DomainError as exc:
            print(f"docarchive: {exc.detail}", file=sys.stderr)
            return 1
    scopes = ", ".join(token.scopes)
    print(f"token for {user.username}, scopes {scopes}, expires {token.expires_at:%Y-%m-%d}")
    print(secret)
    return 0


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from app.audit.chain import derive_audit_key
    from app.audit.verify import verify_chain
    from app.db import build_engine, build_sessionmaker, disposing, session_scope

    key = derive_audit_key(settings.secret_key.get_secret_value())
    with (
        database(settings) as url,
        disposing(build_engine(url, pool_size=1)) as engine,
        session_scope(build_sessionmaker(engine)) as session,
    ):
        report = verify_chain(session, key=key)
    print(f"audit events checked: {report.events} (keyed {report.keyed}, unkeyed {report.unkeyed})")
    if report.first_break is None:
        print("audit chain intact")
        return 0
    brk = report.first_break
    print(f"FIRST BAD EVENT {brk.id}: {brk.kind}: {brk.detail}")
    print(f"events at which the chain breaks: {report.broken}")
    return 1


def _hot_folder_thread(settings: Settings, url: str) -> contextlib.AbstractContextManager[None]:
    from app.intake.commands import hot_folder_thread

    return hot_folder_thread(settings, url)


def _watch(settings: Settings, args: argparse.Namespace) -> int:
    from app.intake.commands import run_watch

    with database(settings) as url:
        return run_watch(settings, url, Path(args.folder))


def _imap(settings: Settings, args: argparse.Namespace) -> int:
    from app.intake.commands import run_imap_poll

    with database(settings) as url:
        return run_imap_poll(settings, url)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docarchive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (embedded database when none is set)")
    serve.add_argument("--host", help="listen address (default DOCARCHIVE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default DOCARCHIVE_PORT or 8000)")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(run=_migrate)

    bulk = commands.add_parser("import", help="import files and folders (recursively)")
    bulk.add_argument("paths", nargs="+", metavar="PATH")
    bulk.add_argument("--class", dest="document_class", help="document class for every file")
    bulk.add_argument("--tag", action="append", help="tag for every file (repeatable)")
    bulk.set_defaults(run=_import)

    worker = commands.add_parser(
        "worker", help="process documents (OCR, extraction) from the queue"
    )
    worker.add_argument("--concurrency", type=int, help="documents processed at once")
    worker.set_defaults(run=_worker)

    verify = commands.add_parser("verify", help="check blobs, hashes and the audit chain")
    verify.add_argument("--no-hash", action="store_true", help="check sizes, skip re-hashing")
    verify.set_defaults(run=_verify)

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_create = user_commands.add_parser("create", help="create an account")
    user_create.add_argument("username")
    user_create.add_argument("--admin", action="store_true", help="give the admin role")
    user_create.add_argument(
        "--role", action="append", help="a role (repeatable): " + ", ".join(_ROLES)
    )
    user_create.add_argument("--name", help="display name")
    user_create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (default: generate and print one)",
    )
    user_create.set_defaults(run=_user_create)
    user_token = user_commands.add_parser(
        "token", help="make an API token for a user (printed once, on the last line)"
    )
    user_token.add_argument("username")
    user_token.add_argument(
        "--scope", action="append", help="read, write, audit or admin (repeatable; default read)"
    )
    user_token.add_argument("--days", type=int, default=90, help="lifetime (default 90)")
    user_token.add_argument("--name", default="cli", help="a label to recognise it by")
    user_token.set_defaults(run=_user_token)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_commands.add_parser(
        "verify", help="check the hash chain; names the first altered, deleted or inserted event"
    )
    audit_verify.set_defaults(run=_audit_verify)

    reindex = commands.add_parser(
        "reindex", help="rebuild search rows of an older terms version (or all of them)"
    )
    reindex.add_argument(
        "--all", action="store_true", help="rebuild every row (e.g. after a secret key change)"
    )
    reindex.set_defaults(run=_reindex)

    purge = commands.add_parser(
        "purge", help="retention: list what is due for disposal, destroy approved batches"
    )
    purge_mode = purge.add_mutually_exclusive_group(required=True)
    purge_mode.add_argument(
        "--dry-run", action="store_true", help="show what a collection would list; change nothing"
    )
    purge_mode.add_argument(
        "--run",
        dest="execute",
        action="store_true",
        help="collect due documents and destroy approved batches",
    )
    purge.set_defaults(run=_purge)

    lock = commands.add_parser("object-lock", help="S3 Object Lock of the stored originals")
    lock_commands = lock.add_subparsers(dest="lock_command", required=True)
    lock_sync = lock_commands.add_parser(
        "sync", help="lock originals until their retention date; set and clear legal holds"
    )
    lock_sync.add_argument(
        "--limit", type=int, default=100_000, help="most versions changed in one run"
    )
    lock_sync.set_defaults(run=_object_lock_sync)

    gc = commands.add_parser("gc", help="remove orphan blobs and stale temporary files")
    gc.add_argument("--grace", type=int, help="minimum age in seconds (default from settings)")
    gc.set_defaults(run=_gc)

    fixity = commands.add_parser(
        "fixity", help="re-hash stored originals, least recently checked first; flag failures"
    )
    fixity_amount = fixity.add_mutually_exclusive_group()
    fixity_amount.add_argument(
        "--share",
        type=_share,
        help="share of the versions to check, 0 < SHARE <= 1 (default DOCARCHIVE_FIXITY_SHARE)",
    )
    fixity_amount.add_argument("--all", action="store_true", help="check every version")
    fixity.set_defaults(run=_fixity)

    backup = commands.add_parser(
        "backup", help="dump the database, then copy every blob (verified) into a folder"
    )
    backup.add_argument("folder", metavar="DIR", help="backup folder (re-runs copy new blobs)")
    backup.set_defaults(run=_backup)

    restore = commands.add_parser(
        "restore", help="put a backup's blobs into the store, then its dump into an empty database"
    )
    restore.add_argument("folder", metavar="DIR", help="a folder written by `docarchive backup`")
    restore.set_defaults(run=_restore)
    watch = commands.add_parser("watch", help="ingest files dropped into a folder (hot folder)")
    watch.add_argument("folder", metavar="DIR", help="folder to watch; done/ and failed/ inside")
    watch.set_defaults(run=_watch)

    mail = commands.add_parser("imap", help="poll the configured IMAP mailboxes once")
    mail.set_defaults(run=_imap)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"docarchive: invalid configuration: {exc}", file=sys.stderr)
        return 2
    from app.observability.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    code: int = args.run(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
