//! The interactive console: terminal input, source events and timers feed `app::update`; the
//! frame is redrawn only when something changed, at most every 50 ms.

use crate::app::look::{LookKind, LookReport};
use crate::app::{self, Action, Effect, State};
use crate::cli::GlobalArgs;
use crate::config::{Keymap, Theme};
use crate::fleet::Status;
use crate::fleet::{SourceError, SourceKind};
use crate::ops::Operator;
use crate::setup::{self, CliError, Look};
use crate::source::{aws, sim, SourceCommand, SourceEvent, SourceHandle};
use crate::tui::Input;
use crate::tui::TerminalGuard;
use crossterm::event::{Event, KeyEventKind, MouseButton, MouseEventKind};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

pub use crate::ui::footer::mode;

pub mod drills;
pub mod runner;

/// How often the console reads what the other operators do (a few small reads each time).
const OTHERS_EVERY: Duration = Duration::from_secs(5);

pub async fn run(g: &GlobalArgs) -> Result<(), CliError> {
    let (fleet, is_sim) = setup::load_fleet(g)?;
    let look = setup::load_look(g)?;
    let start = setup::start_time(g)?;
    let scenario = setup::scenario(g, &fleet)?;
    let mut flash = None;
    let mut shared_missing = None;
    let kind = if is_sim {
        SourceKind::Sim
    } else {
        SourceKind::Aws
    };
    let settings = setup::ops_settings(g, &fleet, kind);
    let permission = settings.permission;
    let (handle, operator, drills) = if is_sim {
        let (handle, model) = sim::spawn_shared(
            fleet.clone(),
            sim::SimOptions {
                seed: g.seed,
                speed: g.speed,
                start,
                tick_ms: 1000,
                history_s: 24 * 3600,
                scenario,
            },
        );
        let target: Arc<dyn crate::ops::Target> =
            Arc::new(crate::ops::sim::SimTarget::new(model.clone(), false));
        let operator = Operator::new(fleet.clone(), target.clone(), settings);
        let operator = setup::coordinate(g, &fleet, kind, operator, Duration::ZERO).await?;
        let drills = drills_for(g, &fleet, kind, target, Some(model)).await?;
        (handle, operator, drills)
    } else {
        // Not eprintln!: a closed or dead stderr must not panic.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("opsdeck: connecting to AWS for fleet `{}`…\n", fleet.name),
        );
        let handle = match aws::connect(&fleet, &setup::aws_options(g)).await {
            Ok(source) => source.spawn(fleet.clone()),
            Err(aws::AwsSetupError::NoCredentials(message)) => {
                flash = message
                    .lines()
                    .next()
                    .map(|l| format!("{l} — press e for how to provide them"));
                no_credentials(&fleet, message)
            }
            Err(e) => return Err(setup::aws_error(e)),
        };
        let target = crate::ops::aws::AwsTarget::connect(
            fleet.clone(),
            g.profile.as_deref(),
            g.endpoint_url.as_deref(),
            Arc::new(setup::wall_clock()),
        )
        .await;
        let target: Arc<dyn crate::ops::Target> = Arc::new(target);
        let operator = Operator::new(fleet.clone(), target.clone(), settings);
        let operator = setup::coordinate(g, &fleet, kind, operator, Duration::ZERO).await?;
        shared_missing = setup::shared_missing(g, &fleet, kind).await;
        let drills = drills_for(g, &fleet, kind, target, None).await?;
        (handle, operator, drills)
    };
    // The simulated fleet starts at `start`; against AWS, the time of the clock operations read.
    let start = if is_sim {
        start
    } else {
        operator.clock().now()
    };
    // An operation a previous run left between execute and verify (killed, crashed) is closed in
    // the audit log and said below, so nobody assumes it applied.
    let interrupted = operator.close_interrupted();
    let week = if is_sim {
        crate::report::WeekSource::Sim { seed: g.seed }
    } else {
        crate::report::WeekSource::Aws(setup::aws_options(g))
    };
    let ops = runner::OpsRunner::new(Some(operator))
        .with_week(week)
        .with_drills(drills);
    ops.watch_others(OTHERS_EVERY);
    let mut state = State::new(fleet, handle.kind, start);
    init_look(&mut state, &look);
    state.read_only = !permission.allows();
    if flash.is_some() {
        state.flash = flash;
    }
    // Reading works; operations are refused until the [shared] resources exist.
    if let Some(missing) = shared_missing {
        state.log(state.now, None, Status::Warn, missing.clone());
        state.flash = Some(missing);
    }
    match interrupted {
        Ok(ids) => {
            for id in ids {
                let text = format!(
                    "operation {id} was interrupted before it was verified: check the fleet"
                );
                state.log(state.now, None, Status::Warn, text.clone());
                state.flash = Some(text);
            }
        }
        Err(e) => state.log(state.now, None, Status::Warn, format!("audit log: {e}")),
    }
    let mut guard = TerminalGuard::enter(!g.no_mouse)
        .map_err(|e| CliError::Runtime(format!("terminal: {e}")))?;
    let result = event_loop(&mut guard, &mut state, handle, look, ops).await;
    drop(guard);
    result
}

