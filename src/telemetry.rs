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
use prometheus_client::metrics::gauge::Gauge;
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
    /// Onboarding decisions, by outcome and by who decided (`policy`, `officer`).
    pub decisions: Family<DecisionLabels, Counter>,
    /// Reason codes of decisions (a decision with three reasons counts three).
    pub decision_reasons: Family<ReasonLabels, Counter>,
    /// Seconds from an application's creation to its final decision.
    pub time_to_decision: Histogram,
    /// Seconds a case waited in the queue before an officer's decision.
    pub time_in_queue: Histogram,
    /// Open cases in the exceptions queue.
    pub queue_depth: Gauge,
    /// Open cases past their SLA due time.
    pub queue_overdue: Gauge,
}

/// Labels of the decision counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `approve`, `review`, `reject`, `request_info`.
    pub outcome: String,
    /// `policy` or `officer`.
    pub by: String,
}

/// Labels of the reason counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The reason code (from the policy's closed set, so the series stay few).
    pub reason: String,
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
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "onboarding_decisions",
            "Onboarding decisions by outcome and decider (auto-approval rate: outcome=approve, by=policy over all)",
            decisions.clone(),
        );
        let decision_reasons = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "onboarding_decision_reasons",
            "Reason codes of onboarding decisions",
            decision_reasons.clone(),
        );
        let time_to_decision = Histogram::new(exponential_buckets(1.0, 4.0, 12));
        registry.register(
            "onboarding_time_to_decision_seconds",
            "Time from application creation to its final decision",
            time_to_decision.clone(),
        );
        let time_in_queue = Histogram::new(exponential_buckets(1.0, 4.0, 12));
        registry.register(
            "review_time_in_queue_seconds",
            "Time a case waited from opening to an officer's decision",
            time_in_queue.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "review_queue_depth",
            "Open cases in the exceptions queue",
            queue_depth.clone(),
        );
        let queue_overdue = Gauge::default();
        registry.register(
            "review_queue_overdue",
            "Open cases past their SLA due time (SLA breaches)",
            queue_overdue.clone(),
        );
        Arc::new(Self {
            registry,
            http_requests,
            http_duration,
            decisions,
            decision_reasons,
            time_to_decision,
            time_in_queue,
            queue_depth,
            queue_overdue,
        })
    }

    /// Renders the OpenMetrics/Prometheus text exposition.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
