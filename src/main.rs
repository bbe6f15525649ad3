//! The `kyc-gateway` binary: parse the CLI, load config, init telemetry, run.

use std::process::ExitCode;

use clap::Parser;
use kyc_gateway::cli::{AuditCommand, Cli, Command, DevCommand};
use kyc_gateway::config::{Profile, Settings};
use kyc_gateway::startup::{Application, open_store};
use kyc_gateway::{openapi_json, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi { output }) = &cli.command {
        return write_openapi(output.as_deref());
    }
    // Verification needs no configuration, database or network.
    if let Some(Command::Audit(AuditCommand::Verify {
        bundle,
        trusted_checkpoint,
        keys,
    })) = &cli.command
    {
        return kyc_gateway::audit::cli::verify(bundle, trusted_checkpoint.as_deref(), keys);
    }
    if matches!(cli.command, Some(Command::Dev { .. }))
        && matches!(
            Settings::load_profile(cli.config.as_deref()),
            Ok(Profile::Production)
        )
    {
        eprintln!(
            "kyc-gateway: `dev` commands are refused in the production profile; \
             production never trusts the dev signing key"
        );
        return ExitCode::from(2);
    }
    // Config errors come before logging exists: say them plainly on stderr.
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("kyc-gateway: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Dev {
        command: DevCommand::Token { roles, sub, ttl },
    }) = &cli.command
    {
        return dev_token(&settings, roles, sub, *ttl);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kyc-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        kyc_gateway::install_crypto_provider();
        let _guard = match telemetry::init(&settings.telemetry) {
            Ok(guard) => guard,
            Err(error) => {
                eprintln!("kyc-gateway: {error}");
                return ExitCode::from(2);
            }
        };
        let result = match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => open_store(&settings)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Command::Audit(AuditCommand::Export { from, to, output }) => {
                kyc_gateway::audit::cli::export(&settings, from, to, output.as_deref()).await
            }
            Command::Openapi { .. }
            | Command::Dev { .. }
            | Command::Audit(AuditCommand::Verify { .. }) => Ok(()),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "kyc-gateway failed");
                eprintln!("kyc-gateway: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

fn write_openapi(output: Option<&std::path::Path>) -> ExitCode {
    let json = openapi_json();
    let result = match output {
        Some(path) => std::fs::write(path, json),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(json.as_bytes())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kyc-gateway: cannot write the OpenAPI document: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `dev token`: mints a token with the dev key; refused in production, where that
/// key is never trusted.
fn dev_token(
    settings: &Settings,
    roles: &[kyc_gateway::auth::Role],
    sub: &str,
    ttl: std::time::Duration,
) -> ExitCode {
    use kyc_gateway::auth::dev::ensure_dev_key;
    if settings.profile == Profile::Production {
        eprintln!("kyc-gateway: `dev` commands are refused in the production profile");
        return ExitCode::from(2);
    }
    if settings.auth.jwks_path.is_some() || settings.auth.jwks_url.is_some() {
        eprintln!(
            "kyc-gateway: warning: auth.jwks_path/jwks_url is set, so the server will not \
             trust tokens from the dev key unless that JWKS contains it"
        );
    }
    let key = match ensure_dev_key(&settings.dev_dir()) {
        Ok((key, _)) => key,
        Err(error) => {
            eprintln!("kyc-gateway: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), settings.auth.effective_issuer().into());
    claims.insert("aud".into(), settings.auth.effective_audience().into());
    claims.insert("sub".into(), sub.into());
    claims.insert("client_id".into(), "kyc-gateway-dev-cli".into());
    claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    let roles: Vec<serde_json::Value> = roles.iter().map(|r| r.as_str().into()).collect();
    claims.insert(settings.auth.roles_claim.clone(), roles.into());
    match key.mint(&claims, &key.kid(), ttl) {
        Ok(token) => {
            use std::io::Write;
            let mut out = std::io::stdout();
            match writeln!(out, "{token}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(error) => {
            eprintln!("kyc-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}
