//! Journal records as the core sees them: an input with its response, or an event. The journal
//! crate stamps each with `seq` and `at` and owns the bytes; the core folds them into state.

use crate::event::Event;
use crate::input::{Input, Op, Response};
use serde_json::Value;
use std::sync::Arc;

/// An input as journaled: the call and the synchronous response it got.
#[derive(Clone, Debug, PartialEq)]
pub struct InputRecord {
    pub op: Op,
    /// The `{agentid}` of the path exactly as sent.
    pub agent: String,
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
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Input(InputRecord),
    Event(Event),
}
