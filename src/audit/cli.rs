//! The auditor's and operator's command line: `audit export` (from the
//! database) and `audit verify` (offline, from the bundle alone).

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use super::checkpoint::Verifier;
use super::export::{ChunkSink, export_bundle};
use super::sequencer;
use super::verify::verify_bundle;
use crate::config::Settings;
use crate::startup::{audit_log, open_store, sequencer_settings};

/// Exit code of `audit verify` for a bundle that does not verify.
const NOT_VERIFIED: u8 = 1;
/// Exit code for unusable arguments or unreadable files.
const USAGE: u8 = 2;

/// `kyc-gateway audit verify`: prints a summary and exits 0 only when the
/// bundle verifies; otherwise names the first bad index or checkpoint.
pub fn verify(bundle: &Path, trusted: Option<&Path>, keys: &[String]) -> ExitCode {
    let pinned: Result<Vec<Verifier>, _> = keys.iter().map(|k| Verifier::from_vkey(k)).collect();
    let pinned = match pinned {
        Ok(p) => p,
        Err(error) => {
            eprintln!("kyc-gateway: --key: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let trusted_note = match trusted.map(std::fs::read_to_string).transpose() {
        Ok(t) => t,
        Err(error) => {
            eprintln!("kyc-gateway: --trusted-checkpoint: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let file = match std::fs::File::open(bundle) {
        Ok(f) => f,
        Err(error) => {
            eprintln!("kyc-gateway: {}: {error}", bundle.display());
            return ExitCode::from(USAGE);
        }
    };
    match verify_bundle(BufReader::new(file), trusted_note.as_deref(), &pinned) {
        Ok(report) if !pinned.is_empty() && !report.tree_checkpoint_signed_by_extra_key => {
            eprintln!(
                "NOT VERIFIED: the checkpoint of size {} is not signed by a pinned --key",
                report.tree_size
            );
            ExitCode::from(NOT_VERIFIED)
        }
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "VERIFIED: entries [{}, {}) of a tree of size {}, root {}, {} checkpoint(s) checked{}",
                report.from,
                report.to,
                report.tree_size,
                report.root_hex,
                report.checkpoints_verified,
                if pinned.is_empty() {
                    "; signatures checked against the bundle's own keys (pin the log key with --key)"
                } else {
                    "; signed by a pinned key"
                }
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("NOT VERIFIED: {error}");
            ExitCode::from(NOT_VERIFIED)
        }
    }
}

struct StdoutSink;

#[async_trait::async_trait]
impl ChunkSink for StdoutSink {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        std::io::stdout().lock().write_all(&chunk)
    }
}

/// `kyc-gateway audit export`: sequences what is queued, writes the bundle,
/// and records the export in the log (a sensitive read).
pub async fn export(
    settings: &Settings,
    from: Option<u64>,
    to: Option<u64>,
    output: Option<&Path>,
) -> Result<(), String> {
    let store = open_store(settings).await.map_err(|e| e.to_string())?;
    let log = audit_log(settings, std::sync::Arc::clone(&store)).map_err(|e| e.to_string())?;
    let seq = sequencer_settings(settings);
    sequencer::run_once(store.as_ref(), log.signer(), log.origin(), &seq)
        .await
        .map_err(|e| e.to_string())?;
    let summary = match output {
        Some(path) => {
            let mut file = tokio::fs::File::create(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let summary = export_bundle(&log, from, to, &mut file)
                .await
                .map_err(|e| e.to_string())?;
            file.sync_all()
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            summary
        }
        None => export_bundle(&log, from, to, &mut StdoutSink)
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut event = log.event("audit.exported", log.operator_actor(), "success", None);
    event.target = Some(super::entry::Target {
        kind: "audit_range".to_owned(),
        id: format!("{}-{}@{}", summary.from, summary.to, summary.tree_size),
        state_before: None,
        state_after: None,
    });
    log.record(&[event]).await.map_err(|e| e.to_string())?;
    sequencer::run_once(store.as_ref(), log.signer(), log.origin(), &seq)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    Ok(())
}