/// What the drill walkthrough runs with: an operator on the console's target whose pipeline
/// leaves watching a change settle to the drill (as `opsdeck drill run`'s), the live simulated
/// fleet, and where runbooks and timelines are.
async fn drills_for(
    g: &GlobalArgs,
    fleet: &crate::fleet::Fleet,
    kind: SourceKind,
    target: Arc<dyn crate::ops::Target>,
    model: Option<Arc<std::sync::Mutex<crate::source::sim::SimFleet>>>,
) -> Result<drills::Drills, CliError> {
    let settings = crate::commands::drill::drill_settings(g, fleet, kind);
    let operator = Operator::new(fleet.clone(), target.clone(), settings);
    let operator = setup::coordinate(g, fleet, kind, operator, Duration::ZERO).await?;
    let sim = model.is_some();
    let mut drills = drills::Drills::new(
        operator,
        target,
        model,
        g.fleet.clone(),
        crate::config::config_dir(),
        crate::logging::state_dir(),
    );
    if !sim {
        // A real drill judges its steady state on CloudWatch's metrics too, as the CLI's does.
        match crate::commands::drill::cloudwatch(g, fleet).await {
            Ok(m) => drills.metrics = Some(Arc::new(m)),
            Err(e) => tracing::warn!("drills: no metrics: {e}"),
        }
    }
    Ok(drills)
}

