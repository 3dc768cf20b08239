//! Corpora: directories of journals replayed in name order with a verdict each, a summary,
//! and a JUnit report; and the bundled corpus under `scenarios/replays/`.

use crate::support::{bundled, join, split, workspace_root};
use confsim_replay::{ReplayError, Summary, Verdict, expand, junit, replay_all};
use std::path::PathBuf;

#[test]
fn a_directory_replays_every_journal_in_it_with_a_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let good = bundled("seed-request");
    let (header, mut records) = split(&good);
    records[4] = records[4].replace("1030400", "1030656");
    std::fs::write(dir.path().join("a-good.jsonl"), &good).unwrap();
    std::fs::write(
        dir.path().join("b<&>\"diverged\".jsonl"),
        join(&header, &records),
    )
    .unwrap();
    std::fs::write(dir.path().join("c-broken.jsonl"), b"{\"oops\n").unwrap();
    // Not journals of the corpus: other extensions, subdirectories.
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/d.jsonl"), b"ignored").unwrap();

    let journals = expand(&[dir.path().to_owned()]).unwrap();
    let names: Vec<String> = journals
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["a-good.jsonl", "b<&>\"diverged\".jsonl", "c-broken.jsonl"]
    );

    let replayed = replay_all(&journals);
    let summary = Summary::of(&replayed);
    assert_eq!(
        (
            summary.journals,
            summary.identical,
            summary.diverged,
            summary.invalid
        ),
        (3, 1, 1, 1)
    );
    assert!(!summary.ok);
    assert_eq!(summary.records, 20);
    assert!(
        summary
            .line()
            .starts_with("3 journals: 1 identical, 1 diverged, 1 invalid; 20 records at")
    );
    assert_eq!(
        replayed[0].result.as_ref().unwrap().verdict,
        Verdict::Identical
    );
    assert!(replayed[2].human().contains("NOT A JOURNAL"));
    assert_eq!(replayed[2].to_json()["verdict"], "invalid");

    let xml = junit(&replayed, &summary);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"confsim replay\" tests=\"3\" failures=\"1\" errors=\"1\""), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("</testcase>").count(), 3);
    assert_eq!(xml.matches("<failure type=\"divergence\" message=\"diverged at seq 5 (2026-01-05T09:00:00.000Z): the records differ in content.confId (0 further differences)\">").count(), 1, "{xml}");
    assert_eq!(xml.matches("<error type=\"invalid journal\"").count(), 1);
    assert!(
        xml.contains("b&lt;&amp;&gt;&quot;diverged&quot;.jsonl"),
        "{xml}"
    );
    assert!(xml.ends_with("  </testsuite>\n</testsuites>\n"));
    assert_well_formed(&xml);
}

/// What a strict XML parser would refuse in this document: an `&` that starts no entity, a `<`
/// that opens no tag we write, a quote inside an attribute value, unbalanced elements.
fn assert_well_formed(xml: &str) {
    for (i, _) in xml.match_indices('&') {
        let rest = &xml[i..];
        assert!(
            [
                "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#9;", "&#13;"
            ]
            .iter()
            .any(|e| rest.starts_with(e)),
            "bare & at {i}: {}",
            &rest[..rest.len().min(20)]
        );
    }
    let mut open = Vec::new();
    for (i, _) in xml.match_indices('<') {
        let rest = &xml[i + 1..];
        let end = rest.find('>').expect("a tag closes");
        let tag = &rest[..end];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.to_owned()), "unbalanced </{name}>");
        } else {
            let name = tag.split(' ').next().unwrap();
            assert!(
                [
                    "testsuites",
                    "testsuite",
                    "testcase",
                    "failure",
                    "system-out"
                ]
                .contains(&name),
                "unexpected <{name}"
            );
            // Attribute values are quoted: an even number of quotes.
            assert_eq!(tag.matches('"').count() % 2, 0, "{tag}");
            open.push(name.to_owned());
        }
    }
    assert!(open.is_empty(), "unclosed {open:?}");
}

#[test]
fn a_directory_without_journals_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    match expand(&[dir.path().to_owned()]) {
        Err(e @ ReplayError::EmptyDirectory { .. }) => {
            assert!(
                e.to_string()
                    .ends_with("no journals (*.jsonl) in this directory")
            )
        }
        other => panic!("{other:?}"),
    }
}

/// The bundled corpus: journals captured from the bundled scenarios. If this fails after a
/// behaviour change that was intended, re-capture them (scenarios/replays/README.md).
#[test]
fn the_bundled_corpus_replays_identically() {
    let dir: PathBuf = workspace_root().join("scenarios/replays");
    let journals = expand(&[dir]).unwrap();
    assert!(journals.len() >= 4, "{journals:?}");
    for r in replay_all(&journals) {
        let outcome = r.result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            outcome.verdict,
            Verdict::Identical,
            "{}\nIf the change was intended, re-capture the corpus: see scenarios/replays/README.md",
            outcome.human()
        );
    }
}
