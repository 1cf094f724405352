use opsdeck::cli::{Cli, Command};
use opsdeck::commands::output::say;
use opsdeck::setup::CliError;

fn main() {
    let (cli, global) = Cli::parse_global();
    for warning in &cli.ignored {
        say(&format!("warning: {warning}; ignored"));
    }
    let log = opsdeck::logging::init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "opsdeck starting");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("cannot start the async runtime: {e}"));
            std::process::exit(1);
        }
    };
    let result: Result<(), CliError> = runtime.block_on(async {
        match &cli.command {
            None => opsdeck::console::run(&global).await,
            Some(Command::Snapshot(args)) => opsdeck::commands::snapshot::run(&global, args).await,
            Some(Command::Act(op)) => opsdeck::commands::act::run(&global, op).await,
            Some(Command::Simulate(args)) => opsdeck::commands::simulate::run(&global, args).await,
            Some(Command::Discover(args)) => opsdeck::commands::discover::run(&global, args).await,
            Some(Command::Drill(cmd)) => opsdeck::commands::drill::run(&global, cmd).await,
            Some(Command::Shared(op)) => opsdeck::commands::shared::run(&global, op).await,
            Some(Command::Report(args)) => opsdeck::commands::report::run(&global, args).await,
        }
    });
    opsdeck::tui::restore();
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match &result {
        Err(CliError::OutputClosed) => tracing::info!("standard output closed by its reader; done"),
        Err(e) => tracing::error!("{e}"),
        Ok(()) => {}
    }
    let code = result.as_ref().map_or_else(CliError::exit_code, |_| 0);
    tracing::info!(code, "opsdeck exiting");
    drop(log); // flush the log file before exiting
               // Errors go to standard error without panicking: under a dead terminal (its tmux server
               // killed) the write fails and the log file above is all that is left.
    match result {
        Ok(()) | Err(CliError::OutputClosed) => {}
        Err(e) => {
            say(&e.to_string());
            std::process::exit(e.exit_code());
        }
    }
}
