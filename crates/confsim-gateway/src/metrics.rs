//! Counters and their Prometheus text rendering (`GET /simulator/metrics`).
//!
//! The journal-derived counters (inputs by operation, events by type, retcodes) are counted
//! by the same observer that routes events to the agents' queues, under the engine's lock, so
//! they agree with the journal exactly. The gateway's own counters (Guid rejections, dropped
//! events, HTTP statuses) count what never reaches the journal.

use confsim_core::{EventType, Op};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts kept with the engine (under its lock).
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub inputs: Vec<u64>,
    pub events: Vec<u64>,
    /// Retcodes of journaled inputs, in order of first appearance (few distinct values, so a
    /// linear search beats hashing and allocates only for a retcode never seen before).
    pub retcodes: Vec<(String, u64)>,
    /// Requests the gateway answered itself, by retcode (Guid checks, bad ids on gateway-only
    /// interfaces): not in the journal.
    pub gateway_retcodes: Vec<(&'static str, u64)>,
    /// Events dropped from a full queue (the oldest goes). Journaled all the same.
    pub dropped: u64,
    /// Sessions whose queue overflowed at least once (each warned about once).
    pub overflowed_sessions: u64,
    /// The longest any agent's queue has been (the high-water mark; at most the capacity).
    pub queue_length_max: u64,
    /// Events for an agent with no session at the gateway (it never signed in over HTTP, or
    /// its session ended): journaled, delivered to nobody.
    pub undelivered: u64,
    /// Events delivered by a poll.
    pub delivered: u64,
    pub inactivity_signouts: u64,
    /// Signed-out sessions forgotten because nobody polled their remaining events.
    pub expired_sessions: u64,
    pub guid_rotations: u64,
    /// Events acknowledged by push-mode callbacks, and the callbacks that carried them.
    pub pushed_events: u64,
    pub push_batches: u64,
    /// Callbacks not acknowledged (each retried).
    pub push_failures: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            inputs: vec![0; Op::ALL.len()],
            events: vec![0; EventType::ALL.len()],
            retcodes: Vec::new(),
            gateway_retcodes: Vec::new(),
            dropped: 0,
            overflowed_sessions: 0,
            queue_length_max: 0,
            undelivered: 0,
            delivered: 0,
            inactivity_signouts: 0,
            expired_sessions: 0,
            guid_rotations: 0,
            pushed_events: 0,
            push_batches: 0,
            push_failures: 0,
        }
    }
}

impl Counters {
    pub fn count_input(&mut self, op: Op, retcode: &str) {
        self.inputs[op as usize] += 1;
        match self.retcodes.iter_mut().find(|(r, _)| r == retcode) {
            Some((_, n)) => *n += 1,
            None => self.retcodes.push((retcode.to_owned(), 1)),
        }
    }

    pub fn count_event(&mut self, ty: EventType) {
        self.events[ty as usize] += 1;
    }

    pub fn count_gateway_retcode(&mut self, retcode: &'static str) {
        match self
            .gateway_retcodes
            .iter_mut()
            .find(|(r, _)| *r == retcode)
        {
            Some((_, n)) => *n += 1,
            None => self.gateway_retcodes.push((retcode, 1)),
        }
    }
}

/// HTTP responses by status class, counted outside the engine's lock.
#[derive(Debug, Default)]
pub(crate) struct HttpCounters {
    /// 1xx … 5xx.
    classes: [AtomicU64; 5],
    pub body_too_large: AtomicU64,
    pub not_found: AtomicU64,
    pub panics: AtomicU64,
    /// `/simulator/` requests refused: the control API is off, or the token was wrong.
    pub control_off: AtomicU64,
    pub control_unauthorized: AtomicU64,
    /// Connections accepted, and open now.
    pub connections: AtomicU64,
    pub connections_open: AtomicU64,
    /// Times the accept loop found every connection slot taken and stopped accepting.
    pub connection_cap_waits: AtomicU64,
    /// Connections closed by the transport's limits: headers not received within the
    /// timeout, headers over the limit (after a 431), a request head that is not HTTP (after
    /// a 400), a TLS handshake that failed or timed out.
    pub header_timeouts: AtomicU64,
    pub headers_too_large: AtomicU64,
    pub bad_requests: AtomicU64,
    pub tls_failures: AtomicU64,
    /// Journal subscriptions (`follow=true`) open now, and those the gateway ended because
    /// their client fell behind by more than the backlog.
    pub subscribers_open: AtomicU64,
    pub subscribers_behind: AtomicU64,
}

