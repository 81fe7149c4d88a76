//! Logs and traces: JSON logs on stderr (filtered by `EDGEFLAG_LOG`), and, when
//! `telemetry.otlp_endpoint` is set, the same spans exported as OpenTelemetry traces over
//! OTLP/HTTP. The exporter runs on its own thread in batches, so a slow or absent
//! collector never slows a request; [`Telemetry::shutdown`] flushes what is queued.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};

use crate::{access_log::DEFAULT_FILTER, config::TelemetryConfig};

/// The installed exporter, if any; flush it with [`Self::shutdown`] before exiting.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "exporting the last traces failed");
        }
    }
}

/// Installs the global subscriber: JSON logs, plus OTLP traces when `config` names a
/// collector.
pub fn init(config: Option<&TelemetryConfig>) -> anyhow::Result<Telemetry> {
    let filter =
        EnvFilter::try_from_env("EDGEFLAG_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(std::io::stderr);
    let Some((endpoint, service)) = config.and_then(|c| {
        c.otlp_endpoint
            .as_deref()
            .map(|e| (e.trim_end_matches('/').to_string(), c.service_name.clone()))
    }) else {
        tracing_subscriber::registry()
            .with(filter)
            .with(logs)
            .init();
        return Ok(Telemetry::default());
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .map_err(|e| anyhow::anyhow!("telemetry.otlp_endpoint `{endpoint}`: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let traces = tracing_opentelemetry::layer().with_tracer(provider.tracer("edgeflag-admin"));
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .init();
    Ok(Telemetry {
        provider: Some(provider),
    })
}
