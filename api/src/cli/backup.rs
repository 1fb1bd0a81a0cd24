//! `ehome backup --to FILE` and `ehome restore --from FILE` for the embedded SQLite database.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is a consistent snapshot of
//! every transaction committed before it began and of none after, taken while instances keep serving
//! (in WAL mode readers and the writer do not block each other). It is written under a temporary name
//! beside the target, fsync'd, renamed into place and the directory fsync'd, so a crash leaves either
//! the old file or the whole new one. A restore checks that the file is a sound ehome database
//! (`PRAGMA integrity_check`, a migration table naming only migrations this binary knows), copies it
//! the same way next to the configured database, runs the pending migrations on the copy and only then
//! renames it into place. With PostgreSQL configured both commands point at `pg_dump`/`pg_restore`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ehome_migrations::{Migrator, MigratorTrait};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sea_orm::sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use crate::platform::config::DatabaseSettings;

/// Copies smaller than this are made without a progress bar.
const PROGRESS_BAR_MIN_BYTES: u64 = 16 * 1024 * 1024;

/// Exit code when the command does not apply to the configured database (PostgreSQL).
const EXIT_NOT_SQLITE: u8 = 2;

const POSTGRES_BACKUP: &str = "\
ehome backup works on the embedded SQLite database; DATABASE_URL points at PostgreSQL.
Back PostgreSQL up with its own tools, which take a consistent snapshot while the instances serve:
  pg_dump --format=custom --file=ehome.dump \"$DATABASE_URL\"
and, for point-in-time recovery, a base backup (pg_basebackup) plus WAL archiving (archive_mode = on,
archive_command). See \"Backups and restore\" in the README.";

const POSTGRES_RESTORE: &str = "\
ehome restore works on the embedded SQLite database; DATABASE_URL points at PostgreSQL.
Restore PostgreSQL with its own tools, into an empty database, then start ehome (it runs pending
migrations):
  createdb ehome_restored && pg_restore --no-owner --dbname=ehome_restored ehome.dump
or, to a point in time, a base backup with restore_command and recovery_target_time. See \"Backups and
restore\" in the README.";

/// `ehome backup --to FILE [--force]`.
pub async fn backup(settings: &DatabaseSettings, to: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let Some(source) = sqlite_file(&settings.url)? else {
        eprintln!("{POSTGRES_BACKUP}");
        return Ok(ExitCode::from(EXIT_NOT_SQLITE));
    };
    if !source.is_file() {
        bail!("the configured database {} does not exist: nothing to back up", source.display());
    }
    if same_file(&source, to) {
        bail!("{} is the configured database itself; back up to another file", to.display());
    }
    if to.exists() && !force {
        bail!("{} already exists; pass --force to replace it", to.display());
    }
    let started = Instant::now();
    let mut connection = open(&source, settings, false).await?;
    let migrations = applied_migrations(&mut connection).await?;
    let temporary = TemporaryFile::beside(to)?;
    eprintln!("backing up {} ({} migrations applied) to {}", source.display(), migrations.len(), to.display());
    vacuum_into(&mut connection, &temporary.path).await?;
    connection.close().await.context("closing the database")?;

    let mut copy = open(&temporary.path, settings, true).await?;
    integrity_check(&mut copy).await.context("checking the copy")?;
    copy.close().await.context("closing the copy")?;
    let bytes = temporary.commit(to)?;
    eprintln!("backup written: {} ({}) in {:.1} s", to.display(), human_bytes(bytes), started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// `ehome restore --from FILE [--force]`.
pub async fn restore(settings: &DatabaseSettings, from: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let Some(target) = sqlite_file(&settings.url)? else {
        eprintln!("{POSTGRES_RESTORE}");
        return Ok(ExitCode::from(EXIT_NOT_SQLITE));
    };
    if target.exists() && !force {
        bail!("{} already exists; pass --force to replace it (stop every instance using it first)", target.display());
    }
    if !from.is_file() {
        bail!("{} does not exist", from.display());
    }
    if same_file(from, &target) {
        bail!("{} is the configured database itself; nothing to restore", from.display());
    }
    if target.exists() && sidecar(&target, "-shm").exists() {
        eprintln!("warning: {} has a -shm file: stop every instance using it before restoring", target.display());
    }
    let started = Instant::now();
    let mut source = open(from, settings, true).await?;
    integrity_check(&mut source).await.with_context(|| format!("{} is not a sound SQLite database", from.display()))?;
    let migrations = applied_migrations(&mut source)
        .await
        .with_context(|| format!("{} is not an ehome database", from.display()))?;
    let known: Vec<String> = Migrator::migrations().iter().map(|migration| migration.name().to_owned()).collect();
    if let Some(unknown) = migrations.iter().find(|name| !known.contains(name)) {
        bail!("{} was written by a newer ehome (migration {unknown} is unknown to this binary)", from.display());
    }
    eprintln!("restoring {} ({} migrations applied) into {}", from.display(), migrations.len(), target.display());

    let temporary = TemporaryFile::beside(&target)?;
    vacuum_into(&mut source, &temporary.path).await?;
    source.close().await.context("closing the backup")?;
    let pending = migrate(&temporary.path, settings).await?;
    let mut copy = open(&temporary.path, settings, true).await?;
    integrity_check(&mut copy).await.context("checking the restored copy")?;
    copy.close().await.context("closing the restored copy")?;

    // A write-ahead log left by the database being replaced belongs to it, not to the restored file.
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&sidecar(&target, suffix))?;
    }
    let bytes = temporary.commit(&target)?;
    eprintln!(
        "restored {} ({}, {pending} pending migrations run) in {:.1} s",
        target.display(),
        human_bytes(bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The database file of a `sqlite:` URL; `None` for PostgreSQL.
fn sqlite_file(url: &str) -> anyhow::Result<Option<PathBuf>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url).context("reading DATABASE_URL")?;
    let file = options.get_filename().to_path_buf();
    if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        bail!("DATABASE_URL names an in-memory database: there is no file to back up or restore into");
    }
    Ok(Some(file))
}

