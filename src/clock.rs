//! Times as the directory, the result files and the summary write them: RFC 3339 in UTC
//! to the second (`2026-12-02T06:02:25Z`), which sort as text in time order.

use std::time::{Duration, SystemTime};

/// Now.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// `days` days ago.
pub fn days_ago_rfc3339(days: u64) -> String {
    let then = SystemTime::now()
        .checked_sub(Duration::from_secs(days.saturating_mul(86_400)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    humantime::format_rfc3339_seconds(then).to_string()
}
