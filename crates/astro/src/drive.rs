//! The focuser device: the counted [`StepModel`] driven through the service's near/far steps.
//!
//! A move returns at once and runs in a task, one [`Chunk`](crate::focuser::Chunk) (a single
//! `focus_step`) at a time, re-planned toward the current target after each: a new move
//! changes the target of the running one, [`Focuser::halt`] clears it, and either takes effect
//! between chunks. The position counts only the chunks the camera took.

use std::sync::{Arc, Mutex, MutexGuard};

use sonyctl_service::ServiceHandle;
use sonyctl_sony::values::lens_steppable;
use tokio::sync::watch;

use crate::error::AstroError;
use crate::focuser::{DEFAULT_MAX_STEP, FocuserError, StepModel};

/// How the focuser presents itself (a setup option).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocuserOptions {
    /// Absolute (a position clients move to, the default: N.I.N.A.'s autofocus needs it) or
    /// relative (moves by a step count; Alpaca's Position is then NotImplemented).
    pub absolute: bool,
    /// MaxStep, in size-1 steps.
    pub max_step: u32,
    /// MaxIncrement: the longest single move.
    pub max_increment: u32,
}

impl Default for FocuserOptions {
    fn default() -> Self {
        FocuserOptions {
            absolute: true,
            max_step: DEFAULT_MAX_STEP,
            max_increment: DEFAULT_MAX_STEP,
        }
    }
}

/// What a watcher of the focuser sees (INDI pushes it to its clients).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocuserStatus {
    /// The counted position, 0 to MaxStep.
    pub position: u32,
    /// A move is under way.
    pub moving: bool,
    /// Why the last move ended early, if it failed.
    pub error: Option<String>,
}

struct State {
    model: StepModel,
    options: FocuserOptions,
    /// Where the running move goes; `None` halts it after the chunk in flight.
    target: Option<i64>,
    moving: bool,
    connected: bool,
    error: Option<String>,
}

struct Inner {
    service: ServiceHandle,
    state: Mutex<State>,
    changes: watch::Sender<FocuserStatus>,
}

/// The lens's near/far steps as a focuser. Cheap to clone; every clone is the same focuser.
#[derive(Clone)]
pub struct Focuser {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Focuser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Focuser")
            .field("status", &*self.inner.changes.borrow())
            .finish()
    }
}

