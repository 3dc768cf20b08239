//! Power loss under `--fsync batch` and `--fsync always`, simulated.
//!
//! A real power cut cannot be produced here, so the journal is written to a simulated disk
//! (`Gateway::with_journal_file`, the durable layer's one seam) that keeps what was *written*
//! apart from what was *synced*: a sync makes durable what was written when it started, as
//! `fdatasync` does. Agents sign in, apply, poll and release concurrently while a clock task
//! advances time; at a random moment the power goes: everything written but not synced is
//! lost, except, at random, a prefix of it (pages the kernel happened to write back), which may
//! end mid-line. After the cut every sync and write fails, as the machine would never have
//! answered again. Then, at every crash point:
//!
//! * every input a client saw acknowledged (any answer but `100-007`) and every event a poll
//!   delivered is in the synced part, per agent in order;
//! * the surviving file opens as a journal (`ExistingJournal::open`): a torn last line is
//!   reported and cut off, every complete line kept;
//! * `Gateway::resume` on it rebuilds the platform and continues the journal at the next
//!   `seq`, and `confsim replay` finds the whole file, both lives, identical.

use crate::support::{BASE, Client, Reply};
use axum::http::Method;
use confsim_gateway::{ExistingJournal, Fsync, Gateway, GatewayConfig, JournalFile};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the simulated disk holds.
#[derive(Debug, Default)]
struct Platters {
    /// Every byte handed to the "operating system", in order.
    written: Vec<u8>,
    /// How many of them are on the platters (a sync finished after they were written).
    synced: usize,
    /// The power is gone: nothing is written or synced any more.
    dead: bool,
    syncs: u64,
}

/// A disk that can lose power. A sync takes a little while (a random 20–300 µs), so syncs
/// overlap with writes and waiters pile up as they do on a real disk.
#[derive(Debug)]
struct Disk {
    platters: Mutex<Platters>,
    rng: AtomicU64,
}

fn power_lost() -> std::io::Error {
    std::io::Error::other("the power is gone")
}

impl Disk {
    fn new(seed: u64) -> Self {
        Disk {
            platters: Mutex::new(Platters::default()),
            rng: AtomicU64::new(seed | 1),
        }
    }

    fn platters(&self) -> std::sync::MutexGuard<'_, Platters> {
        self.platters.lock().unwrap()
    }

    /// xorshift64*, shared by every thread that touches the disk.
    fn random(&self, below: u64) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % below.max(1)
    }

    /// Cuts the power: returns what the file holds afterwards (the synced bytes, and, in two
    /// cut out of three, a random prefix of what was written after them) and how many bytes
    /// were synced.
    fn lose_power(&self) -> (Vec<u8>, usize) {
        let mut p = self.platters();
        p.dead = true;
        let unsynced = (p.written.len() - p.synced) as u64;
        let extra = if self.random(3) == 0 {
            0
        } else {
            self.random(unsynced + 1) as usize
        };
        (p.written[..p.synced + extra].to_vec(), p.synced)
    }
}

impl JournalFile for Disk {
    fn write_all(&self, data: &[u8]) -> std::io::Result<()> {
        let mut p = self.platters();
        if p.dead {
            return Err(power_lost());
        }
        p.written.extend_from_slice(data);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let started_with = {
            let p = self.platters();
            if p.dead {
                return Err(power_lost());
            }
            p.written.len()
        };
        std::thread::sleep(Duration::from_micros(20 + self.random(280)));
        let mut p = self.platters();
        if p.dead {
            // The power went during the sync: nothing says it finished.
            return Err(power_lost());
        }
        p.synced = p.synced.max(started_with);
        p.syncs += 1;
        Ok(())
    }
}

/// What the clients saw, per agent in the order they saw it: acknowledged inputs as
/// (op, retcode) and polled events as their types.
#[derive(Debug, Default)]
struct Seen {
    inputs: BTreeMap<String, Vec<(String, String)>>,
    events: BTreeMap<String, Vec<String>>,
    acknowledged: usize,
}

const REFUSED: &str = "100-007";

