//! The console's side of operations: each effect runs in its own task and reports back to the
//! loop as an `Action::OpReport`, so the UI never waits on AWS.

use crate::app::dialog::{OpEffect, OpReport};
use crate::app::Action;
use crate::ops::audit::tail::VIEW_RECORDS;
use crate::ops::pipeline::Operator;
use crate::report::WeekSource;
use std::sync::Arc;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

pub struct OpsRunner {
    operator: Option<Arc<Operator>>,
    /// Where the week summary reads its review from (none: it says it is not available).
    week: Option<WeekSource>,
    /// What the drill walkthrough runs with (none: it says drills are not available).
    drills: Option<super::drills::Drills>,
    tx: UnboundedSender<Action>,
    rx: UnboundedReceiver<Action>,
}

fn failed(title: &str, message: impl ToString) -> Action {
    Action::OpReport(OpReport::Failed {
        title: title.into(),
        message: message.to_string(),
    })
}

impl OpsRunner {
    /// `None`: this source has no operations (every request is answered with a failure).
    pub fn new(operator: Option<Operator>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        OpsRunner {
            operator: operator.map(Arc::new),
            week: None,
            drills: None,
            tx,
            rx,
        }
    }

    /// Let the week summary read the review from `source`.
    pub fn with_week(mut self, source: WeekSource) -> Self {
        self.week = Some(source);
        self
    }

    /// Let the drill walkthrough list, run and read drills with `drills`.
    pub fn with_drills(mut self, drills: super::drills::Drills) -> Self {
        self.drills = Some(drills);
        self
    }

    /// List, start, answer or read drills. Must be called inside a tokio runtime.
    pub fn drill(&mut self, effect: crate::app::drill::DrillEffect) {
        let tx = self.tx.clone();
        match self.drills.as_mut() {
            Some(d) => d.handle(effect, tx),
            None => {
                let _ = tx.send(Action::DrillReport(crate::app::drill::DrillReport::Failed(
                    "drills are not available here".into(),
                )));
            }
        }
    }

    /// Poll what the other operators do every `every` (real time) for as long as the console
    /// runs: the lease, recent operations, pending approvals (`Operator::others`).
    pub fn watch_others(&self, every: std::time::Duration) {
        let (Some(operator), tx) = (self.operator.clone(), self.tx.clone()) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                let others = operator.others().await;
                if tx
                    .send(Action::OpReport(OpReport::Others(Box::new(others))))
                    .is_err()
                {
                    break;
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// The next report for the loop.
    pub async fn next(&mut self) -> Option<Action> {
        self.rx.recv().await
    }

    /// Start the effect's work. Must be called inside a tokio runtime.
    pub fn handle(&self, effect: OpEffect) {
        let tx = self.tx.clone();
        if effect == OpEffect::LoadWeek {
            self.week(tx);
            return;
        }
        if let OpEffect::LoadRegionWeek { region } = &effect {
            self.region_week(tx, region.clone());
            return;
        }
        let Some(operator) = self.operator.clone() else {
            let _ = tx.send(failed(
                "operations",
                "operations are not available on this source",
            ));
            return;
        };
        tokio::spawn(async move {
            let report = match effect {
                OpEffect::Plan { op, undo_of } => match operator.prepare(&op).await {
                    Ok(p) => Action::OpReport(OpReport::Planned {
                        prepared: Box::new(p),
                        undo_of,
                    }),
                    Err(e) => failed("plan", e),
                },
                OpEffect::Run {
                    prepared,
                    confirmation,
                } => {
                    // Say "accepted" as soon as every call returned; the run goes on watching
                    // the fleet until it settles, and keys keep working meanwhile.
                    let accepted_tx = tx.clone();
                    let accepted = move |a| {
                        let _ = accepted_tx.send(Action::OpReport(OpReport::Accepted(Box::new(a))));
                    };
                    match operator
                        .run_watching(&prepared, &confirmation, accepted)
                        .await
                    {
                        Ok(outcome) => Action::OpReport(OpReport::Finished(Box::new(outcome))),
                        Err(e) => failed("run", e),
                    }
                }
                OpEffect::WhatIf { region } => match operator.what_if(&region).await {
                    Ok(w) => Action::OpReport(OpReport::WhatIf(Box::new(w))),
                    Err(e) => failed("what-if", e),
                },
                // What the view shows, from the end of the log (never the whole of it), with the
                // shared trail's newest records merged in.
                OpEffect::LoadAudit => Action::OpReport(OpReport::Audit(
                    operator
                        .trail()
                        .read_last(VIEW_RECORDS, operator.clock().now())
                        .await,
                )),
                OpEffect::PlanUndo => undo(&operator).await,
                OpEffect::LoadWeek | OpEffect::LoadRegionWeek { .. } => {
                    unreachable!("handled above")
                }
            };
            let _ = tx.send(report);
        });
    }
}

impl OpsRunner {
    /// The review of the 7 days that end at the target's clock, in its own task (on the
    /// simulated fleet the model runs for seconds on a blocking thread): the same computation as
    /// `opsdeck report --since 7d`.
    fn week(&self, tx: UnboundedSender<Action>) {
        let (Some(operator), Some(source)) = (self.operator.clone(), self.week.clone()) else {
            let _ = tx.send(Action::OpReport(OpReport::Week(Err(
                "the week summary is not available on this source".into(),
            ))));
            return;
        };
        tokio::spawn(async move {
            let until = operator.clock().now();
            let result = crate::report::week(operator.fleet().clone(), source, until).await;
            let _ = tx.send(Action::OpReport(OpReport::Week(result.map(Box::new))));
        });
    }
}

impl OpsRunner {
    /// One region's 7 days that end at the target's clock for the detail view's 7-day window,
    /// in its own task: the loop goes on drawing and reading keys while it is read.
    fn region_week(&self, tx: UnboundedSender<Action>, region: String) {
        let (Some(operator), Some(source)) = (self.operator.clone(), self.week.clone()) else {
            let _ = tx.send(Action::OpReport(OpReport::RegionWeek {
                region,
                result: Err("the 7-day window is not available on this source".into()),
            }));
            return;
        };
        tokio::spawn(async move {
            let now = operator.clock().now();
            let result = crate::report::region_week::read(
                operator.fleet().clone(),
                source,
                region.clone(),
                now,
                Vec::new(),
            )
            .await;
            let _ = tx.send(Action::OpReport(OpReport::RegionWeek { region, result }));
        });
    }
}

/// Plan the undo of the newest reversible operation that took effect and is not undone yet.
async fn undo(operator: &Operator) -> Action {
    let last = match operator
        .trail()
        .last_reversible_of(
            &operator.fleet().name,
            operator.kind(),
            operator.clock().now(),
        )
        .await
    {
        Ok(last) => last,
        Err(e) => return failed("undo", e),
    };
    let Some(last) = last else {
        return failed(
            "undo",
            format!(
                "no reversible operation to undo in {}",
                operator.audit().path().display()
            ),
        );
    };
    let Some(op) = last.plan.undo.clone() else {
        return failed("undo", "the operation has no undo");
    };
    match operator.prepare(&op).await {
        Ok(p) => Action::OpReport(OpReport::Planned {
            prepared: Box::new(p),
            undo_of: Some(last.id.clone()),
        }),
        Err(e) => failed("undo", e),
    }
}
