//! Where a fleet's facts come from and where its operations act: the simulated fleet or AWS.

use serde::{Deserialize, Serialize};

/// The simulated fleet or AWS. Written as "sim" / "aws" in snapshots, plans and audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Sim,
    Aws,
}

impl SourceKind {
    /// "sim" or "aws".
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Sim => "sim",
            SourceKind::Aws => "aws",
        }
    }

    pub fn is_sim(self) -> bool {
        self == SourceKind::Sim
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SourceKind;

    #[test]
    fn kinds_keep_their_json_strings() {
        for (kind, text) in [(SourceKind::Sim, "\"sim\""), (SourceKind::Aws, "\"aws\"")] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), text);
            assert_eq!(serde_json::from_str::<SourceKind>(text).unwrap(), kind);
        }
    }
}
