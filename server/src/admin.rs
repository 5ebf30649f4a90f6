//! The administration commands: `tocsin user add`, `tocsin token create|list|revoke` and
//! `tocsin generate-key`. They work on the configured database, also while Tocsin runs.

use crate::config::{Command, Config, TokenCommand, UserCommand};
use anyhow::{Context as _, bail};
use app::{
    crypto::SecretKey,
    domain::{TokenName, UserName},
    service::{AccessService, system_clock},
};
use std::io::{BufRead as _, IsTerminal as _};

pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    if let Command::GenerateKey = command {
        println!("{}", SecretKey::generate());
        return Ok(());
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
        Command::Demo | Command::GenerateKey => unreachable!("handled by the caller"),
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
