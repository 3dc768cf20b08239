//! The replay of a capture with conferences in it: the platform's conference ids are mapped,
//! also in what the inputs send (`queryConfInfos`' `confIds`), and a capture from another
//! platform diverges where it differs.

use crate::support::{journal_of, scenario};
use confsim_journal::read_loose;
use confsim_replay::{CaptureOptions, replay_capture};

/// A run's journal, as a capture of a gateway whose conference ids are 77 and 78 where the
/// model's are 1030400 and 1030656.
fn capture() -> Vec<u8> {
    let (journal, _) = journal_of(&scenario(
        r#"{"name": "c", "platform": {"latency": {"minMs": 0, "maxMs": 0}},
            "agents": [{"ids": "101-102", "signedIn": true, "state": "idle", "inspector": true}],
            "steps": [
              {"at": "0s", "agent": 101, "op": "requestAgentConf", "body": {"memberNum": 3, "time": 30}},
              {"at": "1s", "agent": 102, "op": "requestAgentConf", "body": {"memberNum": 3, "time": 30}},
              {"at": "2s", "agent": 101, "op": "queryConfInfos", "body": {"confIds": [1030656]}},
              {"at": "3s", "agent": 102, "op": "releaseAgentConf"}
            ]}"#,
    ));
    let text = String::from_utf8(journal).unwrap();
    // The query answers with its conference: a result that names it.
    assert!(text.contains(r#""result":[{"confId":1030656"#), "{text}");
    text.replacen(
        r#""scenario":"c","#,
        r#""scenario":"c","source":{"kind":"capture","upstream":"gw:1"},"#,
        1,
    )
    .replace("1030400", "77")
    .replace("1030656", "78")
    .into_bytes()
}

#[test]
fn conference_ids_are_mapped_in_events_results_and_the_inputs_that_name_them() {
    let journal = read_loose(&capture()[..]).unwrap();
    let outcome = replay_capture("c.jsonl", &journal, &CaptureOptions::default()).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
    let comparison = outcome.capture.unwrap();
    assert_eq!(comparison.conferences_mapped, 2);
    assert_eq!(comparison.inputs, 4);
}

#[test]
fn conferences_out_of_step_are_content_divergences_of_their_ids() {
    // The capture's second conference is named as if it were the first: not one to one.
    let text = String::from_utf8(capture()).unwrap();
    let edited = text.replacen(
        r#""workNo":"102","content":{"confId":78}"#,
        r#""workNo":"102","content":{"confId":77}"#,
        1,
    );
    assert_ne!(edited, text);
    let journal = read_loose(edited.as_bytes()).unwrap();
    let outcome = replay_capture("c.jsonl", &journal, &CaptureOptions::default()).unwrap();
    assert!(!outcome.ok);
    let comparison = outcome.capture.unwrap();
    let first = &comparison.agents[0];
    assert_eq!(first.agent, "102", "{:?}", comparison.agents);
    assert_eq!(first.divergence.fields[0].field, "content.confId");
}
