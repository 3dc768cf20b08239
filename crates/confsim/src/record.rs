//! `confsim record`: the recording proxy (product.md §8.1). Parses the flags, loads the platform
//! file and the TLS files, binds (loopback unless told), opens the capture (continuing an
//! existing one), prints where it listens and what it forwards to, and serves until Ctrl-C;
//! then flushes the capture and prints its summary.

use crate::serve::{FsyncArg, listen, server_runtime};
use anyhow::{Context, Result};
use confsim_gateway::Fsync;
use confsim_gateway::record::{RecordConfig, Recorder, UpstreamTrust, UpstreamUrl};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The gateway to forward to: http://HOST:PORT or https://HOST:PORT.
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// Address to listen on for clients (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1:8043")]
    addr: SocketAddr,
    /// The capture (a journal, JSON Lines). An existing capture is continued (its torn tail
    /// cut off), never overwritten.
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// Trust the https upstream's certificate if this PEM file (a CA, or the self-signed
    /// certificate itself) signed it.
    #[arg(long, value_name = "CA.pem", conflicts_with = "upstream_insecure")]
    upstream_ca: Option<PathBuf>,
    /// Accept any certificate from the https upstream (encrypted, not authenticated).
    #[arg(long)]
    upstream_insecure: bool,
    /// Serve clients over HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "CERT.pem", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "KEY.pem", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The platform configuration a replay of the capture should use (the file `serve
    /// --platform` takes), written into the capture's header. Default: the defaults.
    #[arg(long, value_name = "FILE.json")]
    platform: Option<PathBuf>,
    /// When an answer may go back to the client: after its capture records are synced to disk
    /// one by one (always), after a shared sync (batch), or once written (never).
    #[arg(long, value_enum, default_value_t = FsyncArg::Batch)]
    fsync: FsyncArg,
    /// Disconnect a client that takes longer than this (real ms) to send a request's line and
    /// headers (also the idle keep-alive timeout and the TLS handshake's).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// The largest request line and headers, in bytes; larger ones are answered 431.
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    max_header_bytes: usize,
    /// Client connections served at once; more wait in the listen backlog. Each long-polling
    /// agent holds one here and one to the upstream. Keep it below `ulimit -n` / 2.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_connections: usize,
}

fn config(args: &RecordArgs) -> Result<RecordConfig> {
    let mut config = RecordConfig::new(UpstreamUrl::parse(&args.upstream)?);
    config.trust = match (&args.upstream_ca, args.upstream_insecure) {
        (Some(ca), _) => UpstreamTrust::Ca(ca.clone()),
        (None, true) => UpstreamTrust::Insecure,
        (None, false) => UpstreamTrust::Unset,
    };
    if let Some(file) = &args.platform {
        (config.platform, config.agents) = confsim_gateway::load_platform_file(file)?;
    }
    config.fsync = match args.fsync {
        FsyncArg::Always => Fsync::Always,
        FsyncArg::Batch => Fsync::Batch,
        FsyncArg::Never => Fsync::Never,
    };
    config.header_read_timeout = Duration::from_millis(args.header_timeout_ms);
    config.max_header_bytes = args.max_header_bytes;
    config.max_connections = args.max_connections.max(1);
    Ok(config)
}

pub fn record(args: RecordArgs) -> Result<ExitCode> {
    let config = config(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(confsim_gateway::tls_acceptor(cert, key)?),
        _ => None,
    };
    let runtime = server_runtime()?;
    runtime.block_on(async move {
        // Bind before creating the capture, so a busy port leaves no empty file behind.
        let listener =
            listen(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
        let (upstream, fsync) = (config.upstream.host_port(), config.fsync.name());
        let (recorder, resumed) = Recorder::open(config, &args.journal)?;
        let path = args.journal.display();
        if let Some(resumed) = &resumed {
            if let Some(torn) = &resumed.torn {
                eprintln!(
                    "confsim: {path}: line {} was torn ({} bytes without their newline: a crash mid-write); cut off, {} complete records kept",
                    torn.line, torn.bytes, resumed.records
                );
            }
            let source = resumed.header.source.as_ref().map(|s| s.upstream.as_str());
            if source != Some(upstream.as_str()) {
                eprintln!(
                    "confsim: {path}: this capture was made from {}, and goes on from {upstream}",
                    source.unwrap_or("?")
                );
            }
            if args.platform.is_some() {
                eprintln!(
                    "confsim: {path}: the capture's platform configuration is kept (--platform ignored)"
                );
            }
            println!("capture continued after seq {}", resumed.records);
        }
        let addr = listener.local_addr().unwrap_or(args.addr);
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!(
            "confsim record  upstream {}  capture {path}  fsync {fsync}",
            args.upstream
        );
        println!("listening on {scheme}://{addr}/agentgateway/resource/");
        println!("Ctrl-C stops.");
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let counting = recorder.clone();
        let summary = recorder.serve(listener, tls, stop).await?;
        let counts = counting.counts();
        println!(
            "stopped: {} requests forwarded, {} answered 502 (upstream unreachable); captured {} inputs, {} events",
            counts.forwarded, counts.unreachable, counts.inputs, counts.events
        );
        if let Some(summary) = summary {
            println!(
                "capture {} records, {} bytes, digest {}",
                summary.records, summary.bytes, summary.digest
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
