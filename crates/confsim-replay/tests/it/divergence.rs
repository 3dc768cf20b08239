//! Journals that differ from what the current build produces: each kind of edit is reported
//! at the right record, with the input that caused it, the fields that differ, and the count
//! of further differences.

use crate::support::{after_seq, bundled, busy, join, renumber, seq_of, split};
use confsim_replay::{DivergenceKind, Outcome, Verdict, replay_bytes};

fn diverged(journal: &[u8]) -> Outcome {
    let outcome = replay_bytes("edited", journal).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.verdict, Verdict::Diverged, "{}", outcome.human());
    assert!(!outcome.ok);
    assert_eq!(
        outcome.further_differences + 1,
        outcome.differences,
        "{outcome:?}"
    );
    outcome
}

fn fields(outcome: &Outcome) -> Vec<&str> {
    let d = outcome.first_divergence.as_ref().unwrap();
    d.fields.iter().map(|f| f.field.as_str()).collect()
}

#[test]
fn an_edited_event_is_named_with_its_seq_fields_and_cause() {
    let (header, mut records) = split(&bundled("seed-request"));
    let k = seq_of(&records, "AgentConf_SelfJoinResult");
    records[k - 1] = records[k - 1].replace("1030400", "1030656");
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::Differs);
    assert_eq!(d.seq, k as u64);
    assert_eq!(d.line, Some(k as u64 + 1));
    assert_eq!(d.at.as_deref(), Some("2026-01-05T09:00:00.000Z"));
    assert_eq!(fields(&outcome), ["content.confId"]);
    let field = &d.fields[0];
    assert_eq!(field.expected, Some(serde_json::json!(1030656)));
    assert_eq!(field.actual, Some(serde_json::json!(1030400)));
    let cause = d.cause.as_ref().unwrap();
    assert_eq!(
        (cause.seq, cause.op.as_str(), cause.agent.as_str()),
        (1, "requestAgentConf", "101")
    );
    assert_eq!(outcome.further_differences, 0);

    let text = outcome.human();
    assert!(
        text.starts_with(&format!(
            "edited: DIVERGED at seq {k} (2026-01-05T09:00:00.000Z): 10 records compared, 0 further differences"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "cause      input seq 1 (2026-01-05T09:00:00.000Z): requestAgentConf by agent 101\n"
        ),
        "{text}"
    );
    assert!(text.contains("content.confId 1030656   1030400"), "{text}");
}

#[test]
fn an_edited_time_is_a_divergence_in_at() {
    let (header, mut records) = split(&bundled("seed-request"));
    let k = seq_of(&records, "AgentConf_Timeout");
    records[k - 1] = records[k - 1].replace("09:45:00.000Z", "09:45:00.001Z");
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.seq, k as u64);
    assert_eq!(fields(&outcome), ["at"]);
}

#[test]
fn a_deleted_event_is_named_and_shifts_the_rest() {
    let (header, mut records) = split(&busy());
    let n = records.len();
    // Delete an event in the middle, then renumber so the file is still a journal.
    let k = (5..n)
        .find(|i| records[*i - 1].contains("\"eventType\""))
        .unwrap();
    records.remove(k - 1);
    renumber(&mut records);
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.seq, k as u64, "{}", outcome.human());
    assert_eq!(outcome.records, n as u64 - 1);
    assert!(outcome.differences >= 1);
}

#[test]
fn the_last_record_deleted_is_produced_as_an_extra_record() {
    let (header, mut records) = split(&bundled("seed-request"));
    let n = records.len();
    records.pop();
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::Extra);
    assert_eq!(d.seq, n as u64);
    assert_eq!(d.line, None);
    assert_eq!(d.expected, None);
    assert_eq!(d.actual.as_ref().unwrap()["eventType"], "AgentState_Ready");
    assert_eq!(outcome.replayed, n as u64);
    assert_eq!(outcome.differences, 1);
    assert!(outcome.human().contains("after the journal's end"));
}

#[test]
fn a_record_the_replay_does_not_produce_is_missing() {
    let (header, mut records) = split(&bundled("seed-request"));
    let n = records.len();
    let last = records.last().unwrap().clone();
    records.push(format!("{{\"seq\":{}{}", n + 1, after_seq(&last)));
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::Missing);
    assert_eq!(d.seq, n as u64 + 1);
    assert_eq!(d.actual, None);
    assert_eq!(outcome.differences, 1);
    assert!(
        outcome
            .human()
            .contains("actual     (none: the replay did not produce it)")
    );
}

#[test]
fn two_reordered_records_diverge_at_the_first_of_them() {
    let (header, mut records) = split(&bundled("seed-request"));
    let k = seq_of(&records, "AgentOther_PhoneAlerting");
    let (a, b) = (
        after_seq(&records[k - 1]).to_owned(),
        after_seq(&records[k]).to_owned(),
    );
    records[k - 1] = format!("{{\"seq\":{k}{b}");
    records[k] = format!("{{\"seq\":{}{a}", k + 1);
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.seq, k as u64);
    assert_eq!(outcome.differences, 2);
    assert!(fields(&outcome).contains(&"eventType"));
}

#[test]
fn a_changed_response_is_named_at_its_input_which_is_its_own_cause() {
    let (header, mut records) = split(&busy());
    let k = seq_of(&records, "\"retcode\":\"000-002\"");
    records[k - 1] = records[k - 1].replace("\"retcode\":\"000-002\"", "\"retcode\":\"0\"");
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    assert_eq!(d.seq, k as u64);
    assert_eq!(fields(&outcome), ["response.retcode"]);
    let cause = d.cause.as_ref().unwrap();
    assert_eq!(cause.seq, k as u64);
    assert_eq!(cause.agent, "103");
    assert!(outcome.human().contains("(this record)"));
    assert_eq!(outcome.further_differences, 0);
}

#[test]
fn a_changed_input_body_diverges_where_its_consequences_start() {
    // Ask for a shorter conference: the response is the same, the warning comes earlier.
    let (header, mut records) = split(&bundled("seed-request"));
    records[0] = records[0].replace("\"time\":50", "\"time\":40");
    let outcome = diverged(&join(&header, &records));
    let d = outcome.first_divergence.as_ref().unwrap();
    let timeout = seq_of(&records, "AgentConf_Timeout") as u64;
    assert_eq!(d.seq, timeout, "{}", outcome.human());
    assert_eq!(fields(&outcome), ["at"]);
    assert_eq!(d.cause.as_ref().unwrap().seq, 1);
}

#[test]
fn the_json_form_is_one_object_with_the_same_facts() {
    let (header, mut records) = split(&bundled("seed-request"));
    let k = seq_of(&records, "AgentConf_SelfJoinResult");
    records[k - 1] = records[k - 1].replace("1030400", "1030656");
    let outcome = diverged(&join(&header, &records));
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["verdict"], "diverged");
    assert_eq!(json["ok"], false);
    assert_eq!(json["records"], 10);
    assert_eq!(json["further_differences"], 0);
    let d = &json["first_divergence"];
    assert_eq!(d["seq"], k);
    assert_eq!(d["kind"], "differs");
    assert_eq!(d["cause"]["op"], "requestAgentConf");
    assert_eq!(d["fields"][0]["field"], "content.confId");
    assert_eq!(d["expected"]["content"]["confId"], 1030656);
    assert_eq!(d["actual"]["content"]["confId"], 1030400);
}
