//! The pure platform model of confsim: agents, the VDN and conferences, the vendor's
//! operations decided against state at a simulated time, and journal records folded into state.
//!
//! Architecture invariant: this crate reads no clock, draws no global randomness, does no I/O
//! and knows nothing of HTTP or async. Time comes in as `SimTime` arguments and randomness as a
//! root seed (see `draws`). Everything a driver needs is `Platform::decide`, `Platform::apply`
//! and `Platform::fire`.

pub mod body;
pub mod causes;
pub mod config;
pub mod draws;
pub mod event;
pub mod hint;
pub mod ids;
pub mod input;
mod notify;
pub mod ops;
pub mod record;
mod schema;
pub mod state;
pub mod time;

pub use config::{AgentGroup, PlatformConfig};
pub use event::{Content, Event, EventType};
pub use ids::{AgentId, AgentRange, AgentSet, ConfId};
pub use input::{AgentText, Input, Op, Rejection, Response, retcode};
pub use record::{InputRecord, Record};
pub use state::{Agent, AgentState, Conference, Phase, Platform, Timer, TimerOp};
pub use time::{SimDuration, SimTime};
