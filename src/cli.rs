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
    /// Export or verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI 3.1 document (or write it with --output).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `kyc-gateway audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write a self-contained bundle (entries, checkpoint, key, manifest)
    /// from the database; sequences pending entries first.
    Export {
        /// First entry index (default 0).
        #[arg(long)]
        from: Option<u64>,
        /// One past the last entry index (default: the newest checkpoint's size).
        #[arg(long)]
        to: Option<u64>,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Verify a bundle offline: no network, no database. Exit 0 only if it verifies.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// A checkpoint note you already hold; the bundle must be consistent with it.
        #[arg(long)]
        trusted_checkpoint: Option<PathBuf>,
        /// A log verifier key (`name+id+key`) to pin; repeatable. With a pinned key,
        /// the bundle's checkpoint must be signed by it.
        #[arg(long = "key")]
        keys: Vec<String>,
    },
}
