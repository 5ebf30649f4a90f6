//! The `tocsin` binary: reads the configuration, sets up logging, and serves until stopped.
#![forbid(unsafe_code)]

use clap::Parser as _;
use server::{
    Application, admin,
    config::{Command, Config},
    run_demo, shutdown_signal, telemetry,
};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init();
    if let Some(command @ (Command::User(_) | Command::Token(_) | Command::GenerateKey | Command::MigrateTo { .. })) =
        &config.command
    {
        return match admin::run(&config, command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("tocsin: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Demo) = config.command {
        return match run_demo(&config).await {
            Ok(summary) => {
                println!("{summary}");
                println!(
                    "Open {}incidents/{} to see them.",
                    config.effective_base_url(config.listen),
                    server::demo::DEMO_CONNECTION
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("tocsin demo: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let application = match Application::build(&config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("tocsin: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("Tocsin is listening on {}; open {}", application.local_addr(), application.base_url());
    tracing::info!(base_url = %application.base_url(), "started");
    match application.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tocsin: {error:#}");
            ExitCode::FAILURE
        }
    }
}
