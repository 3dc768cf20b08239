//! Resuming a journal (`Engine::resume`, what `confsim serve --journal` does on an existing
//! file): cut a live run's journal anywhere (between records, or mid-line as a crash leaves
//! it), resume from the complete records, feed the inputs the live run had after the cut at
//! their times, and the result is the live journal, byte for byte and digest for digest,
//! including a cut in the middle of one timer's batch of events.

use crate::support::*;
use confsim_core::record::Record;
use confsim_core::{AgentState, Input};
use confsim_engine::{Engine, Step};
use confsim_journal::{Header, JournalReader, Stamped};
use serde_json::json;

/// A live run with latency (several events per firing): its header, bytes and digest.
fn live() -> (Header, Vec<u8>, String) {
    let roster = vec![
        idle(&[101, 102, 103, 104]),
        agents(&[2001], AgentState::Talking),
    ];
    let mut sim = Sim::with_seed(3, latency(10, 100), roster);
    use confsim_core::Op::*;
    let script = [
        (
            0,
            "101",
            RequestAgentConf,
            json!({"memberNum": 4, "time": 4}),
        ),
        (0, "102", RequestAgentConf, json!({"memberNum": 4})),
        (
            30,
            "103",
            RequestAgentConf,
            json!({"memberNum": 2, "time": 2}),
        ),
        (MIN, "102", ProlongTime, json!({"prolongTime": 5})),
        (2 * MIN, "101", ReleaseAgentConf, json!(null)),
        (3 * MIN, "104", RequestAgentConf, json!({"memberNum": 2})),
    ];
    for (at, agent, op, body) in script {
        sim.submit_at(at, op, agent, body);
    }
    sim.drain();
    let bytes = sim.journal_bytes();
    let header = sim.header.clone();
    let (summary, _, _) = sim.engine.finish().unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    (header, bytes, summary.digest)
}

/// Resumes from `prefix` (a journal cut anywhere) and re-drives the live run's later inputs
/// by the replay rule (before input `s` at T, fire what is due at or before T while fewer than
/// s − 1 records exist). Returns the whole file's bytes and the digest.
fn resume_and_finish(header: &Header, prefix: &[u8], all: &[Stamped]) -> (Vec<u8>, String) {
    let mut reader = JournalReader::new(prefix).unwrap();
    let records: Vec<Stamped> = reader.by_ref().map(Result::unwrap).collect();
    let kept = prefix.len() - reader.torn_tail().map_or(0, |t| t.bytes);
    let kept = &prefix[..kept];
    let mut engine = Engine::resume(header, &records, kept, Vec::new(), &mut ()).unwrap();
    for stamped in all.iter().skip(records.len()) {
        let Record::Input(input) = &stamped.record else {
            continue;
        };
        if stamped.seq <= engine.last_seq() {
            continue;
        }
        while engine.last_seq() < stamped.seq - 1 {
            assert_eq!(engine.step(stamped.at, &mut ()).unwrap(), Step::Fired);
        }
        engine.set_time(stamped.at).unwrap();
        let input = Input::new(input.op, input.agent.clone(), input.body.clone());
        engine.submit(input, &mut ()).unwrap();
    }
    while let Some(due) = engine.next_deadline() {
        engine.advance_to(due, &mut ()).unwrap();
    }
    let (summary, tail, _) = engine.finish().unwrap();
    let mut whole = kept.to_vec();
    whole.extend_from_slice(&tail);
    assert_eq!(summary.bytes, whole.len() as u64);
    (whole, summary.digest)
}

#[test]
fn a_journal_cut_anywhere_resumes_to_the_live_bytes_and_digest() {
    let (header, bytes, digest) = live();
    let (_, all) = read_journal(&bytes);
    assert!(all.len() > 20, "a run long enough to cut: {}", all.len());
    let mut cuts = 0;
    let mut torn_batches = 0;
    let ends: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    for pair in ends.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        // At a line boundary, and mid-line (a torn tail).
        for cut in [start, start + (end - start) / 2] {
            let (whole, resumed_digest) = resume_and_finish(&header, &bytes[..cut], &all);
            assert_eq!(whole, bytes, "resumed from a cut at byte {cut}");
            assert_eq!(resumed_digest, digest, "cut at byte {cut}");
            cuts += 1;
        }
        let mut reader = JournalReader::new(&bytes[..start]).unwrap();
        let records: Vec<Stamped> = reader.by_ref().map(Result::unwrap).collect();
        if !confsim_engine::rebuild(&header, &records)
            .unwrap()
            .undelivered
            .is_empty()
        {
            torn_batches += 1;
        }
    }
    assert!(cuts > 40);
    assert!(torn_batches > 0, "some cut fell inside a timer's batch");
}

#[test]
fn an_empty_journal_resumes_at_its_start() {
    let header = Header::new("it", 1, start(), zero_latency(), vec![idle(&[101])]);
    let (fresh, head, _) = Engine::new(&header, Vec::new()).unwrap().finish().unwrap();
    let engine = Engine::resume(&header, &[], &head[..], Vec::new(), &mut ()).unwrap();
    assert_eq!(engine.now(), start());
    assert_eq!(engine.last_seq(), 0);
    let (summary, tail, _) = engine.finish().unwrap();
    assert!(tail.is_empty());
    assert_eq!(summary, fresh, "the digest and byte count are the file's");
}
