//! The terminal: raw mode and the alternate screen, always restored — on quit, on error, on panic
//! and on SIGTERM/SIGHUP.

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static MOUSE: AtomicBool = AtomicBool::new(false);
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Put the terminal back as we found it. Safe to call more than once.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    /// Never dropped: ratatui's `Terminal` shows its cursor on drop and `eprintln!`s when it cannot,
    /// which panics when the terminal is gone (its tmux server killed). `restore` shows the cursor.
    pub terminal: std::mem::ManuallyDrop<Term>,
}

impl TerminalGuard {
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        let entered = execute!(out, EnterAlternateScreen, cursor::Hide).and_then(|_| {
            if mouse {
                MOUSE.store(true, Ordering::SeqCst);
                execute!(out, EnableMouseCapture)
            } else {
                Ok(())
            }
        });
        if let Err(e) = entered {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => Ok(TerminalGuard {
                terminal: std::mem::ManuallyDrop::new(terminal),
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            tracing::error!("panic: {info}");
            previous(info);
        }));
    });
}

/// What the terminal sends: its events, or word that it is gone.
#[derive(Debug)]
pub enum Input {
    Event(crossterm::event::Event),
    /// The terminal hung up (its window closed, its tmux server killed) or cannot be read.
    Gone(String),
}

/// Read the terminal on a thread of its own and hand its events over a channel.
///
/// Not crossterm's `EventStream` on the runtime: once the terminal hangs up, crossterm's reader
/// loops on the dead descriptor inside a single poll and never returns, so a loop polling it
/// could not even see the SIGHUP. Here the spinning is confined to this thread: the console still
/// sees the hang-up (signal or `Gone`) and ends, and the thread ends with the process.
pub fn input() -> tokio::sync::mpsc::Receiver<Input> {
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let spawned = std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || loop {
            if hung_up() {
                let _ = tx.blocking_send(Input::Gone("the terminal hung up".into()));
                return;
            }
            let sent = match crossterm::event::poll(std::time::Duration::from_millis(200)) {
                Ok(true) => match crossterm::event::read() {
                    Ok(ev) => tx.blocking_send(Input::Event(ev)),
                    Err(e) => {
                        let _ = tx.blocking_send(Input::Gone(e.to_string()));
                        return;
                    }
                },
                Ok(false) => Ok(()),
                Err(e) => {
                    let _ = tx.blocking_send(Input::Gone(e.to_string()));
                    return;
                }
            };
            if sent.is_err() || tx.is_closed() {
                return; // the console has ended
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the terminal reader: {e}");
    }
    rx
}

/// True when the terminal behind stdin has hung up or is no longer readable.
fn hung_up() -> bool {
    #[repr(C)]
    struct PollFd {
        fd: i32,
        events: i16,
        revents: i16,
    }
    extern "C" {
        fn poll(fds: *mut PollFd, nfds: std::os::raw::c_ulong, timeout: i32) -> i32;
    }
    const POLLIN: i16 = 0x1;
    const POLLERR: i16 = 0x8;
    const POLLHUP: i16 = 0x10;
    const POLLNVAL: i16 = 0x20;
    let mut fd = PollFd {
        fd: 0,
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd that outlives the call, a zero timeout.
    let n = unsafe { poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (POLLHUP | POLLERR | POLLNVAL) != 0
}