/// One agent until the power is gone (or `100-007`): force sign-in, then apply, poll,
/// release, poll.
async fn agent(c: Client, id: u32, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let ack = |op: &str, reply: &Reply| -> bool {
        let retcode = reply.retcode();
        if retcode == REFUSED {
            return false;
        }
        let mut seen = seen.lock().unwrap();
        seen.acknowledged += 1;
        seen.inputs
            .entry(id.to_string())
            .or_default()
            .push((op.to_owned(), retcode));
        true
    };
    let poll = |reply: &Reply| -> bool {
        let body = reply.json();
        if body["retcode"] != "0" {
            return false;
        }
        if let Some(event) = body.get("event") {
            seen.lock()
                .unwrap()
                .events
                .entry(id.to_string())
                .or_default()
                .push(event["eventType"].as_str().unwrap().to_owned());
        }
        true
    };
    let signin = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/{id}/forcelogin"),
            &[],
            json!({"password": "", "status": "4"}).to_string(),
        )
        .await;
    if !ack("forceLogin", &signin) {
        return;
    }
    let guid = signin.set_guid().expect("a Guid");
    while !stop.load(Ordering::Relaxed) {
        let r = c
            .conf(
                id,
                &guid,
                "requestagentconf",
                json!({"memberNum": 2, "time": 5}),
            )
            .await;
        if !ack("requestAgentConf", &r) || !poll(&c.poll(id, &guid).await) {
            return;
        }
        let r = c.conf(id, &guid, "releaseagentconf", Value::Null).await;
        if !ack("releaseAgentConf", &r) || !poll(&c.poll(id, &guid).await) {
            return;
        }
    }
}

fn config(fsync: Fsync) -> GatewayConfig {
    GatewayConfig {
        fsync,
        poll_wait: Duration::from_millis(1),
        inactivity: None,
        ..GatewayConfig::default()
    }
}

/// The journal's lines after the header, parsed.
fn lines(bytes: &[u8]) -> Vec<Value> {
    let header = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    records(&bytes[header..])
}