/// One connection to an existing file, never creating it and never changing its journal mode.
async fn open(file: &Path, settings: &DatabaseSettings, read_only: bool) -> anyhow::Result<SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_millis(settings.sqlite_busy_timeout_ms))
        .disable_statement_logging()
        .connect()
        .await
        .with_context(|| format!("opening {}", file.display()))
}

async fn integrity_check(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    let rows = sea_orm::sqlx::query("PRAGMA integrity_check").fetch_all(&mut *connection).await?;
    let findings: Vec<String> = rows.iter().filter_map(|row| row.try_get::<String, _>(0).ok()).collect();
    if findings != ["ok"] {
        bail!("integrity check failed: {}", findings.join("; "));
    }
    Ok(())
}

/// The names of the applied migrations, oldest first; an error when the migration table is missing.
async fn applied_migrations(connection: &mut SqliteConnection) -> anyhow::Result<Vec<String>> {
    let rows = sea_orm::sqlx::query("SELECT version FROM seaql_migrations ORDER BY version")
        .fetch_all(&mut *connection)
        .await
        .context("reading the migration table seaql_migrations")?;
    rows.iter().map(|row| row.try_get::<String, _>(0).context("reading a migration name")).collect()
}

/// `VACUUM INTO` the file, with a progress bar over its growth when the database is large.
async fn vacuum_into(connection: &mut SqliteConnection, file: &Path) -> anyhow::Result<()> {
    let Some(name) = file.to_str() else {
        bail!("{} is not valid UTF-8; choose another name", file.display());
    };
    let pages: (i64, i64, i64) = sea_orm::sqlx::query_as(
        "SELECT page_count, freelist_count, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
    )
    .fetch_one(&mut *connection)
    .await
    .context("reading the database size")?;
    let expected = u64::try_from((pages.0 - pages.1).max(1) * pages.2).unwrap_or(u64::MAX);
    let bar = progress_bar(expected);
    let watched = file.to_path_buf();
    let watcher_bar = bar.clone();
    let watcher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Ok(metadata) = tokio::fs::metadata(&watched).await {
                watcher_bar.set_position(metadata.len().min(expected));
            }
        }
    });
    let copied = sea_orm::sqlx::query("VACUUM INTO ?").bind(name).execute(&mut *connection).await;
    watcher.abort();
    bar.finish_and_clear();
    copied.with_context(|| format!("copying the database into {}", file.display()))?;
    Ok(())
}

fn progress_bar(total_bytes: u64) -> ProgressBar {
    if total_bytes < PROGRESS_BAR_MIN_BYTES {
        return ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "copying [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Runs the pending migrations on the restored copy (in rollback-journal mode, so no `-wal` file is
/// left beside the temporary name); returns how many ran.
async fn migrate(file: &Path, settings: &DatabaseSettings) -> anyhow::Result<usize> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .foreign_keys(true)
        .busy_timeout(Duration::from_millis(settings.sqlite_busy_timeout_ms))
        .disable_statement_logging();
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.context("opening the copy")?;
    let db = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
    let pending = Migrator::get_pending_migrations(&db).await.context("reading pending migrations")?.len();
    if pending > 0 {
        eprintln!("running {pending} pending migrations");
        crate::platform::db::migrate_up(&db).await.context("running pending migrations on the restored copy")?;
    }
    db.close().await.context("closing the copy")?;
    Ok(pending)
}

/// A file being written under a temporary name beside its destination; removed unless committed.
struct TemporaryFile {
    path: PathBuf,
    committed: bool,
}

impl TemporaryFile {
    fn beside(destination: &Path) -> anyhow::Result<Self> {
        let Some(name) = destination.file_name() else {
            bail!("{} is not a file name", destination.display());
        };
        let path = destination.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
        remove_if_present(&path)?;
        Ok(Self { path, committed: false })
    }

    /// fsyncs the file, renames it to `destination`, fsyncs the directory; returns the file's size.
    fn commit(mut self, destination: &Path) -> anyhow::Result<u64> {
        let file = std::fs::File::open(&self.path).with_context(|| format!("opening {}", self.path.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", self.path.display()))?;
        let bytes = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        std::fs::rename(&self.path, destination)
            .with_context(|| format!("renaming {} to {}", self.path.display(), destination.display()))?;
        self.committed = true;
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        std::fs::File::open(directory)
            .and_then(|directory| directory.sync_all())
            .with_context(|| format!("syncing the directory {}", directory.display()))?;
        Ok(bytes)
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.committed {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let _ = std::fs::remove_file(sidecar(&self.path, suffix));
            }
        }
    }
}

/// Whether two paths name the same existing file (through links and relative paths).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn sidecar(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(file: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(file) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", file.display()))
        }
        _ => Ok(()),
    }
}

fn human_bytes(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
