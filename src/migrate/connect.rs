//! The connection: a URL, or the usual `PG*` variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`) as libpq reads them. No TLS: connect over loopback, a socket, or a tunnel.

use postgres::{Client, Config, NoTls};

use super::error::MigrateError;

/// Connects with `url` (`postgresql://user@host:port/db`), or with the `PG*` variables when there is none.
pub fn connect(url: Option<&str>) -> Result<Client, MigrateError> {
    let mut config = match url {
        Some(url) => url
            .parse::<Config>()
            .map_err(|source| MigrateError::Settings { source })?,
        None => from_env(),
    };
    config.application_name("atrest");
    config
        .connect(NoTls)
        .map_err(|source| MigrateError::Connect {
            reason: super::error::reason(&source),
            source,
        })
}

fn from_env() -> Config {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let mut config = Config::new();
    config.host(&var("PGHOST").unwrap_or_else(|| "localhost".into()));
    if let Some(port) = var("PGPORT").and_then(|p| p.parse().ok()) {
        config.port(port);
    }
    let user = var("PGUSER")
        .or_else(|| var("USER"))
        .unwrap_or_else(|| "postgres".into());
    config.user(&user);
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    config.dbname(&var("PGDATABASE").unwrap_or(user));
    config
}
