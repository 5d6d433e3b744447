//! The service's log: `tracing` events to stderr as text or JSON lines, filtered by
//! `RUST_LOG` (default `info`).
//!
//! One adjustment to what the libraries log: actix's HTTP/1 dispatcher reports at ERROR a
//! connection that ended because of what the client sent (bytes its parser refuses, a
//! connection reset, a request head that never arrived). Those are the client's errors, which
//! the service answered (400, 431, 408) or could not answer: they are written at INFO under
//! `clientline::http`, so that ERROR stays for faults of the service.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How the log is written.
#[derive(Clone, Copy)]
pub enum Format {
    Text,
    Json,
}

pub fn init(format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        Format::Text => {
            let inner = tracing_subscriber::fmt::format();
            builder
                .event_format(ClientErrorsAtInfo { inner, format })
                .init();
        }
        Format::Json => {
            let inner = tracing_subscriber::fmt::format().json().flatten_event(true);
            builder
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(ClientErrorsAtInfo { inner, format })
                .init();
        }
    }
}

/// The dispatcher's errors that come from the client, by their messages' prefixes
/// (actix-http's `DispatchError` display strings).
const CLIENT_ERRORS: [&str; 4] = [
    "stream error: request parse error",
    "stream error: I/O error",
    "stream error: request did not complete within the specified timeout",
    "stream error: connection shutdown timeout",
];

/// Whether `event` is one of [`CLIENT_ERRORS`]; its message if so.
fn client_error(event: &Event<'_>) -> Option<String> {
    let metadata = event.metadata();
    if *metadata.level() != Level::ERROR || !metadata.target().starts_with("actix_http::h1") {
        return None;
    }
    let mut message = Message(None);
    event.record(&mut message);
    let message = message.0?;
    CLIENT_ERRORS
        .iter()
        .any(|prefix| message.starts_with(prefix))
        .then(|| {
            let cause = message.trim_start_matches("stream error: ");
            format!("a connection ended on the client's error: {cause}")
        })
}

struct Message(Option<String>);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The formatter `inner`, except for the client errors, which it writes at INFO.
struct ClientErrorsAtInfo<F> {
    inner: F,
    format: Format,
}

const TARGET: &str = "clientline::http";

impl<S, N, F> FormatEvent<S, N> for ClientErrorsAtInfo<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(message) = client_error(event) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match self.format {
            Format::Text => writeln!(writer, "{timestamp}  INFO {TARGET}: {message}"),
            Format::Json => {
                let line = serde_json::json!({
                    "timestamp": timestamp,
                    "level": "INFO",
                    "message": message,
                    "target": TARGET,
                });
                writeln!(writer, "{line}")
            }
        }
    }
}
