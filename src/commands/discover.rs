//! `opsdeck discover`: a fleet file from what the account holds.

use crate::cli::{DiscoverArgs, GlobalArgs};
use crate::fleet::Fleet;
use crate::setup::{self, CliError};
use crate::source::aws;
use std::path::Path;

pub async fn run(g: &GlobalArgs, args: &DiscoverArgs) -> Result<(), CliError> {
    let text = aws::discover(&args.regions, args.tag.clone(), &setup::aws_options(g))
        .await
        .map_err(setup::aws_error)?;
    // What we write must load: check it the way `--fleet` will read it.
    if let Err(e) = Fleet::parse(&text, Path::new("<discovered>")) {
        return Err(CliError::Runtime(format!(
            "the discovered fleet does not load ({e}); nothing written"
        )));
    }
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| CliError::Runtime(format!("{}: cannot write: {e}", path.display())))?,
        None => super::output::print(&text)?,
    }
    Ok(())
}
