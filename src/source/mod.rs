//! Where facts come from. A source runs as background tasks and reports into the app channel;
//! the UI never holds a client.

pub mod aws;
pub mod sim;

use crate::fleet::{DataKind, Reading, SourceError, SourceKind};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

/// What a source tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// A fresh reading of one kind for one region, taken at `at` (virtual time for the simulator).
    Reading {
        region: String,
        at: DateTime<Utc>,
        reading: Reading,
    },
    /// A fetch of one kind for one region failed; the last good data stays on screen.
    Failed {
        region: String,
        kind: DataKind,
        at: DateTime<Utc>,
        error: SourceError,
    },
    /// The source's clock moved (the simulator's virtual time; wall time for AWS).
    Clock(DateTime<Utc>),
    /// Who we are talking to AWS as (STS caller ARN), or the local user on the simulator.
    Identity(String),
    /// A line for the event log (scenario injected, operation applied in the model, ...).
    Note {
        at: DateTime<Utc>,
        region: Option<String>,
        text: String,
    },
}

/// A scenario that injects an incident into the simulated fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// The region's service answers a large share of requests with 5xx.
    ErrorStorm,
    /// The region's replica falls behind (replication link degraded).
    ReplicaLag,
    /// The region's cache is flushed: hit ratio collapses, then warms up.
    CacheFlush,
    /// The region is down: tasks die, health checks fail, replication stops.
    Outage,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::ErrorStorm,
        Scenario::ReplicaLag,
        Scenario::CacheFlush,
        Scenario::Outage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::ErrorStorm => "error-storm",
            Scenario::ReplicaLag => "replica-lag",
            Scenario::CacheFlush => "cache-flush",
            Scenario::Outage => "outage",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s || x.name().replace('-', "_") == s)
    }
}

/// What the app asks of a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceCommand {
    /// Fetch everything now.
    Refresh,
    /// Inject a scenario into a region (simulator only; a real source ignores it with a note).
    Inject { region: String, scenario: Scenario },
    /// End every injected scenario.
    ClearScenarios,
    /// Stop the source's tasks.
    Shutdown,
}

/// A running source: the channel its events arrive on and the channel to command it.
pub struct SourceHandle {
    pub kind: SourceKind,
    pub events: mpsc::UnboundedReceiver<SourceEvent>,
    pub commands: mpsc::UnboundedSender<SourceCommand>,
}