/// Complete record lines, parsed.
fn records(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Per agent, the inputs (op, retcode) and the events' types of a journal's records.
type PerAgent = (
    BTreeMap<String, Vec<(String, String)>>,
    BTreeMap<String, Vec<String>>,
);

fn per_agent(records: &[Value]) -> PerAgent {
    let (mut inputs, mut events) = (BTreeMap::new(), BTreeMap::new());
    for r in records {
        if let Some(op) = r["op"].as_str() {
            inputs
                .entry(r["agentId"].as_str().unwrap().to_owned())
                .or_insert_with(Vec::new)
                .push((
                    op.to_owned(),
                    r["response"]["retcode"].as_str().unwrap().to_owned(),
                ));
        } else {
            events
                .entry(r["workNo"].as_str().unwrap().to_owned())
                .or_insert_with(Vec::new)
                .push(r["eventType"].as_str().unwrap().to_owned());
        }
    }
    (inputs, events)
}

/// The figures of one crash point.
struct Crash {
    acknowledged: usize,
    polled: usize,
    torn: bool,
}

/// One life of a gateway on a simulated disk, cut at a random moment; then the checks and the
/// restart.
async fn crash_once(fsync: Fsync, seed: u64, dir: &std::path::Path) -> Crash {
    let disk = Arc::new(Disk::new(seed));
    let gateway = Gateway::with_journal_file(config(fsync), disk.clone()).unwrap();
    let c = Client::new(gateway);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for id in 101..113 {
        tasks.push(tokio::spawn(agent(
            c.clone(),
            id,
            seen.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn({
        let (c, stop) = (c.clone(), stop.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                c.advance(40).await;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }));

    // Let the load run a random while, then cut the power under it.
    tokio::time::sleep(Duration::from_micros(2_000 + disk.random(30_000))).await;
    let (survivor, synced) = disk.lose_power();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let written = disk.platters().written.len();
    drop(c);

    // Everything acknowledged, and everything a poll showed, is in the synced part.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    // (A sync may start while a buffer is written out mid-line: only whole lines count.)
    let synced = survivor[..synced]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let durable = lines(&survivor[..synced]);
    let (inputs, events) = per_agent(&durable);
    for (agent, acked) in &seen.inputs {
        let journaled = inputs.get(agent).map_or(&[][..], Vec::as_slice);
        // Calls are sequential: at most one more on disk (decided, then refused or cut).
        assert!(
            journaled.len() >= acked.len() && journaled.len() <= acked.len() + 1,
            "seed {seed} {fsync:?}: agent {agent} was answered {} inputs, {} are on disk",
            acked.len(),
            journaled.len()
        );
        assert_eq!(
            &journaled[..acked.len()],
            acked.as_slice(),
            "seed {seed} {fsync:?}: agent {agent}"
        );
    }
    for (agent, polled) in &seen.events {
        let journaled = events.get(agent).map_or(&[][..], Vec::as_slice);
        assert!(
            journaled.starts_with(polled),
            "seed {seed} {fsync:?}: agent {agent} polled {polled:?}, on disk {journaled:?}"
        );
    }

    // The surviving file reads as a journal; a torn tail is reported and cut off.
    let path = dir.join(format!("{seed}-{fsync:?}.jsonl"));
    std::fs::write(&path, &survivor).unwrap();
    let complete = survivor.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    let existing = ExistingJournal::open(&path).unwrap();
    assert_eq!(
        existing.torn.is_some(),
        complete < survivor.len(),
        "seed {seed} {fsync:?}: torn tail {:?} of {} bytes after the last newline",
        existing.torn,
        survivor.len() - complete
    );
    assert_eq!(existing.kept_bytes, complete as u64);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), complete as u64);
    let last = existing.last_seq();
    assert_eq!(last as usize, lines(&survivor[..complete]).len());
    assert!(complete >= synced && written >= survivor.len());

    // A restart rebuilds and continues the journal at the next seq.
    let gateway = Gateway::resume(config(Fsync::Batch), existing).unwrap();
    let c = Client::new(gateway);
    // (What was in progress at the cut finishes first.)
    c.advance(1_000).await;
    let signin = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101/forcelogin"),
            &[],
            json!({"password": "", "status": "4"}).to_string(),
        )
        .await;
    assert_eq!(signin.retcode(), "0", "{}", signin.text);
    let guid = signin.set_guid().unwrap();
    let r = c
        .conf(101, &guid, "requestagentconf", json!({"memberNum": 2}))
        .await;
    assert!(r.retcode() != REFUSED, "{}", r.text);
    c.advance(1_000).await;
    let gateway = c.gateway.clone();
    drop(c);
    gateway.finish().unwrap();
    let whole = std::fs::read(&path).unwrap();
    assert!(whole.starts_with(&survivor[..complete]));
    let after = records(&whole[complete..]);
    assert!(!after.is_empty());
    assert_eq!(after[0]["seq"], last + 1, "seed {seed} {fsync:?}");
    let outcome = confsim_replay::replay_bytes("power-loss", &whole).unwrap();
    assert!(outcome.ok, "seed {seed} {fsync:?}: {}", outcome.human());

    let polled = seen.events.values().map(Vec::len).sum();
    Crash {
        acknowledged: seen.acknowledged,
        polled,
        torn: complete < survivor.len(),
    }
}

/// 40 crash points per durable mode, each a fresh gateway under 12 concurrent agents and a
/// clock, cut at a random moment; prints how much was checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_power_loss_at_any_moment_keeps_everything_acknowledged_and_the_restart_continues() {
    let dir = tempfile::tempdir().unwrap();
    for fsync in [Fsync::Batch, Fsync::Always] {
        let (mut points, mut acknowledged, mut polled, mut torn) = (0, 0, 0, 0);
        for seed in 1..=40u64 {
            let crash =
                crash_once(fsync, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), dir.path()).await;
            points += 1;
            acknowledged += crash.acknowledged;
            polled += crash.polled;
            torn += usize::from(crash.torn);
        }
        eprintln!(
            "--fsync {}: {points} power cuts, {acknowledged} acknowledged inputs and {polled} polled events found on disk, {torn} torn tails cut off",
            fsync.name()
        );
        assert!(acknowledged > points * 5, "the load ran: {acknowledged}");
        assert!(torn > 0, "some cut tore a line");
    }
}
