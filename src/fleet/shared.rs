//! `[shared]`: where several operators of one fleet coordinate — the DynamoDB lock table that holds
//! each operation's lease (and, later, pending approvals) and the CloudWatch Logs group that holds
//! the shared audit trail. Both live in one region of the account, never in a server of our own.

use serde::{Deserialize, Serialize};

/// The fleet file's `[shared]` table (a contract: keys may be added, never renamed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SharedConfig {
    /// The region of the table and the log group.
    pub region: String,
    /// DynamoDB table, partition key `resource` (string).
    pub lock_table: String,
    /// CloudWatch Logs group of the shared audit trail.
    pub audit_log_group: String,
}

/// Why `name` cannot be a DynamoDB table name (3–255 of `a-z A-Z 0-9 _ - .`).
pub fn table_name_problem(name: &str) -> Option<String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if !(3..=255).contains(&name.len()) {
        return Some(format!(
            "`{name}` must be 3 to 255 characters long (DynamoDB table name)"
        ));
    }
    name.chars().find(|c| !ok(*c)).map(|c| {
        format!("`{name}` holds `{c}`: a DynamoDB table name takes only letters, digits, `_`, `-` and `.`")
    })
}

/// Why `name` cannot be a CloudWatch Logs group name (1–512 of `a-z A-Z 0-9 _ - / . #`, not
/// starting with `aws/`).
pub fn log_group_problem(name: &str) -> Option<String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '#');
    if name.is_empty() || name.len() > 512 {
        return Some(format!(
            "`{name}` must be 1 to 512 characters long (CloudWatch Logs group name)"
        ));
    }
    if name.starts_with("aws/") {
        return Some(format!(
            "`{name}`: log group names starting with `aws/` are AWS's own"
        ));
    }
    name.chars().find(|c| !ok(*c)).map(|c| {
        format!(
            "`{name}` holds `{c}`: a log group name takes only letters, digits, `_`, `-`, `/`, `.` and `#`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;
    use std::path::Path;

    const FLEET: &str = "name = \"atlas\"\n[[region]]\nname = \"eu-west-1\"\nrole = \"primary\"\n";

    fn parse(shared: &str) -> Result<Fleet, String> {
        Fleet::parse(&format!("{FLEET}[shared]\n{shared}"), Path::new("f.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_shared_table_is_read_and_checked_with_its_line() {
        let ok = "region = \"us-east-1\"\nlock_table = \"opsdeck-locks\"\naudit_log_group = \"/opsdeck/atlas\"\n";
        assert_eq!(
            parse(ok).unwrap().shared,
            Some(SharedConfig {
                region: "us-east-1".into(),
                lock_table: "opsdeck-locks".into(),
                audit_log_group: "/opsdeck/atlas".into(),
            })
        );
        assert_eq!(
            Fleet::parse(FLEET, Path::new("f.toml")).unwrap().shared,
            None
        );
        let e = parse(&ok.replace("us-east-1", "us-east-9")).unwrap_err();
        assert!(
            e.starts_with("f.toml:6:") && e.contains("shared.region"),
            "{e}"
        );
        let e = parse(&ok.replace("opsdeck-locks", "opsdeck locks")).unwrap_err();
        assert!(
            e.starts_with("f.toml:7:") && e.contains("shared.lock_table"),
            "{e}"
        );
        let e = parse(&ok.replace("/opsdeck/atlas", "aws/x")).unwrap_err();
        assert!(
            e.starts_with("f.toml:8:") && e.contains("shared.audit_log_group"),
            "{e}"
        );
        let e = parse("region = \"us-east-1\"\nlock_table = \"opsdeck-locks\"\n").unwrap_err();
        assert!(e.contains("audit_log_group"), "{e}");
        let e = parse(&format!("{ok}table = \"x\"\n")).unwrap_err();
        assert!(e.starts_with("f.toml:9:"), "{e}");
    }

    #[test]
    fn table_and_group_names_follow_aws_rules() {
        assert_eq!(table_name_problem("opsdeck-locks"), None);
        assert!(table_name_problem("ab").is_some());
        assert!(table_name_problem("locks table").unwrap().contains("` `"));
        assert_eq!(log_group_problem("/opsdeck/atlas-crm"), None);
        assert!(log_group_problem("").is_some());
        assert!(log_group_problem("aws/lambda/x").is_some());
        assert!(log_group_problem("/opsdeck/a b").unwrap().contains("` `"));
    }
}
