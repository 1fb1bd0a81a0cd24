//! Logs: structured with tracing; JSON in prod, compact text in dev. `RUST_LOG` overrides the level.

use tracing_subscriber::EnvFilter;

use crate::platform::config::Environment;

pub fn init(environment: Environment) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // try_init: a second initialisation (tests, CLI subcommands) keeps the first subscriber.
    let _ = match environment {
        Environment::Prod => builder.json().with_current_span(true).try_init(),
        Environment::Dev => builder.compact().try_init(),
    };
}
