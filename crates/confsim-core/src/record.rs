//! Journal records as the core sees them: an input with its response, or an event. The journal
//! crate stamps each with `seq` and `at` and owns the bytes; the core folds them into state.

use crate::event::Event;
use crate::input::{AgentText, Input, Op, Response};
use serde_json::Value;
use std::sync::Arc;

/// An input as journaled: the call and the synchronous response it got.
#[derive(Clone, Debug, PartialEq)]
pub struct InputRecord {
    pub op: Op,
    /// The `{agentid}` of the path exactly as sent.
    pub agent: AgentText,
    pub body: Arc<Value>,
    pub response: Response,
}

impl InputRecord {
    pub fn new(input: Input, response: Response) -> Self {
        InputRecord {
            op: input.op,
            agent: input.agent,
            body: input.body,
            response,
        }
    }
}

/// One journal record, without its stamp.
///
/// The input is boxed: an input record (its response holds a JSON `result`) is 160 bytes and
/// an event 24, and most records are events. Unboxed, every record was 160 bytes wherever it was
/// moved: into the journal's batches (1,024 records each, handed to the writer thread), back,
/// and through the engine; boxed, a record is 32 bytes and an input pays one allocation, next
/// to the ones its agent id and response already make.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Input(Box<InputRecord>),
    Event(Event),
}

impl Record {
    /// An input record.
    pub fn input(input: InputRecord) -> Self {
        Record::Input(Box::new(input))
    }
}
