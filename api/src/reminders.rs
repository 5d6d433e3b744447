//! The reminder worker: records `task.due` as open tasks fall due and `meeting.starting` as
//! meetings come within the lead time, once each (see `persistence::reminders`), so that
//! webhooks and the events feed carry them to automations; and as meetings start, moves them
//! on their records from next activity to last (`persistence::activity_dates`).

use chrono::{TimeDelta, Utc};
use domain::event::Outbox;
use domain::token::ActorRef;

use crate::state::AppState;

/// Starts the worker on the current tokio runtime; it runs until the runtime shuts down.
pub fn start(state: AppState) {
    tokio::spawn(run(state));
}

async fn run(state: AppState) {
    let settings = state.settings.reminders;
    let lead = TimeDelta::from_std(settings.meeting_lead).unwrap_or(TimeDelta::minutes(15));
    loop {
        let outbox = Outbox {
            actor: ActorRef::default(),
            render: &crate::wire::events::WIRE_JSON,
        };
        let recorded = state
            .run(move |conn| persistence::reminders::record_due(conn, Utc::now(), lead, &outbox))
            .await;
        let started = state
            .run(|conn| persistence::activity_dates::pass_started(conn, Utc::now()))
            .await;
        if let Err(e) = &recorded {
            tracing::warn!(error = %e, "cannot record reminders");
        }
        if let Err(e) = &started {
            tracing::warn!(error = %e, "cannot refresh the activity of started meetings");
        }
        // A full batch: more may be due at once.
        let batch = usize::try_from(persistence::activity_dates::BATCH).unwrap_or(usize::MAX);
        if recorded.is_ok_and(|n| n >= 200) || started.is_ok_and(|n| n >= batch) {
            continue;
        }
        tokio::time::sleep(settings.interval).await;
    }
}
