//! The command line: `serve` (default), `migrate`, `openapi`, `dev token`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::auth::Role;

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
    /// Development helpers (dev profile only).
    Dev {
        /// What to do.
        #[command(subcommand)]
        command: DevCommand,
    },
}

/// `kyc-gateway dev …`: refused in the production profile.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print an access token signed with the local dev key, which the dev server trusts.
    Token {
        /// A role to grant (repeatable): applicant, officer, senior_officer, auditor,
        /// admin, service.
        #[arg(long = "role", required = true)]
        roles: Vec<Role>,
        /// The token's subject (`sub`).
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. `90s`, `15m`, `2h` (at most 24h).
        #[arg(long, default_value = "15m", value_parser = parse_ttl)]
        ttl: Duration,
    },
}

/// Parses `90s`, `15m`, `2h` (or bare seconds), between 1 s and 24 h.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}`: expected a number with s, m or h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("`{raw}`: the unit must be s, m or h")),
    };
    if !(1..=24 * 3600).contains(&secs) {
        return Err(format!("`{raw}`: must be between 1s and 24h"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units_and_are_bounded() {
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("30"), Ok(Duration::from_secs(30)));
        for bad in ["0s", "25h", "15x", "m", "", "-1s"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
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
