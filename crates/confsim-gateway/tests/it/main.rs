//! The gateway's integration tests: in-process through the router (`tower::ServiceExt::oneshot`)
//! on the manual clock, and over real TCP on loopback with reqwest.

mod clock;
mod compat;
mod conference;
mod control;
mod equivalence;
mod errors;
mod fuzz_corpus;
mod inactivity;
mod lenient;
mod limits;
mod load;
mod longpoll;
mod metrics;
mod polling;
mod power_loss;
mod push;
mod queue;
mod record;
mod session;
mod subscribe;
mod support;
mod tcp;
mod tls;
mod wire;