impl HttpCounters {
    pub fn count(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.classes[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one in a gauge of [`HttpCounters`] (a connection, a subscription) while it lives.
pub(crate) struct Gauged {
    gateway: crate::gateway::Gateway,
    gauge: fn(&HttpCounters) -> &AtomicU64,
}

impl Gauged {
    pub fn new(gateway: crate::gateway::Gateway, gauge: fn(&HttpCounters) -> &AtomicU64) -> Self {
        gauge(&gateway.shared.http).fetch_add(1, Ordering::Relaxed);
        Gauged { gateway, gauge }
    }
}

impl Gauged {
    pub fn gateway(&self) -> &crate::gateway::Gateway {
        &self.gateway
    }
}

impl Drop for Gauged {
    fn drop(&mut self) {
        (self.gauge)(&self.gateway.shared.http).fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of everything the metrics page shows.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub counters: Counters,
    pub active_conferences: usize,
    pub signed_in_agents: usize,
    pub sessions: usize,
    pub queued_events: usize,
    pub sim_time_ms: i64,
    pub journal_records: u64,
    pub journal_memory_bytes: usize,
    pub journal_file_errors: u64,
    pub journal_syncs: u64,
    pub queue_capacity: usize,
    pub polls_held: u64,
    pub push_sessions: usize,
    pub max_connections: usize,
}

/// Renders the Prometheus text exposition format (version 0.0.4).
pub(crate) fn render(s: &Snapshot, http: &HttpCounters) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let c = &s.counters;
    family(
        &mut out,
        "confsim_inputs_total",
        "counter",
        "Journaled inputs, by operation (vendor log name).",
    );
    for op in Op::ALL {
        let _ = writeln!(
            out,
            "confsim_inputs_total{{op=\"{}\"}} {}",
            op.name(),
            c.inputs[*op as usize]
        );
    }
    family(
        &mut out,
        "confsim_events_total",
        "counter",
        "Journaled events, by event type.",
    );
    for ty in EventType::ALL {
        let _ = writeln!(
            out,
            "confsim_events_total{{type=\"{}\"}} {}",
            ty.name(),
            c.events[*ty as usize]
        );
    }
    family(
        &mut out,
        "confsim_retcodes_total",
        "counter",
        "Synchronous answers of journaled inputs, by retcode.",
    );
    let mut retcodes = c.retcodes.clone();
    retcodes.sort();
    for (retcode, n) in &retcodes {
        let _ = writeln!(out, "confsim_retcodes_total{{retcode=\"{retcode}\"}} {n}");
    }
    family(
        &mut out,
        "confsim_gateway_rejections_total",
        "counter",
        "Requests answered by the gateway itself without reaching the platform (not journaled), by retcode.",
    );
    let mut rejected = c.gateway_retcodes.clone();
    rejected.sort();
    for (retcode, n) in &rejected {
        let _ = writeln!(
            out,
            "confsim_gateway_rejections_total{{retcode=\"{retcode}\"}} {n}"
        );
    }
    let gauges: [(&str, &str, u64); 12] = [
        (
            "confsim_active_conferences",
            "Conferences between AgentConf_RequestSuccess and their release.",
            s.active_conferences as u64,
        ),
        (
            "confsim_signed_in_agents",
            "Agents signed in on the platform.",
            s.signed_in_agents as u64,
        ),
        (
            "confsim_gateway_sessions",
            "Sessions (issued Guids) at the gateway, signed-out ones still draining included.",
            s.sessions as u64,
        ),
        (
            "confsim_gateway_queued_events",
            "Events waiting in the agents' queues for a poll.",
            s.queued_events as u64,
        ),
        (
            "confsim_gateway_queue_capacity",
            "Events an agent's queue holds (--queue-capacity); past it the oldest is dropped.",
            s.queue_capacity as u64,
        ),
        (
            "confsim_gateway_queue_length_max",
            "The longest any agent's queue has been since the start.",
            c.queue_length_max,
        ),
        (
            "confsim_gateway_polls_held",
            "Polls being held open now (long polling).",
            s.polls_held,
        ),
        (
            "confsim_gateway_push_sessions",
            "Sessions in push mode (events POSTed to a callback), signed-out ones still draining included.",
            s.push_sessions as u64,
        ),
        (
            "confsim_http_connections_open",
            "HTTP connections open now.",
            http.connections_open.load(Ordering::Relaxed),
        ),
        (
            "confsim_http_connections_max",
            "Connections served at once (--max-connections); more wait in the listen backlog.",
            s.max_connections as u64,
        ),
        (
            "confsim_journal_memory_bytes",
            "Bytes of journal held in memory for GET /simulator/journal.",
            s.journal_memory_bytes as u64,
        ),
        (
            "confsim_journal_records",
            "Records journaled (the last seq).",
            s.journal_records,
        ),
    ];
    for (name, help, value) in gauges {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        &mut out,
        "confsim_simulated_time_ms",
        "gauge",
        "The engine's simulated time, in milliseconds since the Unix epoch.",
    );
    let _ = writeln!(out, "confsim_simulated_time_ms {}", s.sim_time_ms);
    let counters: [(&str, &str, u64); 15] = [
        (
            "confsim_gateway_pushed_events_total",
            "Events acknowledged by push-mode callbacks.",
            c.pushed_events,
        ),
        (
            "confsim_gateway_push_batches_total",
            "Push callbacks acknowledged (each carries up to 100 events, oldest first).",
            c.push_batches,
        ),
        (
            "confsim_gateway_push_failures_total",
            "Push callbacks not acknowledged (an error, a timeout, or not retcode 0): each is sent again after a backoff, later events waiting behind it.",
            c.push_failures,
        ),
        (
            "confsim_gateway_events_dropped_total",
            "Events dropped because an agent's queue was full (the oldest goes first); the journal keeps them.",
            c.dropped,
        ),
        (
            "confsim_gateway_overflowed_sessions_total",
            "Sessions whose event queue overflowed at least once.",
            c.overflowed_sessions,
        ),
        (
            "confsim_http_connections_total",
            "HTTP connections accepted.",
            http.connections.load(Ordering::Relaxed),
        ),
        (
            "confsim_http_connection_cap_waits_total",
            "Times every connection slot was taken and accepting paused until one closed.",
            http.connection_cap_waits.load(Ordering::Relaxed),
        ),
        (
            "confsim_gateway_events_undelivered_total",
            "Events for agents with no session at the gateway.",
            c.undelivered,
        ),
        (
            "confsim_gateway_events_delivered_total",
            "Events handed to a polling client.",
            c.delivered,
        ),
        (
            "confsim_gateway_inactivity_signouts_total",
            "Agents signed out by the gateway after sending nothing for the inactivity period.",
            c.inactivity_signouts,
        ),
        (
            "confsim_gateway_expired_sessions_total",
            "Signed-out sessions forgotten with events nobody polled.",
            c.expired_sessions,
        ),
        (
            "confsim_gateway_guid_rotations_total",
            "Guids replaced (dynamic mode rotation and updateGuid).",
            c.guid_rotations,
        ),
        (
            "confsim_journal_file_errors_total",
            "Failed writes to the --journal file (after the first, the file is no longer written).",
            s.journal_file_errors,
        ),
        (
            "confsim_journal_syncs_total",
            "fdatasync calls on the --journal file (--fsync always: one per answer; batch: one per group).",
            s.journal_syncs,
        ),
        (
            "confsim_http_panics_total",
            "Handler panics caught and answered with 100-007.",
            http.panics.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        &mut out,
        "confsim_http_responses_total",
        "counter",
        "HTTP responses, by status class.",
    );
    for (i, n) in http.classes.iter().enumerate() {
        let _ = writeln!(
            out,
            "confsim_http_responses_total{{class=\"{}xx\"}} {}",
            i + 1,
            n.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "confsim_http_refused_total",
        "counter",
        "Requests refused before any handler: unknown paths (404), bodies over the limit (413), the control API when off (404) or without its token (401).",
    );
    let _ = writeln!(
        out,
        "confsim_http_refused_total{{reason=\"not_found\"}} {}",
        http.not_found.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "confsim_http_refused_total{{reason=\"body_too_large\"}} {}",
        http.body_too_large.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "confsim_http_refused_total{{reason=\"control_off\"}} {}",
        http.control_off.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "confsim_http_refused_total{{reason=\"control_unauthorized\"}} {}",
        http.control_unauthorized.load(Ordering::Relaxed)
    );
    for (name, kind, help, value) in [
        (
            "confsim_journal_subscribers",
            "gauge",
            "Journal subscriptions (GET /simulator/journal?follow=true) open now.",
            &http.subscribers_open,
        ),
        (
            "confsim_journal_subscribers_disconnected_total",
            "counter",
            "Journal subscriptions ended by the gateway because the client fell behind by more than the backlog (it may reconnect with from=SEQ).",
            &http.subscribers_behind,
        ),
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    family(
        &mut out,
        "confsim_http_connections_closed_total",
        "counter",
        "Connections closed by the transport's limits, by reason: request headers not received within --header-timeout-ms, headers over --max-header-bytes (after a 431), a request head that is not HTTP (after a 400), a failed or timed-out TLS handshake.",
    );
    for (reason, n) in [
        ("header_timeout", &http.header_timeouts),
        ("header_too_large", &http.headers_too_large),
        ("bad_request", &http.bad_requests),
        ("tls_handshake", &http.tls_failures),
    ] {
        let _ = writeln!(
            out,
            "confsim_http_connections_closed_total{{reason=\"{reason}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_under_their_labels() {
        let mut c = Counters::default();
        c.count_input(Op::RequestAgentConf, "0");
        c.count_input(Op::RequestAgentConf, "000-002");
        c.count_input(Op::Login, "0");
        c.count_event(EventType::AgentConfTimeout);
        c.count_gateway_retcode("100-006");
        let snapshot = Snapshot {
            counters: c,
            active_conferences: 2,
            signed_in_agents: 3,
            sessions: 3,
            queued_events: 4,
            sim_time_ms: 5,
            journal_records: 6,
            journal_memory_bytes: 7,
            journal_file_errors: 0,
            journal_syncs: 0,
            queue_capacity: 8,
            polls_held: 1,
            push_sessions: 2,
            max_connections: 9,
        };
        let http = HttpCounters::default();
        http.count(200);
        http.count(404);
        let text = render(&snapshot, &http);
        for line in [
            "confsim_inputs_total{op=\"requestAgentConf\"} 2",
            "confsim_inputs_total{op=\"login\"} 1",
            "confsim_events_total{type=\"AgentConf_Timeout\"} 1",
            "confsim_retcodes_total{retcode=\"0\"} 2",
            "confsim_retcodes_total{retcode=\"000-002\"} 1",
            "confsim_gateway_rejections_total{retcode=\"100-006\"} 1",
            "confsim_active_conferences 2",
            "confsim_signed_in_agents 3",
            "confsim_http_responses_total{class=\"4xx\"} 1",
            "confsim_gateway_queue_capacity 8",
            "confsim_gateway_polls_held 1",
            "confsim_gateway_push_sessions 2",
            "confsim_gateway_pushed_events_total 0",
            "confsim_http_connections_max 9",
            "confsim_http_connections_closed_total{reason=\"header_timeout\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