/// A source that only says, in every pane, that there are no credentials and how to provide them:
/// the console still opens, so the user sees the fleet and the reason.
fn no_credentials(fleet: &crate::fleet::Fleet, message: String) -> SourceHandle {
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let (commands, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let now = chrono::Utc::now();
    for line in message.lines().rev() {
        let _ = tx.send(SourceEvent::Note {
            at: now,
            region: None,
            text: line.trim().to_string(),
        });
    }
    for r in &fleet.regions {
        for kind in aws::reported_kinds(r) {
            let error = SourceError::NoCredentials("no AWS credentials".into());
            let _ = tx.send(SourceEvent::Failed {
                region: r.name.clone(),
                kind,
                at: now,
                error,
            });
        }
    }
    tokio::spawn(async move {
        // Keep the channel open until the console shuts down.
        while let Some(cmd) = rx.recv().await {
            if cmd == SourceCommand::Shutdown {
                break;
            }
        }
        drop(tx);
    });
    SourceHandle {
        kind: crate::fleet::SourceKind::Aws,
        events,
        commands,
    }
}

fn init_look(state: &mut State, look: &Look) {
    state.theme_names = look.themes.clone();
    state.theme = look
        .themes
        .iter()
        .position(|t| *t == look.theme.name)
        .unwrap_or(0);
    state.keymap_names = look.keymaps.clone();
    state.keymap = look
        .keymaps
        .iter()
        .position(|k| *k == look.keymap.name)
        .unwrap_or(0);
    for w in &look.warnings {
        tracing::warn!("{w}");
        state.log(state.now, None, Status::Warn, w.clone());
    }
    if let Some(w) = look.warnings.first() {
        state.flash = Some(w.clone());
    }
}

async fn event_loop(
    guard: &mut TerminalGuard,
    state: &mut State,
    mut handle: SourceHandle,
    look: Look,
    mut ops: runner::OpsRunner,
) -> Result<(), CliError> {
    let Look {
        user_dir,
        mut theme,
        mut keymap,
        ..
    } = look;
    let runtime = |e: std::io::Error| CliError::Runtime(format!("terminal: {e}"));
    let size = guard.terminal.size().map_err(runtime)?;
    state.size = (size.width, size.height);
    let mut input = crate::tui::input();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut frame = tokio::time::interval(Duration::from_millis(50));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(SignalKind::terminate()).map_err(runtime)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(runtime)?;
    let mut source_open = true;
    let mut hits = crate::ui::HitMap::default();
    loop {
        let mut effects = Vec::new();
        tokio::select! {
            ev = input.recv() => match ev {
                Some(Input::Event(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    tracing::debug!(?k, mode = ?mode(state), "key");
                    if state.dialog.is_some() {
                        // A dialog takes keys raw: a typed region name must not trigger bindings.
                        if let Some(key) = app::dialog::DialogKey::from_event(&k) {
                            effects = app::update(state, Action::DialogKey(key));
                        }
                    } else if state.drills.takes_keys() {
                        // So does the drill panel (it asks for region names too).
                        if let Some(key) = app::dialog::DialogKey::from_event(&k) {
                            effects = app::update(state, Action::DrillKey(key));
                        }
                    } else if let Some(a) = keymap.lookup(mode(state), &k) {
                        effects = app::update(state, a);
                    }
                }
                Some(Input::Event(Event::Resize(w, h))) => effects = app::update(state, Action::Resize(w, h)),
                Some(Input::Event(Event::Mouse(m))) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
                    if let Some(i) = hits.region_at(m.column, m.row) {
                        effects = app::update(state, Action::ClickRegion(i));
                    }
                }
                Some(Input::Event(_)) => {}
                Some(Input::Gone(why)) => {
                    tracing::warn!("terminal gone: {why}");
                    break;
                }
                None => break,
            },
            ev = handle.events.recv(), if source_open => match ev {
                Some(ev) => {
                    effects = app::update(state, Action::Source(ev));
                    // Drain what else is queued so a burst (history replay) costs one frame.
                    for _ in 0..10_000 {
                        match handle.events.try_recv() {
                            Ok(ev) => effects.extend(app::update(state, Action::Source(ev))),
                            Err(_) => break,
                        }
                    }
                }
                None => {
                    source_open = false;
                    state.log(state.now, None, Status::Crit, "the data source stopped".into());
                }
            },
            Some(report) = ops.next() => effects = app::update(state, report),
            _ = tick.tick() => effects = app::update(state, Action::Tick),
            _ = frame.tick() => {
                if state.dirty {
                    guard
                        .terminal
                        .draw(|f| hits = crate::ui::draw(f, state, &theme, &keymap))
                        .map_err(runtime)?;
                    state.dirty = false;
                }
            }
            _ = term.recv() => break,
            _ = hangup.recv() => break,
        }
        let mut effects = std::collections::VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Quit => state.quit = true,
                Effect::Source(cmd) => {
                    let _ = handle.commands.send(cmd);
                }
                Effect::Op(op) => ops.handle(op),
                Effect::Drill(d) => ops.drill(d),
                Effect::LoadTheme(name) => {
                    if let Some(report) = switch_theme(&name, &mut theme, user_dir.as_deref()) {
                        effects.extend(app::update(state, report));
                    }
                }
                Effect::LoadKeymap(name) => {
                    if let Some(report) = switch_keymap(&name, &mut keymap, user_dir.as_deref()) {
                        effects.extend(app::update(state, report));
                    }
                }
            }
        }
        if state.quit {
            break;
        }
    }
    let _ = handle.commands.send(SourceCommand::Shutdown);
    Ok(())
}

/// Load the theme an update asked for. A broken or missing one leaves `theme` as it is and comes
/// back as the report for the state (flash, event log, the theme index put back).
pub fn switch_theme(name: &str, theme: &mut Theme, user_dir: Option<&Path>) -> Option<Action> {
    match Theme::load(name, user_dir) {
        Ok(t) => {
            *theme = t;
            None
        }
        Err(e) => Some(look_failed(LookKind::Theme, name, &theme.name, e)),
    }
}

/// Load the keymap an update asked for; its conflicts or its failure come back as the report.
pub fn switch_keymap(name: &str, keymap: &mut Keymap, user_dir: Option<&Path>) -> Option<Action> {
    match Keymap::load(name, user_dir) {
        Ok((k, conflicts)) => {
            *keymap = k;
            let conflicts: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
            (!conflicts.is_empty()).then_some(Action::Look(LookReport::KeymapConflicts(conflicts)))
        }
        Err(e) => Some(look_failed(LookKind::Keymap, name, &keymap.name, e)),
    }
}

fn look_failed(kind: LookKind, wanted: &str, kept: &str, e: impl ToString) -> Action {
    Action::Look(LookReport::Failed {
        kind,
        wanted: wanted.to_string(),
        kept: kept.to_string(),
        error: e.to_string(),
    })
}
