//! `ehome`: thin main — telemetry, configuration, then the chosen command.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ehome_api::cli::{Cli, Command, MigrateAction};
use ehome_api::platform::config::Settings;
use ehome_api::startup::Application;
use ehome_migrations::{Migrator, MigratorTrait};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ehome: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let settings = Settings::from_env().context("configuration")?;
    ehome_api::platform::telemetry::init(settings.environment);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            match action {
                MigrateAction::Up => ehome_api::platform::db::migrate_up(&db).await?,
                MigrateAction::Down { steps } => Migrator::down(&db, Some(steps)).await?,
                MigrateAction::Status => Migrator::status(&db).await?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            ehome_api::platform::db::migrate(&db).await?;
            if ehome_api::demo::present(&db).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("demo data is already loaded; nothing to do");
                return Ok(ExitCode::SUCCESS);
            }
            ehome_api::demo::seed(&db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("demo data loaded");
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            ehome_api::platform::db::migrate(&db).await?;
            ehome_api::cli::ledger::run(action, &db).await
        }
        Command::Polls { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            ehome_api::platform::db::migrate(&db).await?;
            ehome_api::cli::polls::run(action, &db).await
        }
        Command::Stats { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            ehome_api::platform::db::migrate(&db).await?;
            ehome_api::cli::stats::run(action, &db).await
        }
        Command::Leaderboard { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            ehome_api::platform::db::migrate(&db).await?;
            let cache = ehome_api::platform::cache::connect(settings.redis.url.as_deref(), &settings.redis.key_prefix)
                .await
                .context("connecting to the shared cache")?;
            ehome_api::cli::leaderboard::run(action, &db, &cache).await
        }
        Command::Backup { to, force } => ehome_api::cli::backup::backup(&settings.database, &to, force).await,
        Command::Restore { from, force } => ehome_api::cli::backup::restore(&settings.database, &from, force).await,
        Command::Admin { action } => {
            let db = ehome_api::platform::db::connect(&settings.database).await?;
            let cache = ehome_api::platform::cache::connect(settings.redis.url.as_deref(), &settings.redis.key_prefix)
                .await
                .context("connecting to the shared cache")?;
            ehome_api::cli::admin::run(action, &db, &cache).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let dev = settings.environment.is_dev();
    let app = Application::build(settings).await?;
    if app.state().settings.requests.job_interval_seconds > 0 {
        ehome_api::scenes::requests::jobs::spawn(app.state().clone());
        ehome_api::scenes::deliberations::jobs::spawn(app.state().clone());
        ehome_api::scenes::activities::jobs::spawn(app.state().clone());
        ehome_api::scenes::care::jobs::spawn(app.state().clone());
    }
    // Codes nobody redeemed in time are expired and their reservations given back, by every instance.
    ehome_api::scenes::redemptions::jobs::spawn(app.state().clone(), std::time::Duration::from_secs(30));
    // Ballots join their poll's hash chain within a second of being cast, whatever the request jobs do.
    ehome_api::scenes::polls::jobs::spawn(app.state().clone());
    ehome_api::scenes::help_posts::jobs::spawn(app.state().clone(), std::time::Duration::from_secs(60));
    // Points past their day expire, oldest first, once per resident and day however many instances run.
    let expiry_interval = app.state().settings.points.expiry_job_interval_seconds;
    if expiry_interval > 0 {
        ehome_api::scenes::wallet::jobs::spawn(app.state().clone(), std::time::Duration::from_secs(expiry_interval));
    }
    // Timed-out ledger holds are voided by every instance; each hold expires once.
    let ledger = ehome_ledger::Ledger::new(app.state().db.clone());
    app.state().shutdown.every("ledger hold expiry", std::time::Duration::from_secs(30), move || {
        let ledger = ledger.clone();
        async move {
            loop {
                match ledger.expire_holds(1000).await {
                    Ok(0) => break,
                    Ok(expired) => tracing::info!(expired, "ledger holds expired"),
                    Err(err) => {
                        tracing::warn!(error = %err, "ledger hold expiry failed");
                        break;
                    }
                }
            }
        }
    });
    let address = format!("http://127.0.0.1:{}", app.port());
    println!("邻e家 API listening on {address} (port {})", app.port());
    if dev {
        println!("dev mode: get a token with");
        println!(
            "  curl -s -X POST {address}/api/v1/auth/dev-login -H 'content-type: application/json' -d '{{\"openid\":\"demo-resident-1\"}}'"
        );
        println!("demo users (openid → role):");
        for (openid, what) in ehome_api::demo::DEMO_USERS {
            println!("  {openid:<18} {what}");
        }
    }
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
