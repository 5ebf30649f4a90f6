//! The administration commands: `tocsin user add`, `tocsin token create|list|revoke`,
//! `tocsin generate-key` and `tocsin migrate-to`. The first ones work on the configured database,
//! also while Tocsin runs.

use crate::config::{Command, Config, TokenCommand, UserCommand};
use anyhow::{Context as _, bail};
use app::{
    crypto::SecretKey,
    domain::{TokenName, UserName},
    service::{AccessService, system_clock},
};
use std::io::{BufRead as _, IsTerminal as _};

pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::GenerateKey => {
            println!("{}", SecretKey::generate());
            return Ok(());
        }
        Command::MigrateTo { target } => return migrate_to(config, target).await,
        _ => {}
    }
    let storage = crate::open_storage(config).await?;
    let access = AccessService::new(storage, system_clock(), config.auth);
    match command {
        Command::User(UserCommand::Add { name }) => {
            let name = UserName::parse(name).map_err(|error| anyhow::anyhow!("the user name {error}"))?;
            let password = read_password(&name)?;
            access.add_user(&name, &password).await.map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("Added user {name}.");
            if !config.auth {
                println!("Sign-in is off: start Tocsin with TOCSIN_AUTH=on to require it.");
            }
        }
        Command::Token(TokenCommand::Create { name }) => {
            let name = TokenName::parse(name).map_err(|error| anyhow::anyhow!("the token name {error}"))?;
            let (token, secret) = access.create_token(&name).await.map_err(|error| anyhow::anyhow!("{error:#}"))?;
            eprintln!("Created token {} ({}). It is shown only now:", token.id, token.name);
            println!("{secret}");
        }
        Command::Token(TokenCommand::List) => {
            let tokens = access.tokens().await.map_err(|error| anyhow::anyhow!("{error:#}"))?;
            if tokens.is_empty() {
                println!("No API tokens.");
            }
            for token in tokens {
                let status = token.revoked_at.map_or("active".to_owned(), |at| format!("revoked {}", at.date_string()));
                println!(
                    "{:>4}  {:<12}  {:<10}  {:<18}  {}",
                    token.id,
                    token.display(),
                    token.created_at.date_string(),
                    status,
                    token.name
                );
            }
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            if !access.revoke_token(*id).await.map_err(|error| anyhow::anyhow!("{error:#}"))? {
                bail!("no active token number {id}; `tocsin token list` shows them");
            }
            println!("Revoked token {id}.");
        }
        Command::Demo | Command::GenerateKey | Command::MigrateTo { .. } => unreachable!("handled before"),
    }
    Ok(())
}

/// From the terminal without echo, or the first line of standard input when it is piped.
fn read_password(name: &UserName) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let password =
            rpassword::prompt_password(format!("Password for {name}: ")).context("could not read the password")?;
        let again = rpassword::prompt_password("Repeat it: ").context("could not read the password")?;
        if password != again {
            bail!("the passwords differ");
        }
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `tocsin migrate-to`: copies the configured SQLite database into an empty PostgreSQL one, with
/// a progress bar on a terminal, and the counts.
async fn migrate_to(config: &Config, target: &str) -> anyhow::Result<()> {
    if !config.database_url.starts_with("sqlite:") {
        bail!("migrate-to copies a SQLite database: set TOCSIN_DATABASE_URL to the sqlite: URL to copy");
    }
    if !app::storage::is_postgres_url(target) {
        bail!("migrate-to copies into PostgreSQL: give a postgres: URL");
    }
    let vault = app::storage::Vault::new(config.secret_key.as_ref().map(app::crypto::Sealer::new));
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |table: &str, done: u64, total: u64| {
        if terminal {
            let width = 30;
            let filled = (done * width as u64).checked_div(total).map_or(width, |filled| filled as usize);
            eprint!("\r  {table:<24} [{}{}] {done:>9} of {total}", "#".repeat(filled), ".".repeat(width - filled));
            if done == total {
                eprintln!();
            }
        } else if done == total {
            eprintln!("  {table:<24} {done:>9} rows");
        }
    };
    let copied = app::storage::copy::sqlite_to_postgres(&config.database_url, target, vault, &mut progress).await?;
    let rows: u64 = copied.iter().map(|(_, rows)| rows).sum();
    let counts = copied.iter().map(|(table, rows)| format!("{table} {rows}")).collect::<Vec<_>>().join(", ");
    println!("Copied {rows} rows into {}: {counts}.", app::storage::redacted_url(target));
    println!("Start Tocsin with TOCSIN_DATABASE_URL set to it (and the same TOCSIN_SECRET_KEY).");
    Ok(())
}
