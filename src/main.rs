//! The `kyc-gateway` binary: parse the CLI, load config, init telemetry, run.

use std::process::ExitCode;

use clap::Parser;
use kyc_gateway::cli::{AuditCommand, Cli, Command};
use kyc_gateway::config::Settings;
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
    // Config errors come before logging exists: say them plainly on stderr.
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("kyc-gateway: {error}");
            return ExitCode::from(2);
        }
    };
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
            Command::Openapi { .. } | Command::Audit(AuditCommand::Verify { .. }) => Ok(()),
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