impl Focuser {
    /// A focuser over `service`, not connected yet.
    pub fn new(service: ServiceHandle, options: FocuserOptions) -> Focuser {
        let model = StepModel::new(options.max_step, options.max_increment);
        let (changes, _) = watch::channel(FocuserStatus {
            position: model.position(),
            moving: false,
            error: None,
        });
        Focuser {
            inner: Arc::new(Inner {
                service,
                state: Mutex::new(State {
                    model,
                    options,
                    target: None,
                    moving: false,
                    connected: false,
                    error: None,
                }),
                changes,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Connects the focuser, on its own: the camera device's session and exposures are not
    /// touched (a client may connect either alone). The camera must be connected to the
    /// service. The position starts again at MaxStep/2 (it is counted from here); connecting
    /// again is harmless and keeps the count.
    pub async fn connect(&self) -> Result<(), AstroError> {
        if !self.inner.service.status().connected {
            return Err(AstroError::Camera(
                "the camera is not connected (the service is reconnecting)".into(),
            ));
        }
        let mut s = self.lock();
        if s.connected {
            return Ok(());
        }
        s.connected = true;
        s.target = None;
        if !s.moving {
            s.model = StepModel::new(s.options.max_step, s.options.max_increment);
            s.error = None;
        }
        publish(&self.inner, &s);
        Ok(())
    }

    /// Disconnects the focuser (a move is halted after the step in flight); the camera device
    /// is not touched. Harmless when not connected.
    pub fn disconnect(&self) {
        let mut s = self.lock();
        s.connected = false;
        s.target = None;
        publish(&self.inner, &s);
    }

    /// The focuser is connected.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    fn connected(&self) -> Result<MutexGuard<'_, State>, AstroError> {
        let s = self.lock();
        if !s.connected {
            return Err(AstroError::NotConnected);
        }
        Ok(s)
    }

    fn check_connected(&self) -> Result<(), AstroError> {
        self.connected().map(drop)
    }

    /// Absolute (true) or relative.
    pub fn absolute(&self) -> bool {
        self.lock().options.absolute
    }

    /// Switches between absolute and relative (a setup option; the position is kept).
    pub fn set_absolute(&self, absolute: bool) {
        self.lock().options.absolute = absolute;
    }

    /// MaxStep.
    pub fn max_step(&self) -> u32 {
        self.lock().model.max_step()
    }

    /// MaxIncrement.
    pub fn max_increment(&self) -> u32 {
        self.lock().model.max_increment()
    }

    /// The counted position (0 to MaxStep); NotImplemented for a relative focuser, as Alpaca
    /// requires.
    pub fn position(&self) -> Result<u32, AstroError> {
        let s = self.connected()?;
        if !s.options.absolute {
            return Err(AstroError::NotImplemented(
                "a relative focuser has no position".into(),
            ));
        }
        Ok(s.model.position())
    }

    /// The counted position whatever the mode (INDI shows it for both).
    pub fn counted_position(&self) -> u32 {
        self.lock().model.position()
    }

    /// A move is under way.
    pub fn is_moving(&self) -> bool {
        self.lock().moving
    }

    /// Why the last move failed, if it did.
    pub fn last_error(&self) -> Option<String> {
        self.lock().error.clone()
    }

    /// A receiver that wakes when the position or the motion changes.
    pub fn changes(&self) -> watch::Receiver<FocuserStatus> {
        self.inner.changes.subscribe()
    }

    /// Moves to `target`, clamped to 0..=MaxStep (never an error for a target out of range,
    /// as ConformU expects). Returns at once; the move runs in a task. A move under way is
    /// redirected.
    pub async fn move_to(&self, target: i64) -> Result<(), AstroError> {
        self.check_connected()?;
        self.check_manual()?;
        let mut s = self.connected()?;
        let max = i64::from(s.model.max_step());
        self.start(&mut s, target.clamp(0, max));
        Ok(())
    }

    /// Moves by `delta` steps (negative nearer), stopping at 0 and MaxStep; more than
    /// MaxIncrement either way is InvalidValue. Returns at once. A relative focuser is bounded
    /// the same way: the lens has ends, and the count from the middle (MaxStep/2 either way)
    /// is where this focuser places them, since the body reports none.
    pub async fn move_by(&self, delta: i64) -> Result<(), AstroError> {
        {
            let s = self.connected()?;
            if let Err(FocuserError::TooFar { .. }) = s.model.plan_by(delta) {
                return Err(AstroError::InvalidValue(format!(
                    "a move of {delta} steps is more than the {} allowed at once",
                    s.model.max_increment()
                )));
            }
        }
        self.check_manual()?;
        let mut s = self.connected()?;
        let max = i64::from(s.model.max_step());
        let target = (i64::from(s.model.position()) + delta).clamp(0, max);
        self.start(&mut s, target);
        Ok(())
    }

    /// Stops a move after the step request in flight; nothing when none runs.
    pub fn halt(&self) {
        self.lock().target = None;
    }

    fn start(&self, s: &mut State, target: i64) {
        s.target = Some(target);
        s.error = None;
        if !s.moving {
            s.moving = true;
            publish(&self.inner, s);
            tokio::spawn(drive(self.inner.clone()));
        }
    }

    /// Manual focus only: the near/far steps move nothing otherwise. Read from the service's
    /// snapshot; the Sony layer decides ([`lens_steppable`]). A body that reports neither
    /// stepping nor a focus mode may try.
    fn check_manual(&self) -> Result<(), AstroError> {
        let Some(props) = self.inner.service.cached_properties() else {
            return Ok(());
        };
        match lens_steppable(|code| props.all.get(code).and_then(|d| d.current.as_u64())) {
            Some(false) => Err(AstroError::InvalidOperation(
                "set the lens / body to manual focus (MF or DMF)".into(),
            )),
            _ => Ok(()),
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding it cannot leave the counts half-written: every update is one
    // assignment.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn publish(inner: &Inner, s: &State) {
    let now = FocuserStatus {
        position: s.model.position(),
        moving: s.moving,
        error: s.error.clone(),
    };
    inner.changes.send_if_modified(|old| {
        let changed = *old != now;
        *old = now;
        changed
    });
}

/// Runs a move: one chunk at a time toward the target of the moment.
async fn drive(inner: Arc<Inner>) {
    loop {
        let chunk = {
            let mut s = lock(&inner.state);
            let next = s.target.and_then(|t| s.model.plan_to(t).first().copied());
            match next {
                Some(c) => c,
                None => {
                    s.target = None;
                    s.moving = false;
                    publish(&inner, &s);
                    return;
                }
            }
        };
        let result = inner.service.focus_step(chunk.size, chunk.count).await;
        let mut s = lock(&inner.state);
        match result {
            Ok(()) => s.model.moved(chunk),
            Err(e) => {
                s.error = Some(format!("the focus move failed: {e}"));
                s.target = None;
            }
        }
        publish(&inner, &s);
    }
}
