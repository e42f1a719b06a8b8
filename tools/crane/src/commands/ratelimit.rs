//! `crane ratelimit IMAGE`: what the registry says is left of its rate limit.

use ocireg_crane::{Options, RateLimit, escape_text};

use super::{Outcome, stdout};
use crate::format::{self, FormatArg};
use crate::printer::Printer;

/// The lines `crane ratelimit` prints for `rate` (without `--format`).
fn lines(rate: &RateLimit) -> Vec<String> {
    if !rate.is_reported() {
        return vec!["no rate limit reported".to_owned()];
    }
    let mut out = Vec::new();
    if let Some(limit) = rate.limit {
        out.push(match rate.window_seconds {
            Some(w) => format!("limit: {limit} per {w}s"),
            None => format!("limit: {limit}"),
        });
    }
    if let Some(left) = rate.remaining {
        out.push(format!("remaining: {left}"));
    }
    if let Some(reset) = rate.reset_seconds {
        out.push(format!("resets in: {reset}s"));
    }
    if let Some(source) = &rate.source {
        out.push(format!("source: {}", escape_text(source)));
    }
    out
}

/// The data a `--format` template sees: `.Limit .Remaining .WindowSeconds .ResetSeconds
/// .Source` (null when absent) and `.Reported`.
fn data(rate: &RateLimit) -> serde_json::Value {
    serde_json::json!({
        "limit": rate.limit,
        "remaining": rate.remaining,
        "windowSeconds": rate.window_seconds,
        "resetSeconds": rate.reset_seconds,
        "source": rate.source,
        "reported": rate.is_reported(),
    })
}

pub(super) async fn ratelimit(
    reference: &str,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let rate = ocireg_crane::ratelimit(reference, opts).await?;
    match &template {
        Some(t) => format::print(t, &data(&rate))?,
        None => {
            stdout(Printer::lines(lines(&rate)))?;
        }
    }
    Ok(Outcome::Done)
}
