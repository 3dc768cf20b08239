//! The scheduler against a sorted model, with adversarial due times: jumps of exactly the far
//! ring's span, bucket boundaries, times before the epoch and in the past, the i64 extremes,
//! the same items rescheduled again and again, and churn that triggers compaction mid-run.

use confsim_core::SimTime;
use confsim_engine::Scheduler;
use proptest::prelude::*;
use std::collections::BTreeMap;

const RING_MS: i64 = 8_192 * 1_000;

#[derive(Clone, Debug)]
enum Op {
    /// Schedule `item` at `now + offset`.
    At(u8, i64),
    /// Schedule `item` at an absolute time.
    Abs(u8, i64),
    /// Schedule `item` on a grid anchored at the start: the same seconds are reached from far
    /// (overflow) and near (ring) as time goes by.
    Grid(u8, i64),
    Peek,
    /// Every pending item, in order.
    Pending,
    Cancel(u8),
    /// Pop one item due at or before `now + delta` (saturating).
    Pop(i64),
    /// Pop everything due at or before `now + delta`.
    Drain(i64),
    /// Schedule and cancel many fresh items: dead entries pile up and compaction runs.
    Churn(u16, i64),
    /// Schedule many fresh items within about a second, some cancelled: the near level
    /// outgrows its sorted array and spills into its heap.
    Crowd(u8, i64),
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        -3_000i64..3_000,
        (-3i64..=3, -2i64..=2).prop_map(|(k, d)| k * RING_MS + d),
        (-3i64..=3, -1i64..=1).prop_map(|(k, d)| k * 1_000 + d),
        (0i64..20_000, -1i64..=1).prop_map(|(k, d)| k * 1_000 + d),
        any::<i64>().prop_map(|x| x / 4),
    ]
}

fn absolute() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(0),
        Just(-1),
        Just(-1_000),
        Just(-1_001),
        Just(-999),
        Just(RING_MS),
        Just(RING_MS - 1),
        Just(-RING_MS),
        (i64::MAX / 1_000 * 1_000 - 2..=i64::MAX / 1_000 * 1_000 + 2),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..12, offset()).prop_map(|(i, o)| Op::At(i, o)),
        1 => (0u8..12, absolute()).prop_map(|(i, t)| Op::Abs(i, t)),
        6 => (0u8..12, (0i64..=3, 0i64..6, prop_oneof![Just(0i64), Just(1), Just(500), Just(999)]))
            .prop_map(|(i, (r, k, ms))| Op::Grid(i, r * RING_MS + k * 1_000 + ms)),
        2 => Just(Op::Peek),
        1 => Just(Op::Pending),
        2 => (0u8..12).prop_map(Op::Cancel),
        4 => offset().prop_map(Op::Pop),
        1 => offset().prop_map(Op::Drain),
        1 => (500u16..1_500, offset()).prop_map(|(n, o)| Op::Churn(n, o)),
        2 => (1u8..120, offset()).prop_map(|(n, o)| Op::Crowd(n, o)),
    ]
}

struct Model {
    live: BTreeMap<u32, (i64, u64)>,
    seq: u64,
}

impl Model {
    fn schedule(&mut self, item: u32, due: i64) {
        self.live.insert(item, (due, self.seq));
        self.seq += 1;
    }
    fn first(&self) -> Option<(i64, u64, u32)> {
        self.live.iter().map(|(i, (d, s))| (*d, *s, *i)).min()
    }
}

fn run(ops: &[Op], start: i64) -> Result<(), TestCaseError> {
    let mut s: Scheduler<u32> = Scheduler::new();
    let mut m = Model {
        live: BTreeMap::new(),
        seq: 0,
    };
    let mut now = start;
    let mut fresh = 1_000u32;
    let pop = |s: &mut Scheduler<u32>, m: &mut Model, now: &mut i64, limit: i64| {
        let expected = m.first().filter(|(d, _, _)| *d <= limit);
        let got = s.pop_due(SimTime::from_unix_ms(limit));
        prop_assert_eq!(
            got,
            expected.map(|(d, _, i)| (SimTime::from_unix_ms(d), i)),
            "pop_due({})",
            limit
        );
        if let Some((d, _, i)) = expected {
            m.live.remove(&i);
            *now = d;
        }
        Ok(expected.is_some())
    };
    for op in ops {
        match *op {
            Op::At(i, o) => {
                let due = now.saturating_add(o);
                s.schedule_at(SimTime::from_unix_ms(due), u32::from(i));
                m.schedule(u32::from(i), due);
            }
            Op::Abs(i, due) => {
                s.schedule_at(SimTime::from_unix_ms(due), u32::from(i));
                m.schedule(u32::from(i), due);
            }
            Op::Grid(i, o) => {
                let due = start
                    .div_euclid(1_000)
                    .saturating_mul(1_000)
                    .saturating_add(o);
                s.schedule_at(SimTime::from_unix_ms(due), u32::from(i));
                m.schedule(u32::from(i), due);
            }
            Op::Peek => {
                prop_assert_eq!(
                    s.next_deadline(),
                    m.first().map(|(d, _, _)| SimTime::from_unix_ms(d))
                );
            }
            Op::Pending => {
                let mut expected: Vec<_> = m.live.iter().map(|(i, (d, q))| (*d, *q, *i)).collect();
                expected.sort();
                let expected: Vec<_> = expected
                    .into_iter()
                    .map(|(d, _, i)| (SimTime::from_unix_ms(d), i))
                    .collect();
                prop_assert_eq!(s.pending(), expected);
            }
            Op::Cancel(i) => {
                prop_assert_eq!(
                    s.cancel(u32::from(i)),
                    m.live.remove(&u32::from(i)).is_some()
                );
            }
            Op::Pop(d) => {
                let limit = now.saturating_add(d);
                pop(&mut s, &mut m, &mut now, limit)?;
            }
            Op::Drain(d) => {
                let limit = now.saturating_add(d);
                while pop(&mut s, &mut m, &mut now, limit)? {}
            }
            Op::Crowd(n, o) => {
                for k in 0..n {
                    // Out of order, some at the same instant.
                    let due = now
                        .saturating_add(o)
                        .saturating_add(i64::from(k) * 37 % 1_009);
                    s.schedule_at(SimTime::from_unix_ms(due), fresh);
                    m.schedule(fresh, due);
                    if k % 5 == 1 {
                        s.cancel(fresh);
                        m.live.remove(&fresh);
                    }
                    fresh += 1;
                }
            }
            Op::Churn(n, o) => {
                for k in 0..n {
                    let due = now.saturating_add(o).saturating_add(i64::from(k) * 997);
                    s.schedule_at(SimTime::from_unix_ms(due), fresh);
                    m.schedule(fresh, due);
                    if k % 8 != 0 {
                        s.cancel(fresh);
                        m.live.remove(&fresh);
                    }
                    fresh += 1;
                }
            }
        }
        prop_assert_eq!(s.len(), m.live.len());
    }
    // Everything left comes out in model order.
    while pop(&mut s, &mut m, &mut now, i64::MAX)? {}
    prop_assert!(m.live.is_empty(), "left in the model: {:?}", m.live);
    prop_assert!(s.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_scheduler_agrees_with_a_sorted_model(
        ops in proptest::collection::vec(op(), 1..120),
        start in prop_oneof![Just(1_767_600_000_000i64), Just(0i64), Just(-5_000i64), any::<i64>().prop_map(|x| x / 2)],
    ) {
        run(&ops, start)?;
    }
}
