//! One module per vendor operation, as mini-redis has one per command: each holds the
//! operation's body validation, its `decide` (the rules) and the `apply` of its accepted input.

pub(crate) mod prolong_time;
pub(crate) mod release_agent_conf;
pub(crate) mod request_agent_conf;

pub use request_agent_conf::parse_body as parse_request_agent_conf;
