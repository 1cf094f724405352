use opsdeck::cli::{Cli, Command};
use opsdeck::setup::CliError;

fn main() {
    let (cli, global) = Cli::parse_global();
    for warning in &cli.ignored {
        eprintln!("opsdeck: warning: {warning}; ignored");
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
            eprintln!("opsdeck: cannot start the async runtime: {e}");
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
        }
    });
    opsdeck::tui::restore();
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    drop(log); // flush the log file before exiting
    if let Err(e) = result {
        eprintln!("opsdeck: {e}");
        std::process::exit(e.exit_code());
    }
}
