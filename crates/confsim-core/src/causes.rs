//! The `cause` of `AgentConf_RequestFailed`.
//!
//! The vendor passes a CTI result code through and does not publish the table (agentgateway.md
//! §10.1), so these numbers are this simulator's own, one per platform check, in the vendor's
//! five-digit style. The injected fault uses the vendor's own sample value.

/// The applicant is neither idle nor talking in a stable call (busy, work, rest, or a call on
/// hold, muted, playing an announcement or being transferred).
pub const AGENT_STATE: u32 = 21201;
/// The applicant is the called agent of a two-agent three-party call.
pub const THREE_PARTY_CALLED: u32 = 21202;
/// `memberNum` exceeds the VDN's maximum number of concurrent voice calls.
pub const VDN_CAPACITY: u32 = 21203;
/// `confCallerNo` is outside the VDN's number restrictions.
pub const CALLER_NO_RESTRICTED: u32 = 21204;
/// The applicant signed out before the platform answered.
pub const AGENT_SIGNED_OUT: u32 = 21205;
/// Applying from a call with `memberNum` 1: the room has no place for the call's far party,
/// who would become a member.
pub const NO_ROOM_FOR_PEER: u32 = 21206;
/// A fault injected by `platform.faults.requestFailedRate` (the vendor's sample cause).
pub const INJECTED_FAULT: u32 = 21234;

/// Every cause with a one-line meaning, for documentation and reports.
pub const ALL: &[(u32, &str)] = &[
    (
        AGENT_STATE,
        "applicant neither idle nor talking in a stable call",
    ),
    (
        THREE_PARTY_CALLED,
        "applicant is the called agent of a two-agent three-party call",
    ),
    (
        VDN_CAPACITY,
        "memberNum exceeds the VDN's maxConcurrentCalls",
    ),
    (
        CALLER_NO_RESTRICTED,
        "confCallerNo outside the VDN's number restrictions",
    ),
    (
        AGENT_SIGNED_OUT,
        "applicant signed out before the platform answered",
    ),
    (
        NO_ROOM_FOR_PEER,
        "memberNum 1 leaves no room for the far party of the call applied from",
    ),
    (
        INJECTED_FAULT,
        "fault injected by platform.faults.requestFailedRate",
    ),
];
