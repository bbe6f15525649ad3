//! The command line: `serve` (default), `migrate`, `openapi`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// kyc-gateway: the compliance stage of bank customer onboarding, TLS only.
#[derive(Debug, Parser)]
#[command(name = "kyc-gateway", version, about)]
pub struct Cli {
    /// Optional TOML config file; `KYC_*` environment variables override it.
    #[arg(long, short, global = true, env = "KYC_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTPS server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document (or write it with --output).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}
