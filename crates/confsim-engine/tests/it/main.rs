//! Integration tests of the foundation semantics, driven through the engine: the
//! `requestAgentConf` body, the order of synchronous retcodes, the asynchronous event
//! sequences, the conference timers with `releaseAgentConf` and `prolongTime`, and the promise
//! that folding the journal rebuilds the live state (product.md §4.2, §7).

mod rebuild;
mod request_body;
mod retcodes;
mod sequences;
mod support;
mod timers;
