//! `opsdeck simulate --fail REGION`: the failover what-if, as a table or JSON. Changes nothing.

use crate::cli::{Format, GlobalArgs, SimulateArgs};
use crate::setup::{self, CliError};

pub async fn run(g: &GlobalArgs, args: &SimulateArgs) -> Result<(), CliError> {
    let (fleet, is_sim) = setup::load_fleet(g)?;
    if fleet.region(&args.fail).is_none() {
        return Err(crate::commands::act::op_error(
            crate::ops::plan::unknown_region(&fleet, &args.fail),
        ));
    }
    let target = crate::commands::act::target(g, &fleet, is_sim, args.after).await?;
    let report = target
        .what_if(&fleet, &args.fail)
        .await
        .map_err(CliError::Runtime)?;
    match args.format {
        Format::Json => super::output::println(
            &serde_json::to_string_pretty(&report).map_err(|e| CliError::Runtime(e.to_string()))?,
        ),
        Format::Table => super::output::print(&crate::ops::text::what_if(&report)),
    }
}
