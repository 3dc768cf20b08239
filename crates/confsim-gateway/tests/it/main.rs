//! The gateway's integration tests: in-process through the router (`tower::ServiceExt::oneshot`)
//! on the manual clock, and over real TCP on loopback with reqwest.

mod clock;
mod conference;
mod equivalence;
mod errors;
mod inactivity;
mod lenient;
mod load;
mod metrics;
mod polling;
mod session;
mod support;
mod tcp;
mod tls;
