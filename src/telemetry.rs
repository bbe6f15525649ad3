//! Logs, traces and metrics: JSON logs via `tracing`, OpenTelemetry traces over
//! OTLP/HTTP when an endpoint is configured, and the Prometheus registry.
//! It must never log secrets or personal data: callers log ids, not values.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetrySettings};

/// Keeps the trace exporter alive; dropping it flushes pending spans.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "trace exporter did not shut down cleanly");
        }
    }
}

/// Errors while setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter directive does not parse.
    #[error("configuration key `telemetry.log_level`: {0}")]
    Filter(String),
    /// The OTLP exporter could not be built.
    #[error("configuration key `telemetry.otlp_endpoint`: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("telemetry already initialised: {0}")]
    Init(String),
}

/// Installs the global subscriber: JSON (or pretty) logs to stdout and, when
/// configured, OTLP trace export. W3C trace context is the propagation format.
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_new(&settings.log_level)
        .map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let fmt_layer = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(
                        Resource::builder()
                            .with_service_name(settings.service_name.clone())
                            .build(),
                    )
                    .build(),
            )
        }
        None => None,
    };
    let otel_layer = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer().with_tracer(p.tracer(settings.service_name.clone()))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|e| TelemetryError::Init(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// Labels of the HTTP metrics: the route pattern, never the raw path, so ids
/// do not explode the series count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route pattern, or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// The process's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests served, by route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request latency in seconds, by route and status.
    pub http_duration: Family<HttpLabels, Histogram>,
}

impl Metrics {
    /// Creates the registry with every metric the gateway exposes.
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("kyc_gateway");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        Arc::new(Self {
            registry,
            http_requests,
            http_duration,
        })
    }

    /// Renders the OpenMetrics/Prometheus text exposition.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
